//! Money as exact fixed-point yuan. The contract writes amounts as decimal strings (`"5000.00"`),
//! never floats: a fine of 0.1 + 0.2 万元 must not become 3000.0000000004 元.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount in yuan, held as whole fen (0.01 元).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount {
    fen: i64,
}

impl Amount {
    pub fn from_fen(fen: i64) -> Amount {
        Amount { fen }
    }

    pub fn fen(self) -> i64 {
        self.fen
    }

    /// Parses a non-negative decimal in yuan with at most two decimals (`5000`, `5000.5`, `5000.00`).
    pub fn parse_yuan(text: &str) -> Result<Amount, String> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a decimal number of yuan such as \"5000.00\"".into());
        }
        if fraction.len() > 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must have at most two decimals (fen)".into());
        }
        let whole: i64 = whole.parse().map_err(|_| "is too large".to_string())?;
        let fraction_fen: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
        whole
            .checked_mul(100)
            .and_then(|fen| fen.checked_add(fraction_fen))
            .map(Amount::from_fen)
            .ok_or_else(|| "is too large".to_string())
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.fen / 100, self.fen % 100)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Amount, D::Error> {
        let text = String::deserialize(deserializer)?;
        Amount::parse_yuan(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_two_decimals() {
        assert_eq!(Amount::parse_yuan("5000").unwrap().to_string(), "5000.00");
        assert_eq!(Amount::parse_yuan("5000.5").unwrap().to_string(), "5000.50");
        assert_eq!(Amount::parse_yuan("0.07").unwrap().to_string(), "0.07");
    }

    #[test]
    fn refuses_floats_negatives_and_sub_fen() {
        assert!(Amount::parse_yuan("1e3").is_err());
        assert!(Amount::parse_yuan("-5").is_err());
        assert!(Amount::parse_yuan("1.005").is_err());
        assert!(Amount::parse_yuan("").is_err());
        assert!(Amount::parse_yuan("99999999999999999999").is_err());
    }
}
