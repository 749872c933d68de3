//! A TCP fault proxy on 127.0.0.1: forwards to one loopback port and, on command, delays,
//! resets or black-holes the traffic. Why our own: the fault runs switch modes many times a run
//! and count what they injected, and a few dozen lines do that without another tool to install.
//!
//! A mode applies to new connections and to the ones already open (clients pool connections, so
//! a fault that spared them would not reach the orchestrator): `reset` aborts every connection
//! with an RST at once, `blackhole` swallows every byte from then on and never answers (the
//! connection stays open until its client gives up), `delay` holds each chunk of the answer.

use crate::loopback;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward unchanged.
    Pass,
    /// Forward, holding each chunk of the upstream's answer this long.
    Delay(Duration),
    /// Abort connections with an RST (new ones and open ones, at once).
    Reset,
    /// Accept and never answer: bytes are read and dropped.
    Blackhole,
}

impl Mode {
    /// Parses `pass`, `delay MS` (or `delay:MS`), `reset`, `blackhole`.
    pub fn parse(s: &str) -> Result<Mode, String> {
        let s = s.trim();
        let (word, arg) = match s.split_once([' ', ':']) {
            Some((w, a)) => (w, Some(a.trim())),
            None => (s, None),
        };
        match (word, arg) {
            ("pass", None) => Ok(Mode::Pass),
            ("reset", None) => Ok(Mode::Reset),
            ("blackhole", None) => Ok(Mode::Blackhole),
            ("delay", Some(ms)) => ms
                .parse::<u64>()
                .ok()
                .filter(|ms| *ms <= 600_000)
                .map(|ms| Mode::Delay(Duration::from_millis(ms)))
                .ok_or_else(|| format!("delay needs milliseconds (0-600000), got `{ms}`")),
            _ => Err(format!(
                "unknown mode `{s}`: pass, delay MS, reset or blackhole"
            )),
        }
    }

    /// The mode's name for tables (`delay 200ms`).
    pub fn label(&self) -> String {
        match self {
            Mode::Pass => "pass".into(),
            Mode::Delay(d) => format!("delay {}ms", d.as_millis()),
            Mode::Reset => "reset".into(),
            Mode::Blackhole => "blackhole".into(),
        }
    }
}

/// What the proxy did, for the fault tables.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Connections aborted with an RST.
    pub resets: AtomicU64,
    /// Connections whose bytes were swallowed.
    pub blackholed: AtomicU64,
    /// Chunks held back by a delay.
    pub delayed_chunks: AtomicU64,
    /// Mode switches to something other than `pass`.
    pub switches: AtomicU64,
}

/// A running proxy; dropping it does not stop it (it ends with the runtime).
#[derive(Clone)]
pub struct FaultProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    mode: Arc<watch::Sender<Mode>>,
    /// What was injected so far.
    pub counters: Arc<Counters>,
}

