//! The local orchestrator: the proxy's API and the webhook receiver on 127.0.0.1, with the
//! worker running in-process on a queue with SQS's visibility/DLQ semantics. Embedded defaults:
//! in-memory stores, built-in gateway simulators, demo tenants from `infra/tenants.dev.json`;
//! `--store dynamodb` keeps state in DynamoDB (endpoint from `AWS_ENDPOINT_URL`).
//! The simulator controls (`/simulator/…`, README "Simulator recipes") are mounted here only;
//! card 3DS links point at the bound address, or `ORCH_PUBLIC_URL` when set.
//!
//! ```text
//! devserver [serve] [--addr 127.0.0.1:8080] [--tenants FILE] [--store memory|dynamodb] [--create-tables]
//! devserver seed [--tenants FILE]                  # create the DynamoDB tables, write the tenants, exit
//! devserver redrive --dlq-url URL --queue-url URL  # move SQS DLQ messages back, print how many
//! ```

mod args;
mod emf_check;
mod http_server;
mod local_worker;

use args::{Args, Command, Store};
use shared::adapters::aws::{self as dynamo, TableNames};
use shared::adapters::http::HttpCallbackSender;
use shared::adapters::memory::MemoryQueues;
use shared::bootstrap::{load_tenants_file, seed_tenants, StoreSet};
use shared::clock::SystemClock;
use shared::gateways::webhooks::WebhookRegistry;
use shared::ports::QueueKind;
use shared::service::webhooks::{
    Relay, RetrySchedule, TenantCache, WebhookReceiver, WebhookWorker,
};
use shared::service::ServiceConfig;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

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
    if args.command == Command::Help {
        println!("{}", args::USAGE);
        return ExitCode::SUCCESS;
    }
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "devserver stopped");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    if let Command::EmfCheck { file, expect } = &args.command {
        return emf_check::run(file, expect);
    }
    if let Command::Redrive { dlq_url, queue_url } = &args.command {
        let client = aws_sdk_sqs::Client::new(&dynamo::load_config().await);
        let moved = dynamo::redrive(&client, dlq_url, queue_url, usize::MAX).await?;
        println!("{{\"moved\":{moved}}}");
        return Ok(());
    }
    // Credentials registered by API are sealed with this key; on DynamoDB they outlive the
    // process, so a random per-process key would make them unreadable after a restart (a live
    // gateway silently unconfigured). Refuse to serve instead.
    if args.command != Command::Seed
        && args.store == Store::Dynamodb
        && std::env::var("ORCH_CREDENTIALS_KEY").is_err()
    {
        return Err("--store dynamodb needs ORCH_CREDENTIALS_KEY (64 hex characters, e.g. `openssl rand -hex 32`): gateway credentials registered by API are encrypted with it and must stay readable after a restart".into());
    }
    let tenants = load_tenants_file(&args.tenants)?;
    let stores = match (&args.command, args.store) {
        (Command::Seed, _) | (_, Store::Dynamodb) => {
            let client = aws_sdk_dynamodb::Client::new(&dynamo::load_config().await);
            let tables = TableNames::from_env();
            if args.create_tables || args.command == Command::Seed {
                dynamo::create_tables(&client, &tables).await?;
            }
            let stores = StoreSet::dynamo(client, &tables);
            seed_tenants(stores.tenants.as_ref(), &tenants).await?;
            tracing::info!(tenants = tenants.tenants.len(), tables = ?tables, "tenants seeded into DynamoDB");
            if args.command == Command::Seed {
                return Ok(());
            }
            stores
        }
        _ => {
            let stores = StoreSet::memory();
            seed_tenants(stores.tenants.as_ref(), &tenants).await?;
            stores
        }
    };
    if let Command::Recount { tenant, month } = &args.command {
        return recount(&stores, tenant, month).await;
    }
    let metrics = prometheus()?;
    let (registry, sims) = shared::gateways::simulators();
    let simulator = Arc::new(shared::gateways::simulator::controls::SimulatorControls::new(&sims));
    // Local development: merchants' callback receivers usually run on plain-http loopback.
    let config = ServiceConfig {
        allow_loopback_callbacks: true,
        breaker: shared::domain::BreakerConfig::from_lookup(|k| std::env::var(k).ok())?,
        gateway_reserve: ServiceConfig::gateway_reserve_from_lookup(|k| std::env::var(k).ok())?,
        rate_limit_per_minute: ServiceConfig::rate_limit_from_lookup(|k| std::env::var(k).ok())?,
        operator_key_hashes: vec![shared::ports::hash_api_key(
            &std::env::var("ORCH_OPERATOR_KEY").unwrap_or_else(|_| DEV_OPERATOR_KEY.into()),
        )],
        ..ServiceConfig::default()
    };
    let mut svc = match clock_offset()? {
        Some(offset) => {
            tracing::warn!(
                seconds = offset.num_seconds(),
                "the service clock is shifted (ORCH_CLOCK_OFFSET_SECONDS)"
            );
            stores.orchestrator_on(
                registry,
                config,
                Arc::new(shared::clock::OffsetClock(offset)),
            )
        }
        None => stores.orchestrator(registry, config),
    };
    // Real gateway clients for tenants that list `live_gateways`: credentials registered by API
    // (encrypted, in the same store as the tenants), then the local file, if any.
    let mut file_credentials: Option<Arc<dyn shared::ports::CredentialStore>> = None;
    if let Ok(path) = std::env::var("ORCH_CREDENTIALS_FILE") {
        let creds =
            shared::adapters::memory::FileCredentials::from_json(&std::fs::read_to_string(&path)?)?;
        file_credentials = Some(Arc::new(creds));
        tracing::info!(file = %path, "gateway credentials loaded");
    }
    let sealed: Arc<dyn shared::ports::SealedCredentialStore> = match args.store {
        Store::Dynamodb => Arc::new(dynamo::DynamoSealedCredentials::new(
            aws_sdk_dynamodb::Client::new(&dynamo::load_config().await),
            TableNames::from_env().tenants,
        )),
        Store::Memory => Arc::new(shared::adapters::memory::MemorySealedCredentials::default()),
    };
    svc = svc.with_live_gateways(Arc::new(shared::bootstrap::dev_live_gateways(
        sealed,
        file_credentials,
    )?));
    let schedule = RetrySchedule::default();
    let queue = Arc::new(MemoryQueues::new(
        shared::service::webhooks::MAX_RECEIVE_COUNT,
        inflight_cap()?,
    ));
    let svc = Arc::new(svc.with_delivery_queue(queue.clone()));
    let cache = || TenantCache::new(stores.tenants.clone(), Duration::from_secs(5));
    let receiver = Arc::new(WebhookReceiver::new(
        WebhookRegistry::standard(),
        cache(),
        queue.clone(),
        Arc::new(SystemClock),
    ));
    let worker = Arc::new(
        WebhookWorker::new(
            WebhookRegistry::standard(),
            cache(),
            stores.worker_stores(),
            Arc::new(HttpCallbackSender::new(true)?),
            queue.clone(),
            Arc::new(SystemClock),
            schedule,
        )
        // Unsigned gateway webhooks (EFI, Asaas) that report money are confirmed at the gateway.
        .with_confirmer(svc.clone()),
    );
    let relay = Relay::new(queue.clone());
    match &stores.memory_outbox {
        Some(outbox) => {
            tokio::spawn(local_worker::relay_memory(outbox.clone(), relay));
        }
        None => {
            let conf = dynamo::load_config().await;
            let poller = dynamo::OutboxStreamPoller::new(
                &aws_sdk_dynamodb::Client::new(&conf),
                aws_sdk_dynamodbstreams::Client::new(&conf),
                &TableNames::from_env().outbox,
            )
            .await?;
            tokio::spawn(local_worker::relay_stream(poller, relay));
        }
    }
    // The deployment's event source mappings, locally: each queue its own consumers, so a
    // backlog of deliveries never delays the gateways' webhooks, nor the reverse.
    local_worker::spawn(queue.clone(), QueueKind::Intake, 4, worker.clone());
    local_worker::spawn(queue, QueueKind::Delivery, 8, worker);
    tokio::spawn(local_worker::sweep(svc.clone(), sweep_every()?));
    tokio::spawn(local_worker::reconcile(svc.clone(), reconcile_every()?));
    tokio::spawn(local_worker::relay_audit(svc.clone(), relay_audit_every()?));
    http_server::serve(
        svc,
        receiver,
        args.addr,
        args.store,
        Some(metrics),
        simulator,
    )
    .await
}

