//! The dev server's simulator controls (`/simulator/…`): play the payer, the 3DS step, the bank
//! and an outage against the built-in simulators, so a merchant sees on their laptop what
//! real gateways do later.
//!
//! They live in `shared` (next to the simulators whose state they change, and so the API tests
//! reach them through the test harness) but only the dev server mounts them: the Lambdas never
//! route `/simulator/…`, and the public OpenAPI does not list them. Each control changes the
//! simulator the way the outside world changes a gateway, then sends the gateway's own webhook
//! through the real receiver (`/webhooks/{gateway}/{tenant}`), so the queue, the worker, the
//! payment write and the merchant event all run as they do for a real gateway. They take a
//! test-mode key only; a live key is refused (403) and a live payment is never found.

use super::control_http::{
    api, body_object, choice, fail, html, mode_json, payment_json, refund_status_name, refusal,
    Answer,
};
use super::gateway_webhooks::{self, Report};
use super::{three_ds_page, SimCharge, SimulatorGateway};
use crate::api::{handle_webhook, ApiRequest, ApiResponse};
use crate::domain::{Payment, PaymentId, PaymentMethod, PaymentStatus, RefundStatus};
use crate::error::ApiError;
use crate::ports::Tenant;
use crate::service::webhooks::WebhookReceiver;
use crate::service::Orchestrator;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Whether `path` is one of the controls' (the dev server hands these to [`SimulatorControls`]).
pub fn is_simulator_path(path: &str) -> bool {
    path == "/simulator" || path.starts_with("/simulator/")
}

/// The controls over a set of simulators.
pub struct SimulatorControls {
    sims: Vec<Arc<SimulatorGateway>>,
    /// How long a control waits for the worker to apply the webhook it sent, so its answer
    /// shows the payment as it ends up.
    wait: Duration,
}

impl SimulatorControls {
    /// Controls over `sims`, waiting up to 10 s for a webhook's effect.
    pub fn new(sims: &[Arc<SimulatorGateway>]) -> Self {
        Self {
            sims: sims.to_vec(),
            wait: Duration::from_secs(10),
        }
    }

    /// Waits up to `wait` for a webhook's effect before answering what is stored.
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Makes every simulator's 3DS `next_action.url` lead to this server (`http://host:port`).
    pub fn set_public_url(&self, base: &str) {
        for s in &self.sims {
            s.set_three_ds_base(base);
        }
    }

    fn sim(&self, name: &str) -> Option<&Arc<SimulatorGateway>> {
        self.sims
            .iter()
            .find(|s| crate::ports::Gateway::name(s.as_ref()) == name)
    }

    /// Serves one `/simulator/…` request.
    pub async fn handle(
        &self,
        svc: &Orchestrator,
        rx: &WebhookReceiver,
        req: ApiRequest,
    ) -> ApiResponse {
        // No control takes a query parameter; like every API route, one sent is named.
        if let Some((k, _)) = req
            .query
            .as_deref()
            .and_then(|q| form_urlencoded::parse(q.as_bytes()).next())
        {
            let shown: String = k.chars().take(40).collect();
            return fail(
                400,
                "unknown_parameter",
                format!("unknown query parameter `{shown}`"),
                Some(&shown),
            );
        }
        let path = req.path.trim_end_matches('/').to_string();
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        let out = match (segments.as_slice(), &req.method) {
            // The payer's browser follows `next_action.url` with no key: the payment id is
            // the capability, and only test-mode payments are looked for.
            (["simulator", "3ds", id], &Method::GET) => self.three_ds_page(svc, id).await,
            (["simulator", "3ds", id], &Method::POST) => {
                self.three_ds_form(svc, rx, id, &req.body).await
            }
            (["simulator", "gateways"], &Method::GET)
            | (["simulator", "gateways", _], &Method::POST)
            | (["simulator", "payments", _, "pay" | "expire"], &Method::POST)
            | (["simulator", "payments", _, "authenticate"], &Method::POST)
            | (["simulator", "refunds", _, "settle"], &Method::POST) => {
                self.keyed(svc, rx, &segments, &req).await
            }
            (["simulator", "3ds", _], _) => {
                Err(api(ApiError::MethodNotAllowed { allow: "GET, POST" }))
            }
            (["simulator", "gateways"], _) => Err(api(ApiError::MethodNotAllowed { allow: "GET" })),
            (["simulator", "gateways", _], _)
            | (["simulator", "payments", _, "pay" | "authenticate" | "expire"], _)
            | (["simulator", "refunds", _, "settle"], _) => {
                Err(api(ApiError::MethodNotAllowed { allow: "POST" }))
            }
            _ => Err(api(ApiError::NotFound("no such simulator route".into()))),
        };
        let resp = out.unwrap_or_else(|e| e);
        tracing::info!(path = %req.path, status = resp.status, "simulator control");
        resp
    }

