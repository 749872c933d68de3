//! `loadtest clock`: money across time, black-box (issue 23, defects 1 and 3). A release-built
//! dev server on DynamoDB (moto) charges a card at a fake live Asaas — which has no idempotency
//! key — and is killed (SIGKILL) while the charge's answer is still on the wire; then:
//!
//! 1. a new server whose clock is 24 h + 10 s later gets the same key and body: at most one
//!    Asaas charge, and the answer names it (before the time-safe claim: a second charge);
//! 2. the same after DynamoDB's TTL has run two days later (simulated: every item whose `ttl`
//!    passed is deleted — an unsettled claim carries none);
//! 3. no retry at all: a server started past the claim's deadline runs its sweeper, and the
//!    charge becomes a stored payment with its merchant event within a few passes.

use crate::client::Api;
use crate::procs::{free_port, Binaries, Proc, Store};
use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::fakes::asaas::FakeAsaas;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The local credentials key, the same for every server of the run (a random one per process
/// would make the credentials registered by the first unreadable to the next).
const CREDENTIALS_KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const DAY: i64 = 86_400;

/// A card charge at Asaas whose answer never comes back in time (the fake's amount ending 78).
fn body(reference: &str) -> Value {
    json!({"amount": 4978, "currency": "BRL", "method": "card", "gateway": "asaas",
        "reference": reference,
        "customer": {"name": "Maria Souza", "document": "52998224725", "email": "maria@example.com"},
        "card": {"tokens": {"asaas": "tok_asaas_clock"}}})
}

struct Run<'a> {
    bins: &'a Binaries,
    store: Store,
    asaas: FakeAsaas,
    servers: usize,
}

