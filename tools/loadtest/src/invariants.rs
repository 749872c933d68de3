//! The checks after a run: every payment stored once, every idempotency key answered
//! consistently, every callback delivered once. A violation is a line of text; a run with any
//! fails (exit status 1).

use crate::client::{Answer, Api};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Violations found, in the order found.
#[derive(Debug, Default)]
pub struct Violations(pub Vec<String>);

impl Violations {
    /// Records one.
    pub fn push(&mut self, v: impl Into<String>) {
        let v = v.into();
        eprintln!("VIOLATION: {v}");
        self.0.push(v);
    }
}

/// What one key was answered, in the order the answers came back.
#[derive(Debug, Default, Clone)]
pub struct KeyLog {
    /// Key → (status, payment id of a 2xx answer).
    pub answers: BTreeMap<String, Vec<(u16, Option<String>)>>,
    /// Key → 2xx answers that were not replays (`Idempotent-Replayed` absent): at most one.
    pub fresh: BTreeMap<String, usize>,
    /// Key → 409 answers whose code is not `idempotency_key_in_use`.
    pub odd_conflicts: BTreeMap<String, usize>,
}

impl KeyLog {
    /// Records an answer to a create sent with `key`.
    pub fn add(&mut self, key: &str, a: &Answer) {
        self.answers
            .entry(key.to_string())
            .or_default()
            .push((a.status, a.payment_id()));
        if (200..300).contains(&a.status) && !a.replayed {
            *self.fresh.entry(key.to_string()).or_default() += 1;
        }
        if a.status == 409 && a.error_code().as_deref() != Some("idempotency_key_in_use") {
            *self.odd_conflicts.entry(key.to_string()).or_default() += 1;
        }
    }

    /// Adds another log.
    pub fn merge(&mut self, other: KeyLog) {
        for (k, v) in other.answers {
            self.answers.entry(k).or_default().extend(v);
        }
        for (k, n) in other.fresh {
            *self.fresh.entry(k).or_default() += n;
        }
        for (k, n) in other.odd_conflicts {
            *self.odd_conflicts.entry(k).or_default() += n;
        }
    }

    /// The one payment id the key's 2xx answers carry, if any.
    pub fn payment_id(&self, key: &str) -> Option<&str> {
        self.answers
            .get(key)?
            .iter()
            .find_map(|(_, id)| id.as_deref())
    }

    /// The payment id of every key that has one.
    pub fn payment_ids<C: FromIterator<String>>(&self) -> C {
        self.answers
            .keys()
            .filter_map(|k| self.payment_id(k).map(str::to_string))
            .collect()
    }
}

/// Every 2xx answer of a key carries the same payment id and the same status, at most one of
/// them is not a replay, and every 409 is `idempotency_key_in_use`; a key answered only with
/// retryable statuses (409/502/503/504, or none) has no payment to compare.
pub fn keys_consistent(log: &KeyLog, v: &mut Violations) {
    for (key, n) in &log.fresh {
        if *n > 1 {
            v.push(format!("key {key}: {n} fresh (not replayed) 2xx answers"));
        }
    }
    for (key, n) in &log.odd_conflicts {
        v.push(format!(
            "key {key}: {n} 409 answer(s) that are not idempotency_key_in_use"
        ));
    }
    for (key, answers) in &log.answers {
        let ok: BTreeSet<(u16, Option<&str>)> = answers
            .iter()
            .filter(|(s, _)| (200..300).contains(s))
            .map(|(s, id)| (*s, id.as_deref()))
            .collect();
        if ok.len() > 1 {
            v.push(format!("key {key}: inconsistent answers {ok:?}"));
        }
        if ok.iter().any(|(_, id)| id.is_none()) {
            v.push(format!("key {key}: a 2xx answer without a payment id"));
        }
    }
}

/// Pages through a list endpoint (`GET path?limit=100&starting_after=…`), `data` items out.
pub async fn page_all(api: &Api, events: bool, filter: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = format!("limit=100{filter}");
        if let Some(c) = &cursor {
            q.push_str(&format!("&starting_after={c}"));
        }
        let a = if events {
            api.events(&q).await
        } else {
            api.list(&q).await
        };
        let body = match (a.status, a.body) {
            (200, Some(b)) => b,
            (s, _) => return Err(format!("list {q}: status {s}")),
        };
        if let Some(items) = body.get("data").and_then(Value::as_array) {
            out.extend(items.iter().cloned());
        }
        cursor = body
            .get("next_cursor")
            .and_then(Value::as_str)
            .map(str::to_string);
        if body.get("has_more").and_then(Value::as_bool) != Some(true) || cursor.is_none() {
            return Ok(out);
        }
    }
}

