//! `GET /v1/usage`: a tenant's monthly (or daily) usage for billing, read from the counters
//! that ride in the writes they count (`domain::usage`), and the recount that proves them
//! right from the stored payments.

use super::Orchestrator;
use crate::domain::{contribution, usage_names as names, Counters, TenantId};
use crate::error::ApiError;
use crate::ports::{PaymentFilter, Tenant};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Longest range of a daily series (`from`..=`to`).
pub const MAX_SERIES_DAYS: i64 = 92;

/// What `GET /v1/usage` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageQuery {
    /// One calendar month (UTC).
    Month { year: i32, month: u32 },
    /// Daily buckets over an inclusive range of UTC days.
    Days { from: NaiveDate, to: NaiveDate },
}

fn bad(code: &'static str, param: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(code, param.to_string(), message)
}

/// Parses `YYYY-MM`.
pub fn parse_month(v: &str) -> Option<(i32, u32)> {
    let (y, m) = v.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let (y, m) = (y.parse::<i32>().ok()?, m.parse::<u32>().ok()?);
    NaiveDate::from_ymd_opt(y, m, 1).map(|_| (y, m))
}

fn parse_day(param: &str, v: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .filter(|_| v.len() == 10)
        .ok_or_else(|| {
            bad(
                "parameter_invalid_format",
                param,
                format!("{param} must be a date YYYY-MM-DD"),
            )
        })
}

/// First day of a month and first day of the next.
pub fn month_bounds(year: i32, month: u32) -> Option<(NaiveDate, NaiveDate)> {
    let start = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    Some((start, next))
}

impl UsageQuery {
    /// From the query string; the current UTC month when empty.
    pub fn parse(query: Option<&str>, now: DateTime<Utc>) -> Result<Self, ApiError> {
        let (mut month, mut from, mut to, mut granularity) = (None, None, None, None);
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "month" => {
                    month = Some(
                        parse_month(&v)
                            .ok_or_else(|| bad(
                            "parameter_invalid_format",
                            "month",
                            "month must be YYYY-MM, e.g. 2026-11",
                        ))?,
                    )
                }
                "from" => from = Some(parse_day("from", &v)?),
                "to" => to = Some(parse_day("to", &v)?),
                "granularity" => {
                    if v != "day" {
                        return Err(bad(
                            "parameter_invalid_enum",
                            "granularity",
                            "granularity must be day",
                        ));
                    }
                    granularity = Some(());
                }
                other => {
                    return Err(ApiError::invalid(
                        "unknown_parameter",
                        other.chars().take(40).collect::<String>(),
                        format!(
                            "unknown query parameter {}; use month=YYYY-MM or from=&to=&granularity=day",
                            other.chars().take(40).collect::<String>()
                        ),
                    ))
                }
            }
        }
        match (month, from, to) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(bad(
                "parameter_conflict",
                "month",
                "give either month or from/to, not both",
            )),
            (Some((year, month)), None, None) => {
                if granularity.is_some() {
                    return Err(bad(
                        "parameter_conflict",
                        "granularity",
                        "granularity goes with from/to, not month",
                    ));
                }
                Ok(Self::Month { year, month })
            }
            (None, Some(from), Some(to)) => {
                if to < from {
                    return Err(bad(
                        "parameter_conflict",
                        "to",
                        "to must not be before from",
                    ));
                }
                if (to - from).num_days() >= MAX_SERIES_DAYS {
                    return Err(bad(
                        "parameter_out_of_range",
                        "to",
                        format!("a daily series covers at most {MAX_SERIES_DAYS} days"),
                    ));
                }
                Ok(Self::Days { from, to })
            }
            (None, Some(_), None) => Err(bad("parameter_missing", "to", "from needs to")),
            (None, None, Some(_)) => Err(bad("parameter_missing", "from", "to needs from")),
            (None, None, None) => {
                if granularity.is_some() {
                    return Err(bad(
                        "parameter_missing",
                        "from",
                        "granularity=day needs from and to",
                    ));
                }
                Ok(Self::Month {
                    year: now.year(),
                    month: now.month(),
                })
            }
        }
    }
}

/// One gateway's share: payments by method.
type ByGateway = BTreeMap<String, BTreeMap<String, i64>>;

#[derive(Serialize, Default)]
struct Volume {
    created: i64,
    succeeded: i64,
    refunded: i64,
    /// Confirmed by a gateway after the payment had failed, been canceled or expired.
    late: i64,
}

#[derive(Serialize)]
struct Summary {
    payments: Value,
    /// Minor units by ISO currency.
    volume: BTreeMap<String, Volume>,
    refunds: Value,
    webhooks: Value,
    callbacks: Value,
}

