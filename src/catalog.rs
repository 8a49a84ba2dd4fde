//! Tables of named rules — the Dockerfile lint rules and the image finding rules — declared the
//! same way: [`rule_table!`] makes one constant per rule (documented by its summary) and the list
//! of all of them, so a rule exists exactly when it has a row; [`closest`] turns a mistyped name
//! into a "did you mean" hint.

/// Declares a rule table: `rule_table! { Type; CONST = "summary" { field: value, ... } ... }`
/// makes `pub const CONST: Type` (its `summary` field and doc comment the summary) for every row
/// and `pub const ALL: &[Type]`, every row in table order.
macro_rules! rule_table {
    ($rule:ident; $($konst:ident = $summary:literal { $($field:ident: $value:expr),* $(,)? })*) => {
        $(
            #[doc = $summary]
            pub const $konst: $rule = $rule { summary: $summary, $($field: $value),* };
        )*
        /// Every rule, in table order.
        pub const ALL: &[$rule] = &[$($konst),*];
    };
}
pub(crate) use rule_table;

/// The name among `names` closest to the mistyped `word`, when one is close enough to be what was
/// meant: at most a third of its letters (and at least one) away by edit distance.
pub fn closest<'a>(word: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    names
        .into_iter()
        .map(|name| (edit_distance(word, name), name))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// Levenshtein distance: the fewest single-character insertions, deletions and substitutions
/// that turn `a` into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substituted = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substituted.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("yarn-cach", "yarn-cache"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn closest_suggests_only_near_names() {
        let names = ["yarn-cache", "npm-cache", "secret", "setuid"];
        assert_eq!(closest("yarn-cach", names), Some("yarn-cache"));
        assert_eq!(closest("secrets", names), Some("secret"));
        assert_eq!(closest("setiud", names), Some("setuid"));
        assert_eq!(closest("bananas", names), None);
    }
}
