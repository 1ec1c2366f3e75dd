//! Money formatting. ELDR is kept as integer nano-ELDR (1e-9) and shown as a decimal string.

/// Nano-ELDR per ELDR.
pub const NANO_PER_ELDR: i64 = 1_000_000_000;

/// `3141592653` → `"3.141592653"`; trailing zeros trimmed, at least one decimal digit.
pub fn format_eldr(nano: i64) -> String {
    let sign = if nano < 0 { "-" } else { "" };
    let n = nano.unsigned_abs();
    let whole = n / NANO_PER_ELDR as u64;
    let frac = format!("{:09}", n % NANO_PER_ELDR as u64);
    let frac = frac.trim_end_matches('0');
    let frac = if frac.is_empty() { "0" } else { frac };
    format!("{sign}{whole}.{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(format_eldr(0), "0.0");
        assert_eq!(format_eldr(3_141_592_653), "3.141592653");
        assert_eq!(format_eldr(4_875_000_000), "4.875");
        assert_eq!(format_eldr(-125_000_000), "-0.125");
    }
}
