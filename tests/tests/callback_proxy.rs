//! The callback sender never goes through a proxy, whatever the environment says: through a
//! proxy the proxy resolves and connects, so the SSRF guard's resolver never sees the target
//! (and a proxy inside the VPC reaches what the guard refuses). Its own binary, since it sets
//! process-wide environment variables.

use shared::adapters::http::HttpCallbackSender;
use shared::ports::{Callback, CallbackSender, DeliveryOutcome};
use std::time::Duration;

#[tokio::test]
async fn callbacks_ignore_proxy_environment_variables() {
    // A "proxy" that records whether anyone connected to it.
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let proxy_url = format!("http://{}", proxy.local_addr().expect("addr"));
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        std::env::set_var(var, &proxy_url);
    }
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    for allow_private in [false, true] {
        let sender = HttpCallbackSender::new(allow_private).expect("sender");
        // `.invalid` never resolves (RFC 6761): only a proxy could take this anywhere.
        let cb = Callback {
            url: "https://merchant.invalid/hooks".into(),
            webhook_id: "evt_proxy".into(),
            timestamp: 0,
            signature: "v1,x".into(),
            body: "{}".into(),
        };
        let report = sender.send(&cb).await;
        assert!(
            matches!(report.outcome, DeliveryOutcome::Retry(_)),
            "allow_private={allow_private}: {:?}",
            report.outcome
        );
        let connected = tokio::time::timeout(Duration::from_millis(300), proxy.accept()).await;
        assert!(
            connected.is_err(),
            "allow_private={allow_private}: the sender connected to the proxy"
        );
    }
}
