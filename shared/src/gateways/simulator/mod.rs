//! Built-in gateway simulators for `efi`, `stripe` and `asaas`: deterministic, in-process, and
//! idempotent on the gateway key like the real gateways, so local runs and tests exercise every
//! path of the API without a network.

mod brcode;
mod control_http;
pub mod controls;
mod gateway_webhooks;
pub mod magic;
mod three_ds_page;

pub use brcode::{crc16_ccitt, dynamic_br_code};

use crate::clock::{Clock, SystemClock};
use crate::domain::{
    BoletoDetails, Currency, NextAction, PaymentId, PaymentMethod, PaymentStatus, PixDetails,
    RefundStatus,
};
use crate::ports::{
    ChargeLookup, ChargeRequest, ErrorClass, Gateway, GatewayCharge, GatewayError, GatewayRefund,
    RefundRequest,
};
use async_trait::async_trait;
use chrono::Duration;
use magic::{behaviour_for, Behaviour};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// How every simulator charge id begins (`sim_<gateway>_…`): no real gateway's ids do, so a
/// stored payment names a simulator's charge unmistakably.
pub const ID_PREFIX: &str = "sim_";

/// The time a simulator stamps on what it issues (Pix expiry, boleto due date): the service's
/// clock, so a test on a manual clock sees `expires_at` relative to the payment's `created_at`.
#[derive(Clone)]
struct SimClock(Arc<dyn Clock>);

impl std::fmt::Debug for SimClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimClock")
    }
}

/// A simulated gateway. It counts create calls and keeps the charges it made by gateway key, so
/// tests can assert "one gateway charge" the way they would against a real gateway's dashboard.
#[derive(Debug)]
pub struct SimulatorGateway {
    name: String,
    methods: Vec<PaymentMethod>,
    /// `None`: every currency (Stripe); else only these (Asaas and EFI: BRL).
    currencies: Option<Vec<Currency>>,
    create_calls: AtomicU64,
    lookup_calls: AtomicU64,
    cancel_calls: AtomicU64,
    clock: SimClock,
    charges: Mutex<HashMap<String, GatewayCharge>>,
    /// Amount and amount refunded per gateway payment id.
    amounts: Mutex<HashMap<String, (i64, i64)>>,
    refunds: Mutex<HashMap<String, GatewayRefund>>,
    /// What each refund was for, by refund key: the dev server's controls settle a pending
    /// refund by naming it, and the gateway webhook they send must carry the charge and amount.
    refund_targets: Mutex<HashMap<String, (String, i64)>>,
    /// Our payment id per gateway payment id, as the real gateways keep it (Stripe metadata,
    /// Asaas `externalReference`): what the 3DS page and the controls find a charge's payment by.
    owners: Mutex<HashMap<String, PaymentId>>,
    /// Switched on by the dev server's controls: every call answers HTTP 503 and creates
    /// nothing, as a gateway that is down does, so one gateway can fail while the next approves.
    unavailable: AtomicBool,
    /// Where a card's 3DS `next_action.url` leads (the dev server's own address); `None` keeps
    /// the placeholder host, which leads nowhere (tests and the Lambdas have no page to show).
    three_ds_base: RwLock<Option<String>>,
}

impl SimulatorGateway {
    /// A simulator under `name` supporting `methods`.
    pub fn new(name: &str, methods: &[PaymentMethod]) -> Self {
        Self {
            name: name.to_string(),
            methods: methods.to_vec(),
            currencies: None,
            create_calls: AtomicU64::new(0),
            lookup_calls: AtomicU64::new(0),
            cancel_calls: AtomicU64::new(0),
            clock: SimClock(Arc::new(SystemClock)),
            charges: Mutex::new(HashMap::new()),
            amounts: Mutex::new(HashMap::new()),
            refunds: Mutex::new(HashMap::new()),
            refund_targets: Mutex::new(HashMap::new()),
            owners: Mutex::new(HashMap::new()),
            unavailable: AtomicBool::new(false),
            three_ds_base: RwLock::new(None),
        }
    }

