//! Brazilian taxpayer documents: CPF (people) and CNPJ (companies), check digits verified.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("document must have 11 (CPF) or 14 (CNPJ) characters after removing punctuation")]
    BadLength,
    #[error("document contains characters other than digits, letters (CNPJ) and . - /")]
    BadCharacters,
    #[error("document check digits do not match")]
    BadCheckDigits,
}

/// A CPF or CNPJ whose check digits are valid, stored without punctuation. Alphanumeric CNPJs
/// (issued since July 2026) are accepted: their first twelve characters may be letters, and
/// the check digits are computed from ASCII code minus 48, as the Receita Federal specifies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Document {
    Cpf(String),
    Cnpj(String),
}

impl Document {
    /// Accepts digits with optional `.`, `-` and `/` separators.
    pub fn parse(raw: &str) -> Result<Self, DocumentError> {
        let mut clean = String::with_capacity(14);
        for c in raw.trim().chars() {
            match c {
                '.' | '-' | '/' | ' ' => {}
                c if c.is_ascii_alphanumeric() => clean.push(c.to_ascii_uppercase()),
                _ => return Err(DocumentError::BadCharacters),
            }
        }
        match clean.len() {
            11 => {
                if !clean.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(DocumentError::BadCharacters);
                }
                if cpf_valid(clean.as_bytes()) {
                    Ok(Document::Cpf(clean))
                } else {
                    Err(DocumentError::BadCheckDigits)
                }
            }
            14 => {
                let b = clean.as_bytes();
                if !b[12..].iter().all(u8::is_ascii_digit) {
                    return Err(DocumentError::BadCharacters);
                }
                if cnpj_valid(b) {
                    Ok(Document::Cnpj(clean))
                } else {
                    Err(DocumentError::BadCheckDigits)
                }
            }
            _ => Err(DocumentError::BadLength),
        }
    }

    /// The bare digits (and letters, for alphanumeric CNPJ).
    pub fn as_str(&self) -> &str {
        match self {
            Document::Cpf(s) | Document::Cnpj(s) => s,
        }
    }

    /// True for a CPF (a person), which gateways send in a different field than a CNPJ.
    pub fn is_cpf(&self) -> bool {
        matches!(self, Document::Cpf(_))
    }
}

impl TryFrom<String> for Document {
    type Error = DocumentError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Document::parse(&s)
    }
}

impl From<Document> for String {
    fn from(d: Document) -> String {
        match d {
            Document::Cpf(s) | Document::Cnpj(s) => s,
        }
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn cpf_valid(d: &[u8]) -> bool {
    let digits: Vec<u32> = d.iter().map(|b| u32::from(b - b'0')).collect();
    if digits.iter().all(|&x| x == digits[0]) {
        return false;
    }
    let check = |n: usize| -> u32 {
        let sum: u32 = (0..n).map(|i| digits[i] * (n as u32 + 1 - i as u32)).sum();
        let r = (sum * 10) % 11;
        if r == 10 {
            0
        } else {
            r
        }
    };
    check(9) == digits[9] && check(10) == digits[10]
}

fn cnpj_valid(d: &[u8]) -> bool {
    let vals: Vec<u32> = d.iter().map(|b| u32::from(*b) - 48).collect();
    if vals.iter().all(|&x| x == vals[0]) {
        return false;
    }
    const W1: [u32; 12] = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    const W2: [u32; 13] = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    let dv = |w: &[u32]| -> u32 {
        let sum: u32 = w.iter().zip(&vals).map(|(w, v)| w * v).sum();
        let r = sum % 11;
        if r < 2 {
            0
        } else {
            11 - r
        }
    };
    dv(&W1) == vals[12] && dv(&W2) == vals[13]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_cpfs_and_cnpjs_parse() {
        assert!(matches!(
            Document::parse("52998224725"),
            Ok(Document::Cpf(_))
        ));
        assert!(matches!(
            Document::parse("529.982.247-25"),
            Ok(Document::Cpf(_))
        ));
        assert!(matches!(
            Document::parse("11.222.333/0001-81"),
            Ok(Document::Cnpj(_))
        ));
        // Alphanumeric CNPJ example published by the Receita Federal.
        assert_eq!(
            Document::parse("12.ABC.345/01DE-35").map(String::from),
            Ok("12ABC34501DE35".to_string())
        );
    }

    #[test]
    fn bad_check_digits_and_repeated_digits_are_rejected() {
        assert_eq!(
            Document::parse("52998224724"),
            Err(DocumentError::BadCheckDigits)
        );
        assert_eq!(
            Document::parse("11111111111"),
            Err(DocumentError::BadCheckDigits)
        );
        assert_eq!(
            Document::parse("11222333000180"),
            Err(DocumentError::BadCheckDigits)
        );
        assert_eq!(
            Document::parse("00000000000000"),
            Err(DocumentError::BadCheckDigits)
        );
    }

    #[test]
    fn wrong_length_and_characters_are_rejected() {
        assert_eq!(Document::parse("123"), Err(DocumentError::BadLength));
        assert_eq!(Document::parse(""), Err(DocumentError::BadLength));
        assert_eq!(
            Document::parse("5299822472A"),
            Err(DocumentError::BadCharacters)
        );
        assert_eq!(
            Document::parse("529982247_25"),
            Err(DocumentError::BadCharacters)
        );
        assert_eq!(
            Document::parse("12ABC34501DEAB"),
            Err(DocumentError::BadCharacters)
        );
    }
}
