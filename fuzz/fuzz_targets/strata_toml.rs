//! `strata.toml` as `check`, `lint` and `report` read it: `policy::config::load` (the `[check]`
//! table, sizes, ratios, and a `dive_ci` file beside it), `lint::config_ignores` (`[lint]`) and
//! `policy::selectors::load_report_filter` (`[report]` selectors and allow globs).

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use strata::dockerfile::lint::config_ignores;
use strata::policy::config::load;
use strata::policy::selectors::load_report_filter;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch_named("strata_toml", "strata.toml", data);
    let errors = [
        load(&path).err(),
        config_ignores(Some(&path)).err(),
        load_report_filter(&path).err(),
    ];
    for e in errors.into_iter().flatten() {
        let _ = e.to_string();
    }
});
