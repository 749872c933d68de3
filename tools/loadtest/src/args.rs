//! Command-line arguments, parsed by hand (a handful of flags; no parser crate needed).

use crate::fault_proxy::Mode;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Printed on bad arguments.
pub const USAGE: &str = "usage:
  loadtest load   [--stores memory,dynamodb] [--clients 1,16,64,256] [--requests 2000] [--requests-dynamodb 200]
  loadtest faults [--clients 16] [--phase-seconds 4] [--targets dynamodb,gateway,merchant,moto-restart]
                  [--modes 'delay 300,reset,blackhole'] [--skip 'dynamodb:blackhole']
  loadtest pipeline [--seconds 150] [--inflight-cap 800] [--inflight-bound CAP] [--drain-seconds 20]
                  [--healthy-rate 1] [--dead-rate 16] [--hang-rate 3]   (payments/s per tenant)
                  (50 tenants on memory: 48 healthy, one dead endpoint (500), one hanging (20 s);
                   healthy callback delays, queue in flight vs its cap, no event lost)
  loadtest clock  (a dev server on moto killed mid-charge at a fake Asaas; retried 24 h later, after TTL, never)
  loadtest proxy  --listen 127.0.0.1:PORT --to 127.0.0.1:PORT [--control 127.0.0.1:PORT]
                  [--schedule 'pass:5,reset:3,delay 200:5,blackhole:3']   (mode:seconds, then exit)
common: [--devserver target/release/devserver] [--python .venv/bin/python] [--root .] [--logs target/loadtest]
        [--max-minutes 30]  (a watchdog ends the run, and everything it started, after this)
Every address must be 127.0.0.1. Exit status: 0 ok, 1 invariant violated, 2 could not run.";

/// What to run.
#[derive(Debug)]
pub enum Command {
    /// The load table.
    Load {
        stores: Vec<&'static str>,
        clients: Vec<usize>,
        requests: usize,
        requests_dynamodb: usize,
    },
    /// The fault table.
    Faults {
        clients: usize,
        phase: Duration,
        targets: Vec<String>,
        modes: Vec<Mode>,
        skip: Vec<String>,
    },
    /// The time scenarios of `clock.rs`.
    Clock,
    /// The webhook pipeline with one dead and one hanging endpoint (`pipeline.rs`).
    Pipeline(crate::pipeline::Plan),
    /// A standalone fault proxy.
    Proxy {
        listen: SocketAddr,
        to: SocketAddr,
        control: Option<SocketAddr>,
        schedule: Vec<(Mode, Duration)>,
    },
}

/// Parsed arguments.
#[derive(Debug)]
pub struct Args {
    /// What to run.
    pub command: Command,
    /// The dev server binary.
    pub devserver: PathBuf,
    /// The venv's Python (moto).
    pub python: PathBuf,
    /// The repository root.
    pub root: PathBuf,
    /// Where logs go.
    pub logs: PathBuf,
    /// The watchdog.
    pub max: Duration,
}

fn list<T>(v: &str, one: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    v.split(',').map(|s| one(s.trim())).collect()
}

fn number(v: &str, what: &str) -> Result<usize, String> {
    v.parse()
        .map_err(|_| format!("{what} needs a number, got `{v}`"))
}

fn addr(v: &str, what: &str) -> Result<SocketAddr, String> {
    let a: SocketAddr = v
        .parse()
        .map_err(|_| format!("{what} needs 127.0.0.1:PORT, got `{v}`"))?;
    crate::loopback::require(&a)?;
    Ok(a)
}

/// `mode:seconds` items, e.g. `pass:5,reset:3,delay 200:5`.
fn schedule(v: &str) -> Result<Vec<(Mode, Duration)>, String> {
    list(v, |item| {
        let (m, secs) = item
            .rsplit_once(':')
            .ok_or_else(|| format!("schedule item `{item}` is not mode:seconds"))?;
        Ok((
            Mode::parse(m)?,
            Duration::from_secs(number(secs, "a schedule item")? as u64),
        ))
    })
}

