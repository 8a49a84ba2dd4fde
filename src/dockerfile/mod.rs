//! `strata lint`: static layer-cache and size lint for Dockerfiles. A small parser
//! ([`parse`]) and stage model ([`stages`]) feed rules with stable IDs ([`rules`]); every finding
//! has a line and a fix. Multi-stage aware: size rules look only at stages whose layers ship,
//! cache rules at every stage the final one needs.

pub mod dependencies;
pub mod dockerignore;
pub mod hygiene;
pub mod lint;
pub mod packages;
pub mod parse;
pub mod render;
pub mod rules;
pub mod shell;
pub mod stages;
