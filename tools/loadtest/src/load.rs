//! Load runs: one fresh dev server per store and concurrency level, four scenarios — creates on
//! fresh keys, a same-key storm, reads (GET by id, list), and a mixed run with gateway webhooks
//! and merchant callbacks — then the invariant checks over everything the level created.

use crate::client::{self, Api};
use crate::drive::{drive, Sent};
use crate::invariants::{self, KeyLog, Violations};
use crate::procs::{Binaries, Proc, Store};
use crate::stats::{ms, Stats};
use integration_tests::merchant::Merchant;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// One line of the load table.
pub struct Row {
    /// memory / dynamodb.
    pub store: &'static str,
    /// Concurrent clients.
    pub clients: usize,
    /// Which scenario.
    pub scenario: &'static str,
    /// Answers and latencies.
    pub stats: Stats,
    /// Answers outside the scenario's documented statuses.
    pub errors: u64,
    /// The dev server's peak RSS during the scenario.
    pub peak_rss_mb: Option<f64>,
}

impl Row {
    /// The markdown table line.
    pub fn markdown(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {:.0}/s | {} | {} | {} | {} | {} | {} |",
            self.store,
            self.clients,
            self.scenario,
            self.stats.requests(),
            self.stats.throughput(),
            ms(self.stats.percentile_ms(50.0)),
            ms(self.stats.percentile_ms(99.0)),
            ms(self.stats.percentile_ms(100.0)),
            self.stats.status_cell(),
            self.errors,
            self.peak_rss_mb
                .map_or("n/a".into(), |m| format!("{m:.1} MB")),
        )
    }
}

/// The table's header.
pub const HEADER: &str = "| store | clients | scenario | requests | throughput | p50 | p99 | max | answers by status | errors | peak RSS (dev server) |\n|---|---|---|---|---|---|---|---|---|---|---|";

/// What a load run is asked to do.
pub struct Plan {
    /// Stores to run on, in order.
    pub stores: Vec<&'static str>,
    /// Concurrency levels.
    pub clients: Vec<usize>,
    /// Requests per scenario on memory.
    pub requests_memory: usize,
    /// Requests per scenario on DynamoDB (moto serves one request at a time).
    pub requests_dynamodb: usize,
}

fn receipts(m: &Merchant) -> BTreeMap<String, usize> {
    let mut by_id = BTreeMap::new();
    for r in m.received() {
        *by_id.entry(r.webhook_id).or_insert(0) += 1;
    }
    by_id
}

async fn scenario<F, Fut>(
    dev: &Proc,
    clients: usize,
    total: usize,
    job: F,
) -> (Stats, KeyLog, Option<f64>)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Sent> + Send,
{
    let reset = dev.reset_peak_rss();
    let (stats, log) = drive(clients, total, job).await;
    let rss = if reset { dev.peak_rss_mb() } else { None };
    (stats, log, rss)
}