    /// The routes that take the tenant's test-mode key.
    async fn keyed(
        &self,
        svc: &Orchestrator,
        rx: &WebhookReceiver,
        segments: &[&str],
        req: &ApiRequest,
    ) -> Answer {
        let auth = req
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let tenant = svc.authenticate(auth).await.map_err(api)?;
        if tenant.livemode() {
            return Err(fail(
                403,
                "simulator_test_mode_only",
                "the simulator controls take a test-mode key (sk_test_…): live payments reach real gateways",
                None,
            ));
        }
        match segments {
            ["simulator", "gateways"] => {
                body_object(&req.body, &[])?;
                Ok(ApiResponse::json(200, self.modes().to_string()))
            }
            ["simulator", "gateways", gw] => {
                let map = body_object(&req.body, &["mode"])?;
                let mode = choice(&map, "mode", &["unavailable", "normal"])?;
                let sim = self.sim(gw).ok_or_else(|| {
                    api(ApiError::NotFound(format!(
                        "no simulator `{}` (efi, stripe, asaas)",
                        gw.chars().take(40).collect::<String>()
                    )))
                })?;
                sim.set_unavailable(mode == "unavailable");
                tracing::warn!(gateway = %gw, mode, "simulator mode switched");
                Ok(ApiResponse::json(200, mode_json(sim).to_string()))
            }
            ["simulator", "payments", id, "pay"] => {
                body_object(&req.body, &[])?;
                let p = self.payment(svc, &tenant, id).await?;
                if p.method == PaymentMethod::Card {
                    return Err(fail(
                        422,
                        "wrong_payment_method",
                        "a card payment is not paid by the payer afterwards: it succeeds at create, or through its 3DS page (next_action.url, or POST /simulator/payments/{id}/authenticate)",
                        None,
                    ));
                }
                self.report(svc, rx, p, Report::Paid).await
            }
            ["simulator", "payments", id, "expire"] => {
                body_object(&req.body, &[])?;
                let p = self.payment(svc, &tenant, id).await?;
                if p.method == PaymentMethod::Card {
                    return Err(fail(
                        422,
                        "wrong_payment_method",
                        "a card payment does not expire; a Pix or boleto does",
                        None,
                    ));
                }
                self.report(svc, rx, p, Report::Expired).await
            }
            ["simulator", "payments", id, "authenticate"] => {
                let map = body_object(&req.body, &["outcome"])?;
                let outcome = choice(&map, "outcome", &["complete", "fail"])?;
                let p = self.payment(svc, &tenant, id).await?;
                self.authenticate(svc, rx, p, outcome == "complete").await
            }
            ["simulator", "refunds", id, "settle"] => {
                let map = body_object(&req.body, &["outcome"])?;
                let outcome = choice(&map, "outcome", &["succeeded", "failed"])?;
                self.settle(svc, rx, &tenant, id, outcome == "succeeded")
                    .await
            }
            _ => Err(api(ApiError::NotFound("no such simulator route".into()))),
        }
    }

    fn modes(&self) -> Value {
        let mut data: Vec<Value> = self.sims.iter().map(|s| mode_json(s)).collect();
        data.sort_by(|a, b| a["gateway"].as_str().cmp(&b["gateway"].as_str()));
        json!({"object": "list", "data": data})
    }

    /// The tenant's test-mode payment `id`.
    async fn payment(
        &self,
        svc: &Orchestrator,
        tenant: &Tenant,
        id: &str,
    ) -> Result<Payment, ApiResponse> {
        let missing = || {
            api(ApiError::NotFound(format!(
                "no such payment: {}",
                id.chars().take(40).collect::<String>()
            )))
        };
        let pid = PaymentId::parse(id).map_err(|_| missing())?;
        svc.payments
            .get(&tenant.id, &pid)
            .await
            .map_err(|e| api(e.into()))?
            .ok_or_else(missing)
    }

