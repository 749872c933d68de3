//! Request bodies into typed values, and every way that can fail into one
//! [`ApiError::Invalid`]: a code per kind of problem (the same on every route), `param` the
//! dotted path of the field (`customer.name`, `card.tokens.stripe`), and a message written for
//! the merchant's developer. The parser's own text is never shown: it quotes line and column,
//! Rust type names (`i64`, `struct RawCreate`) and the values it saw, which may be secrets.
//!
//! serde reports a problem only as text; its standard forms (`missing field`, `invalid type:
//! U, expected E`, `unknown field`, `unknown variant`, …) are read here and nowhere else, and
//! a form this module does not know still ends as a 400 naming the field.
//!
//! Integer fields use [`int`]: JSON has one number type, and a client (or a JSON Schema tool)
//! may write the integer 276 as `276.0`; that is accepted when it is exactly an integer, and
//! `19.9` is refused as `parameter_invalid_integer`.

use crate::error::ApiError;
use serde::de::DeserializeOwned;

/// How a field is described in messages when its type alone would say too little
/// (`amount` → "an integer number of cents (minor units)").
pub(crate) type Hints<'a> = &'a [(&'a str, &'a str)];

/// Parses a body that must be a JSON object.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8], hints: Hints<'_>) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(not_json("the request body is empty; send a JSON object"));
    }
    // serde would read a struct from an array too (by position): every body is an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => ApiError::Invalid {
                    code: "body_not_object",
                    message: "the request body must be a JSON object".into(),
                    param: None,
                },
                Err(_) => not_json("the request body is not valid JSON; send a JSON object"),
            },
        );
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        refusal(&path, e.inner(), hints)
    })?;
    de.end().map_err(|_| {
        not_json("the request body holds more than one JSON value; send one JSON object")
    })?;
    Ok(value)
}

/// Parses a body that may be empty (or only whitespace): then `T::default()`.
pub(crate) fn parse_or_default<T: DeserializeOwned + Default>(
    body: &[u8],
    hints: Hints<'_>,
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse(body, hints)
}

fn not_json(message: &str) -> ApiError {
    ApiError::Invalid {
        code: "body_not_json",
        message: message.into(),
        param: None,
    }
}

/// A field's path as the API names it: `customer.name`, `card.tokens.stripe`, `efi.0`.
fn dotted(path: &str, field: Option<&str>) -> String {
    let base = if path == "." { "" } else { path };
    let base = base.replace('[', ".").replace(']', "");
    let joined = match field {
        Some(f) if base.is_empty() => f.to_string(),
        Some(f) => format!("{base}.{f}"),
        None => base,
    };
    // A path holds client text (map keys); keep it short.
    joined.chars().take(120).collect()
}

/// The text between the first pair of backticks after `prefix`.
fn quoted_after<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.strip_prefix(prefix)?.split('`').next()
}

/// Every backticked name in `text` (serde's "expected one of `a`, `b`").
fn quoted_names(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// serde's name for what it saw → what the message says (never the value itself).
fn kind_of(unexpected: &str) -> &'static str {
    let u = unexpected.trim();
    if u.starts_with("floating point") {
        "a decimal number"
    } else if u.starts_with("integer") {
        "a number"
    } else if u.starts_with("string") || u.starts_with("character") {
        "a string"
    } else if u.starts_with("boolean") {
        "a boolean"
    } else if u == "null" || u == "unit value" {
        "null"
    } else if u == "map" {
        "an object"
    } else if u == "sequence" {
        "an array"
    } else {
        "another type"
    }
}

/// serde's (or our visitor's) "expected …" → a phrase for the message, and whether it is an
/// integer.
fn expected_phrase(expected: &str) -> (String, bool) {
    let e = expected.trim();
    let integer = e.contains("integer")
        || [
            "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "usize",
        ]
        .contains(&e);
    let phrase = if integer {
        if e.starts_with("an integer") || e.starts_with("a whole") {
            e.to_string()
        } else {
            "an integer".to_string()
        }
    } else if e.starts_with("a string") || e == "string" {
        "a string".to_string()
    } else if e.starts_with("a boolean") || e == "bool" {
        "true or false".to_string()
    } else if e.starts_with("a map") || e.starts_with("struct") || e.starts_with("an object") {
        "an object".to_string()
    } else if e.starts_with("a sequence") || e.starts_with("an array") {
        "an array".to_string()
    } else {
        "another type".to_string()
    };
    (phrase, integer)
}

