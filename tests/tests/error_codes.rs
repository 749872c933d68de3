//! The error codes the server can send, the contract's `enum`s and the README agree.
//!
//! The Rust tables in `shared::error` are the list. This test holds them against
//! docs/openapi.yaml (`components.schemas.Error`: `type` and `code` enums, both directions, so
//! the response-schema check of schemathesis catches a code the server sends undocumented)
//! and the README's "Error codes" table, and scans the server's source for every code written
//! as a literal at a place that makes an error (`ApiError::invalid("…"`, `code: "…"`,
//! `FormError::coded("…"`, usage's `bad("…"`), so a new code cannot skip the table.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The items of the block list under `key:` that follows the line `anchor` (a YAML
/// `enum:` written one `- item` per line), or of its flow list `[a, b]`.
fn yaml_enum_after(text: &str, anchor: &str, key: &str) -> Vec<String> {
    let start = text
        .find(anchor)
        .unwrap_or_else(|| panic!("{anchor} not in openapi.yaml"));
    let rest = &text[start..];
    let key_at = rest
        .find(&format!("{key}:"))
        .unwrap_or_else(|| panic!("{key} not after {anchor}"));
    let block = &rest[key_at..];
    let enum_at = block.find("enum:").expect("an enum");
    let after = &block[enum_at + "enum:".len()..];
    let line_end = after.find('\n').unwrap_or(after.len());
    let inline = after[..line_end].trim();
    if let Some(list) = inline.strip_prefix('[') {
        return list
            .trim_end_matches(']')
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
    }
    after[line_end..]
        .lines()
        .skip(1)
        .map_while(|l| l.trim().strip_prefix("- ").map(|s| s.trim().to_string()))
        .collect()
}

fn spec() -> String {
    std::fs::read_to_string(root().join("docs/openapi.yaml")).expect("openapi.yaml")
}

#[test]
fn the_spec_enumerates_exactly_the_codes_the_server_sends() {
    let spec = spec();
    let codes = yaml_enum_after(&spec, "\n    Error:\n", "code");
    let in_spec: BTreeSet<&str> = codes.iter().map(String::as_str).collect();
    assert_eq!(
        in_spec.len(),
        codes.len(),
        "a code is listed twice: {codes:?}"
    );
    let ours = shared::error::all_error_codes();
    let in_rust: BTreeSet<&str> = ours.iter().copied().collect();
    assert_eq!(in_rust.len(), ours.len(), "a code is in two Rust tables");
    let undocumented: Vec<_> = in_rust.difference(&in_spec).collect();
    let stale: Vec<_> = in_spec.difference(&in_rust).collect();
    assert!(
        undocumented.is_empty() && stale.is_empty(),
        "sent but not in the spec: {undocumented:?}; in the spec but never sent: {stale:?}"
    );

    let types = yaml_enum_after(&spec, "\n    Error:\n", "type");
    let types: BTreeSet<&str> = types.iter().map(String::as_str).collect();
    let rust_types: BTreeSet<&str> = shared::error::ERROR_TYPES.iter().copied().collect();
    assert_eq!(types, rust_types);
    for (t, c) in shared::error::OTHER_CODES {
        assert!(rust_types.contains(t), "{c} has an unknown type {t}");
    }
}

#[test]
fn the_502_code_the_spec_names_is_one_the_server_sends() {
    let spec = spec();
    assert!(
        !spec.contains("all_gateways_failed"),
        "the server never sends all_gateways_failed"
    );
    for class in [
        shared::ports::ErrorClass::Declined,
        shared::ports::ErrorClass::Invalid,
        shared::ports::ErrorClass::Unavailable,
        shared::ports::ErrorClass::Ambiguous,
        shared::ports::ErrorClass::Misconfigured,
    ] {
        for op in [
            shared::error::GatewayOp::Charge,
            shared::error::GatewayOp::Refund,
            shared::error::GatewayOp::Cancel,
        ] {
            let code = shared::error::gateway_failure_code(op, class);
            assert!(shared::error::GATEWAY_CODES.contains(&code), "{code}");
            let open = shared::error::breaker_open_code(op);
            assert!(shared::error::GATEWAY_CODES.contains(&open), "{open}");
        }
    }
    assert!(spec.contains("`gateway_unavailable`"));
}

#[test]
fn the_readme_explains_every_400_code() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    for (code, _) in shared::error::INVALID_CODES {
        assert!(
            readme.contains(&format!("`{code}`")),
            "README does not explain {code}"
        );
    }
}

/// The string literal right after `marker` (whitespace allowed before its quote).
fn literals_after<'a>(text: &'a str, marker: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = text[at..].find(marker) {
        let rest = text[at + i + marker.len()..].trim_start();
        if let Some(lit) = rest.strip_prefix('"') {
            if let Some(end) = lit.find('"') {
                out.push(&lit[..end]);
            }
        }
        at += i + marker.len();
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_code_written_in_the_server_is_in_the_table() {
    let known: BTreeSet<&str> = shared::error::all_error_codes().into_iter().collect();
    let mut files = Vec::new();
    rust_files(&root().join("shared/src"), &mut files);
    let mut seen = 0;
    let mut missing = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("source");
        // Test modules may write refused codes on purpose; only the server's code counts.
        let text = text.split("#[cfg(test)]").next().unwrap_or("");
        let mut found = Vec::new();
        for marker in ["ApiError::invalid(", "FormError::coded("] {
            found.extend(literals_after(text, marker));
        }
        // usage_api.rs refuses through its own `bad(code, param, message)`.
        if f.ends_with("usage_api.rs") {
            found.extend(literals_after(text, "bad("));
        }
        for marker in [
            "ApiError::Invalid {",
            "ApiError::Unprocessable {",
            "ApiError::Gateway {",
        ] {
            for block in text.split(marker).skip(1) {
                let body = block.split('}').next().unwrap_or("");
                found.extend(literals_after(body, "code:"));
            }
        }
        for code in found {
            seen += 1;
            if !known.contains(code) {
                missing.push(format!("{}: {code}", f.display()));
            }
        }
    }
    assert!(
        seen > 50,
        "the scan found only {seen} codes; did the markers change?"
    );
    assert!(
        missing.is_empty(),
        "codes not in shared::error's tables: {missing:#?}"
    );
}
