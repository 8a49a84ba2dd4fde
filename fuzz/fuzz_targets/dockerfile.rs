//! Dockerfiles as `strata lint` reads them: `dockerfile::parse::parse`, the instruction accessors
//! (words, sources, mounts), the shell splitter (`shell::commands`, `run_commands`), `stages`, then
//! the whole `lint_file` (every rule, `# strata-ignore`, the `.dockerignore` check against an empty
//! context) and every lint renderer.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use strata::dockerfile::lint::{lint_file, LintOptions};
use strata::dockerfile::parse::{parse, Arguments};
use strata::dockerfile::render::{github, junit, markdown, table, LintReport};
use strata::dockerfile::rules::Severity;
use strata::dockerfile::shell::{commands, run_commands};
use strata::dockerfile::stages::stages;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        // lint_file refuses non-UTF-8 files as it reads them.
        return;
    };
    for cmd in commands(text) {
        let _ = (cmd.program(), cmd.subcommand(), cmd.has("-y"));
        let _ = cmd.operands().count();
    }
    if let Ok(instructions) = parse(text) {
        for ins in &instructions {
            let _ = (ins.words(), ins.sources(), ins.mounts(), ins.flag("from"));
            let _ = ins.copies_whole_context();
            if ins.keyword == "RUN" {
                let _ = run_commands(ins);
            }
            if let Arguments::Exec(words) = &ins.args {
                let _ = words.len();
            }
        }
        let _ = stages(instructions);
    }
    let path = common::scratch_named("dockerfile", "Dockerfile", data);
    let options = LintOptions {
        context: Some(common::scratch_dir("dockerfile")),
        ignore: Vec::new(),
    };
    match lint_file(&path, "Dockerfile", &options) {
        Ok(findings) => {
            let files = ["Dockerfile".to_string()];
            let report = LintReport {
                schema_version: 1,
                passed: findings.is_empty(),
                fail_on: Severity::Warning,
                files: &files,
                ignored: &[],
                findings: &findings,
            };
            let _ = (
                table(&report),
                markdown(&report),
                junit(&report),
                github(&report),
            );
            let _ = serde_json::to_string(&report).unwrap();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
