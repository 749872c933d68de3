//! `loadtest`: bounded load and fault runs against the dev server on 127.0.0.1, with the
//! invariant checks afterwards (docs/BENCHMARKS.md "Load runs" and "Fault runs"), and the TCP
//! fault proxy they use, also runnable on its own. Everything it starts — moto, the dev server,
//! the fake Stripe, the merchant receiver, the proxies — listens on 127.0.0.1 and ends with it;
//! a watchdog ends a run that overstays `--max-minutes`.

mod args;
mod client;
mod clock;
mod drive;
mod fault_proxy;
mod faults;
mod invariants;
mod load;
mod loopback;
mod pipeline;
mod procs;
mod stats;

use args::{Args, Command};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let max = args.max;
    // Children are killed on drop; a watchdog exit skips drops, so the scripts run this tool in
    // its own process group and end the group (infra/loadrun.sh, infra/faultrun.sh).
    std::thread::spawn(move || {
        std::thread::sleep(max);
        eprintln!(
            "loadtest: watchdog: {} minutes passed, stopping",
            max.as_secs() / 60
        );
        std::process::exit(3);
    });
    match run(args).await {
        Ok(0) => ExitCode::SUCCESS,
        Ok(n) => {
            eprintln!("invariant violations: {n}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("loadtest: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs the command; the number of invariant violations out.
async fn run(a: Args) -> Result<usize, String> {
    std::fs::create_dir_all(&a.logs).map_err(|e| format!("{}: {e}", a.logs.display()))?;
    let bins = procs::Binaries {
        devserver: a.devserver.clone(),
        python: a.python.clone(),
        root: a.root.clone(),
        logs: a.logs.clone(),
    };
    match a.command {
        Command::Load {
            stores,
            clients,
            requests,
            requests_dynamodb,
        } => {
            let plan = load::Plan {
                stores,
                clients,
                requests_memory: requests,
                requests_dynamodb,
            };
            let (_, v) = load::run(&bins, &plan).await?;
            println!("\ninvariant violations: **{}**", v.0.len());
            Ok(v.0.len())
        }
        Command::Faults {
            clients,
            phase,
            targets,
            modes,
            skip,
        } => {
            let plan = faults::Plan {
                clients,
                phase,
                targets,
                modes,
                skip,
            };
            let report = faults::run(&bins, &plan).await?;
            faults::print(&report);
            Ok(report.violations.0.len())
        }
        Command::Pipeline(plan) => {
            if plan.seconds + plan.drain + std::time::Duration::from_secs(60) > a.max {
                return Err(format!(
                    "--seconds {} + --drain-seconds {} (+ a minute to start and check) do not fit in --max-minutes {}",
                    plan.seconds.as_secs(),
                    plan.drain.as_secs(),
                    a.max.as_secs() / 60
                ));
            }
            let v = pipeline::run(&bins, &plan).await?;
            println!("\ninvariant violations: **{v}**");
            Ok(v)
        }
        Command::Clock => {
            println!("| scenario | answer | at Asaas | named |\n|---|---|---|---|");
            let v = clock::run(&bins).await?;
            for x in &v {
                println!("VIOLATION: {x}");
            }
            println!("\ninvariant violations: **{}**", v.len());
            Ok(v.len())
        }
        Command::Proxy {
            listen,
            to,
            control,
            schedule,
        } => {
            let p = fault_proxy::FaultProxy::start(listen, to).await?;
            eprintln!("fault proxy {} → {to}", p.addr);
            if let Some(c) = control {
                let at = p.control(c).await?;
                eprintln!("control channel on {at} (pass | delay MS | reset | blackhole | status)");
            }
            if schedule.is_empty() {
                tokio::signal::ctrl_c()
                    .await
                    .map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
            }
            for (mode, d) in schedule {
                eprintln!("{}: {}s", mode.label(), d.as_secs());
                p.set(mode);
                tokio::time::sleep(d).await;
            }
            Ok(0)
        }
    }
}
