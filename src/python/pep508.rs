//! The bits of PEP 508 (dependency specifiers) and PEP 503 (name normalization) the lockfile
//! readers need: canonical names, extras, version specifiers and markers, so two spellings of the
//! same requirement compare (and hash) equal.

/// A PEP 503 normalized name: lower case, runs of `-`, `_` and `.` turned into one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
            continue;
        }
        if separator && !out.is_empty() {
            out.push('-');
        }
        separator = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Extras normalized like names, sorted and deduplicated.
pub fn normalize_extras<'a>(extras: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = extras
        .into_iter()
        .map(normalize_name)
        .filter(|e| !e.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A marker in canonical spelling: one space between tokens (none inside parentheses), strings
/// in double quotes. `python_version<'3.8'` and `python_version < "3.8"` give the same text.
pub fn normalize_marker(marker: &str) -> String {
    let mut tokens: Vec<String> = Vec::new();
    let mut chars = marker.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '\'' {
            chars.next();
            let text: String = chars.by_ref().take_while(|&d| d != c).collect();
            tokens.push(format!("\"{text}\""));
        } else if c == '(' || c == ')' {
            chars.next();
            tokens.push(c.to_string());
        } else if "<>=!~".contains(c) {
            let mut op = String::new();
            while let Some(&d) = chars.peek().filter(|d| "<>=!~".contains(**d)) {
                op.push(d);
                chars.next();
            }
            tokens.push(op);
        } else {
            let mut word = String::new();
            while let Some(&d) = chars
                .peek()
                .filter(|d| !d.is_whitespace() && !"\"'()<>=!~".contains(**d))
            {
                word.push(d);
                chars.next();
            }
            tokens.push(word);
        }
    }
    let mut out = String::new();
    for (i, token) in tokens.iter().enumerate() {
        let glued = i == 0 || token == ")" || tokens[i - 1] == "(";
        if !glued {
            out.push(' ');
        }
        out.push_str(token);
    }
    out
}

/// Several markers that each allow an install, as one canonical marker (`(a) or (b)`); `None`
/// (no condition) when the list is empty.
pub fn any_of(mut markers: Vec<String>) -> Option<String> {
    markers.sort();
    markers.dedup();
    match markers.len() {
        0 => None,
        1 => markers.pop(),
        _ => Some(
            markers
                .iter()
                .map(|m| format!("({m})"))
                .collect::<Vec<_>>()
                .join(" or "),
        ),
    }
}

/// A version specifier: its canonical text and, when it names exactly one version, that version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Specifier {
    /// Clauses without spaces, sorted, comma-separated (`<3,>=2.0`); empty for "any version".
    pub text: String,
    /// The version a lone `==V` (without a wildcard) or `===V` clause pins.
    pub pinned: Option<String>,
}

/// Parses a specifier such as `>= 2.0, <3` or `(==1.2)`.
pub fn specifier(text: &str) -> Specifier {
    let bare: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '(' && *c != ')')
        .collect();
    let mut clauses: Vec<&str> = bare.split(',').filter(|c| !c.is_empty()).collect();
    clauses.sort();
    let pinned = match clauses.as_slice() {
        [one] => one
            .strip_prefix("===")
            .or_else(|| one.strip_prefix("==").filter(|v| !v.contains('*')))
            .map(str::to_string),
        _ => None,
    };
    Specifier {
        text: clauses.join(","),
        pinned,
    }
}

/// A parsed PEP 508 requirement (`name[extra] >=1 ; marker` or `name @ url ; marker`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Normalized name.
    pub name: String,
    /// Normalized, sorted extras.
    pub extras: Vec<String>,
    /// The version specifier (empty text for a direct reference or "any").
    pub specifier: Specifier,
    /// The URL of a direct reference (`name @ url`).
    pub url: Option<String>,
    /// The normalized marker after `;`.
    pub marker: Option<String>,
}

