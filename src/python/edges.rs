//! Dependency edges of the graph lockfiles (uv, Poetry): uv.lock and older poetry.lock files put
//! markers and extras on the edge ("`a` needs `b[socks]` on Windows"), not on the package, so a
//! package's marker and extras are gathered from every edge that points at it.

use std::collections::HashMap;

use crate::python::pep508;

/// One "depends on" edge.
#[derive(Debug, Clone, Default)]
pub struct Edge {
    /// The version the edge names when the lockfile holds several of that package.
    pub version: Option<String>,
    /// Extras asked for, normalized.
    pub extras: Vec<String>,
    /// The marker under which the edge applies, normalized; `None` is always.
    pub marker: Option<String>,
}

/// Every edge of a lockfile, by the normalized name it points at.
#[derive(Debug, Default)]
pub struct Edges {
    by_name: HashMap<String, Vec<Edge>>,
}

impl Edges {
    /// Records an edge to `name`.
    pub fn add(&mut self, name: &str, edge: Edge) {
        self.by_name
            .entry(pep508::normalize_name(name))
            .or_default()
            .push(edge);
    }

    /// The marker (any edge's marker; `None` when some edge is unconditional or none exists) and
    /// the union of extras under which `name` at `version` is installed.
    pub fn resolve(&self, name: &str, version: &str) -> (Option<String>, Vec<String>) {
        let edges: Vec<&Edge> = self
            .by_name
            .get(name)
            .into_iter()
            .flatten()
            .filter(|e| e.version.as_deref().is_none_or(|v| v == version))
            .collect();
        let markers: Option<Vec<String>> = edges.iter().map(|e| e.marker.clone()).collect();
        let marker = markers.and_then(pep508::any_of);
        let extras = pep508::normalize_extras(
            edges
                .iter()
                .flat_map(|e| e.extras.iter().map(String::as_str)),
        );
        (marker, extras)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(version: Option<&str>, extras: &[&str], marker: Option<&str>) -> Edge {
        Edge {
            version: version.map(str::to_string),
            extras: extras.iter().map(|e| e.to_string()).collect(),
            marker: marker.map(str::to_string),
        }
    }

    #[test]
    fn markers_and_extras_are_gathered_per_version() {
        let mut edges = Edges::default();
        edges.add("Colorama", edge(None, &[], Some("b")));
        edges.add("colorama", edge(None, &["x"], Some("a")));
        edges.add("numpy", edge(Some("1.0"), &[], Some("old")));
        edges.add("numpy", edge(Some("2.0"), &[], None));
        assert_eq!(
            edges.resolve("colorama", "0.4"),
            (Some("(a) or (b)".to_string()), vec!["x".to_string()])
        );
        assert_eq!(edges.resolve("numpy", "1.0").0.as_deref(), Some("old"));
        assert_eq!(edges.resolve("numpy", "2.0").0, None);
        assert_eq!(edges.resolve("absent", "1").0, None);
    }
}