/// `ORCH_CLOCK_OFFSET_SECONDS`: shifts the service clock (local time-travel tests only: a
/// restart "a day later" against the same DynamoDB tables).
fn clock_offset() -> Result<Option<chrono::Duration>, String> {
    match std::env::var("ORCH_CLOCK_OFFSET_SECONDS") {
        Err(_) => Ok(None),
        Ok(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|s| s.abs() <= 10 * 365 * 86_400)
            .map(|s| Some(chrono::Duration::seconds(s)))
            .ok_or_else(|| "ORCH_CLOCK_OFFSET_SECONDS: whole seconds, within ten years".into()),
    }
}

/// How often reconciliation runs: `ORCH_RECONCILE_SECONDS` (default 3600, at least 10).
fn reconcile_every() -> Result<Duration, String> {
    match std::env::var("ORCH_RECONCILE_SECONDS") {
        Err(_) => Ok(Duration::from_secs(3600)),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n >= 10 => Ok(Duration::from_secs(n)),
            _ => Err("ORCH_RECONCILE_SECONDS: a whole number of seconds, at least 10".into()),
        },
    }
}

/// How often the relay audit runs: `ORCH_RELAY_AUDIT_SECONDS` (default 3600, at least 10).
fn relay_audit_every() -> Result<Duration, String> {
    match std::env::var("ORCH_RELAY_AUDIT_SECONDS") {
        Err(_) => Ok(Duration::from_secs(3600)),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n >= 10 => Ok(Duration::from_secs(n)),
            _ => Err("ORCH_RELAY_AUDIT_SECONDS: a whole number of seconds, at least 10".into()),
        },
    }
}