    /// The simulator and its charge behind `p`.
    fn charge_of(&self, p: &Payment) -> Result<(Arc<SimulatorGateway>, SimCharge), ApiResponse> {
        let not_sim = || {
            fail(
                422,
                "not_a_simulator_payment",
                format!(
                    "payment {} has no charge at this dev server's simulators: a real gateway's, made before the server restarted, or no charge id yet (an unknown create outcome: GET /v1/payments/{{id}}?refresh=true finds it first)",
                    p.id.as_str()
                ),
                None,
            )
        };
        let sim = p
            .gateway
            .as_deref()
            .and_then(|g| self.sim(g))
            .ok_or_else(not_sim)?;
        let charge = p
            .gateway_payment_id
            .as_deref()
            .and_then(|gid| sim.charge(gid))
            .filter(|c| c.payment_id == p.id)
            .ok_or_else(not_sim)?;
        Ok((sim.clone(), charge))
    }

    async fn authenticate(
        &self,
        svc: &Orchestrator,
        rx: &WebhookReceiver,
        p: Payment,
        complete: bool,
    ) -> Answer {
        if p.method != PaymentMethod::Card {
            return Err(fail(
                422,
                "wrong_payment_method",
                "only a card payment has a 3DS step; pay a Pix or boleto with POST /simulator/payments/{id}/pay",
                None,
            ));
        }
        let report = if complete {
            Report::Paid
        } else {
            Report::AuthenticationFailed
        };
        self.report(svc, rx, p, report).await
    }

    /// Moves the simulator's charge as `report` says, then sends the gateway's webhook.
    async fn report(
        &self,
        svc: &Orchestrator,
        rx: &WebhookReceiver,
        p: Payment,
        report: Report<'_>,
    ) -> Answer {
        let (sim, charge) = self.charge_of(&p)?;
        let gateway = crate::ports::Gateway::name(sim.as_ref()).to_string();
        let (from, to) = match (report, p.method) {
            (Report::Paid, PaymentMethod::Card) => {
                (PaymentStatus::RequiresAction, PaymentStatus::Succeeded)
            }
            (Report::Paid, _) => (PaymentStatus::Pending, PaymentStatus::Succeeded),
            // Stripe keeps the PaymentIntent open for another attempt; Asaas refuses the charge.
            (Report::AuthenticationFailed, _) if gateway == "stripe" => {
                (PaymentStatus::RequiresAction, PaymentStatus::RequiresAction)
            }
            (Report::AuthenticationFailed, _) => {
                (PaymentStatus::RequiresAction, PaymentStatus::Failed)
            }
            // Stripe cancels the PaymentIntent; an Asaas charge stays payable (overdue); an
            // EFI cobrança reads as expired.
            (Report::Expired, _) if gateway == "stripe" => {
                (PaymentStatus::Pending, PaymentStatus::Canceled)
            }
            (Report::Expired, _) if gateway == "efi" => {
                (PaymentStatus::Pending, PaymentStatus::Expired)
            }
            (Report::Expired, _) => (PaymentStatus::Pending, PaymentStatus::Pending),
            (Report::Refund(_), _) => (charge.status, charge.status),
        };
        // The secrets first: a charge is never moved when no webhook can tell of it.
        let webhook = self.webhook(svc, &p, &gateway, &charge, report).await?;
        if let Err(now) = sim.move_charge(&charge.gateway_payment_id, &[from], to) {
            return Err(refusal(&p, now));
        }
        let Some(webhook) = webhook else {
            // The gateway tells nobody (EFI): the payment learns it by asking, as a
            // reconciliation run or `?refresh=true` does.
            return self.refreshed(svc, &p).await;
        };
        if let Err(resp) = self.send(rx, webhook).await {
            // The receiver refused it (queue down): the payer's action did not happen.
            let _ = sim.move_charge(&charge.gateway_payment_id, &[to], from);
            return Err(resp);
        }
        if report == Report::AuthenticationFailed && from == to {
            // Nothing will change (Stripe after a failed authentication): no wait.
            return Ok(payment_json(&p, 200));
        }
        self.settled(svc, &p).await
    }