    /// Stamps expiries and due dates from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = SimClock(clock);
        self
    }

    /// Only these currencies are taken.
    pub fn with_currencies(mut self, currencies: &[Currency]) -> Self {
        self.currencies = Some(currencies.to_vec());
        self
    }

    /// EFI: Pix only, in reais, like the real Pix API.
    pub fn efi() -> Self {
        Self::new("efi", &[PaymentMethod::Pix]).with_currencies(&[Currency::BRL])
    }

    /// Stripe: cards, Pix and boleto.
    pub fn stripe() -> Self {
        Self::new("stripe", &PaymentMethod::ALL)
    }

    /// Asaas: Pix, boleto and cards, in reais.
    pub fn asaas() -> Self {
        Self::new("asaas", &PaymentMethod::ALL).with_currencies(&[Currency::BRL])
    }

    /// How many times `create` was called.
    pub fn create_calls(&self) -> u64 {
        self.create_calls.load(Ordering::SeqCst)
    }

    /// How many distinct charges exist (one per gateway key).
    pub fn charge_count(&self) -> usize {
        self.charges.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The charges that could still take or have taken money (not canceled), by gateway
    /// payment id: what "at most one live charge" is counted on.
    pub fn live_charges(&self) -> Vec<String> {
        self.charges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|c| c.status != PaymentStatus::Canceled)
            .map(|c| c.gateway_payment_id.clone())
            .collect()
    }

    /// How many times `lookup` was called.
    pub fn lookup_calls(&self) -> u64 {
        self.lookup_calls.load(Ordering::SeqCst)
    }

    /// How many times `cancel` was called.
    pub fn cancel_calls(&self) -> u64 {
        self.cancel_calls.load(Ordering::SeqCst)
    }

    /// Sets a charge's status as the gateway would after an outside event (the payer paid
    /// the Pix, the 3DS step completed): `retrieve` reports it, and a paid charge refuses
    /// `cancel`. Returns whether the charge exists.
    pub fn set_status(&self, gateway_payment_id: &str, status: PaymentStatus) -> bool {
        let mut charges = self.charges.lock().unwrap_or_else(|e| e.into_inner());
        let mut found = false;
        for c in charges
            .values_mut()
            .filter(|c| c.gateway_payment_id == gateway_payment_id)
        {
            c.status = status;
            found = true;
        }
        found
    }

    fn issue(&self, req: &ChargeRequest, behaviour: Behaviour) -> GatewayCharge {
        let digest = hex::encode(Sha256::digest(req.gateway_key.as_bytes()));
        let gateway_payment_id = format!("{ID_PREFIX}{}_{}", self.name, &digest[..24]);
        let mut charge = GatewayCharge {
            gateway_payment_id: gateway_payment_id.clone(),
            status: PaymentStatus::Pending,
            pix: None,
            boleto: None,
            next_action: None,
            refunded_minor: None,
        };
        match req.method {
            PaymentMethod::Pix => {
                let location = format!("pix.{}.sim.local/qr/v2/{}", self.name, &digest[..32]);
                charge.pix = Some(PixDetails {
                    copy_paste: dynamic_br_code(
                        &location,
                        req.amount,
                        "Orchestrator Sim",
                        "Sao Paulo",
                        &req.gateway_key,
                    ),
                    qr_code_png_base64: None,
                    expires_at: Some(
                        self.clock.0.now()
                            + req
                                .expires_in
                                .map_or(Duration::hours(1), |s| Duration::seconds(i64::from(s))),
                    ),
                });
            }
            PaymentMethod::Boleto => {
                let digits: String = digest
                    .bytes()
                    .map(|b| char::from(b'0' + (b % 10)))
                    .cycle()
                    .take(47)
                    .collect();
                charge.boleto = Some(BoletoDetails {
                    url: format!(
                        "https://boleto.{}.sim.local/{}",
                        self.name, gateway_payment_id
                    ),
                    barcode: digits,
                    due_date: Some(
                        (self.clock.0.now() + Duration::days(3))
                            .format("%Y-%m-%d")
                            .to_string(),
                    ),
                });
            }
            PaymentMethod::Card if behaviour == Behaviour::RequiresAction => {
                charge.status = PaymentStatus::RequiresAction;
                let base = self
                    .three_ds_base
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let url = match base {
                    Some(base) => three_ds_page::url(&base, &req.payment_id),
                    None => format!("https://3ds.{}.sim.local/{}", self.name, gateway_payment_id),
                };
                charge.next_action = Some(NextAction {
                    kind: "redirect".into(),
                    url,
                });
            }
            PaymentMethod::Card => charge.status = PaymentStatus::Succeeded,
        }
        charge
    }
}