/// One refusal from serde's error at `path`.
fn refusal(path: &str, e: &serde_json::Error, hints: Hints<'_>) -> ApiError {
    use serde_json::error::Category;
    // serde_json appends " at line L column C"; the forms below are read before it.
    let full = e.to_string();
    let text = full
        .rfind(" at line ")
        .map_or(full.as_str(), |i| &full[..i]);
    let hint = |param: &str| {
        hints
            .iter()
            .find(|(p, _)| *p == param)
            .map(|(_, h)| (*h).to_string())
    };
    let invalid = |code: &'static str, param: String, message: String| ApiError::Invalid {
        code,
        message,
        param: Some(param),
    };
    match e.classify() {
        Category::Io | Category::Eof => {
            return not_json("the request body ends before its JSON does; send a whole JSON object")
        }
        Category::Syntax => {
            // A number JSON allows but no integer (or f64) holds, e.g. `1e400`.
            if text.starts_with("number out of range") && path != "." {
                let param = dotted(path, None);
                let what = hint(&param).unwrap_or_else(|| "an integer".into());
                return invalid(
                    "parameter_invalid_integer",
                    param.clone(),
                    format!("{param} must be {what}; the number given is too large"),
                );
            }
            return not_json("the request body is not valid JSON; send a JSON object");
        }
        Category::Data => {}
    }
    if let Some(field) = quoted_after(text, "missing field `") {
        let param = dotted(path, Some(field));
        return invalid(
            "parameter_missing",
            param.clone(),
            format!("{param} is required"),
        );
    }
    if let Some(field) = quoted_after(text, "duplicate field `") {
        let param = dotted(path, Some(field));
        return invalid(
            "parameter_duplicate",
            param.clone(),
            format!("{param} is given twice"),
        );
    }
    if let Some(field) = quoted_after(text, "unknown field `") {
        // serde_path_to_error has already stepped into the unknown key.
        let param = dotted(path, None);
        let param = if param.is_empty() {
            field.chars().take(40).collect()
        } else {
            param
        };
        let known = text
            .split_once(", expected")
            .map(|(_, rest)| quoted_names(rest));
        let message = match known {
            Some(k) if !k.is_empty() => {
                format!(
                    "unknown parameter {param}; the parameters here are {}",
                    k.join(", ")
                )
            }
            _ => format!("unknown parameter {param}; this object takes none"),
        };
        return invalid("unknown_parameter", param, message);
    }
    if text.starts_with("unknown variant `") {
        let param = dotted(path, None);
        let allowed = text
            .split_once(", expected")
            .map(|(_, rest)| quoted_names(rest))
            .unwrap_or_default();
        let message = if allowed.is_empty() {
            format!("{param} is not one of the accepted values")
        } else {
            format!("{param} must be one of {}", allowed.join(", "))
        };
        return invalid("parameter_invalid_enum", param, message);
    }
    let typed = text
        .strip_prefix("invalid type: ")
        .or_else(|| text.strip_prefix("invalid value: "));
    if let Some(rest) = typed {
        let (unexpected, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let got = kind_of(unexpected);
        if path == "." {
            return ApiError::Invalid {
                code: "body_not_object",
                message: format!("the request body must be a JSON object, not {got}"),
                param: None,
            };
        }
        let param = dotted(path, None);
        let (phrase, integer) = expected_phrase(expected);
        let what = hint(&param).unwrap_or(phrase);
        if got == "null" && !text.starts_with("invalid value") {
            return invalid(
                "parameter_missing",
                param.clone(),
                format!("{param} is required and cannot be null; it must be {what}"),
            );
        }
        let code = if integer {
            "parameter_invalid_integer"
        } else {
            "parameter_invalid_type"
        };
        return invalid(
            code,
            param.clone(),
            format!("{param} must be {what}, not {got}"),
        );
    }
    if text.starts_with("invalid length") {
        if path == "." {
            // serde reads a struct from an array too, by position: the body was not an object.
            return ApiError::Invalid {
                code: "body_not_object",
                message: "the request body must be a JSON object, not an array".into(),
                param: None,
            };
        }
        let param = dotted(path, None);
        return invalid(
            "parameter_invalid_type",
            param.clone(),
            format!("{param} has the wrong number of items"),
        );
    }
    // A form this module does not know (a custom message from a type's own parser): the
    // field is still named, and the text is not the parser's but a plain statement.
    if path == "." {
        return ApiError::Invalid {
            code: "body_not_object",
            message: "the request body must be a JSON object".into(),
            param: None,
        };
    }
    let param = dotted(path, None);
    let what = hint(&param).unwrap_or_else(|| "a valid value".to_string());
    invalid(
        "parameter_invalid_type",
        param.clone(),
        format!("{param} must be {what}"),
    )
}

