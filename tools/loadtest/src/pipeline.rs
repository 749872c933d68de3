//! The webhook pipeline under one dead and one hanging merchant endpoint (docs/BENCHMARKS.md
//! "Webhook pipeline: one dead and one hanging endpoint among 50 tenants").
//!
//! One dev server on memory, its queue's in-flight limit scaled down (`ORCH_QUEUE_INFLIGHT_CAP`)
//! and 50 tenants from a tenants file this run writes: 48 healthy ones whose callback URL is a
//! receiver answering 200 at once, one ("dead") whose endpoint answers 500 at once, one ("hang")
//! whose endpoint accepts and answers nothing for 20 s (the callback sender gives up at 15 s).
//! For a fixed time every tenant creates Pix payments at Asaas (its simulator) and posts
//! Asaas's "paid" webhook for each — the dead tenant fast, the hang tenant a few a second, the
//! healthy ones at a modest rate — while `/metrics` is polled for the queue's in-flight and
//! dead-letter gauges. Then a bounded drain, and the checks: did the healthy tenants' callbacks
//! keep arriving promptly (gateway webhook applied → `payment.succeeded` at the merchant, and
//! every event's first arrival after its `created_at`), was every healthy event delivered, did
//! the queue stay under its in-flight limit, and does every event of the dead and hang tenants
//! exist (pending, failed or delivered: nothing lost).

use crate::client::{Answer, Api};
use crate::invariants::{self, Violations};
use crate::procs::{free_port, Binaries, Store};
use crate::stats::Stats;
use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// Healthy tenants (with the dead and the hang one: 50).
const HEALTHY: usize = 48;
/// How long the hang endpoint holds a connection without answering (the sender's timeout is
/// 15 s, so every attempt there times out).
const HANG_HOLD: Duration = Duration::from_secs(20);
/// The amount of every payment: 10.11 BRL (cents 11 trigger no simulator behaviour; 02, 31,
/// 40, 50 and 77 do).
const CENTS: u64 = 1011;
/// A healthy event's first arrival may trail its `created_at` by this much at the 99th
/// percentile.
const FIRST_ARRIVAL_P99: Duration = Duration::from_secs(2);
/// Requests of one tenant open at once; a tick finding them all open is skipped (counted).
const OPEN_PER_TENANT: usize = 64;
/// The traffic's request timeout.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// One row of the timeline per this much time.
const WINDOW: Duration = Duration::from_secs(15);

/// What the run is asked to do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// How long traffic runs.
    pub seconds: Duration,
    /// `ORCH_QUEUE_INFLIGHT_CAP` of the dev server.
    pub inflight_cap: usize,
    /// In flight at or above this is a violation (default: the cap).
    pub inflight_bound: Option<usize>,
    /// The longest wait after the traffic for the healthy callbacks.
    pub drain: Duration,
    /// Payments a second of each healthy tenant.
    pub healthy_rate: u32,
    /// Payments a second of the dead tenant.
    pub dead_rate: u32,
    /// Payments a second of the hang tenant.
    pub hang_rate: u32,
}

impl Plan {
    /// The in-flight count that is a violation.
    fn bound(&self) -> usize {
        self.inflight_bound.unwrap_or(self.inflight_cap)
    }
}

/// What a tenant's callback endpoint does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Healthy,
    Dead,
    Hang,
}

/// One tenant of the run.
#[derive(Debug, Clone)]
struct Tenant {
    id: String,
    key: String,
    token: String,
    role: Role,
    rate: u32,
}

/// The 50 tenants: healthy ones first, then the dead and the hang one.
fn tenants(plan: &Plan, run: &str) -> Vec<Tenant> {
    let mk = |id: String, role, rate| Tenant {
        key: format!("sk_pipeline_{id}_{run}"),
        token: format!("pipeline-asaas-token-{id}-{run}"),
        id,
        role,
        rate,
    };
    let mut out: Vec<Tenant> = (0..HEALTHY)
        .map(|i| mk(format!("ten_pl_{i:02}"), Role::Healthy, plan.healthy_rate))
        .collect();
    out.push(mk("ten_pl_dead".into(), Role::Dead, plan.dead_rate));
    out.push(mk("ten_pl_hang".into(), Role::Hang, plan.hang_rate));
    out
}