fn error(class: ErrorClass) -> GatewayError {
    let (code, message) = match class {
        ErrorClass::Declined => ("insufficient_funds", "The card has insufficient funds."),
        ErrorClass::Invalid => ("invalid_request", "The gateway rejected the request."),
        ErrorClass::Unavailable => (
            "http_503",
            "Service unavailable; the request was not processed.",
        ),
        ErrorClass::Ambiguous => (
            "timeout",
            "No answer before the timeout; the charge may exist.",
        ),
        ErrorClass::Misconfigured => ("http_401", "The gateway refused the credentials."),
    };
    GatewayError {
        class,
        code: code.into(),
        message: message.into(),
    }
}

#[async_trait]
impl Gateway for SimulatorGateway {
    fn name(&self) -> &str {
        &self.name
    }

    /// As the gateway it stands for: Asaas has no idempotency key.
    fn create_is_idempotent(&self) -> bool {
        self.name != "asaas"
    }

    fn supports(&self, method: PaymentMethod) -> bool {
        self.methods.contains(&method)
    }

    fn supports_currency(&self, currency: Currency) -> bool {
        self.currencies
            .as_ref()
            .is_none_or(|list| list.contains(&currency))
    }

    async fn lookup(&self, q: &ChargeLookup) -> Result<Option<GatewayCharge>, GatewayError> {
        self.lookup_calls.fetch_add(1, Ordering::SeqCst);
        self.up()?;
        Ok(self
            .charges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&q.gateway_key)
            .cloned())
    }

    async fn create(&self, req: &ChargeRequest) -> Result<GatewayCharge, GatewayError> {
        self.create_calls.fetch_add(1, Ordering::SeqCst);
        self.up()?;
        if !self.supports(req.method) || !self.supports_currency(req.amount.currency()) {
            return Err(error(ErrorClass::Invalid));
        }
        if req.method == PaymentMethod::Card && req.card_token.is_none() {
            return Err(GatewayError {
                class: ErrorClass::Invalid,
                code: "missing_card_token".into(),
                message: "A card token for this gateway is required.".into(),
            });
        }
        let behaviour = behaviour_for(req.amount.minor());
        if let Some(existing) = self
            .charges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&req.gateway_key)
            .cloned()
        {
            return Ok(existing);
        }
        match behaviour {
            Behaviour::Fail(ErrorClass::Ambiguous) => {
                // The charge is created, but the caller never hears about it.
                self.store(req, behaviour);
                Err(error(ErrorClass::Ambiguous))
            }
            Behaviour::Fail(class) => Err(error(class)),
            Behaviour::Slow(d) => {
                tokio::time::sleep(d).await;
                Ok(self.store(req, behaviour))
            }
            Behaviour::Approve | Behaviour::RequiresAction => {
                let charge = self.store(req, behaviour);
                // A crash inside the call: the charge exists, the caller never hears of it.
                crate::failpoint!("gateway.inside_call");
                Ok(charge)
            }
        }
    }

    async fn retrieve(
        &self,
        gateway_payment_id: &str,
        _method: PaymentMethod,
    ) -> Result<GatewayCharge, GatewayError> {
        self.up()?;
        self.find(gateway_payment_id)
    }

    async fn cancel(
        &self,
        gateway_payment_id: &str,
        _method: PaymentMethod,
    ) -> Result<(), GatewayError> {
        self.cancel_calls.fetch_add(1, Ordering::SeqCst);
        self.up()?;
        let found = self.find(gateway_payment_id)?;
        let mut charges = self.charges.lock().unwrap_or_else(|e| e.into_inner());
        for c in charges
            .values_mut()
            .filter(|c| c.gateway_payment_id == found.gateway_payment_id)
        {
            if c.status == PaymentStatus::Succeeded {
                return Err(GatewayError {
                    class: ErrorClass::Invalid,
                    code: "charge_paid".into(),
                    message: "a paid charge cannot be canceled".into(),
                });
            }
            c.status = PaymentStatus::Canceled;
        }
        Ok(())
    }

    async fn refund(&self, req: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        self.up()?;
        if let Some(done) = self
            .refunds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&req.refund_key)
        {
            return Ok(done.clone());
        }
        let mut amounts = self.amounts.lock().unwrap_or_else(|e| e.into_inner());
        let (amount, refunded) =
            amounts
                .get_mut(&req.gateway_payment_id)
                .ok_or_else(|| GatewayError {
                    class: ErrorClass::Invalid,
                    code: "resource_missing".into(),
                    message: format!("no charge {}", req.gateway_payment_id),
                })?;
        if *refunded + req.amount.minor() > *amount {
            return Err(GatewayError {
                class: ErrorClass::Invalid,
                code: "amount_too_large".into(),
                message: "refunds would exceed the charge".into(),
            });
        }
        // A pending refund is settled later by the gateway's webhook (the test sends it), so
        // only a refund that succeeds here counts against the charge.
        let pending = req.amount.minor() % 100 == magic::PENDING_REFUND;
        if !pending {
            *refunded += req.amount.minor();
        }
        let r = GatewayRefund {
            gateway_refund_id: format!("sim_re_{}", req.refund_key),
            status: if pending {
                RefundStatus::Pending
            } else {
                RefundStatus::Succeeded
            },
        };
        self.refunds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(req.refund_key.clone(), r.clone());
        self.refund_targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                req.refund_key.clone(),
                (req.gateway_payment_id.clone(), req.amount.minor()),
            );
        Ok(r)
    }
}

