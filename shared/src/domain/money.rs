//! Amounts as integer minor units with an ISO 4217 currency; there is no f64 anywhere on this path.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Largest amount accepted in minor units (just under 1 billion units of the major currency).
/// Anything bigger is far beyond what the supported gateways accept and is almost surely a bug
/// on the merchant side (for example reais sent where centavos were expected, twice).
pub const MAX_MINOR_UNITS: i64 = 99_999_999_999;

/// The currencies the orchestrator settles in. A closed list so that a typo such as `BLR`
/// is a 400 at the edge instead of a gateway error after a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    BRL,
    USD,
    EUR,
    GBP,
    ARS,
    CLP,
    COP,
    MXN,
    PEN,
    UYU,
    JPY,
}

impl Currency {
    /// Digits after the decimal point (ISO 4217 minor unit), needed to render decimal strings
    /// for gateways that take them (EFI, Asaas).
    pub fn exponent(self) -> u32 {
        match self {
            Currency::CLP | Currency::JPY => 0,
            _ => 2,
        }
    }

    /// The ISO 4217 alphabetic code.
    pub fn code(self) -> &'static str {
        match self {
            Currency::BRL => "BRL",
            Currency::USD => "USD",
            Currency::EUR => "EUR",
            Currency::GBP => "GBP",
            Currency::ARS => "ARS",
            Currency::CLP => "CLP",
            Currency::COP => "COP",
            Currency::MXN => "MXN",
            Currency::PEN => "PEN",
            Currency::UYU => "UYU",
            Currency::JPY => "JPY",
        }
    }

    /// The ISO 4217 numeric code, used in the Pix BR Code (tag 53).
    pub fn numeric(self) -> &'static str {
        match self {
            Currency::BRL => "986",
            Currency::USD => "840",
            Currency::EUR => "978",
            Currency::GBP => "826",
            Currency::ARS => "032",
            Currency::CLP => "152",
            Currency::COP => "170",
            Currency::MXN => "484",
            Currency::PEN => "604",
            Currency::UYU => "858",
            Currency::JPY => "392",
        }
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "BRL" => Currency::BRL,
            "USD" => Currency::USD,
            "EUR" => Currency::EUR,
            "GBP" => Currency::GBP,
            "ARS" => Currency::ARS,
            "CLP" => Currency::CLP,
            "COP" => Currency::COP,
            "MXN" => Currency::MXN,
            "PEN" => Currency::PEN,
            "UYU" => Currency::UYU,
            "JPY" => Currency::JPY,
            _ => return Err(MoneyError::UnknownCurrency(s.chars().take(16).collect())),
        })
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why an amount or currency was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount must be a positive integer number of minor units")]
    NotPositive,
    #[error("amount exceeds the maximum of {MAX_MINOR_UNITS} minor units")]
    TooLarge,
    #[error("unsupported currency `{0}` (use an ISO 4217 code such as BRL)")]
    UnknownCurrency(String),
    #[error("`{0}` is not a decimal amount with at most the currency's minor digits")]
    BadDecimal(String),
}

/// A positive amount of one currency, in minor units. Constructed only through [`Money::new`]
/// (or parsing), so every `Money` in the system is already valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// Rejects zero, negative and absurd amounts.
    pub fn new(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if minor <= 0 {
            return Err(MoneyError::NotPositive);
        }
        if minor > MAX_MINOR_UNITS {
            return Err(MoneyError::TooLarge);
        }
        Ok(Self { minor, currency })
    }

    /// Integer minor units (centavos for BRL).
    pub fn minor(self) -> i64 {
        self.minor
    }

    /// The currency of the amount.
    pub fn currency(self) -> Currency {
        self.currency
    }

    /// Renders a decimal string such as `"19.90"`, the shape EFI and Asaas take on the wire.
    pub fn to_decimal_string(self) -> String {
        format_decimal(self.minor, self.currency.exponent())
    }

    /// Parses a decimal string such as `"19.9"` or `"19.90"` exactly (no float), for gateway
    /// responses that carry decimals.
    pub fn from_decimal_str(s: &str, currency: Currency) -> Result<Self, MoneyError> {
        let minor = parse_decimal(s, currency.exponent())
            .ok_or_else(|| MoneyError::BadDecimal(s.chars().take(32).collect()))?;
        Money::new(minor, currency)
    }
}

/// A gateway reported a different amount than the one requested: never accepted silently.
pub struct ChargeAmountError;

impl ChargeAmountError {
    /// The attempt code recorded for it.
    pub const CODE: &'static str = "amount_mismatch";
}

/// Formats integer minor units with `exp` decimal digits.
pub fn format_decimal(minor: i64, exp: u32) -> String {
    if exp == 0 {
        return minor.to_string();
    }
    let div = 10i64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let d = div as u64;
    format!(
        "{sign}{}.{:0width$}",
        abs / d,
        abs % d,
        width = exp as usize
    )
}

/// Parses a non-negative decimal with at most `exp` fractional digits into minor units.
pub fn parse_decimal(s: &str, exp: u32) -> Option<i64> {
    let s = s.trim();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || int.len() > 15 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > exp as usize || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.contains('.') && frac.is_empty() {
        return None;
    }
    let mut minor: i64 = int.parse().ok()?;
    minor = minor.checked_mul(10i64.pow(exp))?;
    if !frac.is_empty() {
        let f: i64 = frac.parse().ok()?;
        let scale = 10i64.pow(exp - frac.len() as u32);
        minor = minor.checked_add(f * scale)?;
    }
    Some(minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_zero_negative_and_absurd() {
        assert_eq!(Money::new(0, Currency::BRL), Err(MoneyError::NotPositive));
        assert_eq!(Money::new(-1, Currency::BRL), Err(MoneyError::NotPositive));
        assert_eq!(
            Money::new(MAX_MINOR_UNITS + 1, Currency::BRL),
            Err(MoneyError::TooLarge)
        );
        assert!(Money::new(MAX_MINOR_UNITS, Currency::BRL).is_ok());
    }

    #[test]
    fn currency_codes_round_trip_and_unknown_is_rejected() {
        for c in ["BRL", "USD", "EUR", "JPY", "CLP"] {
            assert_eq!(c.parse::<Currency>().map(|c| c.code()), Ok(c));
        }
        assert!(matches!(
            "BLR".parse::<Currency>(),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert!("brl".parse::<Currency>().is_err());
    }

    #[test]
    fn decimal_round_trips_exactly() {
        for (minor, s) in [
            (29, "0.29"),
            (115, "1.15"),
            (1_999_999_999, "19999999.99"),
            (1990, "19.90"),
        ] {
            let m = Money::new(minor, Currency::BRL).unwrap();
            assert_eq!(m.to_decimal_string(), s);
            assert_eq!(Money::from_decimal_str(s, Currency::BRL).unwrap(), m);
        }
        assert_eq!(
            Money::from_decimal_str("19.9", Currency::BRL)
                .unwrap()
                .minor(),
            1990
        );
        assert_eq!(
            Money::from_decimal_str("1500", Currency::JPY)
                .unwrap()
                .minor(),
            1500
        );
    }

    #[test]
    fn bad_decimals_are_rejected() {
        for s in ["", "1.", ".5", "1.234", "-1.00", "1e3", "abc", "1,00"] {
            assert!(
                Money::from_decimal_str(s, Currency::BRL).is_err(),
                "{s} should fail"
            );
        }
        assert!(Money::from_decimal_str("1.5", Currency::JPY).is_err());
    }
}