/// A `whsec_` callback secret of 24 random bytes.
fn callback_secret() -> String {
    let mut raw = Vec::with_capacity(32);
    raw.extend_from_slice(&ulid::Ulid::new().0.to_be_bytes());
    raw.extend_from_slice(&ulid::Ulid::new().0.to_be_bytes());
    raw.truncate(24);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Writes the tenants file (keys by SHA-256, Pix routed to the Asaas simulator, a callback URL
/// by role) and checks it loads.
fn write_tenants(
    path: &Path,
    tenants: &[Arc<Tenant>],
    urls: &BTreeMap<&'static str, String>,
) -> Result<(), String> {
    let url = |role: Role| -> Result<String, String> {
        let name = match role {
            Role::Healthy => "healthy",
            Role::Dead => "dead",
            Role::Hang => "hang",
        };
        urls.get(name)
            .cloned()
            .ok_or_else(|| format!("no {name} endpoint"))
    };
    let mut list = Vec::new();
    for t in tenants {
        list.push(json!({
            "id": t.id,
            "name": format!("Pipeline {}", t.id),
            "api_key_sha256": [shared::ports::hash_api_key(&t.key)],
            "routing": {"pix": ["asaas"]},
            "callback_url": format!("{}/{}", url(t.role)?, t.id),
            "callback_secrets": [callback_secret()],
            "webhook_secrets": {"asaas_token": t.token},
        }));
    }
    let text = serde_json::to_string_pretty(&json!({ "tenants": list }))
        .map_err(|e| format!("tenants file: {e}"))?;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    shared::bootstrap::load_tenants_file(path)
        .map(|_| ())
        .map_err(|e| format!("the generated tenants file does not load: {e}"))
}

/// A callback the healthy receiver got, by `webhook-id`.
#[derive(Debug, Clone)]
struct Arrival {
    /// First arrival.
    at: Instant,
    /// First arrival, wall clock (compared with the event's `created_at`).
    wall: DateTime<Utc>,
    /// Receipts of this `webhook-id`.
    count: usize,
    /// The body's `type`.
    kind: String,
    /// The body's `data.id` (the payment).
    payment: String,
    /// The body's `created_at`.
    created_at: Option<DateTime<Utc>>,
}

/// The healthy receiver's record.
#[derive(Default)]
struct Receipts {
    by_id: Mutex<HashMap<String, Arrival>>,
    /// Requests without a `webhook-id` or a readable body.
    unreadable: AtomicU64,
}

impl Receipts {
    fn record(&self, webhook_id: &str, body: &[u8]) {
        let (at, wall) = (Instant::now(), Utc::now());
        let v: Option<Value> = serde_json::from_slice(body).ok();
        let s = |p: &str| {
            v.as_ref()
                .and_then(|v| v.pointer(p))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let (Some(kind), Some(payment)) = (s("/type"), s("/data/id")) else {
            self.unreadable.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if webhook_id.is_empty() {
            self.unreadable.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let created_at = s("/created_at")
            .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
            .map(|c| c.with_timezone(&Utc));
        let mut m = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(webhook_id.to_string())
            .and_modify(|a| a.count += 1)
            .or_insert(Arrival {
                at,
                wall,
                count: 1,
                kind,
                payment,
                created_at,
            });
    }

    fn snapshot(&self) -> HashMap<String, Arrival> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn answer(status: u16) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from_static(b"ok")));
    *r.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r
}

async fn bind() -> Result<(TcpListener, String), String> {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind a receiver: {e}"))?;
    let a = l
        .local_addr()
        .map_err(|e| format!("receiver address: {e}"))?;
    Ok((l, format!("http://{a}/hooks")))
}

/// The healthy tenants' endpoint: records, answers 200 at once.
async fn healthy_receiver(r: Arc<Receipts>) -> Result<String, String> {
    let (l, url) = bind().await?;
    integration_tests::serve_http(l, move |req: hyper::Request<hyper::body::Incoming>| {
        let r = r.clone();
        async move {
            let id = req
                .headers()
                .get("webhook-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            r.record(&id, &body);
            answer(200)
        }
    });
    Ok(url)
}

/// The dead tenant's endpoint: 500 at once, requests counted.
async fn dead_receiver(hits: Arc<AtomicU64>) -> Result<String, String> {
    let (l, url) = bind().await?;
    integration_tests::serve_http(l, move |req: hyper::Request<hyper::body::Incoming>| {
        let hits = hits.clone();
        async move {
            let _ = req.into_body().collect().await;
            hits.fetch_add(1, Ordering::Relaxed);
            answer(500)
        }
    });
    Ok(url)
}

/// The hang tenant's endpoint: accepts, reads, answers nothing, closes after `HANG_HOLD`;
/// connections counted.
async fn hang_receiver(conns: Arc<AtomicU64>) -> Result<String, String> {
    let (l, url) = bind().await?;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = l.accept().await {
            conns.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tokio::time::timeout(HANG_HOLD, async {
                    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                    // the client gave up (closed): nothing more to hold
                })
                .await;
            });
        }
    });
    Ok(url)
}