/// How often the sweeper runs: `ORCH_SWEEP_SECONDS` (default 30, at least 1).
/// `ORCH_QUEUE_INFLIGHT_CAP`: the local queue's in-flight limit (SQS: ≈ 120,000); load runs
/// scale it down to model a full queue within minutes.
fn inflight_cap() -> Result<usize, String> {
    match std::env::var("ORCH_QUEUE_INFLIGHT_CAP") {
        Err(_) => Ok(shared::adapters::memory::SQS_INFLIGHT_CAP),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err("ORCH_QUEUE_INFLIGHT_CAP: a whole number, at least 1".into()),
        },
    }
}

fn sweep_every() -> Result<Duration, String> {
    match std::env::var("ORCH_SWEEP_SECONDS") {
        Err(_) => Ok(Duration::from_secs(30)),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n >= 1 => Ok(Duration::from_secs(n)),
            _ => Err("ORCH_SWEEP_SECONDS: a whole number of seconds, at least 1".into()),
        },
    }
}

/// The dev server's operator key when `ORCH_OPERATOR_KEY` is not set (local use only, like the
/// demo tenants' keys).
const DEV_OPERATOR_KEY: &str = "op_dev_0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// The `/metrics` recorder: Prometheus text with the same metric names the Lambdas send as EMF
/// (`service="devserver"` on each), latencies as histograms.
fn prometheus() -> Result<metrics_exporter_prometheus::PrometheusHandle, Box<dyn std::error::Error>>
{
    let buckets = [
        5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
    ];
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .add_global_label("service", "devserver")
        .set_buckets(&buckets)?
        .install_recorder()?;
    shared::telemetry::describe_metrics();
    Ok(handle)
}

/// `devserver recount`: recomputes a month's usage counters from the stored payments and
/// prints the differences (exit 1 when there are any).
async fn recount(
    stores: &StoreSet,
    tenant: &str,
    month: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let tid = shared::domain::TenantId::parse(tenant).map_err(|e| e.to_string())?;
    let (year, month) = shared::service::parse_month(month).ok_or("--month must be YYYY-MM")?;
    let (registry, _) = shared::gateways::simulators();
    let svc = stores.orchestrator(registry, ServiceConfig::default());
    let report = svc
        .recount(&tid, year, month)
        .await
        .map_err(|e| e.to_string())?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if report.differences.is_empty() {
        Ok(())
    } else {
        Err(format!("{} counters differ", report.differences.len()).into())
    }
}