impl Run<'_> {
    /// A dev server whose clock is `offset` seconds ahead, with the sweeper every `sweep` s.
    async fn server(&mut self, offset: i64, sweep: u64) -> Result<(Proc, Api), String> {
        self.servers += 1;
        let (offset, sweep) = (offset.to_string(), sweep.to_string());
        let env = [
            ("ORCH_CREDENTIALS_KEY", CREDENTIALS_KEY),
            ("ORCH_CLOCK_OFFSET_SECONDS", offset.as_str()),
            ("ORCH_SWEEP_SECONDS", sweep.as_str()),
        ];
        let name = format!("clock-devserver-{}", self.servers);
        let (proc, api) = self
            .bins
            .devserver(&name, free_port()?, &self.store, None, &env)
            .await?;
        Ok((proc, Api::new(&api.base, Duration::from_secs(40))?))
    }

    /// Starts a server at `offset`, sends the create and kills the server once Asaas made the
    /// charge (its answer is still on the wire), against a fresh fake Asaas.
    async fn crash_mid_charge(
        &mut self,
        offset: i64,
        key: &str,
        reference: &str,
    ) -> Result<(), String> {
        self.asaas = FakeAsaas::start().await;
        let (proc, api) = self.server(offset, 3600).await?;
        let creds = api
            .put_credentials(
                "asaas",
                &json!({"api_key": self.asaas.token, "base_url": self.asaas.base_url}),
            )
            .await;
        if creds.status != 200 {
            return Err(format!(
                "registering the fake Asaas: {} {:?}",
                creds.status, creds.body
            ));
        }
        let (k, b) = (key.to_string(), body(reference));
        let pending = tokio::spawn(async move { api.create(&k, &b).await });
        let t0 = Instant::now();
        while self.charges().is_empty() {
            if t0.elapsed() > Duration::from_secs(20) {
                return Err(format!("{key}: Asaas never saw the charge"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        proc.kill().await;
        pending.abort();
        Ok(())
    }

    /// The Asaas charges of the current scenario (each has its own fake Asaas).
    fn charges(&self) -> Vec<String> {
        self.asaas.payment_ids()
    }
}

/// DynamoDB's TTL process at `now`: deletes the idempotency items whose `ttl` passed.
async fn expire_by_ttl(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    now: i64,
) -> Result<usize, String> {
    let out = client
        .scan()
        .table_name(table)
        .filter_expression("attribute_exists(#ttl) AND #ttl <= :now")
        .expression_attribute_names("#ttl", "ttl")
        .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
        .send()
        .await
        .map_err(|e| format!("scan: {e}"))?;
    let mut gone = 0;
    for item in out.items() {
        let Some(pk) = item.get("pk") else { continue };
        client
            .delete_item()
            .table_name(table)
            .key("pk", pk.clone())
            .send()
            .await
            .map_err(|e| format!("delete: {e}"))?;
        gone += 1;
    }
    Ok(gone)
}

/// Sends the create as a merchant's SDK would: a 409 `idempotency_key_in_use` (the key is held
/// — here, by the new server's sweeper, whose first pass may adopt the stale claim before the
/// retry arrives) is retried after a pause, for at most 30 s. The answer and the 409s seen.
async fn create_as_a_merchant(api: &Api, key: &str, body: &Value) -> (crate::client::Answer, u32) {
    let t0 = Instant::now();
    let mut in_use = 0;
    loop {
        let r = api.create(key, body).await;
        let held = r.status == 409
            && r.body.as_ref().and_then(|b| b["error"]["code"].as_str())
                == Some("idempotency_key_in_use");
        if !held || t0.elapsed() > Duration::from_secs(30) {
            return (r, in_use);
        }
        in_use += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Runs the three scenarios; the violations found.
pub async fn run(bins: &Binaries) -> Result<Vec<String>, String> {
    let mut v = Vec::new();
    let moto_port = free_port()?;
    let _moto = bins.moto("clock-moto", moto_port).await?;
    let endpoint = format!("http://127.0.0.1:{moto_port}");
    let prefix = format!("clock-{}", ulid::Ulid::new().to_string().to_lowercase());
    let mut run = Run {
        bins,
        store: Store::Dynamo {
            endpoint: endpoint.clone(),
            prefix: prefix.clone(),
        },
        asaas: FakeAsaas::start().await,
        servers: 0,
    };

    // 1. Killed mid-charge; the same key and body 24 h + 10 s later.
    run.crash_mid_charge(0, "clock-day", "clock-day").await?;
    let (server, api) = run.server(DAY + 10, 3600).await?;
    let (r, held) = create_as_a_merchant(&api, "clock-day", &body("clock-day")).await;
    let charges = run.charges();
    let named = r.field("gateway_payment_id");
    println!("| retry 24 h + 10 s after a crash mid-charge | {} (after {held} × 409 in use) | {} Asaas charge(s) | answer names {:?} |", r.status, charges.len(), named);
    if charges.len() != 1 {
        v.push(format!(
            "24 h retry: {} Asaas charges {charges:?}",
            charges.len()
        ));
    }
    if r.status != 201 || named.as_deref() != charges.first().map(String::as_str) {
        v.push(format!(
            "24 h retry: answer {} does not name the charge {charges:?}: {:?}",
            r.status, r.body
        ));
    }
    server.kill().await;

    // 2. The same, with DynamoDB's TTL run two days later before the retry.
    run.crash_mid_charge(0, "clock-ttl", "clock-ttl").await?;
    let conf = aws_sdk_dynamodb::Config::builder()
        .http_client(shared::adapters::aws::http_client())
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .endpoint_url(&endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "loadtest",
        ))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    let now = chrono::Utc::now().timestamp();
    let gone = expire_by_ttl(&client, &format!("{prefix}-idempotency"), now + 2 * DAY).await?;
    let (server, api) = run.server(2 * DAY + 10, 3600).await?;
    let (r, held) = create_as_a_merchant(&api, "clock-ttl", &body("clock-ttl")).await;
    let charges = run.charges();
    let named = r.field("gateway_payment_id");
    println!("| the same after TTL ran 2 days later ({gone} completed records deleted) | {} (after {held} × 409 in use) | {} Asaas charge(s) | answer names {:?} |", r.status, charges.len(), named);
    if charges.len() != 1
        || r.status != 201
        || named.as_deref() != charges.first().map(String::as_str)
    {
        v.push(format!(
            "after TTL: {} charges {charges:?}, answer {} {:?}",
            charges.len(),
            r.status,
            r.body
        ));
    }
    server.kill().await;

    // 3. No retry: the sweeper of a server started past the claim's deadline and grace.
    run.crash_mid_charge(0, "clock-noretry", "clock-noretry")
        .await?;
    let (server, api) = run.server(120, 1).await?;
    let charges = run.charges();
    let t0 = Instant::now();
    let mut found = None;
    while t0.elapsed() < Duration::from_secs(30) && found.is_none() {
        let page = api.list("reference=clock-noretry").await;
        found = page
            .body
            .as_ref()
            .and_then(|b| b["data"].as_array().and_then(|d| d.first().cloned()));
        if found.is_none() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    let took = t0.elapsed();
    let id = found.as_ref().and_then(|p| p["id"].as_str()).unwrap_or("");
    let events = api.events(&format!("payment_id={id}")).await;
    let n_events = events
        .body
        .as_ref()
        .and_then(|b| b["data"].as_array().map(Vec::len))
        .unwrap_or(0);
    println!(
        "| no retry: the sweeper (every 1 s) names the charge | {} | {} Asaas charge(s) | payment {id} after {:.1} s, {n_events} event(s) |",
        if found.is_some() { "stored" } else { "missing" },
        charges.len(),
        took.as_secs_f64()
    );
    let names = found
        .as_ref()
        .and_then(|p| p["gateway_payment_id"].as_str())
        .map(str::to_string);
    if charges.len() != 1 || names.as_deref() != charges.first().map(String::as_str) {
        v.push(format!("no retry: charges {charges:?}, payment {found:?}"));
    }
    if n_events == 0 {
        v.push(format!("no retry: no merchant event for {id}"));
    }
    server.kill().await;
    Ok(v)
}
