//! Mutations: new images made from existing ones without rebuilding them.

pub mod rebase;
