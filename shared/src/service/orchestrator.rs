//! The service object: ports wired once per process, shared by every request.

use super::breaker::Breakers;
use crate::clock::Clock;
use crate::domain::{AccountMode, GatewayAccount, Payment};
use crate::error::ApiError;
use crate::gateways::live::LiveGatewayError;
use crate::ports::{
    hash_api_key, GatewayRegistry, IdempotencyStore, PaymentStore, Tenant, TenantStore,
};
use crate::ports::{BreakerStore, CreateCommit, ErrorClass, Gateway, GatewayError};
use chrono::Duration;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Knobs with production defaults; the dev server and tests change a few.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// How long a completed idempotency record is honoured (24 h).
    pub idempotency_retention: Duration,
    /// In-flight claim lifetime when the caller has no deadline (the dev server).
    pub default_in_flight: Duration,
    /// Accept `http://` loopback callback URLs (local development only).
    pub allow_loopback_callbacks: bool,
    /// How long an instance trusts its cached copy of a tenant.
    pub tenant_cache_ttl: std::time::Duration,
    /// Circuit-breaker thresholds, window, cool-down, probes and cache period.
    pub breaker: crate::domain::BreakerConfig,
    /// Gateway calls end this long before the request's deadline, so the outcome is always
    /// recorded before the invocation could be killed.
    pub gateway_reserve: std::time::Duration,
    /// A reconciliation that finds no charge at the gateway settles the payment as `failed`
    /// only once the create is at least this old (a create still in flight, or a gateway's
    /// search index lagging, must never be read as "no charge").
    pub not_found_after: Duration,
    /// Requests per minute a tenant may make on the `POST` routes unless its own limit says
    /// otherwise (`RATE_LIMIT_PER_MINUTE`; 0 = no limit).
    pub rate_limit_per_minute: u32,
    /// SHA-256 (hex) of the operator keys that may use `/v1/admin` (from the deployment's
    /// configuration; never a tenant key). Empty: the operator API is closed.
    pub operator_key_hashes: Vec<String>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            idempotency_retention: Duration::hours(24),
            default_in_flight: Duration::seconds(30),
            allow_loopback_callbacks: false,
            tenant_cache_ttl: std::time::Duration::from_secs(60),
            breaker: crate::domain::BreakerConfig::default(),
            gateway_reserve: std::time::Duration::from_secs(2),
            not_found_after: Duration::minutes(15),
            rate_limit_per_minute: 600,
            operator_key_hashes: Vec::new(),
        }
    }
}

impl ServiceConfig {
    /// Reads `RATE_LIMIT_PER_MINUTE` (default 600; 0 turns the limit off).
    pub fn rate_limit_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<u32, String> {
        match lookup("RATE_LIMIT_PER_MINUTE") {
            None => Ok(Self::default().rate_limit_per_minute),
            Some(v) => v
                .trim()
                .parse::<u32>()
                .map_err(|_| "RATE_LIMIT_PER_MINUTE: not a whole number".into()),
        }
    }

    /// Reads `GATEWAY_RESERVE_MS` (how long before the request's deadline gateway calls must
    /// end; default 2000), refusing a value that is not a whole number of milliseconds.
    pub fn gateway_reserve_from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<std::time::Duration, String> {
        match lookup("GATEWAY_RESERVE_MS") {
            None => Ok(Self::default().gateway_reserve),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map(std::time::Duration::from_millis)
                .map_err(|_| "GATEWAY_RESERVE_MS: not a whole number of milliseconds".into()),
        }
    }
}

