//! A small HTTP/1.1 server that feeds requests to the shared API handler.

use crate::args::Store;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use shared::api::{
    error_response, handle, handle_webhook, is_webhook_path, ApiRequest, ApiResponse,
    MAX_BODY_BYTES,
};
use shared::error::ApiError;
use shared::gateways::simulator::controls::{is_simulator_path, SimulatorControls};
use shared::service::webhooks::WebhookReceiver;
use shared::service::Orchestrator;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// What the server routes to.
struct Services {
    api: Arc<Orchestrator>,
    receiver: Arc<WebhookReceiver>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// `/simulator/…`: mounted here only, never in the Lambdas (see `SimulatorControls`).
    simulator: Arc<SimulatorControls>,
}

async fn serve_one(
    svc: Arc<Services>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    if parts.uri.path() == "/metrics" && parts.method == http::Method::GET {
        if let Some(m) = &svc.metrics {
            let text = m.render();
            let resp = Response::builder()
                .status(200)
                .header("content-type", "text/plain; version=0.0.4")
                .body(Full::new(Bytes::from(text)))
                .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())));
            return Ok(resp);
        }
    }
    let out = match Limited::new(body, MAX_BODY_BYTES + 1).collect().await {
        Ok(collected) => {
            let api = ApiRequest {
                method: parts.method,
                path: parts.uri.path().to_string(),
                query: parts.uri.query().map(str::to_string),
                headers: parts.headers,
                body: collected.to_bytes(),
                deadline: None,
                source_ip: Some(peer.ip()),
                client_cert_issuer: None,
            };
            if is_webhook_path(&api.path) {
                handle_webhook(&svc.receiver, api).await
            } else if is_simulator_path(&api.path) {
                svc.simulator.handle(&svc.api, &svc.receiver, api).await
            } else {
                handle(&svc.api, api).await
            }
        }
        Err(_) => error_response(&ApiError::PayloadTooLarge),
    };
    Ok(render(out))
}

fn render(out: ApiResponse) -> Response<Full<Bytes>> {
    let mut resp = Response::builder().status(out.status);
    for (k, v) in out.headers {
        resp = resp.header(k, v);
    }
    resp.body(Full::new(Bytes::from(out.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::from_static(b"{}"))))
}

/// Serves until Ctrl-C (or SIGTERM).
pub async fn serve(
    api: Arc<Orchestrator>,
    receiver: Arc<WebhookReceiver>,
    addr: SocketAddr,
    store: Store,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    simulator: Arc<SimulatorControls>,
) -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let public = public_url(local, std::env::var("ORCH_PUBLIC_URL").ok())?;
    simulator.set_public_url(&public);
    tracing::info!(public_url = %public, "simulator 3DS pages at {public}/simulator/3ds/…");
    let svc = Arc::new(Services {
        api,
        receiver,
        metrics,
        simulator,
    });
    tracing::info!(addr = %local, store = ?store, "orchestrator listening");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        };
        let svc = svc.clone();
        tokio::spawn(async move {
            let conn = http1::Builder::new().serve_connection(
                TokioIo::new(stream),
                service_fn(move |req| serve_one(svc.clone(), peer, req)),
            );
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection closed with error");
            }
        });
    }
    tracing::info!("orchestrator stopped");
    Ok(())
}

/// The address a browser reaches this server at, for the links it hands out (a card's 3DS
/// `next_action.url`): `ORCH_PUBLIC_URL` when set (behind a tunnel or another host name), else
/// the bound address — a wildcard bind (`0.0.0.0`, `::`) as loopback, the port as bound (so
/// `--addr 127.0.0.1:0` links to the port the system picked).
pub fn public_url(bound: SocketAddr, configured: Option<String>) -> Result<String, String> {
    if let Some(url) = configured.filter(|u| !u.trim().is_empty()) {
        let url = url.trim().trim_end_matches('/').to_string();
        let ok = (url.starts_with("http://") || url.starts_with("https://"))
            && !url.contains(char::is_whitespace)
            && !url.contains(['?', '#']);
        return if ok {
            Ok(url)
        } else {
            Err("ORCH_PUBLIC_URL must be an http(s) URL without query or fragment, e.g. http://localhost:8080".into())
        };
    }
    let ip = match bound.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => std::net::IpAddr::from([127, 0, 0, 1]),
        ip if ip.is_unspecified() => std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Ok(format!("http://{}", SocketAddr::new(ip, bound.port())))
}

#[cfg(test)]
mod tests {
    use super::public_url;

    #[test]
    fn public_url_from_the_bound_address_or_the_setting() {
        let at = |s: &str| s.parse().unwrap();
        assert_eq!(
            public_url(at("127.0.0.1:8080"), None).unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            public_url(at("0.0.0.0:9000"), None).unwrap(),
            "http://127.0.0.1:9000"
        );
        assert_eq!(
            public_url(at("[::]:9000"), None).unwrap(),
            "http://[::1]:9000"
        );
        assert_eq!(
            public_url(at("0.0.0.0:9000"), Some("https://dev.example.com/".into())).unwrap(),
            "https://dev.example.com"
        );
        assert!(public_url(at("0.0.0.0:9000"), Some("ftp://x".into())).is_err());
        assert!(public_url(at("0.0.0.0:9000"), Some("http://x/?a".into())).is_err());
    }
}
