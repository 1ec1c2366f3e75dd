//! Economy arithmetic: ELDR decimal strings, GMO ↔ ELDR conversion, withdrawal fees and the
//! pilot bonus. Pure: integers only (ELDR in nano-ELDR, GMO whole), no IO.

use sha2::{Digest, Sha256};

use crate::sim::battle::PilotStats;

pub use crate::domain::money::{format_eldr, NANO_PER_ELDR};
/// Decimal places kept for ELDR.
pub(crate) const ELDR_DECIMALS: usize = 9;

/// Exchange rates and limits, as `GET /economy/rates` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    /// GMO credited per whole ELDR deposited (and debited per ELDR withdrawn).
    pub gmo_per_eldr: i64,
    /// Smallest deposit, nano-ELDR.
    pub min_eldr_deposit: i64,
    /// Smallest withdrawal (before fee), nano-ELDR.
    pub min_eldr_withdraw: i64,
    /// Largest withdrawal (before fee), nano-ELDR.
    pub max_eldr_withdraw: i64,
    /// Withdrawal fee in basis points (250 = 2.5 %).
    pub withdraw_fee_bps: i64,
}

impl Default for Rates {
    fn default() -> Self {
        Self {
            gmo_per_eldr: 1000,
            min_eldr_deposit: NANO_PER_ELDR / 100,
            min_eldr_withdraw: NANO_PER_ELDR / 100,
            max_eldr_withdraw: 100 * NANO_PER_ELDR,
            withdraw_fee_bps: 250,
        }
    }
}

/// Why an amount or quote was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not a positive decimal with at most 9 places.
    #[error("amount must be a positive decimal string with at most 9 decimal places")]
    Malformed,
    /// Below the configured minimum.
    #[error("amount is below the minimum of {0} ELDR")]
    TooSmall(String),
    /// Above the configured maximum.
    #[error("amount is above the maximum of {0} ELDR")]
    TooLarge(String),
}

/// Parses a decimal ELDR string (`"1.5"`, `"0.01"`, `"3"`) into nano-ELDR.
pub(crate) fn parse_eldr(s: &str) -> Result<i64, AmountError> {
    let s = s.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && frac.is_empty()
        || !digits(whole)
        || !digits(frac)
        || frac.len() > ELDR_DECIMALS
        || whole.len() > 9
    {
        return Err(AmountError::Malformed);
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| AmountError::Malformed)?
    };
    let mut frac_nano: i64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        frac_nano += i64::from(b - b'0') * 10i64.pow((ELDR_DECIMALS - 1 - i) as u32);
    }
    let nano = whole * NANO_PER_ELDR + frac_nano;
    if nano <= 0 {
        return Err(AmountError::Malformed);
    }
    Ok(nano)
}

/// GMO credited for a deposit of `nano` nano-ELDR (rounded down).
pub(crate) fn gmo_for_eldr(rates: &Rates, nano: i64) -> i64 {
    saturate(i128::from(nano) * i128::from(rates.gmo_per_eldr) / i128::from(NANO_PER_ELDR))
}

/// i128 → i64 without wrapping: an amount past the range becomes the range's end, which every
/// bound check then refuses (`gmo_amount = i64::MAX` used to wrap to a small quote).
fn saturate(x: i128) -> i64 {
    i64::try_from(x).unwrap_or(if x < 0 { i64::MIN } else { i64::MAX })
}

/// nano-ELDR worth `gmo` GMO (rounded down).
pub(crate) fn eldr_for_gmo(rates: &Rates, gmo: i64) -> i64 {
    saturate(i128::from(gmo) * i128::from(NANO_PER_ELDR) / i128::from(rates.gmo_per_eldr.max(1)))
}

/// Checks a deposit amount against the minimum; returns the GMO it will credit.
pub(crate) fn quote_deposit(rates: &Rates, nano: i64) -> Result<i64, AmountError> {
    if nano < rates.min_eldr_deposit {
        return Err(AmountError::TooSmall(format_eldr(rates.min_eldr_deposit)));
    }
    Ok(gmo_for_eldr(rates, nano))
}

/// What a withdrawal of `gmo_amount` GMO costs and pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithdrawQuote {
    /// GMO taken from the player (held at once).
    pub gmo_amount: i64,
    /// Part of it the house keeps as the fee.
    pub(crate) fee_gmo: i64,
    /// Part of it converted and sent on chain.
    pub(crate) net_gmo: i64,
    /// nano-ELDR sent to the wallet.
    pub eldr_amount: i64,
    /// nano-ELDR worth of fee.
    pub fee_eldr: i64,
}