    async fn webhook(
        &self,
        svc: &Orchestrator,
        p: &Payment,
        gateway: &str,
        charge: &SimCharge,
        report: Report<'_>,
    ) -> Result<Option<gateway_webhooks::SignedWebhook>, ApiResponse> {
        let stored = svc
            .tenants
            .get(&p.tenant_id)
            .await
            .map_err(|e| api(e.into()))?
            .ok_or_else(|| api(ApiError::NotFound("no such tenant".into())))?;
        gateway_webhooks::build(
            gateway,
            &p.tenant_id,
            &stored.webhook_secrets,
            charge,
            p.method,
            report,
            chrono::Utc::now().timestamp(),
        )
        .map_err(|missing| {
            fail(
                409,
                "webhook_secret_missing",
                format!(
                    "the tenant has no {} secret, so the receiver would refuse the gateway's webhook: set it in the tenants file or register it with the gateway's credentials",
                    missing.0
                ),
                None,
            )
        })
    }

    /// Posts through the receiver, as the gateway's HTTP request would arrive.
    async fn send(
        &self,
        rx: &WebhookReceiver,
        w: gateway_webhooks::SignedWebhook,
    ) -> Result<(), ApiResponse> {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (k, v) in &w.headers {
            let v = HeaderValue::from_str(v).map_err(|_| {
                fail(
                    409,
                    "webhook_secret_missing",
                    "a webhook secret holds characters no HTTP header may carry",
                    None,
                )
            })?;
            headers.insert(*k, v);
        }
        let resp = handle_webhook(
            rx,
            ApiRequest {
                method: Method::POST,
                path: w.path,
                query: w.query,
                headers,
                body: w.body.into(),
                deadline: None,
                source_ip: Some(std::net::IpAddr::from([127, 0, 0, 1])),
                client_cert_issuer: None,
            },
        )
        .await;
        if resp.status == 200 {
            Ok(())
        } else {
            Err(fail(
                502,
                "webhook_rejected",
                format!(
                    "the webhook receiver answered {}: {}",
                    resp.status, resp.body
                ),
                None,
            ))
        }
    }

    /// The payment after reading its charge at the gateway (`?refresh=true`).
    async fn refreshed(&self, svc: &Orchestrator, p: &Payment) -> Answer {
        let tenant = svc
            .tenants
            .get(&p.tenant_id)
            .await
            .map_err(|e| api(e.into()))?
            .ok_or_else(|| api(ApiError::NotFound("no such tenant".into())))?;
        let body = svc
            .get_payment(&tenant, p.id.as_str(), Some("refresh=true"), None)
            .await
            .map_err(api)?;
        Ok(ApiResponse::json(200, body))
    }