/// Renders counters as the public sections.
fn summary(c: &Counters) -> Summary {
    let mut by_status: BTreeMap<String, i64> = crate::domain::PaymentStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), 0))
        .collect();
    let mut by_gateway: ByGateway = BTreeMap::new();
    let mut volume: BTreeMap<String, Volume> = BTreeMap::new();
    for (name, v) in c.iter() {
        if let Some(st) = name.strip_prefix(names::STATUS) {
            by_status.insert(st.to_string(), v);
        } else if let Some(rest) = name.strip_prefix(names::METHOD) {
            if let Some((gw, method)) = rest.rsplit_once('.') {
                by_gateway
                    .entry(gw.to_string())
                    .or_default()
                    .insert(method.to_string(), v);
            }
        } else if let Some(rest) = name.strip_prefix(names::VOLUME) {
            if let Some((kind, cur)) = rest.split_once('.') {
                let e = volume.entry(cur.to_string()).or_default();
                match kind {
                    "created" => e.created = v,
                    "succeeded" => e.succeeded = v,
                    "refunded" => e.refunded = v,
                    "late" => e.late = v,
                    _ => {}
                }
            }
        }
    }
    let applied = c.get(names::WEBHOOKS_APPLIED);
    let unmatched = c.get(names::WEBHOOKS_UNMATCHED);
    Summary {
        payments: json!({
            "total": c.get(names::PAYMENTS),
            "by_status": by_status,
            "by_gateway": by_gateway,
            "failovers": c.get(names::FAILOVERS),
            "refused": c.get(names::REFUSED),
            "late_payments": c.get(names::LATE_PAYMENTS),
        }),
        volume,
        refunds: json!({ "succeeded": c.get(names::REFUNDS) }),
        webhooks: json!({
            "received": applied + unmatched,
            "applied": applied,
            "unmatched": unmatched,
        }),
        callbacks: json!({
            "delivered": c.get(names::CALLBACKS_DELIVERED),
            "failed": c.get(names::CALLBACKS_FAILED),
        }),
    }
}

/// How the counts are attributed, stated in every answer.
const BASIS: &str = "UTC days. A payment counts on the day it was created, and its status, volume, refund and failover counts follow it there; webhooks.applied counts gateway webhooks that changed a payment (a repeat of what a payment already shows is not stored, so not counted); callbacks count on their event's day.";

fn merge_value(into: &mut Map<String, Value>, key: &str, v: impl Serialize) {
    into.insert(
        key.to_string(),
        serde_json::to_value(v).unwrap_or(Value::Null),
    );
}

/// The difference between the counters and a recount, counter by counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecountDiff {
    pub day: NaiveDate,
    pub counter: String,
    pub stored: i64,
    pub recounted: i64,
}

/// What `recount` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecountReport {
    pub tenant_id: String,
    pub month: String,
    pub payments_read: usize,
    /// Empty when the counters are right.
    pub differences: Vec<RecountDiff>,
}

/// Counters a recount from payments can check (callbacks and unmatched webhooks are counted
/// from records that expire, refused creates from none at all, so they are left out).
fn payment_derived(name: &str) -> bool {
    !name.starts_with("callbacks.") && name != names::WEBHOOKS_UNMATCHED && name != names::REFUSED
}

impl Orchestrator {
    fn usage_store(&self) -> Result<&dyn crate::ports::UsageStore, ApiError> {
        self.usage
            .as_deref()
            .ok_or_else(|| ApiError::Unavailable("usage is not configured".into()))
    }

    /// `GET /v1/usage`: `month=YYYY-MM` (default: the current UTC month) or
    /// `from=YYYY-MM-DD&to=YYYY-MM-DD&granularity=day`.
    pub async fn usage(&self, tenant: &Tenant, query: Option<&str>) -> Result<String, ApiError> {
        let now = self.clock.now();
        let store = self.usage_store()?;
        let as_of = crate::time_format::render(&now);
        let body = match UsageQuery::parse(query, now)? {
            UsageQuery::Month { year, month } => {
                let (start, next) = month_bounds(year, month)
                    .ok_or_else(|| bad("parameter_out_of_range", "month", "month out of range"))?;
                let days = store
                    .days(&tenant.id, start, next - Duration::days(1))
                    .await?;
                let mut total = Counters::default();
                for c in days.values() {
                    total.merge(c);
                }
                let mut out = Map::new();
                out.insert("object".into(), "usage".into());
                out.insert("tenant_id".into(), tenant.id.live_id().as_str().into());
                out.insert("livemode".into(), tenant.livemode().into());
                out.insert(
                    "period".into(),
                    json!({
                        "month": format!("{year:04}-{month:02}"),
                        "start": format!("{start}T00:00:00Z"),
                        "end": format!("{next}T00:00:00Z"),
                        "timezone": "UTC",
                        "status": if now.date_naive() >= next { "closed" } else { "open" },
                    }),
                );
                out.insert("as_of".into(), as_of.into());
                out.insert("basis".into(), BASIS.into());
                let s = summary(&total);
                merge_value(&mut out, "payments", s.payments);
                merge_value(&mut out, "volume", s.volume);
                merge_value(&mut out, "refunds", s.refunds);
                merge_value(&mut out, "webhooks", s.webhooks);
                merge_value(&mut out, "callbacks", s.callbacks);
                Value::Object(out)
            }
            UsageQuery::Days { from, to } => {
                let days = store.days(&tenant.id, from, to).await?;
                let mut series = Vec::new();
                let mut d = from;
                while d <= to {
                    let c = days.get(&d).cloned().unwrap_or_default();
                    let s = summary(&c);
                    series.push(json!({
                        "date": d.to_string(),
                        "livemode": tenant.livemode(),
                        "payments": s.payments,
                        "volume": s.volume,
                        "refunds": s.refunds,
                        "webhooks": s.webhooks,
                        "callbacks": s.callbacks,
                    }));
                    d += Duration::days(1);
                }
                json!({
                    "object": "usage_series",
                    "tenant_id": tenant.id.live_id().as_str(),
                    "livemode": tenant.livemode(),
                    "granularity": "day",
                    "from": from.to_string(),
                    "to": to.to_string(),
                    "timezone": "UTC",
                    "as_of": as_of,
                    "basis": BASIS,
                    "data": series,
                })
            }
        };
        Ok(body.to_string())
    }

