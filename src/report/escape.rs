//! Escaping for the machine formats every report writes — JUnit XML and GitHub Actions workflow
//! commands — shared by `strata check`, `strata lint` and the HTML page.

/// Escapes text for XML attributes and content (JUnit reports).
pub fn xml_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => " ".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Escapes a GitHub Actions workflow-command message (`%`, CR and LF).
pub fn github_escape(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}
