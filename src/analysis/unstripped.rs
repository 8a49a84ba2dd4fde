//! Unstripped ELF files: executables and shared objects in the final filesystem that still carry
//! their symbol table or debug sections, bytes no container needs at run time. Each is sized by
//! what `strip` would remove (read from its section headers as the layer streamed by).

use std::collections::BTreeMap;

use crate::analysis::dead::Stacked;
use crate::analysis::findings::{Finding, Reclaim};
use crate::analysis::inspect::Inspected;
use crate::analysis::rules;
use crate::layer::exec::ExecInfo;
use crate::layer::walk::Entry;
use crate::units::human_bytes;

/// One `unstripped` finding per visible unstripped ELF file, the `top` largest savings first;
/// beyond `top`, one finding per layer totals the rest.
pub fn unstripped_findings(
    entries: &[&[Entry]],
    inspected: &[&Inspected],
    stacked: &Stacked,
    top: usize,
) -> Vec<Finding> {
    let mut files: Vec<(u64, usize, usize)> = stacked
        .visible
        .places()
        .filter_map(|(layer, index)| {
            let Some(ExecInfo::Elf(facts)) = inspected[layer].exec(index) else {
                return None;
            };
            let saved = facts.strippable?.total();
            (saved > 0).then_some((saved, layer, index))
        })
        .collect();
    files.sort_by(|a, b| b.cmp(a));
    let reclaim = |&(bytes, layer, entry): &(u64, usize, usize)| Reclaim {
        layer,
        entry,
        bytes,
    };
    let mut out: Vec<Finding> = files
        .iter()
        .take(top)
        .map(|file| {
            let (bytes, layer, index) = *file;
            let e = &entries[layer][index];
            finding(
                layer,
                format!("/{}", e.path),
                format!(
                    "unstripped ELF: stripping saves {} of {}",
                    human_bytes(bytes),
                    human_bytes(e.size)
                ),
                vec![reclaim(file)],
            )
        })
        .collect();
    let mut rest: BTreeMap<usize, Vec<&(u64, usize, usize)>> = BTreeMap::new();
    for file in files.iter().skip(top) {
        rest.entry(file.1).or_default().push(file);
    }
    for (layer, files) in rest {
        let largest = &entries[layer][files[0].2];
        out.push(finding(
            layer,
            format!("/{} (and {} more)", largest.path, files.len() - 1),
            format!(
                "{} more unstripped ELF files in layer {layer}: stripping saves {}",
                files.len(),
                human_bytes(files.iter().map(|f| f.0).sum())
            ),
            files.into_iter().map(reclaim).collect(),
        ));
    }
    out
}

fn finding(layer: usize, path: String, message: String, reclaims: Vec<Reclaim>) -> Finding {
    let bytes = reclaims.iter().map(|r| r.bytes).sum();
    Finding {
        message,
        reclaims,
        ..Finding::sized(&rules::UNSTRIPPED, layer, path, bytes)
    }
}
