//! One kept-alive HTTP/1.1 connection to one loopback peer (the Runtime API, or DynamoDB on
//! moto), reopened only when the peer closed it — the least a client can do per request.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{handshake, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What went wrong talking to a peer; the floor stops on it (it measures, it does not recover).
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// A peer at `host:port` and the open connection to it, if any.
pub struct Conn {
    addr: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    /// No connection is opened until the first request.
    pub fn new(addr: String) -> Self {
        Self { addr, sender: None }
    }

    /// The `Host` header value for requests to this peer.
    pub fn host(&self) -> &str {
        &self.addr
    }

    async fn ready(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, Error> {
        if let Some(s) = &mut self.sender {
            if s.ready().await.is_err() {
                self.sender = None;
            }
        }
        if self.sender.is_none() {
            let tcp = TcpStream::connect(&self.addr).await?;
            tcp.set_nodelay(true)?;
            let (sender, conn) = handshake(TokioIo::new(tcp)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        self.sender.as_mut().ok_or_else(|| "no connection".into())
    }

    /// Sends one request and reads the whole answer (so the connection can carry the next one).
    pub async fn send(
        &mut self,
        req: http::Request<Full<Bytes>>,
    ) -> Result<(http::response::Parts, Bytes), Error> {
        let res = self.ready().await?.send_request(req).await?;
        let (parts, body) = res.into_parts();
        Ok((parts, body.collect().await?.to_bytes()))
    }
}
