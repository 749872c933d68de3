//! The local orchestrator: the proxy's API on 127.0.0.1, on embedded defaults (in-memory stores,
//! built-in gateway simulators, demo tenants from `infra/tenants.dev.json`), or on DynamoDB with
//! `--store dynamodb` (endpoint from `AWS_ENDPOINT_URL`, tables from `*_TABLE`).
//!
//! ```text
//! devserver [serve] [--addr 127.0.0.1:8080] [--tenants FILE] [--store memory|dynamodb] [--create-tables]
//! devserver seed [--tenants FILE]      # create the DynamoDB tables and write the tenants, then exit
//! ```

mod args;
mod http_server;

use args::{Args, Command, Store};
use shared::adapters::aws::{self as dynamo, TableNames};
use shared::bootstrap::{
    dynamo_orchestrator, load_tenants_file, memory_orchestrator, seed_tenants,
};
use shared::service::ServiceConfig;
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    shared::telemetry::init_json_logs();
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "devserver stopped");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let tenants = load_tenants_file(&args.tenants)?;
    let (registry, _) = shared::gateways::simulators();
    // Local development: merchants' callback receivers usually run on plain-http loopback.
    let config = ServiceConfig {
        allow_loopback_callbacks: true,
        ..ServiceConfig::default()
    };
    let svc = match (args.command, args.store) {
        (Command::Seed, _) | (Command::Serve, Store::Dynamodb) => {
            let client = dynamo::client_from_env().await;
            let tables = TableNames::from_env();
            if args.create_tables || args.command == Command::Seed {
                dynamo::create_tables(&client, &tables).await?;
            }
            let (svc, store) = dynamo_orchestrator(client, &tables, registry, config).await;
            seed_tenants(store.as_ref(), &tenants).await?;
            tracing::info!(tenants = tenants.tenants.len(), tables = ?tables, "tenants seeded into DynamoDB");
            if args.command == Command::Seed {
                return Ok(());
            }
            svc
        }
        (Command::Serve, Store::Memory) => {
            let (svc, store) = memory_orchestrator(registry, config);
            seed_tenants(store.as_ref(), &tenants).await?;
            svc
        }
    };
    http_server::serve(Arc::new(svc), args.addr, args.store).await
}