/// Quotes a withdrawal. The fee is rounded up to whole GMO so that the house never books a
/// fraction it cannot hold; the spec's example (5000 GMO → 4.875 ELDR + 0.125 fee) is exact.
pub fn quote_withdrawal(rates: &Rates, gmo_amount: i64) -> Result<WithdrawQuote, AmountError> {
    if gmo_amount <= 0 {
        return Err(AmountError::Malformed);
    }
    let gross = eldr_for_gmo(rates, gmo_amount);
    if gross < rates.min_eldr_withdraw {
        return Err(AmountError::TooSmall(format_eldr(rates.min_eldr_withdraw)));
    }
    if gross > rates.max_eldr_withdraw {
        return Err(AmountError::TooLarge(format_eldr(rates.max_eldr_withdraw)));
    }
    let fee_num = i128::from(gmo_amount) * i128::from(rates.withdraw_fee_bps);
    let fee_gmo = ((fee_num + 9_999) / 10_000).min(i128::from(gmo_amount)) as i64;
    let net_gmo = gmo_amount - fee_gmo;
    if net_gmo <= 0 {
        return Err(AmountError::TooSmall(format_eldr(rates.min_eldr_withdraw)));
    }
    Ok(WithdrawQuote {
        gmo_amount,
        fee_gmo,
        net_gmo,
        eldr_amount: eldr_for_gmo(rates, net_gmo),
        fee_eldr: eldr_for_gmo(rates, fee_gmo),
    })
}

/// The fee percentage as the rates endpoint shows it (`2.5`).
pub(crate) fn fee_pct(rates: &Rates) -> f64 {
    rates.withdraw_fee_bps as f64 / 100.0
}

/// A pilot's battle bonus, fixed at mint from its id.
///
/// SHA-256 of the id's 16 bytes gives four bytes; each maps to `1..=5`:
/// `attack_pct`, `defense_pct`, `hp_pct` (percent of the robot's base stat) and `speed`
/// (flat points). That keeps every pilot useful and well under the engine's cap of 10.
pub(crate) fn pilot_bonus(pilot_id: &[u8; 16]) -> PilotStats {
    let h = Sha256::digest(pilot_id);
    let pick = |b: u8| 1 + b % 5;
    PilotStats {
        attack_pct: pick(h[0]),
        defense_pct: pick(h[1]),
        hp_pct: pick(h[2]),
        speed: pick(h[3]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_eldr() {
        assert_eq!(parse_eldr("1.0"), Ok(NANO_PER_ELDR));
        assert_eq!(parse_eldr("0.01"), Ok(10_000_000));
        assert_eq!(parse_eldr("3"), Ok(3 * NANO_PER_ELDR));
        assert_eq!(parse_eldr(".5"), Ok(NANO_PER_ELDR / 2));
        assert_eq!(parse_eldr("0.000000001"), Ok(1));
        for bad in [
            "",
            ".",
            "-1",
            "1e3",
            "0",
            "0.0",
            "1.0000000001",
            "abc",
            "1,5",
        ] {
            assert_eq!(parse_eldr(bad), Err(AmountError::Malformed), "{bad}");
        }
        assert_eq!(format_eldr(4_875_000_000), "4.875");
        assert_eq!(format_eldr(NANO_PER_ELDR), "1.0");
        assert_eq!(format_eldr(125_000_000), "0.125");
        assert_eq!(format_eldr(0), "0.0");
        assert_eq!(format_eldr(1), "0.000000001");
    }

    #[test]
    fn spec_withdrawal_example() {
        let q = quote_withdrawal(&Rates::default(), 5000).unwrap();
        assert_eq!(format_eldr(q.eldr_amount), "4.875");
        assert_eq!(format_eldr(q.fee_eldr), "0.125");
        assert_eq!(q.fee_gmo + q.net_gmo, 5000);
        assert_eq!(fee_pct(&Rates::default()), 2.5);
    }

    #[test]
    fn withdrawal_bounds_and_rounding() {
        let r = Rates::default();
        assert!(matches!(
            quote_withdrawal(&r, 9),
            Err(AmountError::TooSmall(_))
        ));
        assert!(matches!(
            quote_withdrawal(&r, 100_001),
            Err(AmountError::TooLarge(_))
        ));
        assert!(quote_withdrawal(&r, 100_000).is_ok());
        // Amounts past i64 once converted do not wrap into a small quote.
        for huge in [i64::MAX, i64::MAX / 1000, 9_223_372_036_854_776] {
            assert!(matches!(
                quote_withdrawal(&r, huge),
                Err(AmountError::TooLarge(_))
            ));
        }
        assert_eq!(
            gmo_for_eldr(
                &Rates {
                    gmo_per_eldr: i64::MAX,
                    ..r
                },
                i64::MAX
            ),
            i64::MAX
        );
        // 2.5 % of 10 GMO is 0.25: the fee rounds up to 1 GMO.
        let q = quote_withdrawal(&r, 10).unwrap();
        assert_eq!((q.fee_gmo, q.net_gmo), (1, 9));
        assert_eq!(q.eldr_amount + q.fee_eldr, eldr_for_gmo(&r, 10));
    }

    #[test]
    fn deposits_convert_at_the_rate() {
        let r = Rates::default();
        assert_eq!(quote_deposit(&r, NANO_PER_ELDR), Ok(1000));
        assert_eq!(quote_deposit(&r, parse_eldr("2.5").unwrap()), Ok(2500));
        assert!(quote_deposit(&r, 1).is_err());
    }

    #[test]
    fn pilot_bonus_is_small_and_deterministic() {
        for i in 0u128..200 {
            let id = i.to_be_bytes();
            let b = pilot_bonus(&id);
            assert_eq!(b, pilot_bonus(&id));
            for v in [b.attack_pct, b.defense_pct, b.hp_pct, b.speed] {
                assert!((1..=5).contains(&v));
            }
        }
    }
}
