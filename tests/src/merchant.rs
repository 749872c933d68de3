//! A merchant's callback endpoint on 127.0.0.1: records every request and answers with a status
//! the test sets (200 by default).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// One received callback.
#[derive(Debug, Clone)]
pub struct Received {
    pub webhook_id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: String,
}

/// The running merchant server.
#[derive(Clone)]
pub struct Merchant {
    pub url: String,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Merchant {
    /// Starts on a free loopback port; stops when the test's runtime ends.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let m = Merchant {
            url: format!("http://{addr}/hooks"),
            status: Arc::new(AtomicU16::new(200)),
            delay_ms: Arc::new(AtomicU64::new(0)),
            received: Arc::new(Mutex::new(Vec::new())),
        };
        let state = m.clone();
        crate::serve_http(listener, move |req| state.clone().serve(req));
        m
    }

    async fn serve(self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let h = |k: &str| {
            req.headers()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let (webhook_id, ts, signature) = (
            h("webhook-id"),
            h("webhook-timestamp"),
            h("webhook-signature"),
        );
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        self.received.lock().unwrap().push(Received {
            webhook_id,
            timestamp: ts.parse().unwrap_or(0),
            signature,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        }
        let mut resp = Response::new(Full::new(Bytes::from_static(b"ok")));
        *resp.status_mut() = hyper::StatusCode::from_u16(self.status.load(Ordering::SeqCst))
            .unwrap_or(hyper::StatusCode::OK);
        resp
    }

    /// Answer every later request with `status`.
    pub fn respond_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Answer every later request after `ms` milliseconds (merchant latency).
    pub fn delay(&self, ms: u64) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}