/// Every key that got a payment has exactly one stored payment (its `reference` is the key),
/// the one it was answered with, readable by id; no key without a 2xx answer has one. The list
/// is the tenant's whole list, so it must also hold nothing we did not create (`extra_refs`
/// are references made outside the key log, e.g. by the reads scenario).
pub async fn stored_once(
    api: &Api,
    log: &KeyLog,
    extra_refs: &BTreeSet<String>,
    v: &mut Violations,
) -> Result<usize, String> {
    let listed = page_all(api, false, "").await?;
    let mut by_ref: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &listed {
        let r = p.get("reference").and_then(Value::as_str).unwrap_or("");
        let id = p.get("id").and_then(Value::as_str).unwrap_or("");
        by_ref
            .entry(r.to_string())
            .or_default()
            .push(id.to_string());
    }
    for (key, _) in log.answers.iter() {
        let stored = by_ref.get(key).map(Vec::as_slice).unwrap_or(&[]);
        match (log.payment_id(key), stored) {
            (Some(id), [one]) if one == id => {}
            (Some(id), s) => v.push(format!("key {key}: answered {id}, the list holds {s:?}")),
            (None, []) => {}
            (None, s) => v.push(format!(
                "key {key}: never answered with a payment, the list holds {s:?}"
            )),
        }
        if let Some(id) = log.payment_id(key) {
            let g = api.get(id).await;
            if g.status != 200 || g.payment_id().as_deref() != Some(id) {
                v.push(format!(
                    "payment {id} (key {key}): GET answered {}",
                    g.status
                ));
            }
        }
    }
    for (r, ids) in &by_ref {
        if !log.answers.contains_key(r) && !extra_refs.contains(r) {
            v.push(format!(
                "reference {r}: {ids:?} listed but never created by this run"
            ));
        }
    }
    Ok(listed.len())
}

/// How the callbacks of a run came out.
#[derive(Debug, Default, Clone, Copy)]
pub struct CallbackTally {
    /// Merchant events of the payments that had a callback URL.
    pub events: usize,
    /// Received exactly once.
    pub once: usize,
    /// Received more than once after the orchestrator saw a failed attempt (at-least-once
    /// delivery, allowed) — or after a resend this run asked for.
    pub retried_duplicates: usize,
    /// Never received.
    pub missing: usize,
    /// Still `pending` when the wait ended and resent through the events API.
    pub resent: usize,
    /// Of those, never attempted at all: the relay never handed them to the worker (a
    /// violation — without the resend they would never be delivered).
    pub never_relayed: usize,
}

/// Waits (at most `within`) until every event of `payments` is `delivered`, then compares the
/// events with the merchant's receipts (`webhook-id` → count). With `strict`, a second receipt
/// is always a violation (no fault could explain it); otherwise only when the event's log shows
/// a single attempt. With `resend_pending`, events still pending after the wait are resent once
/// (the operator's recovery on the dev server, whose dead-letter queue is hours away) and waited
/// for again.
pub async fn callbacks_once(
    api: &Api,
    payments: &BTreeSet<String>,
    receipts: impl Fn() -> BTreeMap<String, usize>,
    within: Duration,
    strict: bool,
    resend_pending: bool,
    v: &mut Violations,
) -> Result<CallbackTally, String> {
    let mut t = CallbackTally::default();
    let ours = |all: Vec<Value>| -> Vec<Value> {
        all.into_iter()
            .filter(|e| {
                e.get("payment_id")
                    .and_then(Value::as_str)
                    .is_some_and(|p| payments.contains(p))
            })
            .collect()
    };
    let undelivered = |evs: &[Value]| -> Vec<String> {
        evs.iter()
            .filter(|e| e.pointer("/delivery/state").and_then(Value::as_str) != Some("delivered"))
            .filter_map(|e| e.get("id").and_then(Value::as_str).map(str::to_string))
            .collect()
    };
    let mut events = ours(page_all(api, true, "").await?);
    let mut deadline = Instant::now() + within;
    let mut resent: BTreeSet<String> = BTreeSet::new();
    loop {
        let left = undelivered(&events);
        if left.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            if !resend_pending || !resent.is_empty() {
                break;
            }
            for id in &left {
                let attempts = events
                    .iter()
                    .find(|e| e.get("id").and_then(Value::as_str) == Some(id))
                    .and_then(|e| e.pointer("/delivery/attempts"))
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                if attempts == 0 {
                    t.never_relayed += 1;
                    v.push(format!(
                        "event {id}: never attempted {} s after the run (not relayed to the worker); resent",
                        within.as_secs()
                    ));
                }
                let a = api.resend(id).await;
                if a.status != 202 {
                    v.push(format!("event {id}: resend answered {}", a.status));
                }
                resent.insert(id.clone());
            }
            deadline = Instant::now() + within;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        events = ours(page_all(api, true, "").await?);
    }
    t.resent = resent.len();
    // Receipts can trail the delivered state by a moment (logged after the answer).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = receipts();
    let known: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e.get("id").and_then(Value::as_str))
        .collect();
    for e in &events {
        t.events += 1;
        let id = e.get("id").and_then(Value::as_str).unwrap_or("");
        let state = e
            .pointer("/delivery/state")
            .and_then(Value::as_str)
            .unwrap_or("");
        let attempts = e
            .pointer("/delivery/attempts")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        match got.get(id).copied().unwrap_or(0) {
            0 => {
                t.missing += 1;
                v.push(format!("event {id}: never received by the merchant (state {state}, {attempts} attempts)"));
            }
            1 => t.once += 1,
            n if !strict && (attempts > 1 || resent.contains(id)) => {
                t.retried_duplicates += 1;
                eprintln!("event {id}: received {n}× after {attempts} attempts (at-least-once)");
            }
            n => v.push(format!(
                "event {id}: received {n}× with {attempts} attempt(s) logged (state {state})"
            )),
        }
        if state != "delivered" {
            v.push(format!("event {id}: state {state} after the run"));
        }
    }
    for id in got.keys() {
        if id.starts_with("evt_") && !known.contains(id.as_str()) {
            v.push(format!("merchant received {id}, which no listed event has"));
        }
    }
    Ok(t)
}
