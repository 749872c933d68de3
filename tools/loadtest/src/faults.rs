//! Fault runs. Part one: the dev server on DynamoDB (moto) with a fault proxy in front of each
//! of its three dependencies — moto, the tenant's Stripe (the wire-accurate fake, registered
//! with a `base_url` pointing at the proxy) and the merchant's callback endpoint — while clients
//! keep creating card (Stripe) and Pix (simulator) payments with callbacks; each dependency in
//! turn is delayed, reset and black-holed. Then every key is retried until it has a final
//! answer, and the checks run: documented statuses only, keys consistent, payments stored once,
//! no charge twice (or orphaned) at Stripe, every callback received.
//!
//! Part two: moto itself is killed mid-run and restarted. moto keeps its state in memory, so a
//! restart loses every table — there is no persistent moto to restart into. What that scenario
//! checks: during the outage the API answers documented statuses (503) within the client's
//! timeout and never a 500; after moto is back and the tables are recreated (`devserver seed`),
//! the same running dev server recovers without a restart, and every key refused during the
//! outage resolves on retry to exactly one payment.

use crate::client::{self, Answer, Api};
use crate::fault_proxy::{FaultProxy, Mode};
use crate::invariants::{self, KeyLog, Violations};
use crate::procs::{free_port, Binaries, Store};
use crate::stats::{ms, Stats, NO_ANSWER};
use integration_tests::fakes::stripe::FakeStripe;
use integration_tests::merchant::Merchant;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Statuses docs/openapi.yaml documents for a create under faults: 200/201 (created or
/// replayed), 409 (in flight), 502 (every gateway failed, nothing charged), 503 (dependency
/// unavailable), 504. Anything else — a 500, or no answer within the client's timeout — is a
/// violation.
pub const DOCUMENTED: &[u16] = &[200, 201, 409, 502, 503, 504];

/// The client's patience: longer than the dev server's 30 s request deadline, so an answer that
/// does not come by then is a hang, not a slow answer.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(40);

/// How long after the faults end a key may take to reach a final answer: the dev server's
/// request deadline (30 s: an in-flight claim older than that is taken over by a retry) plus a
/// margin. A key still unresolved then is stuck.
const SETTLE_WITHIN: Duration = Duration::from_secs(30 + 20);

/// What the fault run is asked to do.
pub struct Plan {
    /// Concurrent clients.
    pub clients: usize,
    /// How long each fault (and each pass between faults) lasts.
    pub phase: Duration,
    /// Which dependencies get faults: any of `dynamodb`, `gateway`, `merchant`, `moto-restart`.
    pub targets: Vec<String>,
    /// Fault modes applied to each target, in order.
    pub modes: Vec<Mode>,
    /// `target: mode` phases left out (e.g. `dynamodb: blackhole`).
    pub skip: Vec<String>,
}

/// One line of the fault table: the answers while one fault was on.
pub struct PhaseRow {
    /// `dynamodb: reset`, …
    pub phase: String,
    /// Answers while it was on.
    pub stats: Stats,
}

/// What the run measured.
#[derive(Default)]
pub struct Report {
    /// Per phase.
    pub rows: Vec<PhaseRow>,
    /// Faults injected, by kind.
    pub injected: BTreeMap<String, u64>,
    /// Creates sent (retries after the faults included).
    pub sent: u64,
    /// Idempotency keys used.
    pub keys: usize,
    /// PaymentIntents at the fake Stripe, and how many payments they belong to.
    pub intents: (usize, usize),
    /// Callback tally.
    pub callbacks: invariants::CallbackTally,
    /// Retried after the faults, and how long the slowest took to resolve.
    pub settled: (usize, Duration),
    /// Violations.
    pub violations: Violations,
}

/// Clients creating payments until told to stop; everything they saw.
struct Load {
    api: Api,
    run: String,
    hook: Option<String>,
    card: bool,
    stop: AtomicBool,
    next: AtomicUsize,
    log: Mutex<KeyLog>,
    stats: Mutex<Stats>,
    bodies: Mutex<BTreeMap<String, Value>>,
    no_answer: Mutex<Vec<String>>,
}

impl Load {
    fn new(api: Api, run: String, hook: Option<String>, card: bool) -> Arc<Load> {
        Arc::new(Load {
            api,
            run,
            hook,
            card,
            stop: AtomicBool::new(false),
            next: AtomicUsize::new(0),
            log: Mutex::new(KeyLog::default()),
            stats: Mutex::new(Stats::default()),
            bodies: Mutex::new(BTreeMap::new()),
            no_answer: Mutex::new(Vec::new()),
        })
    }

    fn record(&self, key: &str, a: &Answer) {
        if let Ok(mut s) = self.stats.lock() {
            s.record(a.status, a.took);
        }
        if let Ok(mut l) = self.log.lock() {
            l.add(key, a);
        }
        if a.status == NO_ANSWER {
            if let Ok(mut n) = self.no_answer.lock() {
                n.push(format!(
                    "{key}: {}",
                    a.error.as_deref().unwrap_or("no answer")
                ));
            }
        }
    }

    /// One client: half card payments (Stripe only, through its proxy), half Pix (simulators).
    async fn client(self: Arc<Self>) {
        while !self.stop.load(Ordering::SeqCst) {
            let i = self.next.fetch_add(1, Ordering::SeqCst);
            let key = format!("{}-{i}", self.run);
            let hook = self.hook.as_deref();
            let body = if self.card && i.is_multiple_of(2) {
                client::card_stripe_only(&key, hook)
            } else {
                client::pix(&key, None, hook)
            };
            if let Ok(mut b) = self.bodies.lock() {
                b.insert(key.clone(), body.clone());
            }
            let a = self.api.create(&key, &body).await;
            self.record(&key, &a);
            if a.status == 503 || a.status == 502 || a.status == NO_ANSWER {
                // a real client backs off before its next call
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    fn take_stats(&self) -> Stats {
        self.stats
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }

    fn log(&self) -> KeyLog {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// What starts a phase (switch a proxy, kill moto, …).
type Action = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// A phase that changes nothing.
fn nothing() -> Action {
    Box::new(|| Box::pin(async {}))
}

/// A phase that switches `proxy` to `mode`.
fn switch(proxy: &FaultProxy, mode: Mode) -> Action {
    let p = proxy.clone();
    Box::new(move || {
        p.set(mode);
        Box::pin(async {})
    })
}

/// Runs the clients while `phases` happen, each `phase` long; one stats row per phase.
async fn under_load(
    load: &Arc<Load>,
    clients: usize,
    phases: Vec<(String, Action)>,
    phase: Duration,
) -> Vec<PhaseRow> {
    let tasks: Vec<_> = (0..clients)
        .map(|_| tokio::spawn(load.clone().client()))
        .collect();
    let mut rows = Vec::new();
    for (name, start) in phases {
        let t0 = Instant::now();
        start().await;
        tokio::time::sleep(phase.saturating_sub(t0.elapsed())).await;
        let mut stats = load.take_stats();
        stats.wall = t0.elapsed();
        eprintln!(
            "  {name}: {} answers {}",
            stats.requests(),
            stats.status_cell()
        );
        rows.push(PhaseRow { phase: name, stats });
    }
    load.stop.store(true, Ordering::SeqCst);
    let t0 = Instant::now();
    futures::future::join_all(tasks).await;
    let mut tail = load.take_stats();
    tail.wall = t0.elapsed();
    if tail.requests() > 0 {
        rows.push(PhaseRow {
            phase: "(answers that came after the last phase)".into(),
            stats: tail,
        });
    }
    rows
}

/// Retries every key that has no 2xx answer (same body) until it gets one, `clients` keys at a
/// time (more would only queue at moto); a key still without one `within` after its retries
/// began is stuck. Returns the retries' stats and the slowest resolution.
async fn settle(
    load: &Load,
    clients: usize,
    within: Duration,
    v: &mut Violations,
) -> (Stats, usize, Duration) {
    let permits = Arc::new(tokio::sync::Semaphore::new(clients.max(1)));
    let log = load.log();
    let bodies = load.bodies.lock().map(|b| b.clone()).unwrap_or_default();
    let open: Vec<String> = log
        .answers
        .keys()
        .filter(|k| log.payment_id(k).is_none())
        .cloned()
        .collect();
    let mut stats = Stats::default();
    let t0 = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut tasks = Vec::new();
    for key in open.clone() {
        let Some(body) = bodies.get(&key).cloned() else {
            continue;
        };
        let (api, permits) = (load.api.clone(), permits.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire().await;
            let mut seen = Vec::new();
            let started = Instant::now();
            loop {
                let a = api.create(&key, &body).await;
                let done = (200..300).contains(&a.status);
                seen.push(a);
                if done || started.elapsed() > within {
                    return (key, seen, started.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }));
    }
    let n = tasks.len();
    for t in futures::future::join_all(tasks).await {
        let Ok((key, seen, took)) = t else { continue };
        slowest = slowest.max(took);
        for a in &seen {
            load.record(&key, a);
            stats.record(a.status, a.took);
        }
        if !seen.last().is_some_and(|a| (200..300).contains(&a.status)) {
            let last: Vec<u16> = seen.iter().rev().take(3).map(|a| a.status).collect();
            v.push(format!(
                "key {key}: still no final answer {:.0} s after the faults (last answers {last:?})",
                within.as_secs_f64()
            ));
        }
    }
    stats.wall = t0.elapsed();
    (stats, n, slowest)
}

/// Every answer a documented status, none missing.
fn documented_only(rows: &[PhaseRow], load: &Load, v: &mut Violations) {
    for r in rows {
        for (s, n) in &r.stats.statuses {
            if !DOCUMENTED.contains(s) {
                v.push(format!(
                    "{}: {n} answer(s) with status {}",
                    r.phase,
                    if *s == NO_ANSWER {
                        "none (hang or connection error)".to_string()
                    } else {
                        s.to_string()
                    }
                ));
            }
        }
    }
    if let Ok(n) = load.no_answer.lock() {
        for line in n.iter().take(5) {
            eprintln!("  no answer: {line}");
        }
    }
}

fn proxy_counts(name: &str, p: &FaultProxy, into: &mut BTreeMap<String, u64>) {
    let c = &p.counters;
    for (kind, n) in [
        ("connections reset", c.resets.load(Ordering::Relaxed)),
        (
            "connections black-holed",
            c.blackholed.load(Ordering::Relaxed),
        ),
        (
            "answer chunks delayed",
            c.delayed_chunks.load(Ordering::Relaxed),
        ),
    ] {
        *into.entry(format!("{name}: {kind}")).or_default() += n;
    }
}

/// Part one: faults between the orchestrator and DynamoDB, Stripe and the merchant.
async fn dependencies(bins: &Binaries, plan: &Plan, report: &mut Report) -> Result<(), String> {
    let v = &mut report.violations;
    let moto_port = free_port()?;
    let moto = bins.moto("fault-moto", moto_port).await?;
    let dynamo = FaultProxy::start(
        "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
        SocketAddr::from(([127, 0, 0, 1], moto_port)),
    )
    .await?;
    let stripe = FakeStripe::start().await;
    let gateway = FaultProxy::start(
        "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
        crate::loopback::base_url(&stripe.base_url)?,
    )
    .await?;
    let merchant = Merchant::start().await;
    let merchant_proxy = FaultProxy::start(
        "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
        crate::loopback::base_url(&merchant.url)?,
    )
    .await?;
    let store = Store::Dynamo {
        endpoint: dynamo.url(),
        prefix: format!("fault-{}", ulid::Ulid::new().to_string().to_lowercase()),
    };
    let (dev, api) = bins
        .devserver("fault-devserver", free_port()?, &store, None, &[])
        .await?;
    let api = Api::new(&api.base, CLIENT_TIMEOUT)?;
    let creds = api
        .put_credentials(
            "stripe",
            &serde_json::json!({"secret_key": stripe.api_key, "base_url": gateway.url()}),
        )
        .await;
    if creds.status != 200 {
        return Err(format!(
            "registering the fake Stripe failed: {} {:?}",
            creds.status, creds.body
        ));
    }
    let hook = format!("{}/hooks", merchant_proxy.url());
    let run = format!("flt-{}", ulid::Ulid::new().to_string().to_lowercase());
    let load = Load::new(api.clone(), run, Some(hook), true);

    // The schedule: a pass first, then each target × mode, a pass after each.
    let mut phases: Vec<(String, Action)> = vec![("baseline (no fault)".into(), nothing())];
    // DynamoDB last: a black-holed store holds every client until its timeout.
    for (t, p) in [
        ("gateway", &gateway),
        ("merchant", &merchant_proxy),
        ("dynamodb", &dynamo),
    ] {
        if !plan.targets.iter().any(|x| x == t) {
            continue;
        }
        for m in &plan.modes {
            if plan.skip.contains(&format!("{t}: {}", m.label())) {
                continue;
            }
            phases.push((format!("{t}: {}", m.label()), switch(p, *m)));
            phases.push((format!("{t}: pass again"), switch(p, Mode::Pass)));
        }
    }
    eprintln!("fault run: {} phases of {:?}", phases.len(), plan.phase);
    let rows = under_load(&load, plan.clients, phases, plan.phase).await;
    for p in [&dynamo, &gateway, &merchant_proxy] {
        p.set(Mode::Pass);
    }
    // Claims taken during the faults stay in flight until their deadline; every key must
    // resolve within that expiry plus a margin.
    let (retry_stats, n, slowest) = settle(&load, plan.clients, SETTLE_WITHIN, v).await;
    report.settled = (n, slowest);
    documented_only(&rows, &load, v);
    let log = load.log();
    invariants::keys_consistent(&log, v);
    invariants::stored_once(&api, &log, &BTreeSet::new(), v).await?;

    // No charge twice, none orphaned: every PaymentIntent belongs to one stored payment.
    let listed = invariants::page_all(&api, false, "").await?;
    let mut charged_payments = 0;
    let mut intents = 0;
    for p in &listed {
        let id = p.get("id").and_then(Value::as_str).unwrap_or("");
        let found = stripe.intents_for(id);
        if found.len() > 1 {
            v.push(format!(
                "payment {id}: {} PaymentIntents at Stripe {found:?}",
                found.len()
            ));
        }
        if !found.is_empty() {
            charged_payments += 1;
            let gw = p.get("gateway").and_then(Value::as_str).unwrap_or("");
            if gw != "stripe" {
                v.push(format!(
                    "payment {id}: charged at Stripe but stored at {gw}"
                ));
            }
        }
        intents += found.len();
    }
    if stripe.intents_created() != intents {
        v.push(format!(
            "Stripe holds {} PaymentIntents, stored payments account for {intents}: orphan charges",
            stripe.intents_created()
        ));
    }
    report.intents = (stripe.intents_created(), charged_payments);

    // Callbacks: everything delivered once the merchant is back (retries at 5 s; what is still
    // pending after the wait is resent through the events API and waited for again).
    let payments: BTreeSet<String> = listed
        .iter()
        .filter_map(|p| p.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    let receipts = || {
        let mut by_id = BTreeMap::new();
        for r in merchant.received() {
            *by_id.entry(r.webhook_id).or_insert(0usize) += 1;
        }
        by_id
    };
    report.callbacks = invariants::callbacks_once(
        &api,
        &payments,
        receipts,
        Duration::from_secs(40),
        false,
        true,
        v,
    )
    .await?;
    let dead_letters = std::fs::read_to_string(bins.logs.join("fault-devserver.log"))
        .map(|l| {
            l.matches("callbacks in the local dead-letter queue")
                .count()
        })
        .unwrap_or(0);
    if dead_letters > 0 {
        v.push(format!(
            "the dev server reported its dead-letter queue non-empty {dead_letters} time(s)"
        ));
    }

    proxy_counts("dynamodb", &dynamo, &mut report.injected);
    proxy_counts("gateway", &gateway, &mut report.injected);
    proxy_counts("merchant", &merchant_proxy, &mut report.injected);
    report.sent += rows.iter().map(|r| r.stats.requests()).sum::<u64>() + retry_stats.requests();
    report.keys += log.answers.len();
    report.rows.extend(rows);
    report.rows.push(PhaseRow {
        phase: "retries after the faults (each unresolved key until 2xx)".into(),
        stats: retry_stats,
    });
    dev.kill().await;
    moto.kill().await;
    Ok(())
}

/// Part two: moto killed mid-run and restarted (empty), tables recreated.
async fn moto_restart(bins: &Binaries, plan: &Plan, report: &mut Report) -> Result<(), String> {
    let v = &mut report.violations;
    let port = free_port()?;
    let moto = bins.moto("restart-moto-1", port).await?;
    let store = Store::Dynamo {
        endpoint: format!("http://127.0.0.1:{port}"),
        prefix: format!("restart-{}", ulid::Ulid::new().to_string().to_lowercase()),
    };
    let (dev, api) = bins
        .devserver("restart-devserver", free_port()?, &store, None, &[])
        .await?;
    let api = Api::new(&api.base, CLIENT_TIMEOUT)?;
    let run = format!("rst-{}", ulid::Ulid::new().to_string().to_lowercase());
    let load = Load::new(api.clone(), run, None, false);
    let moto_slot = Arc::new(tokio::sync::Mutex::new(Some(moto)));
    let restart_took = Arc::new(Mutex::new(None::<Duration>));
    // Keys answered with a payment before the kill: those payments died with moto.
    let before_kill = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let (kill_slot, start_slot, b, st, took) = (
        moto_slot.clone(),
        moto_slot.clone(),
        bins.clone(),
        store.clone(),
        restart_took.clone(),
    );
    let (snap_load, snap) = (load.clone(), before_kill.clone());
    let kill: Action = Box::new(move || {
        Box::pin(async move {
            if let Some(m) = kill_slot.lock().await.take() {
                m.kill().await;
            }
            let log = snap_load.log();
            if let Ok(mut s) = snap.lock() {
                s.extend(
                    log.answers
                        .keys()
                        .filter(|k| log.payment_id(k).is_some())
                        .cloned(),
                );
            }
        })
    });
    let restart: Action = Box::new(move || {
        Box::pin(async move {
            let t0 = Instant::now();
            match b.moto("restart-moto-2", port).await {
                Ok(m) => *start_slot.lock().await = Some(m),
                Err(e) => eprintln!("moto restart failed: {e}"),
            }
            if let Err(e) = b.seed(&st).await {
                eprintln!("{e}");
            }
            if let Ok(mut w) = took.lock() {
                *w = Some(t0.elapsed());
            }
        })
    });
    let phases: Vec<(String, Action)> = vec![
        ("moto up (before)".into(), nothing()),
        ("moto killed (SIGKILL)".into(), kill),
        ("moto restarted (empty), tables recreated".into(), restart),
        ("moto up (after)".into(), nothing()),
    ];
    let rows = under_load(&load, plan.clients, phases, plan.phase).await;
    documented_only(&rows, &load, v);
    // Keys answered with a payment before the kill name payments that died with moto: they
    // are left out (retrying them would make a second payment in the new tables, by design).
    // Every other key must resolve now to exactly one payment in the new tables.
    let gone = before_kill.lock().map(|s| s.clone()).unwrap_or_default();
    let (retry_stats, n, slowest) = settle(&load, plan.clients, SETTLE_WITHIN, v).await;
    let log = load.log();
    invariants::keys_consistent(&log, v);
    let survivors = KeyLog {
        answers: log
            .answers
            .iter()
            .filter(|(k, _)| !gone.contains(*k))
            .map(|(k, a)| (k.clone(), a.clone()))
            .collect(),
        ..KeyLog::default()
    };
    invariants::stored_once(&api, &survivors, &gone, v).await?;
    let took = restart_took.lock().ok().and_then(|w| *w);
    eprintln!(
        "moto restart: {} keys ({} answered before the kill, left out), {n} retried after (slowest {:.1} s); moto start + table recreation took {:.1} s",
        log.answers.len(),
        gone.len(),
        slowest.as_secs_f64(),
        took.map_or(0.0, |t| t.as_secs_f64())
    );
    *report
        .injected
        .entry("moto killed and restarted empty".into())
        .or_default() += 1;
    report.sent += rows.iter().map(|r| r.stats.requests()).sum::<u64>() + retry_stats.requests();
    report.keys += log.answers.len();
    report.settled.0 += n;
    report.settled.1 = report.settled.1.max(slowest);
    report.rows.extend(rows.into_iter().map(|mut r| {
        r.phase = format!("moto restart: {}", r.phase);
        r
    }));
    report.rows.push(PhaseRow {
        phase: "moto restart: retries after (unresolved keys until 2xx)".into(),
        stats: retry_stats,
    });
    dev.kill().await;
    if let Some(m) = moto_slot.lock().await.take() {
        m.kill().await;
    }
    Ok(())
}

/// The whole fault run.
pub async fn run(bins: &Binaries, plan: &Plan) -> Result<Report, String> {
    let mut report = Report::default();
    if plan
        .targets
        .iter()
        .any(|t| matches!(t.as_str(), "dynamodb" | "gateway" | "merchant"))
    {
        dependencies(bins, plan, &mut report).await?;
    }
    if plan.targets.iter().any(|t| t == "moto-restart") {
        moto_restart(bins, plan, &mut report).await?;
    }
    Ok(report)
}

/// Prints the report as markdown.
pub fn print(r: &Report) {
    println!("| phase | answers | p50 | p99 | max | answers by status |");
    println!("|---|---|---|---|---|---|");
    for row in &r.rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            row.phase,
            row.stats.requests(),
            ms(row.stats.percentile_ms(50.0)),
            ms(row.stats.percentile_ms(99.0)),
            ms(row.stats.percentile_ms(100.0)),
            row.stats.status_cell()
        );
    }
    println!();
    println!("| faults injected | count |");
    println!("|---|---|");
    for (k, n) in &r.injected {
        println!("| {k} | {n} |");
    }
    let c = &r.callbacks;
    println!();
    println!("| check | result |");
    println!("|---|---|");
    println!("| creates sent (retries included) | {} |", r.sent);
    println!("| idempotency keys | {} |", r.keys);
    println!(
        "| keys without a final answer after the faults, retried | {} (slowest resolved in {:.1} s) |",
        r.settled.0,
        r.settled.1.as_secs_f64()
    );
    println!(
        "| Stripe PaymentIntents / payments charged at Stripe | {} / {} |",
        r.intents.0, r.intents.1
    );
    println!(
        "| merchant events: received once / twice after a failed attempt / missing | {} / {} / {} (of {}) |",
        c.once, c.retried_duplicates, c.missing, c.events
    );
    println!(
        "| events still pending 40 s after the run, resent through the events API (of which never attempted: relay stuck) | {} ({}) |",
        c.resent, c.never_relayed
    );
    println!("| invariant violations | **{}** |", r.violations.0.len());
}