/// Everything a request needs. Built once per Lambda instance (or dev server process).
pub struct Orchestrator {
    pub(crate) idempotency: Arc<dyn IdempotencyStore>,
    pub(crate) payments: Arc<dyn PaymentStore>,
    pub(crate) tenants: Arc<dyn TenantStore>,
    pub(crate) gateways: GatewayRegistry,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: ServiceConfig,
    pub(crate) live: Option<Arc<crate::gateways::live::LiveGateways>>,
    pub(crate) breakers: Breakers,
    pub(crate) commit: Option<Arc<dyn CreateCommit>>,
    pub(crate) outbox: Option<Arc<dyn crate::ports::OutboxStore>>,
    pub(crate) unmatched: Option<Arc<dyn crate::ports::EventStore>>,
    pub(crate) delivery_queue: Option<Arc<dyn crate::ports::WebhookQueue>>,
    pub(crate) usage: Option<Arc<dyn crate::ports::UsageStore>>,
    tenant_cache: Mutex<HashMap<String, (Tenant, DateTime<Utc>)>>,
    /// The day each key was last recorded as used by this instance (one write per key a day).
    keys_touched: Mutex<HashMap<String, NaiveDate>>,
    pub(crate) audit: Option<Arc<dyn crate::ports::AuditStore>>,
    pub(crate) reconciliation: Option<Arc<dyn crate::ports::ReconciliationStore>>,
    /// Merchant callback endpoints' health (`/v1/webhook_endpoint`).
    pub(crate) endpoints: Option<Arc<dyn crate::ports::EndpointHealthStore>>,
    /// The worker's callback sender (same timeouts, no redirects, SSRF guard unless loopback
    /// callbacks are allowed), for the test event `POST /v1/webhook_endpoint/test` sends; built
    /// on first use, so a cold start pays nothing for it.
    pub(crate) callback_sender: std::sync::OnceLock<Arc<dyn crate::ports::CallbackSender>>,
    /// Per tenant: the minute (service clock) of its test events on this instance and how many
    /// it sent in it (`webhook_test.rs`: at most `TEST_EVENTS_PER_MINUTE`).
    pub(crate) test_events: Mutex<HashMap<String, (i64, u32)>>,
}

/// Attempt code (and API error code) of a gateway a live tenant has no credentials for.
pub const GATEWAY_NOT_CONFIGURED: &str = "gateway_not_configured";

/// A gateway implementation and the account it charges at.
#[derive(Clone)]
pub(crate) struct Resolved {
    pub imp: Arc<dyn Gateway>,
    pub account: GatewayAccount,
}

fn credentials_changed(name: &str) -> ApiError {
    ApiError::GatewayCredentialsChanged(format!(
        "this payment's charge was made with {name} credentials this account no longer has (deleted or replaced); nothing was called and nothing changed. Register the same credentials again to act on it"
    ))
}

/// A live client that could not be had, as a gateway error: missing or unusable credentials
/// are `misconfigured` (nothing created), an unreadable store `unavailable`.
fn live_error(
    tenant: &Tenant,
    name: &str,
    e: crate::gateways::live::LiveGatewayError,
) -> GatewayError {
    use crate::gateways::live::LiveGatewayError as E;
    let (class, code) = match &e {
        E::Missing(_) | E::Changed(_) => (ErrorClass::Misconfigured, "credentials_missing"),
        E::Bad(..) => (ErrorClass::Misconfigured, "credentials_invalid"),
        E::Store(_) => (ErrorClass::Unavailable, "credentials_unavailable"),
    };
    tracing::error!(tenant = %tenant.id, gateway = name, error = %e, "live gateway unavailable");
    GatewayError {
        class,
        code: code.into(),
        message: e.to_string(),
    }
}

/// Who made a request: the tenant and the key it used.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: Tenant,
    /// `key_…` (or `key_file_…` for a key from the tenants file).
    pub key_id: String,
}

impl Orchestrator {
    /// Wires the ports.
    pub fn new(
        idempotency: Arc<dyn IdempotencyStore>,
        payments: Arc<dyn PaymentStore>,
        tenants: Arc<dyn TenantStore>,
        gateways: GatewayRegistry,
        clock: Arc<dyn Clock>,
        config: ServiceConfig,
    ) -> Self {
        let breakers = Breakers::new(
            Arc::new(crate::adapters::memory::MemoryBreakerStore::default()),
            clock.clone(),
            config.breaker.clone(),
        );
        Self {
            idempotency,
            payments,
            tenants,
            gateways,
            clock,
            config,
            live: None,
            breakers,
            commit: None,
            outbox: None,
            unmatched: None,
            delivery_queue: None,
            endpoints: None,
            usage: None,
            tenant_cache: Mutex::new(HashMap::new()),
            keys_touched: Mutex::new(HashMap::new()),
            audit: None,
            reconciliation: None,
            callback_sender: std::sync::OnceLock::new(),
            test_events: Mutex::new(HashMap::new()),
        }
    }

    /// Sends test events with `sender` instead of the default `HttpCallbackSender`.
    pub fn with_callback_sender(self, sender: Arc<dyn crate::ports::CallbackSender>) -> Self {
        let _ = self.callback_sender.set(sender);
        self
    }

    /// Keeps breaker state in `store` (DynamoDB in deployments, so every instance shares it)
    /// instead of this process's memory.
    pub fn with_breaker_store(mut self, store: Arc<dyn BreakerStore>) -> Self {
        self.breakers = Breakers::new(store, self.clock.clone(), self.config.breaker.clone());
        self
    }

