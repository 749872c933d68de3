//! A gateway whose health a test switches: it wraps a simulator and, while down, answers every
//! create with an `unavailable` error (nothing created) without reaching it. It can also answer
//! `ambiguous` after the charge was made (a timeout after send) or without making it (a request
//! lost on the way), and fail its cancels. Calls are counted and may be slowed, so a test can
//! hold a half-open probe in flight.

use async_trait::async_trait;
use shared::domain::{Currency, PaymentMethod};
use shared::gateways::simulator::SimulatorGateway;
use shared::ports::{
    ChargeLookup, ChargeRequest, ErrorClass, Gateway, GatewayCharge, GatewayError, GatewayRefund,
    RefundRequest,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The switchable gateway (same name and methods as the simulator it wraps).
pub struct Switchable {
    inner: Arc<SimulatorGateway>,
    down: AtomicBool,
    ambiguous_after_create: AtomicBool,
    ambiguous_lost: AtomicBool,
    cancel_fails: AtomicBool,
    hang_after_create: AtomicBool,
    delay_ms: AtomicU64,
    calls: AtomicU64,
}

impl Switchable {
    /// Healthy, no delay.
    pub fn new(inner: Arc<SimulatorGateway>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            down: AtomicBool::new(false),
            ambiguous_after_create: AtomicBool::new(false),
            ambiguous_lost: AtomicBool::new(false),
            cancel_fails: AtomicBool::new(false),
            hang_after_create: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
            calls: AtomicU64::new(0),
        })
    }

    /// Down: every create fails as unavailable (HTTP 503 before any processing).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Every create makes the charge, then answers `ambiguous` (a timeout after send).
    pub fn set_ambiguous_after_create(&self, on: bool) {
        self.ambiguous_after_create.store(on, Ordering::SeqCst);
    }

    /// Every create answers `ambiguous` without reaching the gateway (lost on the way).
    pub fn set_ambiguous_lost(&self, on: bool) {
        self.ambiguous_lost.store(on, Ordering::SeqCst);
    }

    /// Every cancel fails (a 5xx from the gateway).
    pub fn set_cancel_fails(&self, on: bool) {
        self.cancel_fails.store(on, Ordering::SeqCst);
    }

    /// Every create makes the charge, then never answers (the caller is killed waiting).
    pub fn set_hang_after_create(&self, on: bool) {
        self.hang_after_create.store(on, Ordering::SeqCst);
    }

    /// The simulator behind it.
    pub fn inner(&self) -> &Arc<SimulatorGateway> {
        &self.inner
    }

    /// Each create takes this long first.
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }

    /// Creates that reached this gateway.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Gateway for Switchable {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn create_is_idempotent(&self) -> bool {
        self.inner.create_is_idempotent()
    }

    fn supports(&self, method: PaymentMethod) -> bool {
        self.inner.supports(method)
    }

    fn supports_currency(&self, currency: Currency) -> bool {
        self.inner.supports_currency(currency)
    }

    async fn lookup(&self, q: &ChargeLookup) -> Result<Option<GatewayCharge>, GatewayError> {
        self.inner.lookup(q).await
    }

    async fn create(&self, req: &ChargeRequest) -> Result<GatewayCharge, GatewayError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if self.down.load(Ordering::SeqCst) {
            return Err(GatewayError {
                class: ErrorClass::Unavailable,
                code: "http_503".into(),
                message: "switched down by the test".into(),
            });
        }
        let timeout = GatewayError {
            class: ErrorClass::Ambiguous,
            code: "timeout".into(),
            message: "no answer (test switch)".into(),
        };
        if self.ambiguous_lost.load(Ordering::SeqCst) {
            return Err(timeout);
        }
        let r = self.inner.create(req).await;
        if self.hang_after_create.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if self.ambiguous_after_create.load(Ordering::SeqCst) {
            return Err(timeout);
        }
        r
    }

    async fn retrieve(
        &self,
        id: &str,
        method: PaymentMethod,
    ) -> Result<GatewayCharge, GatewayError> {
        self.inner.retrieve(id, method).await
    }

    async fn cancel(&self, id: &str, method: PaymentMethod) -> Result<(), GatewayError> {
        if self.cancel_fails.load(Ordering::SeqCst) {
            return Err(GatewayError {
                class: ErrorClass::Ambiguous,
                code: "http_500".into(),
                message: "cancel failed (test switch)".into(),
            });
        }
        self.inner.cancel(id, method).await
    }

    async fn refund(&self, req: &RefundRequest) -> Result<GatewayRefund, GatewayError> {
        self.inner.refund(req).await
    }
}
