//! Fake gateway servers that speak the documented wire formats, started inside tests.

pub mod asaas;
pub mod efi;
pub mod stripe;

use bytes::Bytes;
use http_body_util::Full;

/// How a fake answers an endpoint a test switched to failing (the Pix QR code endpoints):
/// after the charge itself was created, the client must keep it whatever this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointFailure {
    /// An HTTP error status with the gateway's usual error body (429, 404, 500, …).
    Status(u16),
    /// The connection is closed without any answer (a transport error at the client).
    CloseConnection,
}

/// Marker error: a handler that returns it makes hyper close the connection unanswered.
#[derive(Debug)]
pub struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose by the fake")
    }
}

impl std::error::Error for DropConnection {}

/// Like `crate::serve_http`, but a handler answering `None` has its connection closed without a
/// response (hyper drops the connection when the service fails).
pub fn serve_http_or_drop<H, F>(listener: tokio::net::TcpListener, handler: H)
where
    H: Fn(hyper::Request<hyper::body::Incoming>) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = Option<hyper::Response<Full<Bytes>>>> + Send + 'static,
{
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let handler = handler.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let fut = handler(req);
                    async move { fut.await.ok_or(DropConnection) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}