/// Integer fields that accept `276` and `276.0` alike (see the module doc), for
/// `#[serde(deserialize_with = "…")]`.
pub(crate) mod int {
    use serde::de::{Deserializer, Error, Unexpected, Visitor};
    use std::fmt;

    /// Largest magnitude an f64 holds exactly as an integer: beyond it `276.0`-style writing
    /// could silently change the value, so it is refused.
    const EXACT_F64: f64 = 9_007_199_254_740_992.0;

    struct Whole;

    impl Visitor<'_> for Whole {
        type Value = i64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer")
        }

        fn visit_i64<E: Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }

        fn visit_u64<E: Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
        }

        fn visit_f64<E: Error>(self, v: f64) -> Result<i64, E> {
            if v.is_finite() && v.fract() == 0.0 && v.abs() <= EXACT_F64 {
                // Exact: |v| ≤ 2^53 and integral.
                #[allow(clippy::cast_possible_truncation)]
                Ok(v as i64)
            } else {
                Err(E::invalid_value(Unexpected::Float(v), &self))
            }
        }
    }

    /// A required integer.
    pub(crate) fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        d.deserialize_any(Whole)
    }

    /// An optional integer (`null` or absent: `None`; use with `#[serde(default)]`).
    pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        struct Opt;
        impl<'de> Visitor<'de> for Opt {
            type Value = Option<i64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_any(Whole).map(Some)
            }
        }
        d.deserialize_option(Opt)
    }

    /// An optional non-negative integer that fits a `u32` (`null` or absent: `None`).
    pub(crate) fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        match opt_i64(d)? {
            None => Ok(None),
            Some(v) => u32::try_from(v).map(Some).map_err(|_| {
                D::Error::invalid_value(Unexpected::Signed(v), &"an integer from 0 to 4294967295")
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        #[serde(deserialize_with = "int::i64")]
        amount: i64,
        currency: String,
        #[serde(default)]
        customer: Option<Inner>,
        #[serde(default, deserialize_with = "int::opt_u32")]
        limit: Option<u32>,
        #[serde(default)]
        mode: Option<crate::domain::AccountMode>,
        #[serde(default)]
        tokens: Option<BTreeMap<String, String>>,
        #[serde(default)]
        flag: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    const HINTS: Hints<'_> = &[("amount", "an integer number of cents (minor units)")];

    fn refuse(body: &str) -> (&'static str, Option<String>, String) {
        match parse::<Outer>(body.as_bytes(), HINTS) {
            Err(ApiError::Invalid {
                code,
                param,
                message,
            }) => (code, param, message),
            other => panic!("{body}: expected a refusal, got {other:?}"),
        }
    }

    fn clean(message: &str) {
        for bad in [
            "line ",
            "column",
            "invalid type",
            "expected",
            "i64",
            "u32",
            "struct",
        ] {
            assert!(!message.contains(bad), "{message:?} holds {bad:?}");
        }
    }

    #[test]
    fn each_kind_of_problem_has_its_code_and_names_the_field() {
        for (body, code, param) in [
            (
                r#"{"amount": 19.9, "currency": "BRL"}"#,
                "parameter_invalid_integer",
                Some("amount"),
            ),
            (
                r#"{"amount": "1990", "currency": "BRL"}"#,
                "parameter_invalid_integer",
                Some("amount"),
            ),
            (
                r#"{"amount": 1e400, "currency": "BRL"}"#,
                "parameter_invalid_integer",
                Some("amount"),
            ),
            (
                r#"{"amount": 1e30, "currency": "BRL"}"#,
                "parameter_invalid_integer",
                Some("amount"),
            ),
            (
                r#"{"amount": 99999999999999999999, "currency": "BRL"}"#,
                "parameter_invalid_integer",
                Some("amount"),
            ),
            (
                r#"{"currency": "BRL"}"#,
                "parameter_missing",
                Some("amount"),
            ),
            (
                r#"{"amount": null, "currency": "BRL"}"#,
                "parameter_missing",
                Some("amount"),
            ),
            (
                r#"{"amount": 1, "currency": 5}"#,
                "parameter_invalid_type",
                Some("currency"),
            ),
            (
                r#"{"amount": 1, "currency": "BRL", "customer": {}}"#,
                "parameter_missing",
                Some("customer.name"),
            ),
            (
                r#"{"amount": 1, "currency": "BRL", "customer": []}"#,
                "parameter_invalid_type",
                Some("customer"),
            ),
            (
                r#"{"amount": 1, "currency": "BRL", "customer": {"name": 1}}"#,
                "parameter_invalid_type",
                Some("customer.name"),
            ),
            (
                r#"{"amount": 1, "currency": "BRL", "customer": {"name": "A", "x": 1}}"#,
                "unknown_parameter",
                Some("customer.x"),
            ),
            (
                r#"{"amount": 1, "currency": "BRL", "surprise": 1}"#,
                "unknown_parameter",
                Some("surprise"),
            ),
            (
                r#"{"amount": 1, "currency": "BRL", "limit": -1}"#,
                "parameter_invalid_integer",
                Some("limit"),
            ),
            (
                r#"{"amount": 1, "currency": "BRL", "mode": "prod"}"#,
                "parameter_invalid_enum",
                Some("mode"),
            ),
            (
                r#"{"amount": 1, "currency": "BRL", "tokens": {"stripe": 5}}"#,
                "parameter_invalid_type",
                Some("tokens.stripe"),
            ),
            (
                r#"{"amount": 1, "currency": "BRL", "flag": "yes"}"#,
                "parameter_invalid_type",
                Some("flag"),
            ),
            (
                r#"{"amount": 1, "currency": "BRL", "currency": "USD"}"#,
                "parameter_duplicate",
                Some("currency"),
            ),
            (r#"{"amount": 1, "#, "body_not_json", None),
            (
                r#"{"amount": 1, "currency": "BRL"} trailing"#,
                "body_not_json",
                None,
            ),
            ("not json", "body_not_json", None),
            ("", "body_not_json", None),
            ("[1]", "body_not_object", None),
            ("[null, null]", "body_not_object", None),
            ("[]", "body_not_object", None),
            ("\"text\"", "body_not_object", None),
            ("null", "body_not_object", None),
        ] {
            let (c, p, m) = refuse(body);
            assert_eq!((c, p.as_deref()), (code, param), "{body}: {m}");
            clean(&m);
            if let Some(p) = param {
                assert!(m.contains(p), "{body}: {m} does not name {p}");
            }
        }
    }

    #[test]
    fn messages_read_as_sentences() {
        assert_eq!(
            refuse(r#"{"amount": 19.9, "currency": "BRL"}"#).2,
            "amount must be an integer number of cents (minor units), not a decimal number"
        );
        assert_eq!(
            refuse(r#"{"amount": 1, "currency": "BRL", "mode": "prod"}"#).2,
            "mode must be one of test, live"
        );
        let unknown = refuse(r#"{"amount": 1, "currency": "BRL", "surprise": 1}"#).2;
        assert!(unknown.contains("currency"), "{unknown}");
    }

    #[test]
    fn integral_decimals_are_integers() {
        let v: Outer = parse(
            br#"{"amount": 276.0, "currency": "BRL", "limit": 5.0}"#,
            HINTS,
        )
        .unwrap();
        assert_eq!((v.amount, v.limit), (276, Some(5)));
        let v: Outer = parse(
            br#"{"amount": -3, "currency": "BRL", "limit": null}"#,
            HINTS,
        )
        .unwrap();
        assert_eq!((v.amount, v.limit), (-3, None));
    }

    #[test]
    fn an_empty_body_may_mean_the_defaults() {
        #[derive(Deserialize, Default, Debug)]
        #[serde(deny_unknown_fields)]
        struct Opt {
            #[serde(default, deserialize_with = "int::opt_i64")]
            n: Option<i64>,
        }
        assert_eq!(parse_or_default::<Opt>(b"  ", &[]).unwrap().n, None);
        assert_eq!(parse_or_default::<Opt>(b"{}", &[]).unwrap().n, None);
        assert_eq!(
            parse_or_default::<Opt>(br#"{"n": 2.0}"#, &[]).unwrap().n,
            Some(2)
        );
    }
}
