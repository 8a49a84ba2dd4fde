//! Policy: size budgets and hygiene gates for CI (`strata check`), configured in `strata.toml`,
//! on the command line, or in dive's `.dive-ci`.

pub mod config;
pub mod dive_ci;
pub mod rules;
pub mod selectors;
pub mod units;
