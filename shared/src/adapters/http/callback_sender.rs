//! Delivers signed callbacks over HTTP: 15 s timeout, redirects never followed, and an SSRF
//! guard that refuses non-https URLs and any target resolving to a private, loopback,
//! link-local or otherwise non-public address (unless the deployment allows it: local dev).

use crate::domain::RESPONSE_EXCERPT_CHARS;
use crate::ports::{Callback, CallbackSender, DeliveryOutcome, DeliveryReport};
use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Per-attempt timeout (Standard Webhooks recommends 15–30 s).
pub const CALLBACK_TIMEOUT: Duration = Duration::from_secs(15);

/// True for addresses a callback may reach from a deployed Lambda.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
        || o[0] >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] == 0x2001 && s[1] == 0x0db8))
}

/// Resolves names and drops every non-public address, so a hostname pointing at an internal
/// address (or rebinding to one) is never connected to.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| is_public_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err("callback host resolves to no public address".into());
            }
            let it: Addrs = Box::new(addrs.into_iter());
            Ok(it)
        })
    }
}

/// The callback sender used by the worker.
#[derive(Clone)]
pub struct HttpCallbackSender {
    client: reqwest::Client,
    allow_private: bool,
}

impl HttpCallbackSender {
    /// `allow_private` lifts the SSRF guard (and the https requirement) for local development.
    pub fn new(allow_private: bool) -> Result<Self, reqwest::Error> {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(CALLBACK_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent("payment-orchestrator-webhooks/1");
        if !allow_private {
            b = b.dns_resolver(Arc::new(GuardedResolver)).https_only(true);
        }
        Ok(Self {
            client: b.build()?,
            allow_private,
        })
    }

    fn refuse_target(&self, url: &reqwest::Url) -> Option<String> {
        if self.allow_private {
            return None;
        }
        if url.scheme() != "https" {
            return Some("callback URL is not https".into());
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) if !is_public_ip(IpAddr::V4(ip)) => {
                Some("callback URL targets a non-public address".into())
            }
            Some(url::Host::Ipv6(ip)) if !is_public_ip(IpAddr::V6(ip)) => {
                Some("callback URL targets a non-public address".into())
            }
            None => Some("callback URL has no host".into()),
            _ => None,
        }
    }
}

#[async_trait]
impl CallbackSender for HttpCallbackSender {
    async fn send(&self, cb: &Callback) -> DeliveryReport {
        let refused = |why: String| DeliveryReport {
            outcome: DeliveryOutcome::Retry(why),
            http_status: None,
            response_excerpt: None,
        };
        let url = match reqwest::Url::parse(&cb.url) {
            Ok(u) => u,
            Err(e) => return refused(format!("bad callback URL: {e}")),
        };
        if let Some(why) = self.refuse_target(&url) {
            return refused(why);
        }
        let res = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &cb.webhook_id)
            .header("webhook-timestamp", cb.timestamp.to_string())
            .header("webhook-signature", &cb.signature)
            .body(cb.body.clone())
            .send()
            .await;
        match res {
            Ok(mut r) => {
                let status = r.status();
                let outcome = if status.is_success() {
                    DeliveryOutcome::Delivered
                } else if status == reqwest::StatusCode::GONE {
                    DeliveryOutcome::Gone
                } else {
                    DeliveryOutcome::Retry(format!("merchant answered {}", status.as_u16()))
                };
                // A short excerpt for the delivery log, read with a cap (never the whole body).
                let mut bytes = Vec::new();
                while bytes.len() < EXCERPT_READ_BYTES {
                    match r.chunk().await {
                        Ok(Some(c)) => bytes.extend_from_slice(&c),
                        _ => break,
                    }
                }
                let text: String = String::from_utf8_lossy(&bytes)
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(RESPONSE_EXCERPT_CHARS)
                    .collect();
                DeliveryReport {
                    outcome,
                    http_status: Some(status.as_u16()),
                    response_excerpt: Some(text).filter(|t| !t.is_empty()),
                }
            }
            Err(e) if e.is_timeout() => refused("timeout".into()),
            // Without the URL: merchants sometimes put tokens in callback URLs, and this ends up in logs.
            Err(e) => refused(format!("request failed: {}", e.without_url())),
        }
    }
}

/// How much of a merchant's answer is read for the excerpt.
const EXCERPT_READ_BYTES: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in ["8.8.8.8", "34.193.116.226", "2606:4700::1111"] {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[tokio::test]
    async fn guarded_sender_refuses_loopback_and_http_without_connecting() {
        let s = HttpCallbackSender::new(false).unwrap();
        for url in [
            "https://127.0.0.1:9/h",
            "http://merchant.example/h",
            "https://[::1]/h",
            "https://localhost:9/h",
        ] {
            let cb = Callback {
                url: url.into(),
                webhook_id: "evt_1".into(),
                timestamp: 0,
                signature: "v1,x".into(),
                body: "{}".into(),
            };
            assert!(
                matches!(s.send(&cb).await.outcome, DeliveryOutcome::Retry(_)),
                "{url}"
            );
        }
    }
}
