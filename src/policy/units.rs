//! Sizes and ratios as people write them in CI configs: `20MB` = 20 000 000 bytes (SI, as docker,
//! dive and registries count), `20MiB` = 20 971 520 (IEC), `1.5GB`, a plain byte count, units in
//! any case (`20Mb` is 20 MB, as in dive's configs). Parsed exactly, with integer arithmetic.

/// Parses a size; `Err` says what is wrong.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = (&s[..split], s[split..].trim());
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "ki" | "kib" => 1 << 10,
        "mi" | "mib" => 1 << 20,
        "gi" | "gib" => 1 << 30,
        "ti" | "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "invalid size {text:?}: unknown unit {unit:?} (use B, kB, MB, GB, KiB, MiB, GiB)"
            ))
        }
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return Err(format!(
            "invalid size {text:?}: expected a number and a unit, e.g. 20MB"
        ));
    }
    let overflow = || format!("invalid size {text:?}: too large");
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| overflow())?
    };
    let mut bytes = whole.checked_mul(multiplier).ok_or_else(overflow)?;
    if !fraction.is_empty() {
        let digits = fraction.len().min(18) as u32;
        let frac: u128 = fraction[..digits as usize]
            .parse()
            .map_err(|_| overflow())?;
        let extra = frac * multiplier as u128 / 10u128.pow(digits);
        bytes = bytes.checked_add(extra as u64).ok_or_else(overflow)?;
    }
    Ok(bytes)
}

/// Parses a ratio between 0 and 1 inclusive.
pub fn parse_ratio(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("invalid ratio {text:?}: expected a number between 0 and 1"))?;
    check_ratio(value)
}

/// Checks that a ratio is between 0 and 1 inclusive.
pub fn check_ratio(value: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("invalid ratio {value}: must be between 0 and 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn si_and_iec_exactly() {
        assert_eq!(parse_size("20MB"), Ok(20_000_000));
        assert_eq!(parse_size("20MiB"), Ok(20_971_520));
        assert_eq!(parse_size("20Mb"), Ok(20_000_000));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("1.5 MiB"), Ok(1_572_864));
        assert_eq!(parse_size("50kB"), Ok(50_000));
        assert_eq!(parse_size("1B"), Ok(1));
        assert_eq!(parse_size("12345"), Ok(12345));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "not_a_size",
            "",
            "MB",
            "1.2.3MB",
            "20XB",
            "99999999999999999999TB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert!(parse_ratio("1.1").is_err());
        assert!(parse_ratio("-0.1").is_err());
        assert!(parse_ratio("abc").is_err());
        assert_eq!(parse_ratio("0.95"), Ok(0.95));
    }
}
