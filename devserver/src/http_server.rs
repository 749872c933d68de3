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
) -> Result<(), Box<dyn std::error::Error>> {
    let svc = Arc::new(Services {
        api,
        receiver,
        metrics,
    });
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
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
