//! The processes a run starts — the dev server and moto — on 127.0.0.1, with their logs in
//! files, their peak memory read from /proc, and a kill when they are dropped.

/// The credentials key of the dev servers a run starts on DynamoDB (local only).
const LOCAL_CREDENTIALS_KEY: &str =
    "7e1a9c3b5d2f40689a1c3e5b7d9f02468ace13579bdf02468ace13579bdf0246";

use crate::client::Api;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Where a dev server keeps its state.
#[derive(Debug, Clone)]
pub enum Store {
    /// In-memory stores (the dev default).
    Memory,
    /// DynamoDB at `endpoint` (moto, or a fault proxy in front of it), tables named
    /// `<prefix>-…`.
    Dynamo { endpoint: String, prefix: String },
}

impl Store {
    /// The environment the dev server (and `devserver seed`) reads for this store.
    fn env(&self) -> Vec<(String, String)> {
        let Store::Dynamo { endpoint, prefix } = self else {
            return vec![];
        };
        let mut env: Vec<(String, String)> = [
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (var, table) in [
            ("IDEMPOTENCY_TABLE", "idempotency"),
            ("PAYMENTS_TABLE", "payments"),
            ("TENANTS_TABLE", "tenants"),
            ("EVENTS_TABLE", "events"),
            ("BREAKER_TABLE", "breakers"),
            ("OUTBOX_TABLE", "outbox"),
            ("USAGE_TABLE", "usage"),
        ] {
            env.push((var.into(), format!("{prefix}-{table}")));
        }
        env
    }
}

/// A started process, killed when dropped.
pub struct Proc {
    child: Child,
}

impl Proc {
    /// The OS process id (`None` once it exited).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Peak resident set size so far (`VmHWM`), in MB.
    pub fn peak_rss_mb(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    }

    /// Restarts the peak RSS count at the current RSS (`echo 5 > /proc/PID/clear_refs`), so each
    /// run reports its own peak. `false` where the kernel does not allow it.
    pub fn reset_peak_rss(&self) -> bool {
        self.pid()
            .is_some_and(|p| std::fs::write(format!("/proc/{p}/clear_refs"), "5").is_ok())
    }

    /// `true` while the process runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills it (SIGKILL) and waits for it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A free port on 127.0.0.1 (bound and released; the run binds it right after).
pub fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("free port: {e}"))
}

fn log_file(logs: &Path, name: &str) -> Result<(std::fs::File, std::fs::File), String> {
    let path = logs.join(format!("{name}.log"));
    let f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let g = f
        .try_clone()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((f, g))
}

/// What is needed to start the dev server and moto.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The dev server binary (`target/release/devserver`).
    pub devserver: PathBuf,
    /// The Python of the venv with `moto[server]` (`.venv/bin/python`).
    pub python: PathBuf,
    /// The repository root (for `infra/moto_serial.py` and the tenants file).
    pub root: PathBuf,
    /// Where process logs go.
    pub logs: PathBuf,
}

impl Binaries {
    /// Starts `devserver serve` on `port` with `store`, the per-tenant rate limit raised to
    /// 100,000,000 a minute (a load run measures the server, not the limiter), extra `env`.
    pub async fn devserver(
        &self,
        name: &str,
        port: u16,
        store: &Store,
        tenants: Option<&Path>,
        env: &[(&str, &str)],
    ) -> Result<(Proc, Api), String> {
        let (out, err) = log_file(&self.logs, name)?;
        let mut cmd = Command::new(&self.devserver);
        cmd.arg("serve")
            .arg("--addr")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--tenants")
            .arg(tenants.map_or_else(
                || self.root.join("infra/tenants.dev.json"),
                Path::to_path_buf,
            ))
            .env("RATE_LIMIT_PER_MINUTE", "100000000")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true);
        if let Store::Dynamo { .. } = store {
            // The dev server refuses DynamoDB without a credentials key (a scenario may set
            // its own below).
            cmd.arg("--store")
                .arg("dynamodb")
                .arg("--create-tables")
                .env("ORCH_CREDENTIALS_KEY", LOCAL_CREDENTIALS_KEY);
        }
        for (k, v) in store.env() {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("{}: {e}", self.devserver.display()))?;
        let mut proc = Proc { child };
        let api = Api::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(60))?;
        let t0 = Instant::now();
        while !api.healthy().await {
            if !proc.running() || t0.elapsed() > Duration::from_secs(90) {
                return Err(format!(
                    "dev server {name} did not start; see {}",
                    self.logs.join(format!("{name}.log")).display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok((proc, api))
    }

    /// `devserver seed`: (re)creates the tables and writes the tenants (after moto restarted).
    pub async fn seed(&self, store: &Store) -> Result<(), String> {
        let mut cmd = Command::new(&self.devserver);
        cmd.arg("seed")
            .arg("--tenants")
            .arg(self.root.join("infra/tenants.dev.json"));
        for (k, v) in store.env() {
            cmd.env(k, v);
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| format!("devserver seed: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "devserver seed failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Starts moto on `port` and waits until it answers: `infra/moto_stream_fix.py`, which is
    /// `infra/moto_serial.py` (one request at a time, as conditional writes need) with moto's
    /// stream-after-cancelled-transaction bug fixed (the dev server's callbacks depend on it).
    pub async fn moto(&self, name: &str, port: u16) -> Result<Proc, String> {
        let (out, err) = log_file(&self.logs, name)?;
        let child = Command::new(&self.python)
            .arg(self.root.join("infra/moto_stream_fix.py"))
            .arg(port.to_string())
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("{} (moto): {e}", self.python.display()))?;
        let mut proc = Proc { child };
        let probe = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/moto-api/");
        let t0 = Instant::now();
        loop {
            if probe
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok()
            {
                return Ok(proc);
            }
            if !proc.running() || t0.elapsed() > Duration::from_secs(60) {
                return Err(format!(
                    "moto did not start; see {}",
                    self.logs.join(format!("{name}.log")).display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