/// Parses one requirement; the error says what is wrong, without location (the caller adds it).
pub fn requirement(text: &str) -> Result<Requirement, String> {
    let text = text.trim();
    let name_len = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(text.len());
    let name = &text[..name_len];
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!("not a requirement: {text:?}"));
    }
    let mut rest = text[name_len..].trim_start();
    let mut extras = Vec::new();
    if let Some(after) = rest.strip_prefix('[') {
        let close = after
            .find(']')
            .ok_or_else(|| format!("unclosed extras in {text:?}"))?;
        extras = normalize_extras(after[..close].split(','));
        rest = after[close + 1..].trim_start();
    }
    let mut url = None;
    let (spec, marker) = if let Some(after) = rest.strip_prefix('@') {
        let after = after.trim_start();
        // A URL may hold `;`, so the marker starts only at a `;` after whitespace (PEP 508).
        let end = after.find(" ;").or_else(|| after.find("\t;"));
        let (link, marker) = match end {
            Some(end) => (&after[..end], Some(after[end..].trim_start()[1..].trim())),
            None => (after, None),
        };
        if link.trim().is_empty() {
            return Err(format!("missing URL after @ in {text:?}"));
        }
        url = Some(link.trim().to_string());
        ("", marker)
    } else {
        match rest.split_once(';') {
            Some((spec, marker)) => (spec, Some(marker.trim())),
            None => (rest, None),
        }
    };
    if let Some(bad) = spec
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || c.is_whitespace() || "<>=!~.,*+()-_".contains(*c)))
    {
        return Err(format!("unexpected {bad:?} in {text:?}"));
    }
    Ok(Requirement {
        name: normalize_name(name),
        extras,
        specifier: specifier(spec),
        url,
        marker: marker.filter(|m| !m.is_empty()).map(normalize_marker),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_pep503_normalized() {
        assert_eq!(normalize_name("Foo.Bar__baz-_-Qux"), "foo-bar-baz-qux");
        assert_eq!(normalize_name("PySocks"), "pysocks");
    }

    #[test]
    fn markers_have_one_spelling() {
        let canonical =
            "python_version < \"3.8\" and (sys_platform == \"win32\" or os_name != \"nt\")";
        assert_eq!(normalize_marker(canonical), canonical);
        assert_eq!(
            normalize_marker(
                "python_version<'3.8'  and ( sys_platform=='win32' or os_name!=\"nt\" )"
            ),
            canonical
        );
        assert_eq!(
            normalize_marker("'linux' not in sys_platform"),
            "\"linux\" not in sys_platform"
        );
    }

    #[test]
    fn specifiers_are_sorted_and_exact_pins_recognized() {
        assert_eq!(specifier(" == 1.2.3 ").pinned.as_deref(), Some("1.2.3"));
        assert_eq!(
            specifier("===1.0-local").pinned.as_deref(),
            Some("1.0-local")
        );
        assert_eq!(specifier("==1.*").pinned, None);
        let range = specifier("(>= 2.0, <3)");
        assert_eq!(range.text, "<3,>=2.0");
        assert_eq!(range.pinned, None);
        assert_eq!(specifier("").text, "");
    }

    #[test]
    fn requirements_with_extras_markers_and_urls() {
        let r = requirement("Requests[Socks, security]==2.31.0 ; python_version>='3.8'").unwrap();
        assert_eq!(r.name, "requests");
        assert_eq!(r.extras, ["security", "socks"]);
        assert_eq!(r.specifier.pinned.as_deref(), Some("2.31.0"));
        assert_eq!(r.marker.as_deref(), Some("python_version >= \"3.8\""));

        let r = requirement("pkg @ https://example.com/pkg-1.0.tar.gz;x=1 ; os_name == 'posix'")
            .unwrap();
        assert_eq!(
            r.url.as_deref(),
            Some("https://example.com/pkg-1.0.tar.gz;x=1")
        );
        assert_eq!(r.marker.as_deref(), Some("os_name == \"posix\""));

        assert!(requirement("[oops]").is_err());
        assert!(requirement("pkg[extra").is_err());
        assert!(requirement("pkg == 1.0 $").is_err());
    }

    #[test]
    fn any_of_joins_distinct_markers() {
        assert_eq!(any_of(vec![]), None);
        assert_eq!(
            any_of(vec!["b".into(), "a".into(), "b".into()]).unwrap(),
            "(a) or (b)"
        );
    }
}