/// One concurrency level on one dev server: the four scenarios and the checks.
async fn level(
    api: &Api,
    dev: &Proc,
    store: &'static str,
    clients: usize,
    n: usize,
    v: &mut Violations,
) -> Result<Vec<Row>, String> {
    let run = ulid::Ulid::new().to_string().to_lowercase();
    let mut rows = Vec::new();
    let mut all = KeyLog::default();
    let row = |scenario, stats: Stats, allowed: &[u16], rss| Row {
        store,
        clients,
        scenario,
        errors: stats.outside(allowed),
        stats,
        peak_rss_mb: rss,
    };

    // 1. creates, each on a fresh key (reference = key, for the list check)
    let (a, r) = (api.clone(), run.clone());
    let (stats, log, rss) = scenario(dev, clients, n, move |i| {
        let (a, key) = (a.clone(), format!("{r}-new-{i}"));
        async move {
            let ans = a.create(&key, &client::pix(&key, None, None)).await;
            vec![(Some(key), ans)]
        }
    })
    .await;
    let ids: Vec<String> = log.payment_ids();
    rows.push(row("create, fresh keys", stats, &[201], rss));
    all.merge(log);

    // 2. one key, every client at once: one payment, the rest replays (201) or 409 in flight
    let (a, key) = (api.clone(), format!("{run}-storm"));
    let k = key.clone();
    let (stats, log, rss) = scenario(dev, clients, n, move |_| {
        let (a, key) = (a.clone(), k.clone());
        async move {
            let ans = a.create(&key, &client::pix(&key, None, None)).await;
            vec![(Some(key), ans)]
        }
    })
    .await;
    let answers = log.answers.get(&key).cloned().unwrap_or_default();
    let fresh = answers.iter().filter(|(s, _)| *s == 201).count();
    if fresh == 0 {
        v.push(format!("storm {key}: no 201 at all"));
    }
    rows.push(row("same-key storm", stats, &[201, 409], rss));
    all.merge(log);

    // 3. reads: GET by id, every 10th a list page
    let (a, ids) = (api.clone(), Arc::new(ids));
    let (stats, _, rss) = scenario(dev, clients, n, move |i| {
        let (a, ids) = (a.clone(), ids.clone());
        async move {
            let ans = if i % 10 == 9 || ids.is_empty() {
                a.list("limit=20").await
            } else {
                a.get(&ids[i % ids.len()]).await
            };
            vec![(None, ans)]
        }
    })
    .await;
    rows.push(row("reads (9 GET by id : 1 list)", stats, &[200], rss));

    // 4. mixed: a Pix at Asaas with a callback, its gateway webhook twice (a gateway retry:
    //    one merchant event only), a read. Two events per payment: pending, succeeded.
    let merchant = Merchant::start().await;
    let (a, r, hook) = (api.clone(), run.clone(), merchant.url.clone());
    let (stats, log, rss) = scenario(dev, clients, n.div_ceil(4), move |i| {
        let (a, key, hook) = (a.clone(), format!("{r}-mixed-{i}"), hook.clone());
        async move {
            let c = a
                .create(&key, &client::pix(&key, Some("asaas"), Some(&hook)))
                .await;
            let mut out = Vec::new();
            if let (Some(id), Some(gw)) = (c.payment_id(), c.field("gateway_payment_id")) {
                let evt = format!("evt_{key}");
                out.push((None, a.asaas_received(&evt, &id, &gw).await));
                out.push((None, a.asaas_received(&evt, &id, &gw).await));
                out.push((None, a.get(&id).await));
            }
            out.insert(0, (Some(key), c));
            out
        }
    })
    .await;
    let payments: BTreeSet<String> = log.payment_ids();
    rows.push(row(
        "mixed (create + webhook ×2 + GET; callbacks)",
        stats,
        &[200, 201],
        rss,
    ));
    all.merge(log);

    // the checks
    invariants::keys_consistent(&all, v);
    let listed = invariants::stored_once(api, &all, &BTreeSet::new(), v).await?;
    let drain = if store == "memory" { 60 } else { 180 };
    let cb = invariants::callbacks_once(
        api,
        &payments,
        || receipts(&merchant),
        Duration::from_secs(drain),
        true,
        false,
        v,
    )
    .await?;
    if cb.events != payments.len() * 2 {
        v.push(format!(
            "mixed: {} events for {} payments (expected 2 each)",
            cb.events,
            payments.len()
        ));
    }
    eprintln!(
        "{store} c{clients}: {} keys, {listed} payments listed, {} callbacks once, {} missing",
        all.answers.len(),
        cb.once,
        cb.missing
    );
    Ok(rows)
}

/// The whole load run; rows are printed as they come.
pub async fn run(bins: &Binaries, plan: &Plan) -> Result<(Vec<Row>, Violations), String> {
    let mut v = Violations::default();
    let mut rows = Vec::new();
    println!("{HEADER}");
    for &store in &plan.stores {
        let (moto, n) = if store == "dynamodb" {
            let port = crate::procs::free_port()?;
            (
                Some((bins.moto("load-moto", port).await?, port)),
                plan.requests_dynamodb,
            )
        } else {
            (None, plan.requests_memory)
        };
        for &clients in &plan.clients {
            let st = match &moto {
                Some((_, port)) => Store::Dynamo {
                    endpoint: format!("http://127.0.0.1:{port}"),
                    prefix: format!(
                        "load{clients}-{}",
                        ulid::Ulid::new().to_string().to_lowercase()
                    ),
                },
                None => Store::Memory,
            };
            let name = format!("load-devserver-{store}-{clients}");
            let (dev, api) = bins
                .devserver(&name, crate::procs::free_port()?, &st, None, &[])
                .await?;
            for r in level(&api, &dev, store, clients, n, &mut v).await? {
                println!("{}", r.markdown());
                rows.push(r);
            }
            dev.kill().await;
        }
        if let Some((m, _)) = moto {
            m.kill().await;
        }
    }
    Ok((rows, v))
}
