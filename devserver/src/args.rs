//! Command-line arguments (with environment fallbacks), parsed by hand to keep the build small.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Printed by `--help` (to stdout, exit 0) and on bad arguments (to stderr, exit 2).
pub const USAGE: &str = "usage: devserver [serve|seed] [--addr 127.0.0.1:8080] [--tenants infra/tenants.dev.json] [--store memory|dynamodb] [--create-tables]
       devserver redrive --dlq-url URL --queue-url URL
       devserver recount --tenant ID --month YYYY-MM [--store dynamodb]
       devserver emf-check FILE [--expect service:Metric ...]
       devserver -h | --help
env: ORCH_ADDR, ORCH_TENANTS_FILE, ORCH_STORE; with dynamodb: AWS_ENDPOINT_URL, AWS_REGION, IDEMPOTENCY_TABLE, PAYMENTS_TABLE, TENANTS_TABLE";

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `-h` / `--help`: print [`USAGE`] and exit 0, whatever else was given.
    Help,
    Serve,
    Seed,
    Redrive {
        dlq_url: String,
        queue_url: String,
    },
    /// Recompute a month's usage from the payments and report differences.
    Recount {
        tenant: String,
        month: String,
    },
    /// Validate the EMF documents in a captured Lambda log.
    EmfCheck {
        file: PathBuf,
        expect: Vec<String>,
    },
}

/// Where state lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Memory,
    Dynamodb,
}

/// Parsed arguments.
#[derive(Debug)]
pub struct Args {
    pub command: Command,
    pub addr: SocketAddr,
    pub tenants: PathBuf,
    pub store: Store,
    pub create_tables: bool,
}

fn parse_store(s: &str) -> Result<Store, String> {
    match s {
        "memory" => Ok(Store::Memory),
        "dynamodb" => Ok(Store::Dynamodb),
        _ => Err(format!("unknown store `{s}` (memory or dynamodb)")),
    }
}

impl Args {
    /// Parses `argv[1..]`.
    pub fn parse(mut it: impl Iterator<Item = String>) -> Result<Self, String> {
        let env = |k: &str| std::env::var(k).ok();
        let default_tenants = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/tenants.dev.json");
        let mut dlq_url = None;
        let mut queue_url = None;
        let mut redrive = false;
        let (mut recount, mut tenant, mut month) = (false, None, None);
        let (mut emf_file, mut expect): (Option<PathBuf>, Vec<String>) = (None, Vec::new());
        let mut emf = false;
        let mut a = Args {
            command: Command::Serve,
            addr: env("ORCH_ADDR")
                .unwrap_or_else(|| "127.0.0.1:8080".into())
                .parse()
                .map_err(|_| "ORCH_ADDR is not host:port".to_string())?,
            tenants: env("ORCH_TENANTS_FILE")
                .unwrap_or_else(|| default_tenants.into())
                .into(),
            store: parse_store(&env("ORCH_STORE").unwrap_or_else(|| "memory".into()))?,
            create_tables: false,
        };
        while let Some(arg) = it.next() {
            let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "serve" => a.command = Command::Serve,
                "seed" => a.command = Command::Seed,
                "redrive" => redrive = true,
                "recount" => recount = true,
                "emf-check" => {
                    emf = true;
                    emf_file = Some(value("emf-check")?.into());
                }
                "--expect" => expect.push(value("--expect")?),
                "--tenant" => tenant = Some(value("--tenant")?),
                "--month" => month = Some(value("--month")?),
                "--dlq-url" => dlq_url = Some(value("--dlq-url")?),
                "--queue-url" => queue_url = Some(value("--queue-url")?),
                "--addr" => {
                    a.addr = value("--addr")?
                        .parse()
                        .map_err(|_| "--addr must be host:port".to_string())?
                }
                "--tenants" => a.tenants = value("--tenants")?.into(),
                "--store" => a.store = parse_store(&value("--store")?)?,
                "--create-tables" => a.create_tables = true,
                "-h" | "--help" => {
                    a.command = Command::Help;
                    return Ok(a);
                }
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        if recount {
            a.command = Command::Recount {
                tenant: tenant.ok_or("recount needs --tenant")?,
                month: month.ok_or("recount needs --month")?,
            };
        }
        if emf {
            a.command = Command::EmfCheck {
                file: emf_file.ok_or("emf-check needs a file")?,
                expect,
            };
        }
        if redrive {
            a.command = Command::Redrive {
                dlq_url: dlq_url.ok_or("redrive needs --dlq-url")?,
                queue_url: queue_url.ok_or("redrive needs --queue-url")?,
            };
        }
        Ok(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::parse(args.iter().map(|a| (*a).to_string()))
    }

    #[test]
    fn help_is_a_command_not_an_error() {
        for args in [
            &["--help"][..],
            &["-h"],
            &["serve", "--help"],
            &["--addr", "x", "-h"],
        ] {
            // `--addr x` is bad, but help stops reading first only when it comes first.
            let r = parse(args);
            if args[0] == "--addr" {
                assert!(r.is_err(), "{args:?}");
            } else {
                assert_eq!(r.map(|a| a.command), Ok(Command::Help), "{args:?}");
            }
        }
        assert!(USAGE.contains("--help"));
    }

    #[test]
    fn unknown_arguments_are_still_errors() {
        assert!(parse(&["--nope"]).is_err());
        assert_eq!(parse(&[]).map(|a| a.command), Ok(Command::Serve));
    }
}