    /// Recomputes a month's payment counters from the stored payments and reports every
    /// difference with the counters (an operator's check; `devserver recount`).
    pub async fn recount(
        &self,
        tenant_id: &TenantId,
        year: i32,
        month: u32,
    ) -> Result<RecountReport, ApiError> {
        let (start, next) = month_bounds(year, month)
            .ok_or_else(|| bad("parameter_out_of_range", "month", "month out of range"))?;
        let mut truth: BTreeMap<NaiveDate, Counters> = BTreeMap::new();
        let mut read = 0;
        let mut cursor = None;
        // Newest first; ids are minted at creation, so the walk stops a day past the month.
        'pages: loop {
            let page = self
                .payments
                .list(
                    tenant_id,
                    &PaymentFilter::default(),
                    super::queries::MAX_LIMIT,
                    cursor.as_ref(),
                )
                .await?;
            for p in &page.items {
                read += 1;
                let day = p.created_at.date_naive();
                if day >= start && day < next {
                    truth.entry(day).or_default().merge(&contribution(p));
                } else if day < start - Duration::days(1) {
                    break 'pages;
                }
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let stored = self
            .usage_store()?
            .days(tenant_id, start, next - Duration::days(1))
            .await?;
        let mut differences = Vec::new();
        let all_days: std::collections::BTreeSet<NaiveDate> =
            truth.keys().chain(stored.keys()).copied().collect();
        for day in all_days {
            let t = truth.get(&day).cloned().unwrap_or_default();
            let s = stored.get(&day).cloned().unwrap_or_default();
            for (counter, diff) in s.minus(&t).iter() {
                if payment_derived(counter) {
                    differences.push(RecountDiff {
                        day,
                        counter: counter.to_string(),
                        stored: s.get(counter),
                        recounted: s.get(counter) - diff,
                    });
                }
            }
        }
        Ok(RecountReport {
            tenant_id: tenant_id.to_string(),
            month: format!("{year:04}-{month:02}"),
            payments_read: read,
            differences,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
            .single()
            .expect("instant")
    }

    #[test]
    fn the_query_defaults_to_the_current_month_and_rejects_nonsense() {
        assert_eq!(
            UsageQuery::parse(None, now()).ok(),
            Some(UsageQuery::Month {
                year: 2026,
                month: 11
            })
        );
        assert_eq!(
            UsageQuery::parse(Some("month=2025-12"), now()).ok(),
            Some(UsageQuery::Month {
                year: 2025,
                month: 12
            })
        );
        for q in [
            "month=2026-13",
            "month=2026-1",
            "month=26-11",
            "month=abc",
            "from=2026-11-01",
            "to=2026-11-01",
            "from=2026-11-05&to=2026-11-01",
            "from=2026-01-01&to=2026-12-31&granularity=day",
            "from=2026-11-01&to=2026-11-02&granularity=week",
            "month=2026-11&from=2026-11-01&to=2026-11-02",
            "granularity=day",
            "color=blue",
        ] {
            assert!(UsageQuery::parse(Some(q), now()).is_err(), "{q}");
        }
        assert_eq!(
            UsageQuery::parse(Some("from=2026-11-01&to=2026-11-30&granularity=day"), now()).ok(),
            NaiveDate::from_ymd_opt(2026, 11, 1)
                .zip(NaiveDate::from_ymd_opt(2026, 11, 30))
                .map(|(from, to)| UsageQuery::Days { from, to })
        );
    }

    #[test]
    fn december_ends_in_january() {
        let (s, e) = month_bounds(2026, 12).expect("bounds");
        assert_eq!(s.to_string(), "2026-12-01");
        assert_eq!(e.to_string(), "2027-01-01");
    }
}