    /// The payment once the worker applied the webhook (200), or as it is when `wait` ran out
    /// (202: the webhook is queued and will still be applied).
    async fn settled(&self, svc: &Orchestrator, before: &Payment) -> Answer {
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            let now = svc
                .payments
                .get(&before.tenant_id, &before.id)
                .await
                .map_err(|e| api(e.into()))?
                .ok_or_else(|| api(ApiError::NotFound("the payment vanished".into())))?;
            if now.version != before.version {
                return Ok(payment_json(&now, 200));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(payment_json(&now, 202));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn settle(
        &self,
        svc: &Orchestrator,
        rx: &WebhookReceiver,
        tenant: &Tenant,
        refund_id: &str,
        succeeded: bool,
    ) -> Answer {
        let shown: String = refund_id.chars().take(40).collect();
        let missing = || api(ApiError::NotFound(format!("no such refund: {shown}")));
        let ulid = refund_id.strip_prefix("ref_").ok_or_else(missing)?;
        let ulid = ulid::Ulid::from_string(ulid).map_err(|_| missing())?;
        let key = format!("REF{ulid}");
        let (sim, refund) = self
            .sims
            .iter()
            .find_map(|s| s.refund_by_key(&key).map(|r| (s.clone(), r)))
            .ok_or_else(missing)?;
        let charge = sim.charge(&refund.gateway_payment_id).ok_or_else(missing)?;
        // Only the tenant's own test-mode payment: another tenant's refund is not found.
        let p = self
            .payment(svc, tenant, charge.payment_id.as_str())
            .await
            .map_err(|_| missing())?;
        let stored = p
            .refunds
            .iter()
            .find(|r| r.id == format!("ref_{ulid}"))
            .ok_or_else(missing)?;
        if stored.status != RefundStatus::Pending {
            return Err(fail(
                409,
                "refund_not_pending",
                format!(
                    "refund {} is {} already; only a pending refund (amount ending in 58) is settled later",
                    stored.id,
                    refund_status_name(stored.status)
                ),
                None,
            ));
        }
        let gateway = crate::ports::Gateway::name(sim.as_ref()).to_string();
        let mut preview = refund.clone();
        preview.status = if succeeded {
            RefundStatus::Succeeded
        } else {
            RefundStatus::Failed
        };
        let webhook = self
            .webhook(svc, &p, &gateway, &charge, Report::Refund(&preview))
            .await?
            .ok_or_else(|| api(ApiError::Internal("no refund webhook built".into())))?;
        let settled = sim.settle_refund(&key, succeeded).map_err(|now| {
            fail(
                409,
                "refund_not_pending",
                format!(
                    "the gateway has refund {} {} already",
                    preview.refund_key,
                    now.map_or("unknown", refund_status_name)
                ),
                None,
            )
        })?;
        tracing::info!(refund = %settled.refund_key, gateway = %gateway, "simulated refund settled");
        self.send(rx, webhook).await?;
        self.settled(svc, &p).await
    }

    /// The test-mode payment `id` of whichever tenant has it (the browser sends no key). A scan
    /// of the tenants: the dev server holds a handful.
    async fn find_test_payment(
        &self,
        svc: &Orchestrator,
        id: &str,
    ) -> Result<Option<Payment>, ApiError> {
        let Ok(pid) = PaymentId::parse(id) else {
            return Ok(None);
        };
        for t in svc.tenants.list().await? {
            // The test twin's partition; and the tenant's own while it is in test mode (keys
            // from a tenants file written before modes keep their data there).
            let mut partitions = vec![t.id.test_id()];
            if !t.livemode() {
                partitions.push(t.id.clone());
            }
            for id in partitions {
                if let Some(p) = svc.payments.get(&id, &pid).await? {
                    return Ok(Some(p));
                }
            }
        }
        Ok(None)
    }

    async fn three_ds_page(&self, svc: &Orchestrator, id: &str) -> Answer {
        let p = self.find_test_payment(svc, id).await.map_err(api)?;
        Ok(match p {
            Some(p) if p.method == PaymentMethod::Card => html(
                200,
                three_ds_page::render(
                    &p.id,
                    &format!(
                        "{} {} in minor units",
                        p.amount.currency(),
                        p.amount.minor()
                    ),
                    p.status,
                ),
            ),
            _ => html(404, three_ds_page::not_found()),
        })
    }

    async fn three_ds_form(
        &self,
        svc: &Orchestrator,
        rx: &WebhookReceiver,
        id: &str,
        body: &[u8],
    ) -> Answer {
        let mut outcome = None;
        for (k, v) in form_urlencoded::parse(body) {
            match (k.as_ref(), v.as_ref()) {
                ("outcome", "complete") => outcome = Some(true),
                ("outcome", "fail") => outcome = Some(false),
                ("outcome", _) => {
                    return Err(fail(
                        400,
                        "parameter_invalid",
                        "`outcome` must be complete or fail",
                        Some("outcome"),
                    ))
                }
                (other, _) => {
                    let shown: String = other.chars().take(40).collect();
                    return Err(fail(
                        400,
                        "unknown_parameter",
                        format!("unknown parameter `{shown}`"),
                        Some(&shown),
                    ));
                }
            }
        }
        let complete = outcome.ok_or_else(|| {
            fail(
                400,
                "parameter_missing",
                "`outcome` is required: complete or fail",
                Some("outcome"),
            )
        })?;
        let Some(p) = self.find_test_payment(svc, id).await.map_err(api)? else {
            return Ok(html(404, three_ds_page::not_found()));
        };
        match self.authenticate(svc, rx, p, complete).await {
            // Back to the page, which now shows where the payment stands.
            Ok(_) => Ok(ApiResponse {
                status: 303,
                headers: vec![
                    ("location", format!("/simulator/3ds/{id}")),
                    ("content-type", "text/plain".into()),
                ],
                body: String::new(),
            }),
            Err(e) => Err(e),
        }
    }
}