impl FaultProxy {
    /// Listens on `listen` (port 0: any free port) and forwards to `upstream`; both must be
    /// loopback addresses.
    pub async fn start(listen: SocketAddr, upstream: SocketAddr) -> Result<FaultProxy, String> {
        loopback::require(&listen)?;
        loopback::require(&upstream)?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| format!("fault proxy: bind {listen}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("fault proxy: {e}"))?;
        let (tx, _) = watch::channel(Mode::Pass);
        let proxy = FaultProxy {
            addr,
            mode: Arc::new(tx),
            counters: Arc::new(Counters::default()),
        };
        let p = proxy.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                p.counters.connections.fetch_add(1, Ordering::Relaxed);
                let (modes, counters) = (p.mode.subscribe(), p.counters.clone());
                tokio::spawn(async move {
                    // An error here is a connection that ended badly: that is the point.
                    let _ = pump(client, upstream, modes, counters).await;
                });
            }
        });
        Ok(proxy)
    }

    /// Switches every connection, open or new, to `mode`.
    pub fn set(&self, mode: Mode) {
        if mode != Mode::Pass {
            self.counters.switches.fetch_add(1, Ordering::Relaxed);
        }
        self.mode.send_replace(mode);
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        *self.mode.borrow()
    }

    /// `http://127.0.0.1:PORT`, for base URLs and endpoints.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A control channel on `listen`: one command per line (`pass`, `delay 200`, `reset`,
    /// `blackhole`, `status`), answered `ok <mode>` or `error <why>`. Lets a shell script or a
    /// second terminal drive a proxy started with `loadtest proxy`.
    pub async fn control(&self, listen: SocketAddr) -> Result<SocketAddr, String> {
        loopback::require(&listen)?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| format!("control: bind {listen}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| format!("control: {e}"))?;
        let p = self.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let p = p.clone();
                tokio::spawn(async move {
                    let (r, mut w) = conn.into_split();
                    let mut lines = BufReader::new(r).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let answer = if line.trim() == "status" {
                            format!("ok {}", p.mode().label())
                        } else {
                            match Mode::parse(&line) {
                                Ok(m) => {
                                    p.set(m);
                                    format!("ok {}", m.label())
                                }
                                Err(e) => format!("error {e}"),
                            }
                        };
                        if w.write_all(format!("{answer}\n").as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Ok(addr)
    }
}

/// Aborts a connection with an RST instead of a FIN.
fn reset(stream: TcpStream) {
    // Zero linger makes close() send an RST and return at once (no blocking on drop).
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Reads and drops everything until the client closes.
async fn swallow(mut client: TcpStream, counters: &Counters) {
    counters.blackholed.fetch_add(1, Ordering::Relaxed);
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = client.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// One connection, both directions, applying the current mode to every chunk.
async fn pump(
    mut client: TcpStream,
    upstream_addr: SocketAddr,
    mut modes: watch::Receiver<Mode>,
    counters: Arc<Counters>,
) -> std::io::Result<()> {
    let first = *modes.borrow_and_update();
    match first {
        Mode::Reset => {
            counters.resets.fetch_add(1, Ordering::Relaxed);
            reset(client);
            return Ok(());
        }
        Mode::Blackhole => {
            swallow(client, &counters).await;
            return Ok(());
        }
        Mode::Pass | Mode::Delay(_) => {}
    }
    let mut upstream = match TcpStream::connect(upstream_addr).await {
        Ok(u) => u,
        Err(e) => {
            // Upstream down (moto stopped): the client sees what it would see — a refusal.
            reset(client);
            return Err(e);
        }
    };
    let _ = upstream.set_nodelay(true);
    let _ = client.set_nodelay(true);
    let (mut up_buf, mut down_buf) = (vec![0u8; 32 * 1024], vec![0u8; 32 * 1024]);
    loop {
        // (direction, bytes): true = client → upstream.
        let (to_upstream, n) = tokio::select! {
            r = client.read(&mut up_buf) => (true, r?),
            r = upstream.read(&mut down_buf) => (false, r?),
            changed = modes.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                // A reset or a black hole hits open connections at once, as a partition would:
                // an answer on its way is never delivered.
                let now = *modes.borrow_and_update();
                if now == Mode::Reset {
                    counters.resets.fetch_add(1, Ordering::Relaxed);
                    reset(client);
                    reset(upstream);
                    return Ok(());
                }
                if now == Mode::Blackhole {
                    drop(upstream);
                    swallow(client, &counters).await;
                    return Ok(());
                }
                continue;
            }
        };
        if n == 0 {
            // One side closed: close the other (a half-close is rare in HTTP/1.1).
            let _ = client.shutdown().await;
            let _ = upstream.shutdown().await;
            return Ok(());
        }
        let mode = *modes.borrow();
        match mode {
            Mode::Reset => {
                counters.resets.fetch_add(1, Ordering::Relaxed);
                reset(client);
                reset(upstream);
                return Ok(());
            }
            Mode::Blackhole => {
                drop(upstream);
                swallow(client, &counters).await;
                return Ok(());
            }
            Mode::Delay(d) if !to_upstream => {
                counters.delayed_chunks.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(d).await;
            }
            Mode::Delay(_) | Mode::Pass => {}
        }
        if to_upstream {
            upstream.write_all(&up_buf[..n]).await?;
        } else {
            client.write_all(&down_buf[..n]).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_refuse() {
        assert_eq!(Mode::parse("pass"), Ok(Mode::Pass));
        assert_eq!(
            Mode::parse("delay 250"),
            Ok(Mode::Delay(Duration::from_millis(250)))
        );
        assert_eq!(
            Mode::parse("delay:5"),
            Ok(Mode::Delay(Duration::from_millis(5)))
        );
        assert_eq!(Mode::parse(" reset\n"), Ok(Mode::Reset));
        assert_eq!(Mode::parse("blackhole"), Ok(Mode::Blackhole));
        assert!(Mode::parse("delay").is_err());
        assert!(Mode::parse("delay x").is_err());
        assert!(Mode::parse("drop").is_err());
    }

    async fn echo_upstream() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut b = [0u8; 1024];
                    while let Ok(n) = s.read(&mut b).await {
                        if n == 0 || s.write_all(&b[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn roundtrip(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
        s.write_all(b"ping").await?;
        let mut b = [0u8; 4];
        s.read_exact(&mut b).await?;
        Ok(b.to_vec())
    }

    #[tokio::test]
    async fn passes_delays_resets_and_blackholes_open_connections() {
        let p = FaultProxy::start("127.0.0.1:0".parse().expect("addr"), echo_upstream().await)
            .await
            .expect("start");
        let mut s = TcpStream::connect(p.addr).await.expect("connect");
        assert_eq!(roundtrip(&mut s).await.expect("pass"), b"ping");

        p.set(Mode::Delay(Duration::from_millis(150)));
        let t = std::time::Instant::now();
        assert_eq!(roundtrip(&mut s).await.expect("delay"), b"ping");
        assert!(t.elapsed() >= Duration::from_millis(150));

        p.set(Mode::Blackhole);
        let late = tokio::time::timeout(Duration::from_millis(300), roundtrip(&mut s)).await;
        assert!(late.is_err(), "a black-holed connection never answers");

        p.set(Mode::Reset);
        let mut fresh = TcpStream::connect(p.addr).await.expect("connect");
        assert!(roundtrip(&mut fresh).await.is_err(), "reset at once");
        assert!(p.counters.resets.load(Ordering::Relaxed) >= 1);

        p.set(Mode::Pass);
        let mut again = TcpStream::connect(p.addr).await.expect("connect");
        assert_eq!(roundtrip(&mut again).await.expect("pass again"), b"ping");
    }

    #[tokio::test]
    async fn refuses_non_loopback_addresses() {
        let up: SocketAddr = "10.0.0.1:80".parse().expect("addr");
        assert!(FaultProxy::start("127.0.0.1:0".parse().expect("addr"), up)
            .await
            .is_err());
    }
}