/// A charge as the dev server's controls see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCharge {
    pub gateway_payment_id: String,
    pub payment_id: PaymentId,
    pub status: PaymentStatus,
    /// Minor units.
    pub amount: i64,
}

/// A refund the controls can settle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRefund {
    pub refund_key: String,
    pub gateway_refund_id: String,
    pub gateway_payment_id: String,
    /// Minor units.
    pub amount: i64,
    pub status: RefundStatus,
}

/// What the dev server's controls change: what a payer, a 3DS step, a bank or an outage does
/// to a real gateway. Each change is one step under the simulator's lock, so two requests
/// racing (two "pay" clicks) see one winner.
impl SimulatorGateway {
    /// Whether the switch of the dev server's controls has this gateway down.
    pub fn is_unavailable(&self) -> bool {
        self.unavailable.load(Ordering::SeqCst)
    }

    /// Takes the gateway down (every call answers HTTP 503, nothing is created) or back up.
    pub fn set_unavailable(&self, down: bool) {
        self.unavailable.store(down, Ordering::SeqCst);
    }

    /// Makes card 3DS `next_action.url`s lead to the dev server at `base` (no trailing `/`).
    pub fn set_three_ds_base(&self, base: &str) {
        *self
            .three_ds_base
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(base.trim_end_matches('/').to_string());
    }

    fn up(&self) -> Result<(), GatewayError> {
        if self.is_unavailable() {
            return Err(error(ErrorClass::Unavailable));
        }
        Ok(())
    }

    /// The charge with this gateway payment id, if this simulator made it.
    pub fn charge(&self, gateway_payment_id: &str) -> Option<SimCharge> {
        let found = self.find(gateway_payment_id).ok()?;
        let payment_id = self
            .owners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(gateway_payment_id)
            .cloned()?;
        let amount = self
            .amounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(gateway_payment_id)
            .map_or(0, |(a, _)| *a);
        Some(SimCharge {
            gateway_payment_id: found.gateway_payment_id,
            payment_id,
            status: found.status,
            amount,
        })
    }

    /// Moves the charge to `to` if its status is one of `from`, in one step. `Err` carries the
    /// status it has instead (`None`: no such charge), and nothing changed.
    pub fn move_charge(
        &self,
        gateway_payment_id: &str,
        from: &[PaymentStatus],
        to: PaymentStatus,
    ) -> Result<(), Option<PaymentStatus>> {
        let mut charges = self.charges.lock().unwrap_or_else(|e| e.into_inner());
        let charge = charges
            .values_mut()
            .find(|c| c.gateway_payment_id == gateway_payment_id)
            .ok_or(None)?;
        // A Pix past its expiry cannot be paid any more, whatever anyone asked before.
        let expired = charge.status == PaymentStatus::Pending
            && charge
                .pix
                .as_ref()
                .and_then(|p| p.expires_at)
                .is_some_and(|at| at <= self.clock.0.now());
        let now = if expired {
            PaymentStatus::Expired
        } else {
            charge.status
        };
        if !from.contains(&now) {
            return Err(Some(now));
        }
        charge.status = to;
        Ok(())
    }

