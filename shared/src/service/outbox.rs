//! Which merchant events a change of a payment produces, and their fixed bodies. Every write
//! site (create commit, gateway webhook, refresh, refund) calls [`events_for`] with the payment
//! before and after and hands both to the same atomic write, so an event exists exactly when
//! its change does — and a write that changes nothing a merchant sees produces none.

use super::payment_view::{refund_view, view};
use crate::domain::{refund_can_move, EventType, MerchantEvent, Payment, Refund};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Serialize)]
struct Body<'a, T: Serialize> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    /// The payment's mode (a test key's events are test: `false`).
    livemode: bool,
    created_at: String,
    data: T,
}

fn event(
    p: &Payment,
    kind: EventType,
    refund: Option<&Refund>,
    now: DateTime<Utc>,
) -> MerchantEvent {
    let id = MerchantEvent::new_id();
    let created_at = crate::time_format::render(&now);
    let payload = match refund {
        Some(r) => serde_json::to_string(&Body {
            id: &id,
            kind: kind.as_str(),
            livemode: p.livemode(),
            created_at,
            data: refund_view(p, r),
        }),
        None => serde_json::to_string(&Body {
            id: &id,
            kind: kind.as_str(),
            livemode: p.livemode(),
            created_at,
            data: view(p),
        }),
    }
    .unwrap_or_else(|_| "{}".into());
    MerchantEvent {
        id,
        tenant_id: p.tenant_id.clone(),
        kind,
        payment_id: p.id.clone(),
        refund_id: refund.map(|r| r.id.clone()),
        payment_version: p.version,
        created_at: now,
        callback_url: p.callback_url.as_ref().map(|u| u.as_str().to_string()),
        payload,
    }
}

/// Everything a write moving a payment from `before` (`None`: just created) to `after` must
/// carry atomically: its merchant events and its usage delta.
pub fn effects_for(
    before: Option<&Payment>,
    after: &Payment,
    now: DateTime<Utc>,
) -> crate::ports::Effects {
    crate::ports::Effects {
        events: events_for(before, after, now),
        usage: crate::domain::UsageDelta::for_change(before, after),
    }
}

