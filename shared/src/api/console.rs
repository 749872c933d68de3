//! The web console at `/dashboard`: static assets compiled into the binary, served by the same
//! handler as the API (proxy Lambda and dev server alike), with a strict Content-Security-Policy.
//! The pages talk to `/v1` with the tenant's API key from `sessionStorage` (see README, Console).

use super::{ApiRequest, ApiResponse};
use http::Method;
use std::sync::OnceLock;

/// The policy every console answer carries: nothing inline, nothing from another origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// (file name, content type, body), compiled in.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("console/index.html"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("console/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("console/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("console/api.js"),
    ),
    (
        "i18n.js",
        "text/javascript; charset=utf-8",
        include_str!("console/i18n.js"),
    ),
    (
        "ui.js",
        "text/javascript; charset=utf-8",
        include_str!("console/ui.js"),
    ),
    (
        "views.js",
        "text/javascript; charset=utf-8",
        include_str!("console/views.js"),
    ),
    (
        "reconciliation.js",
        "text/javascript; charset=utf-8",
        include_str!("console/reconciliation.js"),
    ),
    (
        "endpoint.js",
        "text/javascript; charset=utf-8",
        include_str!("console/endpoint.js"),
    ),
    (
        "qr.js",
        "text/javascript; charset=utf-8",
        include_str!("console/qr.js"),
    ),
    (
        "settings.js",
        "text/javascript; charset=utf-8",
        include_str!("console/settings.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("console/favicon.svg"),
    ),
];

/// `/dashboard`, `/dashboard/` and `/dashboard/<asset>`.
pub fn is_console_path(path: &str) -> bool {
    path == "/dashboard" || path.starts_with("/dashboard/")
}

/// A strong ETag of an asset's bytes (FNV-1a).
fn etag_of(body: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

/// The compiled assets' ETags, computed once per process.
fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| ASSETS.iter().map(|(_, _, body)| etag_of(body)).collect())
}

/// Debug builds only: `ORCH_CONSOLE_DIR=shared/src/api/console` serves the asset from that
/// directory as it is on disk, so a console change needs a reload rather than a rebuild. Only
/// names in [`ASSETS`] are read (never a path from the request), and release builds compile
/// this away: what ships is always what was compiled in.
#[cfg(debug_assertions)]
fn dev_override(name: &str) -> Option<String> {
    let dir = std::env::var_os("ORCH_CONSOLE_DIR")?;
    std::fs::read_to_string(std::path::Path::new(&dir).join(name)).ok()
}

#[cfg(not(debug_assertions))]
fn dev_override(_name: &str) -> Option<String> {
    None
}

fn with_security_headers(mut resp: ApiResponse) -> ApiResponse {
    resp.headers.extend([
        (
            "content-security-policy",
            CONTENT_SECURITY_POLICY.to_string(),
        ),
        ("x-content-type-options", "nosniff".to_string()),
        ("referrer-policy", "no-referrer".to_string()),
        ("x-frame-options", "DENY".to_string()),
    ]);
    resp
}

fn plain(status: u16, text: &str) -> ApiResponse {
    with_security_headers(ApiResponse {
        status,
        headers: vec![
            ("content-type", "text/plain; charset=utf-8".into()),
            ("cache-control", "no-store".into()),
        ],
        body: text.into(),
    })
}

/// Serves one console request. Assets are revalidated on every load (`no-cache` + ETag, 304
/// when unchanged), so a deploy is picked up at once and an unchanged asset costs no body.
pub fn serve(req: &ApiRequest) -> ApiResponse {
    let head = req.method == Method::HEAD;
    if req.method != Method::GET && !head {
        let mut r = plain(405, "method not allowed");
        r.headers.push(("allow", "GET, HEAD".into()));
        return r;
    }
    let name = match req.path.strip_prefix("/dashboard").unwrap_or("") {
        "" | "/" | "/index.html" => "index.html",
        rest => rest.trim_start_matches('/'),
    };
    let Some(i) = ASSETS.iter().position(|(n, _, _)| *n == name) else {
        return plain(404, "not found");
    };
    let (_, content_type, compiled) = ASSETS[i];
    let (body, etag) = match dev_override(name) {
        Some(text) => {
            let tag = etag_of(&text);
            (std::borrow::Cow::Owned(text), tag)
        }
        None => (std::borrow::Cow::Borrowed(compiled), etags()[i].clone()),
    };
    let etag = &etag;
    let matches = req
        .headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let (status, body) = if matches {
        (304, String::new())
    } else if head {
        (200, String::new())
    } else {
        (200, body.to_string())
    };
    with_security_headers(ApiResponse {
        status,
        headers: vec![
            ("content-type", content_type.into()),
            ("cache-control", "no-cache".into()),
            ("etag", etag.clone()),
        ],
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderMap;

    fn get(path: &str, headers: HeaderMap) -> ApiResponse {
        serve(&ApiRequest {
            method: Method::GET,
            path: path.into(),
            query: None,
            headers,
            body: Bytes::new(),
            deadline: None,
            source_ip: None,
            client_cert_issuer: None,
        })
    }

    #[test]
    fn serves_the_page_and_assets_with_their_types_and_policy() {
        for (path, ct) in [
            ("/dashboard", "text/html; charset=utf-8"),
            ("/dashboard/", "text/html; charset=utf-8"),
            ("/dashboard/app.js", "text/javascript; charset=utf-8"),
            ("/dashboard/style.css", "text/css; charset=utf-8"),
            ("/dashboard/favicon.svg", "image/svg+xml"),
        ] {
            let r = get(path, HeaderMap::new());
            assert_eq!(r.status, 200, "{path}");
            assert_eq!(r.header("content-type"), Some(ct), "{path}");
            assert_eq!(
                r.header("content-security-policy"),
                Some(CONTENT_SECURITY_POLICY)
            );
            assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
            assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
            assert!(r.header("etag").is_some());
        }
        assert_eq!(get("/dashboard/nope.js", HeaderMap::new()).status, 404);
        assert_eq!(
            get("/dashboard/../Cargo.toml", HeaderMap::new()).status,
            404
        );
    }

    #[test]
    fn revalidation_answers_304_without_a_body() {
        let first = get("/dashboard/app.js", HeaderMap::new());
        let mut h = HeaderMap::new();
        h.insert(
            "if-none-match",
            first.header("etag").unwrap().parse().unwrap(),
        );
        let again = get("/dashboard/app.js", h);
        assert_eq!(again.status, 304);
        assert!(again.body.is_empty());
    }

    #[test]
    fn nothing_inline_and_no_other_origin() {
        for (name, _, body) in ASSETS {
            // The SVG namespace is a name, not a resource the page loads.
            let rest = body.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !rest.contains("http://") && !rest.contains("https://"),
                "{name} names another origin"
            );
            if name.ends_with(".html") {
                assert!(
                    !body.contains("<script>") && !body.contains("style="),
                    "inline code in {name}"
                );
                for handler in ["onclick=", "onload=", "onsubmit=", "onerror="] {
                    assert!(!body.contains(handler), "inline handler in {name}");
                }
            }
        }
    }
}