    /// The refund with this refund key, if this simulator made it.
    pub fn refund_by_key(&self, refund_key: &str) -> Option<SimRefund> {
        let r = self
            .refunds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(refund_key)
            .cloned()?;
        let (gateway_payment_id, amount) = self
            .refund_targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(refund_key)
            .cloned()?;
        Some(SimRefund {
            refund_key: refund_key.to_string(),
            gateway_refund_id: r.gateway_refund_id,
            gateway_payment_id,
            amount,
            status: r.status,
        })
    }

    /// Settles a pending refund as the bank did: `succeeded` counts against the charge (a
    /// later refund sees less left), `failed` gives the amount back. `Err` carries the status
    /// it has instead (`None`: no such refund), and nothing changed.
    pub fn settle_refund(
        &self,
        refund_key: &str,
        succeeded: bool,
    ) -> Result<SimRefund, Option<RefundStatus>> {
        // Lock order as in `refund`: amounts, then refunds, then the targets.
        let mut amounts = self.amounts.lock().unwrap_or_else(|e| e.into_inner());
        let mut refunds = self.refunds.lock().unwrap_or_else(|e| e.into_inner());
        let r = refunds.get_mut(refund_key).ok_or(None)?;
        if r.status != RefundStatus::Pending {
            return Err(Some(r.status));
        }
        let (gid, amount) = self
            .refund_targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(refund_key)
            .cloned()
            .ok_or(None)?;
        if succeeded {
            if let Some((_, refunded)) = amounts.get_mut(&gid) {
                *refunded += amount;
            }
        }
        r.status = if succeeded {
            RefundStatus::Succeeded
        } else {
            RefundStatus::Failed
        };
        Ok(SimRefund {
            refund_key: refund_key.to_string(),
            gateway_refund_id: r.gateway_refund_id.clone(),
            gateway_payment_id: gid,
            amount,
            status: r.status,
        })
    }
}

