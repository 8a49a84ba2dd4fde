//! Byte sizes for people: SI units like docker, dive and registries use (1 MB = 1 000 000 bytes).

/// `1234567` → `1.2 MB`; below 1000, plain bytes (`999 B`).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    value /= 1000.0;
    while value >= 999.95 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A ratio as a percentage with one decimal (`0.4835` → `48.4 %`); non-finite ratios say so.
pub fn percent(ratio: f64) -> String {
    if ratio.is_finite() {
        format!("{:.1} %", ratio * 100.0)
    } else {
        "n/a".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_sizes() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1000), "1.0 kB");
        assert_eq!(human_bytes(404_000_000), "404.0 MB");
        assert_eq!(human_bytes(999_990), "1.0 MB");
        assert_eq!(percent(0.4834911001404049), "48.3 %");
        assert_eq!(percent(f64::NAN), "n/a");
    }
}
