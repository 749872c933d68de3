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

/// True for addresses a callback may reach from a deployed Lambda: globally routable unicast
/// only. An IPv6 address that carries an IPv4 address on the way (IPv4-mapped `::ffff:a.b.c.d`,
/// NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) is judged by that IPv4 address, since that is where
/// a packet to it ends up.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
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
        // 0.0.0.0/8 "this network"
        || o[0] == 0
        // 100.64.0.0/10 shared address space (CGNAT)
        || (o[0] == 100 && (64..128).contains(&o[1]))
        // 192.0.0.0/24 IETF protocol assignments (DS-Lite, NAT64 discovery, PCP anycast, …)
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        // 192.88.99.0/24 the deprecated 6to4 relay anycast
        || (o[0] == 192 && o[1] == 88 && o[2] == 99)
        // 198.18.0.0/15 benchmarking
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
        // 240.0.0.0/4 reserved (and the broadcast address)
        || o[0] >= 240)
}

/// The IPv4 address in the low 32 bits of `ip`.
fn low_v4(ip: Ipv6Addr) -> Ipv4Addr {
    let o = ip.octets();
    Ipv4Addr::new(o[12], o[13], o[14], o[15])
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // ::ffff:a.b.c.d (IPv4-mapped): the IPv4 address itself.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // ::/96: `::` (unspecified), `::1` (loopback) and the deprecated IPv4-compatible
    // `::a.b.c.d` (RFC 4291 §2.5.5.1), which no host is reached at: never.
    if s[..6] == [0; 6] {
        return false;
    }
    // 64:ff9b::/96 well-known NAT64 prefix: the translator sends it to the embedded IPv4.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(low_v4(ip));
    }
    // 2002::/16 6to4: the IPv4 address is in bits 16-47.
    if s[0] == 0x2002 {
        return is_public_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    !(ip.is_multicast()
        // 64:ff9b:1::/48 local-use NAT64 (RFC 8215): translated inside someone's network
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1)
        // 100::/64 discard-only
        || (s[0] == 0x100 && s[1] == 0 && s[2] == 0 && s[3] == 0)
        // 2001::/23 IETF protocol assignments, with Teredo 2001::/32 (an IPv4 relay and an
        // obfuscated IPv4 client inside), benchmarking and ORCHID
        || (s[0] == 0x2001 && s[1] < 0x200)
        // 2001:db8::/32 and 3fff::/20 documentation
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x3fff && s[1] < 0x1000)
        // 5f00::/16 SRv6 segment identifiers
        || s[0] == 0x5f00
        // fc00::/7 unique local
        || (s[0] & 0xfe00) == 0xfc00
        // fe80::/10 link-local, fec0::/10 deprecated site-local
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0)
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
    /// No proxy is ever used, whatever `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` say: through a
    /// proxy the proxy resolves and connects, so the guard's resolver would never see the
    /// address (and a proxy inside the VPC reaches what the guard refuses).
    pub fn new(allow_private: bool) -> Result<Self, reqwest::Error> {
        let mut b = reqwest::Client::builder()
            .no_proxy()
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

    /// (address, public?) across every special range, the IPv6 forms that carry an IPv4
    /// address included.
    const ADDRESSES: &[(&str, bool)] = &[
        // IPv4 private, loopback, link-local and special
        ("127.0.0.1", false),
        ("10.1.2.3", false),
        ("172.16.0.1", false),
        ("192.168.1.1", false),
        ("169.254.169.254", false),
        ("0.0.0.0", false),
        ("0.1.2.3", false),
        ("100.64.0.1", false),
        ("100.127.255.254", false),
        ("192.0.0.1", false),
        ("192.0.0.170", false),
        ("192.0.0.255", false),
        ("192.0.2.1", false),
        ("192.88.99.1", false),
        ("198.18.0.1", false),
        ("198.51.100.7", false),
        ("203.0.113.9", false),
        ("224.0.0.1", false),
        ("240.0.0.1", false),
        ("255.255.255.255", false),
        // IPv4 public, next to those ranges
        ("8.8.8.8", true),
        ("34.193.116.226", true),
        ("100.63.255.255", true),
        ("100.128.0.1", true),
        ("192.0.1.1", true),
        ("192.88.100.1", true),
        ("198.20.0.1", true),
        // IPv6 special
        ("::", false),
        ("::1", false),
        ("fe80::1", false),
        ("fec0::1", false),
        ("fd00::1", false),
        ("fc00::1", false),
        ("ff02::1", false),
        ("2001:db8::1", false),
        ("3fff::1", false),
        ("100::1", false),
        ("5f00::1", false),
        ("2001::1", false),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", false),
        ("2001:2::1", false),
        ("2001:10::1", false),
        ("2001:20::1", false),
        // IPv4-mapped: the IPv4 address decides
        ("::ffff:10.0.0.1", false),
        ("::ffff:127.0.0.1", false),
        ("::ffff:169.254.169.254", false),
        ("::ffff:8.8.8.8", true),
        // IPv4-compatible (deprecated): never
        ("::127.0.0.1", false),
        ("::10.0.0.1", false),
        ("::169.254.169.254", false),
        ("::8.8.8.8", false),
        // NAT64 well-known prefix: the embedded IPv4 decides; local-use NAT64 never
        ("64:ff9b::127.0.0.1", false),
        ("64:ff9b::a9fe:a9fe", false),
        ("64:ff9b::10.0.0.1", false),
        ("64:ff9b::192.0.0.1", false),
        ("64:ff9b::8.8.8.8", true),
        ("64:ff9b:1::8.8.8.8", false),
        // 6to4: the IPv4 address in bits 16-47 decides
        ("2002:7f00:1::1", false),
        ("2002:a9fe:a9fe::1", false),
        ("2002:0a00:0001::1", false),
        ("2002:c000:0001::", false),
        ("2002:0808:0808::1", true),
        // IPv6 public
        ("2606:4700::1111", true),
        ("2a00:1450:4001:80b::200e", true),
        ("2001:4860:4860::8888", true),
    ];

    #[test]
    fn private_and_special_addresses_are_refused() {
        for (ip, public) in ADDRESSES {
            let parsed: IpAddr = ip.parse().unwrap_or_else(|e| panic!("{ip}: {e}"));
            assert_eq!(is_public_ip(parsed), *public, "{ip}");
        }
    }

    #[tokio::test]
    async fn guarded_sender_refuses_embedded_private_addresses_without_connecting() {
        let s = HttpCallbackSender::new(false).unwrap();
        for (ip, public) in ADDRESSES {
            if *public {
                continue;
            }
            let host = match ip.parse::<IpAddr>() {
                Ok(IpAddr::V6(_)) => format!("[{ip}]"),
                _ => ip.to_string(),
            };
            let url = format!("https://{host}:9/h");
            let why = match s.refuse_target(&reqwest::Url::parse(&url).unwrap()) {
                Some(why) => why,
                None => panic!("{url} was not refused"),
            };
            assert!(why.contains("non-public"), "{url}: {why}");
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