impl SimulatorGateway {
    /// Refunds made (one per refund key).
    pub fn refund_count(&self) -> usize {
        self.refunds.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn store(&self, req: &ChargeRequest, behaviour: Behaviour) -> GatewayCharge {
        let mut charges = self.charges.lock().unwrap_or_else(|e| e.into_inner());
        let charge = charges
            .entry(req.gateway_key.clone())
            .or_insert_with(|| self.issue(req, behaviour))
            .clone();
        self.amounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(charge.gateway_payment_id.clone())
            .or_insert((req.amount.minor(), 0));
        self.owners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(charge.gateway_payment_id.clone())
            .or_insert_with(|| req.payment_id.clone());
        charge
    }

    fn find(&self, gateway_payment_id: &str) -> Result<GatewayCharge, GatewayError> {
        self.charges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .find(|c| c.gateway_payment_id == gateway_payment_id)
            .cloned()
            .ok_or_else(|| GatewayError {
                class: ErrorClass::Invalid,
                code: "resource_missing".into(),
                message: format!("no charge {gateway_payment_id}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, Money, PaymentId};

    fn req(amount: i64, method: PaymentMethod, key: &str) -> ChargeRequest {
        ChargeRequest {
            payment_id: PaymentId::generate(),
            gateway_key: key.into(),
            amount: Money::new(amount, Currency::BRL).unwrap(),
            method,
            customer: None,
            description: None,
            card_token: Some("tok".into()),
            expires_in: None,
        }
    }

    #[tokio::test]
    async fn same_key_returns_the_same_charge() {
        let g = SimulatorGateway::efi();
        let a = g
            .create(&req(1990, PaymentMethod::Pix, "k1"))
            .await
            .unwrap();
        let b = g
            .create(&req(1990, PaymentMethod::Pix, "k1"))
            .await
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(g.create_calls(), 2);
        assert_eq!(g.charge_count(), 1);
        assert!(a.pix.unwrap().copy_paste.starts_with("000201"));
    }

    #[tokio::test]
    async fn ambiguous_creates_the_charge_and_a_retry_finds_it() {
        let g = SimulatorGateway::stripe();
        let e = g
            .create(&req(1054, PaymentMethod::Card, "k2"))
            .await
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::Ambiguous);
        assert_eq!(g.charge_count(), 1);
        let c = g
            .create(&req(1054, PaymentMethod::Card, "k2"))
            .await
            .unwrap();
        assert_eq!(c.status, PaymentStatus::Succeeded);
        assert_eq!(g.charge_count(), 1);
    }

    #[tokio::test]
    async fn failures_create_nothing() {
        let g = SimulatorGateway::asaas();
        for (amt, class) in [
            (1051, ErrorClass::Declined),
            (1052, ErrorClass::Invalid),
            (1053, ErrorClass::Unavailable),
            (1056, ErrorClass::Misconfigured),
        ] {
            let e = g
                .create(&req(amt, PaymentMethod::Card, &format!("k{amt}")))
                .await
                .unwrap_err();
            assert_eq!(e.class, class);
        }
        assert_eq!(g.charge_count(), 0);
    }

    #[tokio::test]
    async fn efi_refuses_cards_and_boleto_has_a_barcode() {
        let e = SimulatorGateway::efi()
            .create(&req(1990, PaymentMethod::Card, "k3"))
            .await
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::Invalid);
        let b = SimulatorGateway::asaas()
            .create(&req(1990, PaymentMethod::Boleto, "k4"))
            .await
            .unwrap();
        assert_eq!(b.boleto.unwrap().barcode.len(), 47);
    }

    #[tokio::test]
    async fn a_gateway_switched_off_answers_503_and_creates_nothing() {
        let g = SimulatorGateway::efi();
        g.set_unavailable(true);
        let e = g
            .create(&req(1990, PaymentMethod::Pix, "k5"))
            .await
            .unwrap_err();
        assert_eq!(
            (e.class, e.code.as_str()),
            (ErrorClass::Unavailable, "http_503")
        );
        assert_eq!(g.charge_count(), 0);
        g.set_unavailable(false);
        assert!(g.create(&req(1990, PaymentMethod::Pix, "k5")).await.is_ok());
    }

    #[tokio::test]
    async fn a_charge_moves_once_and_an_expired_pix_not_at_all() {
        let clock = Arc::new(crate::clock::ManualClock::new(chrono::Utc::now()));
        let g = SimulatorGateway::asaas().with_clock(clock.clone());
        let c = g
            .create(&req(1990, PaymentMethod::Pix, "k6"))
            .await
            .unwrap();
        let gid = c.gateway_payment_id.as_str();
        let from = [PaymentStatus::Pending];
        assert_eq!(g.move_charge(gid, &from, PaymentStatus::Succeeded), Ok(()));
        assert_eq!(
            g.move_charge(gid, &from, PaymentStatus::Succeeded),
            Err(Some(PaymentStatus::Succeeded))
        );
        assert_eq!(g.charge(gid).unwrap().status, PaymentStatus::Succeeded);
        let late = g
            .create(&req(1990, PaymentMethod::Pix, "k7"))
            .await
            .unwrap();
        clock.advance(Duration::hours(2));
        assert_eq!(
            g.move_charge(&late.gateway_payment_id, &from, PaymentStatus::Succeeded),
            Err(Some(PaymentStatus::Expired))
        );
        assert_eq!(
            g.move_charge("nope", &from, PaymentStatus::Succeeded),
            Err(None)
        );
    }

    #[tokio::test]
    async fn a_pending_refund_settles_once() {
        let g = SimulatorGateway::stripe();
        let c = g
            .create(&req(5000, PaymentMethod::Card, "k8"))
            .await
            .unwrap();
        let refund = |key: &str| RefundRequest {
            gateway_payment_id: c.gateway_payment_id.clone(),
            method: PaymentMethod::Card,
            refund_key: key.into(),
            amount: Money::new(4058, Currency::BRL).unwrap(),
        };
        assert_eq!(
            g.refund(&refund("REF1")).await.unwrap().status,
            RefundStatus::Pending
        );
        assert_eq!(g.refund_by_key("REF1").unwrap().amount, 4058);
        let done = g.settle_refund("REF1", true).unwrap();
        assert_eq!(done.status, RefundStatus::Succeeded);
        assert_eq!(
            g.settle_refund("REF1", false),
            Err(Some(RefundStatus::Succeeded))
        );
        // What succeeded counts against the charge: another 40.58 would exceed it.
        let e = g.refund(&refund("REF2")).await.unwrap_err();
        assert_eq!(e.code, "amount_too_large");
        assert_eq!(g.settle_refund("REF9", true), Err(None));
    }
}
