//! cargo-chef recipes (`recipe.json`) as `strata cook` and `strata fingerprint` read them:
//! `Recipe::read` (JSON shape, every path checked relative), then `fingerprint` and the JSON
//! round trip (what strata writes must read back as the same recipe).

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use strata::cargo::fingerprint::fingerprint;
use strata::cargo::recipe::Recipe;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch_named("cargo_recipe", "recipe.json", data);
    match Recipe::read(&path) {
        Ok(recipe) => {
            let _ = fingerprint(&recipe).unwrap();
            let json = recipe.to_json().unwrap();
            let again = Recipe::from_json(&json).unwrap();
            assert_eq!(again, recipe, "the recipe does not survive its own JSON");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
