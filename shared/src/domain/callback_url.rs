//! The merchant's callback URL.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a callback URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackUrlError {
    #[error("callback_url must be an absolute https URL of at most 2048 characters")]
    Malformed,
    #[error("callback_url must use https (plain http is allowed only for loopback hosts in local development)")]
    NotHttps,
}

/// An absolute `https://` URL (or `http://` to a loopback host when the deployment allows local
/// callbacks). Resolution-time SSRF checks happen at delivery; this only rejects what is wrong
/// on its face.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallbackUrl(String);

impl CallbackUrl {
    /// Parses and checks the scheme; `allow_loopback_http` is true only in local development.
    pub fn parse(raw: &str, allow_loopback_http: bool) -> Result<Self, CallbackUrlError> {
        if raw.len() > 2048 || raw.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(CallbackUrlError::Malformed);
        }
        let (scheme, rest) = raw.split_once("://").ok_or(CallbackUrlError::Malformed)?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.is_empty() || authority.contains('@') {
            return Err(CallbackUrlError::Malformed);
        }
        let host = host_of(authority).ok_or(CallbackUrlError::Malformed)?;
        match scheme.to_ascii_lowercase().as_str() {
            "https" => Ok(Self(raw.to_string())),
            "http" if allow_loopback_http && is_loopback_host(host) => Ok(Self(raw.to_string())),
            "http" => Err(CallbackUrlError::NotHttps),
            _ => Err(CallbackUrlError::Malformed),
        }
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn host_of(authority: &str) -> Option<&str> {
    if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']')?;
        return Some(&rest[..end]);
    }
    let host = authority.split(':').next()?;
    if host.is_empty() {
        None
    } else {
        Some(host)
    }
}

fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl fmt::Display for CallbackUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_accepted() {
        assert!(CallbackUrl::parse("https://merchant.example/hooks?x=1", false).is_ok());
        assert!(CallbackUrl::parse("https://[2001:db8::1]:8443/h", false).is_ok());
    }

    #[test]
    fn http_only_to_loopback_when_allowed() {
        assert_eq!(
            CallbackUrl::parse("http://merchant.example/h", true),
            Err(CallbackUrlError::NotHttps)
        );
        assert_eq!(
            CallbackUrl::parse("http://127.0.0.1:9000/h", false),
            Err(CallbackUrlError::NotHttps)
        );
        assert!(CallbackUrl::parse("http://127.0.0.1:9000/h", true).is_ok());
        assert!(CallbackUrl::parse("http://localhost/h", true).is_ok());
    }

    #[test]
    fn malformed_urls_are_rejected() {
        for s in [
            "",
            "merchant.example",
            "ftp://x/y",
            "https://",
            "https:///path",
            "https://user@host/",
            "https://a b/",
        ] {
            assert_eq!(
                CallbackUrl::parse(s, true),
                Err(CallbackUrlError::Malformed),
                "{s}"
            );
        }
    }
}