/// The events that moving a payment from `before` (`None`: just created) to `after` produces,
/// in the order a merchant should read them: settled refunds, then overdue, then a late
/// payment, then the status.
/// A status the payment already had produces nothing.
pub fn events_for(
    before: Option<&Payment>,
    after: &Payment,
    now: DateTime<Utc>,
) -> Vec<MerchantEvent> {
    let mut out = Vec::new();
    for r in &after.refunds {
        // A record that took over an earlier one (`replaces`) is that refund, not a new one.
        let was = before.and_then(|b| {
            b.refunds
                .iter()
                .find(|x| x.id == r.id || r.replaces.as_deref() == Some(x.id.as_str()))
        });
        let settled_now = match was {
            Some(w) => w.status != r.status && refund_can_move(w.status, r.status),
            None => true,
        };
        if settled_now {
            if let Some(kind) = EventType::for_refund(r.status) {
                out.push(event(after, kind, Some(r), now));
            }
        }
    }
    if after.overdue_at.is_some() && before.is_some_and(|b| b.overdue_at.is_none()) {
        out.push(event(after, EventType::PaymentOverdue, None, now));
    }
    if after.late_payment.is_some() && before.is_some_and(|b| b.late_payment.is_none()) {
        out.push(event(
            after,
            EventType::PaymentLatePaymentReceived,
            None,
            now,
        ));
    }
    if before.is_none_or(|b| b.status != after.status) {
        out.push(event(after, EventType::for_status(after.status), None, now));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PaymentStatus, RefundStatus};

    fn payment() -> Payment {
        serde_json::from_value(serde_json::json!({
            "id": "pay_01JD0000000000000000000000", "tenant_id": "ten_a", "status": "succeeded",
            "amount": {"amount": 1000, "currency": "BRL"}, "method": "card", "gateway": "stripe",
            "gateway_payment_id": "pi_1", "reference": null, "description": null, "metadata": {},
            "customer": null, "callback_url": null, "pix": null, "boleto": null, "next_action": null,
            "failure": null, "refunded_amount": 0, "refunds": [], "attempts": [],
            "created_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T10:00:00Z", "version": 1
        }))
        .unwrap()
    }

    fn refund(id: &str, amount: i64, status: RefundStatus) -> Refund {
        Refund {
            id: id.into(),
            amount,
            status,
            gateway_refund_id: None,
            reason: None,
            created_at: Utc::now(),
            replaces: None,
        }
    }

    fn kinds(evs: &[MerchantEvent]) -> Vec<&'static str> {
        evs.iter().map(|e| e.kind.as_str()).collect()
    }

    /// The callback body says the payment's mode at the top and in `data`: its pinned
    /// account's, or, before pins, its partition's.
    #[test]
    fn event_bodies_carry_livemode() {
        use crate::domain::{AccountMode, GatewayAccount, TenantId};
        let livemode = |p: &Payment| {
            let ev = events_for(None, p, Utc::now());
            let body: serde_json::Value = serde_json::from_str(&ev[0].payload).unwrap();
            assert_eq!(body["livemode"], body["data"]["livemode"], "{body}");
            body["livemode"].as_bool()
        };
        let mut p = payment();
        assert_eq!(livemode(&p), Some(true), "no pin, live partition");
        p.tenant_id = TenantId::parse("ten_a.test").unwrap();
        assert_eq!(livemode(&p), Some(false), "no pin, test twin");
        p.account = Some(GatewayAccount::simulator());
        assert_eq!(livemode(&p), Some(false));
        p.tenant_id = TenantId::parse("ten_a").unwrap();
        p.account = Some(GatewayAccount {
            mode: AccountMode::Live,
            credentials: Some("fp".into()),
            credential_version: Some(1),
        });
        assert_eq!(livemode(&p), Some(true));
        let mut r = p.clone();
        r.refunds
            .push(refund("ref_1", 100, RefundStatus::Succeeded));
        let ev = events_for(Some(&p), &r, Utc::now());
        let refund_ev = ev
            .iter()
            .find(|e| e.kind.as_str() == "refund.succeeded")
            .unwrap();
        let body: serde_json::Value = serde_json::from_str(&refund_ev.payload).unwrap();
        assert_eq!(
            (body["livemode"].clone(), body["data"]["livemode"].clone()),
            (serde_json::json!(true), serde_json::json!(true)),
            "{body}"
        );
    }

    #[test]
    fn creation_status_change_and_no_change() {
        let p = payment();
        assert_eq!(
            kinds(&events_for(None, &p, Utc::now())),
            ["payment.succeeded"]
        );
        assert!(events_for(Some(&p), &p, Utc::now()).is_empty());
        let mut pending = p.clone();
        pending.status = PaymentStatus::Pending;
        assert_eq!(
            kinds(&events_for(Some(&pending), &p, Utc::now())),
            ["payment.succeeded"]
        );
    }

    #[test]
    fn refunds_settle_once_and_pending_is_silent() {
        let before = payment();
        let mut after = before.clone();
        after
            .refunds
            .push(refund("ref_1", 400, RefundStatus::Pending));
        after.settle_refunds();
        assert!(events_for(Some(&before), &after, Utc::now()).is_empty());
        let mut done = after.clone();
        done.refunds[0].status = RefundStatus::Succeeded;
        done.settle_refunds();
        assert_eq!(done.refunded_amount, 400);
        let evs = events_for(Some(&after), &done, Utc::now());
        assert_eq!(
            kinds(&evs),
            ["refund.succeeded", "payment.partially_refunded"]
        );
        assert_eq!(evs[0].refund_id.as_deref(), Some("ref_1"));
        let body: serde_json::Value = serde_json::from_str(&evs[0].payload).unwrap();
        assert_eq!(body["data"]["object"], "refund");
        assert_eq!(body["id"], evs[0].id.as_str());
        // The second, final refund.
        let mut full = done.clone();
        full.refunds
            .push(refund("ref_2", 600, RefundStatus::Succeeded));
        full.settle_refunds();
        assert_eq!(
            kinds(&events_for(Some(&done), &full, Utc::now())),
            ["refund.succeeded", "payment.refunded"]
        );
        // A failed refund frees its amount and says so.
        let mut failed = after.clone();
        failed.refunds[0].status = RefundStatus::Failed;
        failed.settle_refunds();
        assert_eq!(failed.refundable(), 1000);
        assert_eq!(
            kinds(&events_for(Some(&after), &failed, Utc::now())),
            ["refund.failed"]
        );
    }

    #[test]
    fn a_late_payment_is_told_and_counted_once_and_never_as_succeeded() {
        use crate::domain::{LatePayment, LateSource, UsageDelta};
        let mut failed = payment();
        failed.status = PaymentStatus::Failed;
        assert!(failed.takes_late_payment());
        let mut late = failed.clone();
        late.late_payment = Some(LatePayment {
            amount: 1000,
            gateway_payment_id: "pi_1".into(),
            source: LateSource::Webhook,
            gateway_event_id: Some("evt_1".into()),
            received_at: Utc::now(),
        });
        assert!(!late.takes_late_payment());
        let evs = events_for(Some(&failed), &late, Utc::now());
        assert_eq!(kinds(&evs), ["payment.late_payment_received"]);
        let body: serde_json::Value = serde_json::from_str(&evs[0].payload).unwrap();
        assert_eq!(body["data"]["status"], "failed");
        assert_eq!(body["data"]["late_payment"]["amount"], 1000);
        assert!(events_for(Some(&late), &late, Utc::now()).is_empty());
        let d = UsageDelta::for_change(Some(&failed), &late).unwrap();
        assert_eq!(d.counters.get("late_payments"), 1);
        assert_eq!(d.counters.get("volume.late.BRL"), 1000);
        assert_eq!(d.counters.get("volume.succeeded.BRL"), 0);
        assert!(UsageDelta::for_change(Some(&late), &late).is_none());
        // Only failed, canceled and expired payments take late money.
        for (status, takes) in [
            (PaymentStatus::Canceled, true),
            (PaymentStatus::Expired, true),
            (PaymentStatus::Succeeded, false),
            (PaymentStatus::Processing, false),
            (PaymentStatus::Refunded, false),
        ] {
            let mut p = payment();
            p.status = status;
            assert_eq!(p.takes_late_payment(), takes, "{status}");
        }
    }

    #[test]
    fn refunded_never_moves_back() {
        let mut p = payment();
        p.refunds
            .push(refund("ref_1", 1000, RefundStatus::Succeeded));
        p.settle_refunds();
        assert_eq!(p.status, PaymentStatus::Refunded);
        p.refunds[0].status = RefundStatus::Failed; // never written by the service, but still:
        p.settle_refunds();
        assert_eq!(p.status, PaymentStatus::Refunded);
    }
}