/// The queue gauges as polled: (seconds since the traffic began, in flight, dead letters).
#[derive(Default)]
struct Gauges {
    samples: Mutex<Vec<(f64, f64, f64)>>,
    failed_polls: AtomicU64,
}

/// The sum of every series of `name` in Prometheus text.
fn metric_sum(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue; // another metric whose name starts with this one
        }
        if let Some(v) = rest
            .rsplit(' ')
            .next()
            .and_then(|v| v.trim().parse::<f64>().ok())
        {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

/// Polls `/metrics` every 250 ms until `stop`.
async fn poll_gauges(api: Api, t0: Instant, g: Arc<Gauges>, stop: Arc<AtomicBool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let Some(text) = api.metrics_text().await else {
            g.failed_polls.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let in_flight = metric_sum(&text, "queue_in_flight").unwrap_or(0.0);
        let dlq = metric_sum(&text, "queue_dead_letters").unwrap_or(0.0);
        if let Ok(mut s) = g.samples.lock() {
            s.push((t0.elapsed().as_secs_f64(), in_flight, dlq));
        }
    }
}

/// One payment the traffic created.
#[derive(Debug, Clone)]
struct Created {
    tenant: usize,
    payment: String,
    /// The create's status (`pending`, …): its first event is `payment.<status>`.
    status: String,
    /// When the create answered.
    at: Instant,
    /// When the gateway's "paid" webhook was answered 200 (`None`: it was not).
    paid_at: Option<Instant>,
}

/// Everything the traffic saw.
#[derive(Default)]
struct Traffic {
    created: Mutex<Vec<Created>>,
    creates: Mutex<Stats>,
    webhooks: Mutex<Stats>,
    skipped: AtomicU64,
    errors: Mutex<Vec<String>>,
}

impl Traffic {
    fn note(&self, what: &str, a: &Answer) {
        if let Ok(mut e) = self.errors.lock() {
            if e.len() < 5 {
                e.push(format!(
                    "{what}: {} {}",
                    a.status,
                    a.error
                        .clone()
                        .or_else(|| a.body.as_ref().map(Value::to_string))
                        .unwrap_or_default()
                ));
            }
        }
    }
}

/// One payment: create, then Asaas's "paid" webhook for it.
async fn one_payment(api: Api, t: Arc<Tenant>, idx: usize, key: String, out: Arc<Traffic>) {
    let body = json!({"amount": CENTS, "currency": "BRL", "method": "pix",
        "customer": {"name": "Maria Souza", "document": "52998224725", "email": "maria@example.com"},
        "reference": key});
    let c = api.create(&key, &body).await;
    if let Ok(mut s) = out.creates.lock() {
        s.record(c.status, c.took);
    }
    let (Some(payment), Some(gw), Some(status)) = (
        c.payment_id(),
        c.field("gateway_payment_id"),
        c.field("status"),
    ) else {
        out.note("create", &c);
        return;
    };
    let at = Instant::now();
    let w = api
        .asaas_paid(&t.id, &t.token, &format!("evt_{key}"), &payment, &gw, CENTS)
        .await;
    let paid_at = (w.status == 200).then(Instant::now);
    if let Ok(mut s) = out.webhooks.lock() {
        s.record(w.status, w.took);
    }
    if w.status != 200 {
        out.note("webhook", &w);
    }
    if let Ok(mut c) = out.created.lock() {
        c.push(Created {
            tenant: idx,
            payment,
            status,
            at,
            paid_at,
        });
    }
}

/// One tenant's traffic: a payment every `1/rate` s (open loop) until `until`.
async fn tenant_traffic(
    api: Api,
    t: Arc<Tenant>,
    idx: usize,
    run: String,
    start: tokio::time::Instant,
    until: Instant,
    out: Arc<Traffic>,
) {
    if t.rate == 0 {
        return;
    }
    let period = Duration::from_secs_f64(1.0 / f64::from(t.rate));
    let mut tick = tokio::time::interval_at(start, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let open = Arc::new(tokio::sync::Semaphore::new(OPEN_PER_TENANT));
    let mut jobs = tokio::task::JoinSet::new();
    let mut n = 0usize;
    loop {
        tick.tick().await;
        if Instant::now() >= until {
            break;
        }
        let Ok(permit) = open.clone().try_acquire_owned() else {
            out.skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let key = format!("{run}-{}-{n}", t.id);
        n += 1;
        let (api, t, out) = (api.clone(), t.clone(), out.clone());
        jobs.spawn(async move {
            one_payment(api, t, idx, key, out).await;
            drop(permit);
        });
        while jobs.try_join_next().is_some() {}
    }
    while jobs.join_next().await.is_some() {}
}

/// A duration sample; `censored` ones are lower bounds (the thing had not happened yet when
/// the run ended).
#[derive(Debug, Clone, Copy)]
struct Sample {
    secs: f64,
    censored: bool,
}

/// The `p`-th percentile (nearest rank), `None` without samples.
fn percentile(v: &[Sample], p: f64) -> Option<Sample> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s.get(rank.clamp(1, s.len()) - 1).copied()
}

fn secs(s: Option<Sample>) -> String {
    match s {
        None => "n/a".into(),
        Some(Sample { secs, censored }) => {
            let v = if secs.abs() < 10.0 {
                format!("{secs:.2} s")
            } else {
                format!("{secs:.0} s")
            };
            if censored {
                format!("≥ {v}")
            } else {
                v
            }
        }
    }
}

fn p50_p99_max(v: &[Sample]) -> String {
    format!(
        "{} / {} / {}",
        secs(percentile(v, 50.0)),
        secs(percentile(v, 99.0)),
        secs(percentile(v, 100.0))
    )
}

/// The dead or the hang tenant after the drain.
struct Edge {
    tenant: String,
    payments: usize,
    /// Events its payments must have.
    expected: usize,
    /// Those found, by delivery state.
    states: BTreeMap<String, usize>,
    /// Missing because the payment's gateway webhook was not applied yet (still queued).
    not_applied: usize,
    /// Missing although the payment changed: lost.
    lost: usize,
}

/// What the run measured.
struct Report {
    plan: Plan,
    seconds_run: f64,
    drained: f64,
    healthy_payments: usize,
    applied: Vec<Sample>,
    first_arrival: Vec<Sample>,
    healthy_expected: usize,
    healthy_delivered: usize,
    healthy_duplicates: usize,
    max_in_flight: f64,
    cap_reached_at: Option<f64>,
    max_dead_letters: f64,
    /// Dead and hang: (tenant, payments, events expected, by state, not applied yet, lost).
    edge: Vec<Edge>,
    dead_hits: u64,
    hang_conns: u64,
    creates: Stats,
    webhooks: Stats,
    skipped: u64,
    timeline: Vec<String>,
    violations: Violations,
}

/// Events of one tenant by (payment, type): (id, delivery state, created_at).
type Listed = HashMap<(String, String), (String, String, Option<DateTime<Utc>>)>;

async fn list_events(api: &Api) -> Result<Listed, String> {
    let mut out = HashMap::new();
    for e in invariants::page_all(api, true, "").await? {
        let s = |p: &str| {
            e.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let created = DateTime::parse_from_rfc3339(&s("/created_at"))
            .ok()
            .map(|c| c.with_timezone(&Utc));
        out.insert(
            (s("/payment_id"), s("/type")),
            (s("/id"), s("/delivery/state"), created),
        );
    }
    Ok(out)
}

/// The whole run.
pub async fn run(bins: &Binaries, plan: &Plan) -> Result<usize, String> {
    let run = ulid::Ulid::new().to_string().to_lowercase();
    let tenants: Vec<Arc<Tenant>> = tenants(plan, &run).into_iter().map(Arc::new).collect();
    let receipts = Arc::new(Receipts::default());
    let (dead_hits, hang_conns) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut urls = BTreeMap::new();
    urls.insert("healthy", healthy_receiver(receipts.clone()).await?);
    urls.insert("dead", dead_receiver(dead_hits.clone()).await?);
    urls.insert("hang", hang_receiver(hang_conns.clone()).await?);
    let file = bins.logs.join("pipeline-tenants.json");
    write_tenants(&file, &tenants, &urls)?;
    let cap = plan.inflight_cap.to_string();
    let started = bins
        .devserver(
            "pipeline-devserver",
            free_port()?,
            &Store::Memory,
            Some(&file),
            &[("ORCH_QUEUE_INFLIGHT_CAP", &cap)],
        )
        .await;
    let _ = std::fs::remove_file(&file);
    let (dev, api) = started?;
    let api = Api::new(&api.base, CLIENT_TIMEOUT)?;
    eprintln!(
        "pipeline: {} tenants ({HEALTHY} healthy at {}/s, dead at {}/s, hang at {}/s), {} s of traffic, in-flight cap {}",
        tenants.len(),
        plan.healthy_rate,
        plan.dead_rate,
        plan.hang_rate,
        plan.seconds.as_secs(),
        plan.inflight_cap
    );

    // traffic, gauges polled meanwhile
    let t0 = Instant::now();
    let gauges = Arc::new(Gauges::default());
    let stop = Arc::new(AtomicBool::new(false));
    let poller = tokio::spawn(poll_gauges(api.clone(), t0, gauges.clone(), stop.clone()));
    let traffic = Arc::new(Traffic::default());
    let until = t0 + plan.seconds;
    let start = tokio::time::Instant::now();
    let n = tenants.len().max(1) as u32;
    let tasks: Vec<_> = tenants
        .iter()
        .enumerate()
        .map(|(i, t)| {
            // staggered so the tenants' ticks do not all fall on the same instant
            let offset = Duration::from_secs(1) * i as u32 / n;
            tokio::spawn(tenant_traffic(
                api.with_key(&t.key),
                t.clone(),
                i,
                run.clone(),
                start + offset,
                until,
                traffic.clone(),
            ))
        })
        .collect();
    for t in futures::future::join_all(tasks).await {
        if let Err(e) = t {
            eprintln!("a tenant's traffic ended abnormally: {e}");
        }
    }
    let seconds_run = t0.elapsed().as_secs_f64();
    let created = traffic
        .created
        .lock()
        .map(|c| c.clone())
        .unwrap_or_default();
    eprintln!(
        "pipeline: traffic done after {seconds_run:.0} s, {} payments; draining (at most {} s)",
        created.len(),
        plan.drain.as_secs()
    );

    // drain: until every healthy payment's callbacks arrived, or the drain time is up
    let healthy_expect: Vec<(String, String)> = created
        .iter()
        .filter(|c| {
            tenants
                .get(c.tenant)
                .is_some_and(|t| t.role == Role::Healthy)
        })
        .flat_map(|c| {
            let mut v = vec![(c.payment.clone(), format!("payment.{}", c.status))];
            if c.paid_at.is_some() {
                v.push((c.payment.clone(), "payment.succeeded".into()));
            }
            v
        })
        .collect();
    let d0 = Instant::now();
    loop {
        let got: std::collections::HashSet<(String, String)> = receipts
            .snapshot()
            .into_values()
            .map(|a| (a.payment, a.kind))
            .collect();
        if healthy_expect.iter().all(|e| got.contains(e)) || d0.elapsed() >= plan.drain {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let drained = d0.elapsed().as_secs_f64();
    let (end, end_wall) = (Instant::now(), Utc::now());
    stop.store(true, Ordering::Relaxed);
    let _ = poller.await;
    let arrivals = receipts.snapshot();

    let mut v = Violations::default();
    // healthy tenants: applied delay, first-arrival delay, delivered, duplicates
    let mut by_event: HashMap<(String, String), Arrival> = HashMap::new();
    for a in arrivals.values() {
        by_event
            .entry((a.payment.clone(), a.kind.clone()))
            .and_modify(|x| {
                if a.at < x.at {
                    *x = a.clone();
                }
            })
            .or_insert_with(|| a.clone());
    }
    let healthy: Vec<&Created> = created
        .iter()
        .filter(|c| {
            tenants
                .get(c.tenant)
                .is_some_and(|t| t.role == Role::Healthy)
        })
        .collect();
    let mut applied = Vec::new();
    for c in &healthy {
        let Some(paid) = c.paid_at else { continue };
        let sample = match by_event.get(&(c.payment.clone(), "payment.succeeded".into())) {
            Some(a) => Sample {
                secs: a.at.saturating_duration_since(paid).as_secs_f64(),
                censored: false,
            },
            None => Sample {
                secs: end.saturating_duration_since(paid).as_secs_f64(),
                censored: true,
            },
        };
        applied.push(sample);
    }
    let expected: std::collections::HashSet<&(String, String)> = healthy_expect.iter().collect();
    let mut first_arrival = Vec::new();
    let mut delivered = 0usize;
    let mut duplicates = 0usize;
    for a in arrivals.values() {
        if !expected.contains(&(a.payment.clone(), a.kind.clone())) {
            continue;
        }
        if a.count > 1 {
            duplicates += a.count - 1;
        }
        if let Some(c) = a.created_at {
            first_arrival.push(Sample {
                secs: (a.wall - c).num_milliseconds() as f64 / 1000.0,
                censored: false,
            });
        }
    }
    for e in &healthy_expect {
        if by_event.contains_key(e) {
            delivered += 1;
        }
    }
    // healthy events that exist but never arrived: lower bounds of their first arrival
    let mut listed_healthy = 0usize;
    for t in tenants.iter().filter(|t| t.role == Role::Healthy) {
        for ((p, k), (_, _, created_at)) in list_events(&api.with_key(&t.key)).await? {
            listed_healthy += 1;
            let key = (p, k);
            if expected.contains(&key) && !by_event.contains_key(&key) {
                if let Some(c) = created_at {
                    first_arrival.push(Sample {
                        secs: (end_wall - c).num_milliseconds() as f64 / 1000.0,
                        censored: true,
                    });
                }
            }
        }
    }
    eprintln!("pipeline: {listed_healthy} healthy events listed through the API");
    let unread = receipts.unreadable.load(Ordering::Relaxed);
    if unread > 0 {
        eprintln!("pipeline: {unread} callbacks without a webhook-id or a readable body");
    }

    // the queue's gauges
    let samples = gauges.samples.lock().map(|s| s.clone()).unwrap_or_default();
    let max_in_flight = samples.iter().map(|s| s.1).fold(0.0, f64::max);
    let max_dead_letters = samples.iter().map(|s| s.2).fold(0.0, f64::max);
    let bound = plan.bound() as f64;
    let cap_reached_at = samples.iter().find(|s| s.1 >= bound).map(|s| s.0);
    let failed_polls = gauges.failed_polls.load(Ordering::Relaxed);
    if samples.is_empty() {
        return Err("no /metrics sample could be read".into());
    }
    if failed_polls > 0 {
        eprintln!("pipeline: {failed_polls} /metrics polls without an answer");
    }

    // dead and hang tenants: every event exists (pending, failed or delivered)
    let mut edge = Vec::new();
    for (idx, t) in tenants.iter().enumerate() {
        if t.role == Role::Healthy {
            continue;
        }
        let listed = list_events(&api.with_key(&t.key)).await?;
        let mine: Vec<&Created> = created.iter().filter(|c| c.tenant == idx).collect();
        let mut states: BTreeMap<String, usize> = BTreeMap::new();
        let (mut expected_n, mut not_applied, mut lost) = (0usize, 0usize, 0usize);
        let mut bad_state = 0usize;
        let mut examples = Vec::new();
        for c in &mine {
            let mut kinds = vec![format!("payment.{}", c.status)];
            if c.paid_at.is_some() {
                kinds.push("payment.succeeded".into());
            }
            for k in kinds {
                expected_n += 1;
                match listed.get(&(c.payment.clone(), k.clone())) {
                    Some((_, state, _)) => {
                        *states.entry(state.clone()).or_default() += 1;
                        if !matches!(state.as_str(), "pending" | "failed" | "delivered") {
                            bad_state += 1;
                        }
                    }
                    None => {
                        // not written yet (the gateway webhook still queued) or lost: the
                        // payment's status tells
                        let g = api.with_key(&t.key).get(&c.payment).await;
                        let status = g.field("status").unwrap_or_default();
                        if k == "payment.succeeded" && status != "succeeded" {
                            not_applied += 1;
                        } else {
                            lost += 1;
                            if examples.len() < 3 {
                                examples.push(format!("{} {k} (payment {status})", c.payment));
                            }
                        }
                    }
                }
            }
        }
        if not_applied + lost > 0 {
            v.push(format!(
                "{}: {} of {expected_n} events missing after the drain ({not_applied} because the payment's gateway webhook was not applied yet, {lost} with the payment changed: lost{}{})",
                t.id,
                not_applied + lost,
                if examples.is_empty() { "" } else { ", e.g. " },
                examples.join("; ")
            ));
        }
        if bad_state > 0 {
            v.push(format!(
                "{}: {bad_state} events in a state other than pending/failed/delivered",
                t.id
            ));
        }
        edge.push(Edge {
            tenant: t.id.clone(),
            payments: mine.len(),
            expected: expected_n,
            states,
            not_applied,
            lost,
        });
    }

    // the other checks
    let p99 = percentile(&first_arrival, 99.0);
    if let Some(p) = p99.filter(|p| p.secs > FIRST_ARRIVAL_P99.as_secs_f64()) {
        v.push(format!(
            "healthy tenants: callback first-arrival delay p99 {} > {} s",
            secs(Some(p)),
            FIRST_ARRIVAL_P99.as_secs()
        ));
    }
    if delivered < healthy_expect.len() {
        v.push(format!(
            "healthy tenants: {} of {} events not delivered {drained:.0} s after the traffic stopped",
            healthy_expect.len() - delivered,
            healthy_expect.len()
        ));
    }
    if max_in_flight >= bound {
        v.push(format!(
            "queue in flight reached {max_in_flight:.0} (bound {}, cap {}) at {:.0} s",
            plan.bound(),
            plan.inflight_cap,
            cap_reached_at.unwrap_or(0.0)
        ));
    }
    let creates = traffic
        .creates
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    let webhooks = traffic
        .webhooks
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    let odd = creates.outside(&[201]) + webhooks.outside(&[200]);
    if odd > 0 {
        let notes = traffic
            .errors
            .lock()
            .map(|e| e.join("; "))
            .unwrap_or_default();
        v.push(format!(
            "traffic: {odd} creates/webhooks not answered 201/200 (e.g. {notes})"
        ));
    }

    // timeline: per window, payments created, healthy callbacks arrived, gauges
    let mut timeline = Vec::new();
    let total = end.saturating_duration_since(t0).as_secs_f64();
    let mut w = 0.0;
    while w < total {
        let hi = w + WINDOW.as_secs_f64();
        let inside = |at: Instant| {
            let s = at.saturating_duration_since(t0).as_secs_f64();
            s >= w && s < hi
        };
        let made = created.iter().filter(|c| inside(c.at)).count();
        let arrived = arrivals.values().filter(|a| inside(a.at)).count();
        let in_window: Vec<&(f64, f64, f64)> =
            samples.iter().filter(|s| s.0 >= w && s.0 < hi).collect();
        let fl = in_window.iter().map(|s| s.1).fold(0.0, f64::max);
        let dl = in_window.iter().map(|s| s.2).fold(0.0, f64::max);
        timeline.push(format!(
            "| {:.0}–{:.0} s{} | {made} | {arrived} | {fl:.0} | {dl:.0} |",
            w,
            hi.min(total),
            if w >= plan.seconds.as_secs_f64() {
                " (drain)"
            } else {
                ""
            }
        ));
        w = hi;
    }

    let report = Report {
        plan: plan.clone(),
        seconds_run,
        drained,
        healthy_payments: healthy.len(),
        applied,
        first_arrival,
        healthy_expected: healthy_expect.len(),
        healthy_delivered: delivered,
        healthy_duplicates: duplicates,
        max_in_flight,
        cap_reached_at,
        max_dead_letters,
        edge,
        dead_hits: dead_hits.load(Ordering::Relaxed),
        hang_conns: hang_conns.load(Ordering::Relaxed),
        creates,
        webhooks,
        skipped: traffic.skipped.load(Ordering::Relaxed),
        timeline,
        violations: v,
    };
    print(&report);
    dev.kill().await;
    Ok(report.violations.0.len())
}

fn print(r: &Report) {
    let p = &r.plan;
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| traffic | {:.0} s; {HEALTHY} healthy tenants at {}/s, dead at {}/s, hang at {}/s (payments; each: create + Asaas \"paid\" webhook) |",
        r.seconds_run, p.healthy_rate, p.dead_rate, p.hang_rate
    );
    println!(
        "| answers: creates / gateway webhooks (ticks skipped: {} open per tenant) | {} / {} ({}) |",
        OPEN_PER_TENANT,
        r.creates.status_cell(),
        r.webhooks.status_cell(),
        r.skipped
    );
    println!(
        "| healthy: webhook applied delay (gateway webhook 200 → `payment.succeeded` at the merchant), p50 / p99 / max, {} payments | {} |",
        r.applied.len(),
        p50_p99_max(&r.applied)
    );
    println!(
        "| healthy: callback first-arrival delay (arrival − `created_at`), p50 / p99 / max, {} events | {} |",
        r.first_arrival.len(),
        p50_p99_max(&r.first_arrival)
    );
    println!(
        "| healthy: events expected / delivered / duplicate receipts ({} payments; drain {:.0} s of at most {} s) | {} / {} / {} |",
        r.healthy_payments,
        r.drained,
        p.drain.as_secs(),
        r.healthy_expected,
        r.healthy_delivered,
        r.healthy_duplicates
    );
    println!(
        "| queue: max in flight / cap (bound) / first at the bound | {:.0} / {} ({}) / {} |",
        r.max_in_flight,
        p.inflight_cap,
        p.bound(),
        r.cap_reached_at
            .map_or("never".into(), |s| format!("{s:.1} s"))
    );
    println!("| queue: max dead letters | {:.0} |", r.max_dead_letters);
    for e in &r.edge {
        let (id, payments, expected, states) = (&e.tenant, e.payments, e.expected, &e.states);
        let (not_applied, lost) = (e.not_applied, e.lost);
        let st: Vec<String> = states.iter().map(|(s, n)| format!("{s} {n}")).collect();
        println!(
            "| {id}: payments / events expected / by state / missing (webhook not applied yet, lost) | {payments} / {expected} / {} / {} ({not_applied}, {lost}) |",
            if st.is_empty() { "none".into() } else { st.join(", ") },
            not_applied + lost
        );
    }
    println!(
        "| dead endpoint requests (500) / hang endpoint connections | {} / {} |",
        r.dead_hits, r.hang_conns
    );
    println!("| invariant violations | **{}** |", r.violations.0.len());
    println!();
    println!(
        "| window | payments created | healthy callbacks arrived | max in flight | dead letters |"
    );
    println!("|---|---|---|---|---|");
    for line in &r.timeline {
        println!("{line}");
    }
    for x in &r.violations.0 {
        println!("VIOLATION: {x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_sums_every_series_and_only_that_metric() {
        let text = "# TYPE queue_in_flight gauge\n\
                    queue_in_flight{service=\"devserver\",queue=\"a\"} 3\n\
                    queue_in_flight{service=\"devserver\",queue=\"b\"} 4.5\n\
                    queue_in_flight_total 100\n\
                    queue_dead_letters 2\n";
        assert_eq!(metric_sum(text, "queue_in_flight"), Some(7.5));
        assert_eq!(metric_sum(text, "queue_dead_letters"), Some(2.0));
        assert_eq!(metric_sum(text, "queue_missing"), None);
    }

    #[test]
    fn percentiles_mark_lower_bounds() {
        let v: Vec<Sample> = (1..=100)
            .map(|i| Sample {
                secs: f64::from(i),
                censored: i > 98,
            })
            .collect();
        assert_eq!(secs(percentile(&v, 50.0)), "50 s");
        assert_eq!(secs(percentile(&v, 99.0)), "≥ 99 s");
        assert_eq!(secs(percentile(&[], 99.0)), "n/a");
        assert_eq!(
            secs(Some(Sample {
                secs: 0.123,
                censored: false
            })),
            "0.12 s"
        );
    }

    #[test]
    fn generated_secrets_sign() {
        for _ in 0..20 {
            let s = callback_secret();
            assert!(shared::signing::standard_webhooks::CallbackSecret::parse(&s).is_ok());
        }
    }
}
