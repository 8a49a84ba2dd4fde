//! dive's CI rules file (`.dive-ci`, YAML) as `check --dive-ci` and `strata.toml`'s `dive_ci` read
//! it: `policy::dive_ci::load` on a file (which parses thresholds, sizes, percentages and
//! `disabled`).

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use strata::policy::dive_ci::load;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch_named("dive_ci", ".dive-ci", data);
    match load(&path) {
        Ok(rules) => {
            let _ = format!("{rules:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