    /// Serves the events API from `outbox` and the unmatched-webhook records.
    pub fn with_events(
        mut self,
        outbox: Arc<dyn crate::ports::OutboxStore>,
        unmatched: Arc<dyn crate::ports::EventStore>,
    ) -> Self {
        self.outbox = Some(outbox);
        self.unmatched = Some(unmatched);
        self
    }

    /// Keeps reconciliation runs (`GET /v1/reconciliation/runs`).
    pub fn with_reconciliation(
        mut self,
        store: Arc<dyn crate::ports::ReconciliationStore>,
    ) -> Self {
        self.reconciliation = Some(store);
        self
    }

    /// Serves `/v1/webhook_endpoint` from the worker's endpoint health records.
    pub fn with_endpoints(mut self, store: Arc<dyn crate::ports::EndpointHealthStore>) -> Self {
        self.endpoints = Some(store);
        self
    }

    /// Adds the audit log of configuration changes.
    pub fn with_audit(mut self, audit: Arc<dyn crate::ports::AuditStore>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// Adds the usage counters `GET /v1/usage` reads.
    pub fn with_usage(mut self, usage: Arc<dyn crate::ports::UsageStore>) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Sets the resend queue on an orchestrator already built (tests wire the queue later).
    pub fn set_delivery_queue(&mut self, queue: Arc<dyn crate::ports::WebhookQueue>) {
        self.delivery_queue = Some(queue);
    }

    /// The queue resends go to (the worker's queue).
    pub fn with_delivery_queue(mut self, queue: Arc<dyn crate::ports::WebhookQueue>) -> Self {
        self.delivery_queue = Some(queue);
        self
    }

    /// Stores a created payment and its idempotency answer in one atomic write (one DynamoDB
    /// request instead of two).
    pub fn with_create_commit(mut self, commit: Arc<dyn CreateCommit>) -> Self {
        self.commit = Some(commit);
        self
    }

    /// Enables real gateway clients for the tenants that list them in `live_gateways`.
    pub fn with_live_gateways(mut self, live: Arc<crate::gateways::live::LiveGateways>) -> Self {
        self.live = Some(live);
        self
    }

    /// The implementation of `name` for a new charge of this tenant, and the account it charges
    /// at. A gateway with registered credentials is the tenant's real client (in either mode);
    /// any other is the simulator in test mode and **not configured** in live mode — a live
    /// tenant never reaches a simulator. A missing or unusable credential is `misconfigured`:
    /// nothing can have been created, so routing may move on.
    pub(crate) async fn resolve_for_charge(
        &self,
        tenant: &Tenant,
        name: &str,
    ) -> Result<Resolved, GatewayError> {
        let mode = tenant.mode();
        if !tenant.uses_credentials(name) {
            if mode == AccountMode::Live {
                return Err(GatewayError {
                    class: ErrorClass::Misconfigured,
                    code: GATEWAY_NOT_CONFIGURED.into(),
                    message: format!(
                        "{name} has no credentials for this live account (a live account never uses a simulator)"
                    ),
                });
            }
            return Ok(Resolved {
                imp: self.simulator(name)?,
                account: GatewayAccount::simulator(),
            });
        }
        let live = self.live.as_ref().ok_or_else(|| GatewayError {
            class: ErrorClass::Misconfigured,
            code: "live_gateways_disabled".into(),
            message: "this deployment has no credential store".into(),
        })?;
        let c = live
            .get(&tenant.id, name)
            .await
            .map_err(|e| live_error(tenant, name, e))?;
        Ok(Resolved {
            imp: c.client,
            account: GatewayAccount {
                mode,
                credentials: Some(c.account),
                credential_version: c.version,
            },
        })
    }

    /// The implementation of `name` that reaches exactly `account`: the simulator for a test
    /// payment the simulator made, else the client of the very credentials that made the
    /// charge. Deleted or replaced credentials are 409 `gateway_credentials_changed`: nothing is
    /// called, so a charge is never looked for (and "not found") in another account, and a live
    /// payment never reaches a simulator.
    pub(crate) async fn resolve_account(
        &self,
        tenant: &Tenant,
        name: &str,
        account: &GatewayAccount,
    ) -> Result<Arc<dyn Gateway>, ApiError> {
        let Some(fingerprint) = &account.credentials else {
            if account.mode == AccountMode::Live {
                return Err(credentials_changed(name));
            }
            return self.simulator(name).map_err(|e| ApiError::Gateway {
                code: crate::error::gateway_failure_code(crate::error::GatewayOp::Charge, e.class),
                message: format!("{} ({})", e.message, e.code),
            });
        };
        let live = self
            .live
            .as_ref()
            .ok_or_else(|| credentials_changed(name))?;
        live.pinned(&tenant.id, name, fingerprint)
            .await
            .map_err(|e| match e {
                LiveGatewayError::Missing(_) | LiveGatewayError::Changed(_) => {
                    tracing::warn!(tenant = %tenant.id, gateway = name, "the credentials that made a payment's charge are gone or replaced; refused");
                    credentials_changed(name)
                }
                LiveGatewayError::Bad(..) => ApiError::Gateway {
                    code: "gateway_credentials_invalid",
                    message: format!("the stored {name} credentials cannot make a client"),
                },
                LiveGatewayError::Store(e) => e.into(),
            })
    }

    /// The implementation to ask about a stored payment (refresh, refund, cancel): its pinned
    /// account ([`Self::resolve_account`]). A payment stored before accounts were pinned is
    /// resolved conservatively: a simulator's charge id (`sim_…`) → the simulator; a test
    /// tenant's gateway without credentials → the simulator (as it was made); a charge id of a
    /// real gateway → the tenant's current credentials, which can only act on that very charge
    /// by its id (another account answers "no such charge", an error, never a settlement); no
    /// charge id on a gateway with credentials, or in live mode → 409, since a look-up by our
    /// payment id in the wrong account would read as "no charge".
    pub(crate) async fn resolve_for_payment(
        &self,
        tenant: &Tenant,
        payment: &Payment,
        name: &str,
    ) -> Result<Arc<dyn Gateway>, ApiError> {
        if let Some(account) = &payment.account {
            return self.resolve_account(tenant, name, account).await;
        }
        let gid = payment.gateway_payment_id.as_deref();
        let simulated = gid.is_some_and(|g| g.starts_with(crate::gateways::simulator::ID_PREFIX))
            || (tenant.mode() == AccountMode::Test && !tenant.uses_credentials(name));
        if simulated {
            return self
                .resolve_account(tenant, name, &GatewayAccount::simulator())
                .await;
        }
        if gid.is_none() {
            return Err(credentials_changed(name));
        }
        let live = self
            .live
            .as_ref()
            .ok_or_else(|| credentials_changed(name))?;
        match live.get(&tenant.id, name).await {
            Ok(c) => Ok(c.client),
            Err(LiveGatewayError::Missing(_) | LiveGatewayError::Changed(_)) => {
                Err(credentials_changed(name))
            }
            Err(e) => {
                let e = live_error(tenant, name, e);
                Err(ApiError::Gateway {
                    code: crate::error::gateway_failure_code(
                        crate::error::GatewayOp::Charge,
                        e.class,
                    ),
                    message: format!("{} ({})", e.message, e.code),
                })
            }
        }
    }

    fn simulator(&self, name: &str) -> Result<Arc<dyn Gateway>, GatewayError> {
        self.gateways
            .get(name)
            .cloned()
            .ok_or_else(|| GatewayError {
                class: ErrorClass::Misconfigured,
                code: "unknown_gateway".into(),
                message: format!("gateway {name} is not registered"),
            })
    }

    /// The instant a request must be done by: the caller's deadline (the Lambda's), or the
    /// default in-flight time when there is none. A deadline already past on arrival is no real
    /// invocation's (local Lambda emulators send one) and counts as none. Claims and every
    /// gateway call budget use this one value.
    pub(crate) fn request_deadline(
        &self,
        deadline: Option<chrono::DateTime<chrono::Utc>>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        deadline
            .filter(|d| *d > now)
            .unwrap_or(now + self.config.default_in_flight)
    }

    /// The service configuration in force.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// Resolves `Authorization: Bearer <key>` to a tenant (see [`Self::authenticate_key`]).
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Tenant, ApiError> {
        Ok(self.authenticate_key(authorization).await?.tenant)
    }

    /// Resolves `Authorization: Bearer <key>` to the tenant and the key. Tenants are cached
    /// per instance for `tenant_cache_ttl` (by the service clock), so the hot path doesn't read
    /// the tenant store on every request; only the key's hash is ever held or compared. A
    /// disabled tenant, an expired or revoked key answer 401. A key's use is recorded at most
    /// once a day per instance, on a cache miss.
    pub async fn authenticate_key(
        &self,
        authorization: Option<&str>,
    ) -> Result<Principal, ApiError> {
        let key = authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or(ApiError::Unauthenticated(
                "missing API key: send Authorization: Bearer <key>",
            ))?;
        let hash = hash_api_key(key);
        let now = self.clock.now();
        let ttl = Duration::from_std(self.config.tenant_cache_ttl).unwrap_or(Duration::zero());
        let cached = self
            .cache()
            .get(&hash)
            .filter(|(_, at)| now - *at < ttl)
            .map(|(t, _)| t.clone());
        let tenant = match cached {
            Some(t) => t,
            None => {
                let t = self
                    .tenants
                    .by_api_key_hash(&hash)
                    .await?
                    .ok_or(ApiError::Unauthenticated("invalid API key"))?;
                self.cache().insert(hash.clone(), (t.clone(), now));
                self.touch_key(&hash, now.date_naive()).await;
                t
            }
        };
        if tenant.disabled {
            return Err(ApiError::Unauthenticated("this account is disabled"));
        }
        if !tenant.key_is_valid(&hash, now) {
            return Err(ApiError::Unauthenticated("invalid API key"));
        }
        // The key's prefix decides the request's mode (a key of neither form, from a tenants
        // file written before modes, keeps the tenant's own). Derived in memory from the
        // cached tenant: no store request.
        let key_id = tenant.key_id(&hash);
        let tenant = match AccountMode::of_key(key) {
            Some(mode) => tenant.in_mode(mode),
            None => tenant,
        };
        Ok(Principal { key_id, tenant })
    }

    /// Records the key's use for today, once per instance (a failure only costs the record).
    async fn touch_key(&self, hash: &str, day: NaiveDate) {
        {
            let mut touched = self.keys_touched.lock().unwrap_or_else(|e| e.into_inner());
            if touched.get(hash) == Some(&day) {
                return;
            }
            touched.insert(hash.to_string(), day);
        }
        if let Err(e) = self.tenants.touch_key(hash, day).await {
            tracing::warn!(error = %e, "key use not recorded");
        }
    }

    /// Whether `authorization` carries an operator key.
    pub(crate) fn is_operator(&self, authorization: Option<&str>) -> bool {
        authorization
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .is_some_and(|k| {
                let h = hash_api_key(k);
                self.config
                    .operator_key_hashes
                    .iter()
                    .any(|o| crate::signing::constant_time_eq(o.as_bytes(), h.as_bytes()))
            })
    }

    /// Reads the stored tenant (not the cached copy), applies `change`, and stores it if it
    /// changed — conditional on the version read, re-reading and redoing the change when another
    /// write got in between (so concurrent changes never undo each other). Then this instance
    /// forgets its cached copy. Returns the tenant as stored and what `change` returned.
    pub(crate) async fn modify_tenant<T>(
        &self,
        id: &crate::domain::TenantId,
        mut change: impl FnMut(&mut Tenant) -> Result<T, ApiError>,
    ) -> Result<(Tenant, T), ApiError> {
        // A test twin's configuration is its tenant's: change the tenant's record, and answer
        // with the twin again (so audit entries land in the caller's mode).
        let twin = id.is_test();
        let id = &id.live_id();
        let in_mode = |t: Tenant| {
            if twin {
                t.in_mode(AccountMode::Test)
            } else {
                t
            }
        };
        for _ in 0..5 {
            let before = self
                .tenants
                .get(id)
                .await?
                .ok_or_else(|| ApiError::NotFound("no such tenant".into()))?;
            let mut next = before.clone();
            let out = change(&mut next)?;
            if next == before {
                return Ok((in_mode(next), out));
            }
            // A change that leaves the keys alone (callback URL, routing, secrets) is the
            // tenant record's one conditional write; only a key change rewrites the key index.
            let stored = if next.api_key_sha256 == before.api_key_sha256 {
                self.tenants.replace_keeping_keys(&next).await
            } else {
                self.tenants.replace(&next).await
            };
            match stored {
                Ok(()) => {
                    self.forget_tenant(id);
                    next.version += 1;
                    return Ok((in_mode(next), out));
                }
                Err(crate::ports::StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::IdempotencyKeyInUse)
    }

    /// Drops this instance's cached copy of a tenant (after a change); other instances see the
    /// change when their copy expires (`tenant_cache_ttl`).
    pub(crate) fn forget_tenant(&self, id: &crate::domain::TenantId) {
        let id = id.live_id();
        self.cache().retain(|_, (t, _)| t.id != id);
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Tenant, DateTime<Utc>)>> {
        self.tenant_cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::ServiceConfig;
    use std::time::Duration;

    #[test]
    fn gateway_reserve_setting() {
        let read =
            |v: Option<&str>| ServiceConfig::gateway_reserve_from_lookup(|_| v.map(str::to_string));
        assert_eq!(read(None), Ok(Duration::from_secs(2)));
        assert_eq!(read(Some(" 1500 ")), Ok(Duration::from_millis(1500)));
        assert!(read(Some("2s")).unwrap_err().contains("GATEWAY_RESERVE_MS"));
        assert!(read(Some("-1")).is_err());
    }
}