impl Args {
    /// Parses `argv[1..]`.
    pub fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
        let cmd = it.next().ok_or("no command")?;
        let root: PathBuf = ".".into();
        let mut a = Args {
            command: Command::Load {
                stores: vec!["memory", "dynamodb"],
                clients: vec![1, 16, 64, 256],
                requests: 2000,
                requests_dynamodb: 200,
            },
            devserver: root.join("target/release/devserver"),
            python: root.join(".venv/bin/python"),
            logs: root.join("target/loadtest"),
            root,
            max: Duration::from_secs(30 * 60),
        };
        let (mut clients, mut requests, mut requests_dynamodb, mut stores) =
            (None, None, None, None);
        let (mut phase, mut targets, mut modes) = (Duration::from_secs(4), None, None);
        let mut skip = Vec::new();
        let (mut listen, mut to, mut control, mut sched) = (None, None, None, Vec::new());
        let mut pipe = crate::pipeline::Plan {
            seconds: Duration::from_secs(150),
            inflight_cap: 800,
            inflight_bound: None,
            drain: Duration::from_secs(20),
            healthy_rate: 1,
            dead_rate: 16,
            hang_rate: 3,
        };
        let rate = |v: &str, what: &str| -> Result<u32, String> {
            u32::try_from(number(v, what)?)
                .ok()
                .filter(|r| *r <= 200)
                .ok_or_else(|| format!("{what} must be 0..=200 payments a second"))
        };
        while let Some(flag) = it.next() {
            let v = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--stores" => {
                    stores = Some(list(&v, |s| match s {
                        "memory" => Ok("memory"),
                        "dynamodb" => Ok("dynamodb"),
                        _ => Err(format!("unknown store `{s}` (memory, dynamodb)")),
                    })?)
                }
                "--clients" => {
                    let c = list(&v, |s| number(s, "--clients"))?;
                    if c.iter().any(|&c| c == 0 || c > 1024) {
                        return Err("client counts must be 1..=1024".into());
                    }
                    clients = Some(c)
                }
                "--requests" => requests = Some(number(&v, "--requests")?),
                "--requests-dynamodb" => {
                    requests_dynamodb = Some(number(&v, "--requests-dynamodb")?)
                }
                "--phase-seconds" => {
                    phase = Duration::from_secs(number(&v, "--phase-seconds")? as u64)
                }
                "--targets" => {
                    targets = Some(list(&v, |t| match t {
                        "dynamodb" | "gateway" | "merchant" | "moto-restart" => Ok(t.to_string()),
                        _ => Err(format!("unknown target `{t}`")),
                    })?)
                }
                "--modes" => modes = Some(list(&v, Mode::parse)?),
                "--skip" => {
                    skip = list(&v, |s| {
                        let (t, m) = s
                            .split_once(':')
                            .ok_or_else(|| format!("--skip takes target:mode, got `{s}`"))?;
                        Ok(format!("{t}: {}", Mode::parse(m)?.label()))
                    })?
                }
                "--listen" => listen = Some(addr(&v, "--listen")?),
                "--to" => to = Some(addr(&v, "--to")?),
                "--control" => control = Some(addr(&v, "--control")?),
                "--schedule" => sched = schedule(&v)?,
                "--seconds" => {
                    let n = number(&v, "--seconds")?;
                    if !(1..=900).contains(&n) {
                        return Err("--seconds must be 1..=900".into());
                    }
                    pipe.seconds = Duration::from_secs(n as u64)
                }
                "--inflight-cap" => {
                    pipe.inflight_cap = number(&v, "--inflight-cap")?;
                    if pipe.inflight_cap == 0 {
                        return Err("--inflight-cap must be at least 1".into());
                    }
                }
                "--inflight-bound" => pipe.inflight_bound = Some(number(&v, "--inflight-bound")?),
                "--drain-seconds" => {
                    pipe.drain = Duration::from_secs(number(&v, "--drain-seconds")?.min(900) as u64)
                }
                "--healthy-rate" => {
                    pipe.healthy_rate = rate(&v, "--healthy-rate")?;
                    if pipe.healthy_rate == 0 {
                        return Err("--healthy-rate must be at least 1".into());
                    }
                }
                "--dead-rate" => pipe.dead_rate = rate(&v, "--dead-rate")?,
                "--hang-rate" => pipe.hang_rate = rate(&v, "--hang-rate")?,
                "--devserver" => a.devserver = v.into(),
                "--python" => a.python = v.into(),
                "--root" => a.root = v.into(),
                "--logs" => a.logs = v.into(),
                "--max-minutes" => {
                    a.max = Duration::from_secs(60 * number(&v, "--max-minutes")? as u64)
                }
                _ => return Err(format!("unknown argument `{flag}`")),
            }
        }
        a.command = match cmd.as_str() {
            "clock" => Command::Clock,
            "pipeline" => Command::Pipeline(pipe),
            "load" => Command::Load {
                stores: stores.unwrap_or_else(|| vec!["memory", "dynamodb"]),
                clients: clients.unwrap_or_else(|| vec![1, 16, 64, 256]),
                requests: requests.unwrap_or(2000).max(1),
                requests_dynamodb: requests_dynamodb.unwrap_or(200).max(1),
            },
            "faults" => Command::Faults {
                clients: clients.and_then(|c| c.first().copied()).unwrap_or(16),
                phase,
                targets: targets.unwrap_or_else(|| {
                    ["dynamodb", "gateway", "merchant", "moto-restart"]
                        .map(String::from)
                        .to_vec()
                }),
                modes: modes.unwrap_or_else(|| {
                    vec![
                        Mode::Delay(Duration::from_millis(300)),
                        Mode::Reset,
                        Mode::Blackhole,
                    ]
                }),
                skip,
            },
            "proxy" => Command::Proxy {
                listen: listen.ok_or("proxy needs --listen")?,
                to: to.ok_or("proxy needs --to")?,
                control,
                schedule: sched,
            },
            other => return Err(format!("unknown command `{other}`")),
        };
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Args, String> {
        Args::parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn commands_and_refusals() {
        assert!(matches!(
            parse("load --stores memory --clients 16 --requests 300").map(|a| a.command),
            Ok(Command::Load { ref clients, requests: 300, .. }) if clients == &vec![16]
        ));
        assert!(parse("load --clients 0").is_err());
        assert!(parse("load --stores postgres").is_err());
        assert!(parse("faults --targets dns").is_err());
        assert!(parse("proxy --listen 0.0.0.0:9000 --to 127.0.0.1:9001").is_err());
        assert!(parse("proxy --listen 127.0.0.1:9000 --to 192.168.1.1:80").is_err());
        assert!(parse("proxy --listen 127.0.0.1:9000").is_err());
        assert!(parse("bench").is_err());
        assert!(matches!(
            parse("pipeline --seconds 60 --inflight-cap 600 --hang-rate 0").map(|a| a.command),
            Ok(Command::Pipeline(ref p)) if p.seconds == Duration::from_secs(60)
                && p.inflight_cap == 600 && p.hang_rate == 0 && p.dead_rate == 16
        ));
        assert!(parse("pipeline --inflight-cap 0").is_err());
        assert!(parse("pipeline --healthy-rate 0").is_err());
        assert!(parse("pipeline --seconds 0").is_err());
        assert_eq!(
            schedule("pass:5,reset:3").ok(),
            Some(vec![
                (Mode::Pass, Duration::from_secs(5)),
                (Mode::Reset, Duration::from_secs(3))
            ])
        );
    }
}
