//! A fake Stripe API on 127.0.0.1 that speaks the documented wire format: Bearer auth,
//! form-encoded PaymentIntents, `Idempotency-Key` semantics (first response stored and replayed
//! with `Idempotent-Replayed: true`, 500s included; other parameters → 400 idempotency_error;
//! nothing stored for validation failures or 429). The amount's last two digits pick the
//! behaviour: 02 card declined (402), 31 rate limited (429), 40 invalid (400), 50 intent created
//! then 500, 77 intent created then a 2 s stall; anything else succeeds. `set_outage` makes every
//! request fail without effect. A Pix intent expires `payment_method_options[pix]
//! [expires_after_seconds]` (10 s–14 days, else 400) after `created` (default a day); canceling
//! an intent that succeeded, is processing or is canceled is a 400
//! `payment_intent_unexpected_state`, as from Stripe.
//!
//! Intents echo `amount` and `currency` (lowercase) and keep `metadata[payment_id]`, so
//! `GET /v1/payment_intents/search?query=metadata['payment_id']:'…'` finds them (newest first).
//! Switches: `set_answer_currency` records created intents in another currency (a gateway that
//! misread the request), `forget_idempotency_keys` emulates Stripe pruning keys after ~24 h,
//! `rotate_api_key` accepts only a new key. `GET /v1/balance` answers an empty balance.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

#[derive(Default)]
struct State {
    refunded: HashMap<String, i64>,
    by_key: HashMap<String, (String, u16, String)>,
    intents: HashMap<String, Value>,
    created: usize,
    list_requests: usize,
    create_posts: usize,
    requests: usize,
    outage: Option<u16>,
    answer_currency: Option<String>,
    /// Set by `rotate_api_key`: the only key accepted from then on.
    rotated_key: Option<String>,
    /// Requests per accepted key.
    by_key_requests: HashMap<String, usize>,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeStripe {
    pub base_url: String,
    pub api_key: String,
    state: Arc<Mutex<State>>,
}

fn resp(status: u16, body: String, replayed: bool) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r.headers_mut()
        .insert("request-id", "req_fake".parse().unwrap());
    if replayed {
        r.headers_mut()
            .insert("idempotent-replayed", "true".parse().unwrap());
    }
    r
}

fn error(status: u16, kind: &str, code: &str, extra: Value) -> (u16, String) {
    let mut e = json!({"type": kind, "code": code, "message": format!("fake stripe: {code}")});
    if let (Some(o), Some(x)) = (e.as_object_mut(), extra.as_object()) {
        o.extend(x.clone());
    }
    (status, json!({"error": e}).to_string())
}

impl FakeStripe {
    /// Starts on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let fake = FakeStripe {
            base_url: format!("http://{}", listener.local_addr().expect("addr")),
            api_key: "sk_test_fake_0123456789".into(),
            state: Arc::new(Mutex::new(State::default())),
        };
        let f = fake.clone();
        crate::serve_http(listener, move |req| {
            let f = f.clone();
            async move { f.serve(req).await }
        });
        fake
    }

    /// PaymentIntents created (one per executed Idempotency-Key).
    pub fn intents_created(&self) -> usize {
        self.state.lock().unwrap().created
    }

    /// The stored PaymentIntent, as `GET /v1/payment_intents/{id}` answers it.
    pub fn intent(&self, id: &str) -> Option<Value> {
        self.state.lock().unwrap().intents.get(id).cloned()
    }

    /// Sets a stored intent's status (the payer paid meanwhile: `succeeded`).
    pub fn set_intent_status(&self, id: &str, status: &str) {
        if let Some(pi) = self.state.lock().unwrap().intents.get_mut(id) {
            pi["status"] = status.into();
            pi["next_action"] = Value::Null;
        }
    }

    /// Sets a stored intent's amount (a gateway-side record that no longer matches ours).
    pub fn set_intent_amount(&self, id: &str, amount: i64) {
        if let Some(pi) = self.state.lock().unwrap().intents.get_mut(id) {
            pi["amount"] = amount.into();
        }
    }

    /// Total refunded on an intent.
    pub fn refunded(&self, pi: &str) -> i64 {
        self.state
            .lock()
            .unwrap()
            .refunded
            .get(pi)
            .copied()
            .unwrap_or(0)
    }

    /// While set, every request is answered with this status (an `api_error`) and does
    /// nothing: an outage in front of Stripe.
    pub fn set_outage(&self, status: Option<u16>) {
        self.state.lock().unwrap().outage = status;
    }

    /// From now on only `key` is accepted (`api_key` is refused with 401), as after rolling
    /// the key in the Stripe dashboard.
    pub fn rotate_api_key(&self, key: &str) {
        self.state.lock().unwrap().rotated_key = Some(key.to_string());
    }

    /// Authenticated requests made with `key`.
    pub fn requests_with_key(&self, key: &str) -> usize {
        let st = self.state.lock().unwrap();
        st.by_key_requests.get(key).copied().unwrap_or(0)
    }

    /// Requests received.
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    /// `POST /v1/payment_intents` requests received, replays included: a look-up must never
    /// add one.
    pub fn create_posts(&self) -> usize {
        self.state.lock().unwrap().create_posts
    }

    /// While set, intents are created (and answered) in this currency instead of the requested
    /// one, as if Stripe had misread the request.
    pub fn set_answer_currency(&self, currency: Option<&str>) {
        self.state.lock().unwrap().answer_currency = currency.map(str::to_string);
    }

    /// Drops every stored `Idempotency-Key`, as Stripe does once a key is ~24 h old: a create
    /// re-sent after this makes a new PaymentIntent.
    pub fn forget_idempotency_keys(&self) {
        self.state.lock().unwrap().by_key.clear();
    }

    /// Ids of the intents made for one payment id (`metadata[payment_id]`), oldest first.
    pub fn intents_for(&self, payment_id: &str) -> Vec<String> {
        let st = self.state.lock().unwrap();
        let mut found: Vec<(i64, String)> = st
            .intents
            .values()
            .filter(|pi| pi["metadata"]["payment_id"] == payment_id)
            .map(|pi| {
                (
                    pi["created"].as_i64().unwrap_or(0),
                    pi["id"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        found.sort();
        found.into_iter().map(|(_, id)| id).collect()
    }

    async fn serve(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        self.state.lock().unwrap().requests += 1;
        let key = {
            let st = self.state.lock().unwrap();
            st.rotated_key
                .clone()
                .unwrap_or_else(|| self.api_key.clone())
        };
        let auth_ok = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some(&format!("Bearer {key}"));
        if auth_ok {
            *self
                .state
                .lock()
                .unwrap()
                .by_key_requests
                .entry(key)
                .or_default() += 1;
        }
        if !auth_ok {
            let (s, b) = error(401, "invalid_request_error", "api_key_invalid", json!({}));
            return resp(s, b, false);
        }
        let outage = self.state.lock().unwrap().outage;
        if let Some(status) = outage {
            let (s, b) = error(status, "api_error", "service_unavailable", json!({}));
            return resp(s, b, false);
        }
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or("").to_string();
        let key = req
            .headers()
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let version_ok = req.headers().get("stripe-version").is_some();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
        if !version_ok {
            let (s, b) = error(
                400,
                "invalid_request_error",
                "stripe_version_missing",
                json!({}),
            );
            return resp(s, b, false);
        }
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method.as_str(), segs.as_slice()) {
            ("GET", ["v1", "balance"]) => resp(
                200,
                json!({"object": "balance", "livemode": false,
                    "available": [{"amount": 0, "currency": "brl"}],
                    "pending": [{"amount": 0, "currency": "brl"}]})
                .to_string(),
                false,
            ),
            ("GET", ["v1", "payment_intents", "search"]) => self.search(&query),
            ("GET", ["v1", "payment_intents"]) => self.list(&query),
            ("GET", ["v1", "payment_intents", id]) => {
                match self.state.lock().unwrap().intents.get(*id) {
                    Some(pi) => resp(200, pi.to_string(), false),
                    None => {
                        let (s, b) =
                            error(404, "invalid_request_error", "resource_missing", json!({}));
                        resp(s, b, false)
                    }
                }
            }
            ("POST", rest) => {
                if rest == ["v1", "payment_intents"] {
                    self.state.lock().unwrap().create_posts += 1;
                }
                let Some(key) = key else {
                    let (s, b) = error(
                        400,
                        "invalid_request_error",
                        "idempotency_key_required_by_fake",
                        json!({}),
                    );
                    return resp(s, b, false);
                };
                let fp = format!("{path}?{}", String::from_utf8_lossy(&body));
                if let Some((stored_fp, s, b)) =
                    self.state.lock().unwrap().by_key.get(&key).cloned()
                {
                    if stored_fp != fp {
                        let (s, b) = error(
                            400,
                            "idempotency_error",
                            "idempotency_key_reused",
                            json!({}),
                        );
                        return resp(s, b, false);
                    }
                    return resp(s, b, true);
                }
                let (status, body, store, stall) = match rest {
                    ["v1", "payment_intents"] => self.create(&params),
                    ["v1", "refunds"] => {
                        let get = |k: &str| {
                            params
                                .iter()
                                .find(|(pk, _)| pk == k)
                                .map(|(_, v)| v.clone())
                        };
                        let pi_id = get("payment_intent").unwrap_or_default();
                        let mut st = self.state.lock().unwrap();
                        let Some(pi) = st.intents.get(&pi_id).cloned() else {
                            let (s, b) =
                                error(404, "invalid_request_error", "resource_missing", json!({}));
                            return resp(s, b, false);
                        };
                        let total = pi["amount"].as_i64().unwrap_or(0);
                        let amount = get("amount")
                            .and_then(|a| a.parse::<i64>().ok())
                            .unwrap_or(total);
                        let done = st.refunded.get(&pi_id).copied().unwrap_or(0);
                        if pi["status"] != "succeeded" || done + amount > total {
                            let (s, b) =
                                error(400, "invalid_request_error", "amount_too_large", json!({}));
                            (s, b, false, false)
                        } else {
                            st.refunded.insert(pi_id.clone(), done + amount);
                            let n = st.refunded.len();
                            (200, json!({"id": format!("re_fake{n}_{done}"), "object": "refund", "amount": amount, "payment_intent": pi_id, "status": "succeeded"}).to_string(), true, false)
                        }
                    }
                    ["v1", "payment_intents", id, "cancel"] => {
                        let mut st = self.state.lock().unwrap();
                        match st.intents.get_mut(*id) {
                            // Only an intent still waiting can be canceled.
                            Some(pi)
                                if matches!(
                                    pi["status"].as_str(),
                                    Some("succeeded" | "canceled" | "processing")
                                ) =>
                            {
                                let (s, b) = error(
                                    400,
                                    "invalid_request_error",
                                    "payment_intent_unexpected_state",
                                    json!({"payment_intent": pi.clone()}),
                                );
                                (s, b, false, false)
                            }
                            Some(pi) => {
                                pi["status"] = "canceled".into();
                                pi["next_action"] = Value::Null;
                                (200, pi.to_string(), true, false)
                            }
                            None => {
                                let (s, b) = error(
                                    404,
                                    "invalid_request_error",
                                    "resource_missing",
                                    json!({}),
                                );
                                (s, b, false, false)
                            }
                        }
                    }
                    _ => {
                        let (s, b) =
                            error(404, "invalid_request_error", "unknown_route", json!({}));
                        (s, b, false, false)
                    }
                };
                if store {
                    self.state
                        .lock()
                        .unwrap()
                        .by_key
                        .insert(key, (fp, status, body.clone()));
                }
                if stall {
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                }
                resp(status, body, false)
            }
            _ => {
                let (s, b) = error(404, "invalid_request_error", "unknown_route", json!({}));
                resp(s, b, false)
            }
        }
    }

    /// `GET /v1/payment_intents/search`: only the one query the client sends,
    /// `metadata['payment_id']:'<id>'`, is understood; anything else is a 400 as from Stripe's
    /// query parser.
    fn search(&self, query: &str) -> Response<Full<Bytes>> {
        let q = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "query")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let Some(wanted) = q
            .strip_prefix("metadata['payment_id']:'")
            .and_then(|r| r.strip_suffix('\''))
        else {
            let (s, b) = error(
                400,
                "invalid_request_error",
                "search_query_invalid",
                json!({"param": "query"}),
            );
            return resp(s, b, false);
        };
        let st = self.state.lock().unwrap();
        let mut data: Vec<&Value> = st
            .intents
            .values()
            .filter(|pi| pi["metadata"]["payment_id"] == wanted)
            .collect();
        data.sort_by_key(|pi| std::cmp::Reverse(pi["created"].as_i64().unwrap_or(0)));
        let body = json!({"object": "search_result", "url": "/v1/payment_intents/search",
            "data": data, "has_more": false, "next_page": null});
        resp(200, body.to_string(), false)
    }

    /// `GET /v1/payment_intents`: `created[gte|gt|lte|lt]`, `limit` (1–100, default 10),
    /// `starting_after`; newest first, like Stripe's lists.
    fn list(&self, query: &str) -> Response<Full<Bytes>> {
        let mut bounds: Vec<(String, i64)> = vec![];
        let mut limit = 10usize;
        let mut after: Option<String> = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "created[gte]" | "created[gt]" | "created[lte]" | "created[lt]" => {
                    match v.parse::<i64>() {
                        Ok(n) => bounds.push((k.into_owned(), n)),
                        Err(_) => {
                            let (s, b) = error(
                                400,
                                "invalid_request_error",
                                "parameter_invalid_integer",
                                json!({"param": k}),
                            );
                            return resp(s, b, false);
                        }
                    }
                }
                "limit" => limit = v.parse::<usize>().unwrap_or(10).clamp(1, 100),
                "starting_after" => after = Some(v.into_owned()),
                _ => {}
            }
        }
        self.state.lock().unwrap().list_requests += 1;
        let st = self.state.lock().unwrap();
        let mut data: Vec<&Value> = st
            .intents
            .values()
            .filter(|pi| {
                let c = pi["created"].as_i64().unwrap_or(0);
                bounds.iter().all(|(k, n)| match k.as_str() {
                    "created[gte]" => c >= *n,
                    "created[gt]" => c > *n,
                    "created[lte]" => c <= *n,
                    _ => c < *n,
                })
            })
            .collect();
        data.sort_by(|a, b| {
            (b["created"].as_i64(), b["id"].as_str())
                .cmp(&(a["created"].as_i64(), a["id"].as_str()))
        });
        if let Some(a) = after {
            match data.iter().position(|pi| pi["id"] == a.as_str()) {
                Some(i) => data.drain(..=i),
                None => data.drain(..0),
            };
        }
        let has_more = data.len() > limit;
        data.truncate(limit);
        // `expand[]=data.latest_charge.balance_transaction`: a succeeded intent's charge with
        // Stripe's Brazilian card fee (3.99 % + R$ 0.39) and the net.
        let expand = form_urlencoded::parse(query.as_bytes())
            .any(|(k, v)| k == "expand[]" && v == "data.latest_charge.balance_transaction");
        let data: Vec<Value> = data
            .into_iter()
            .map(|pi| {
                let mut pi = pi.clone();
                if pi["status"] == "succeeded" {
                    let id = pi["id"].as_str().unwrap_or("").replace("pi_", "ch_");
                    let amount = pi["amount"].as_i64().unwrap_or(0);
                    let fee = amount * 399 / 10_000 + 39;
                    pi["latest_charge"] = if expand {
                        json!({"id": id, "object": "charge", "balance_transaction":
                            {"object": "balance_transaction", "amount": amount, "currency": pi["currency"].clone(), "fee": fee, "net": amount - fee}})
                    } else {
                        json!(id)
                    };
                }
                pi
            })
            .collect();
        let body = json!({"object": "list", "url": "/v1/payment_intents", "data": data, "has_more": has_more});
        resp(200, body.to_string(), false)
    }

    /// Listing requests served (`GET /v1/payment_intents`).
    pub fn list_requests(&self) -> usize {
        self.state.lock().unwrap().list_requests
    }

    /// (status, body, store under the key, stall before answering)
    fn create(&self, params: &[(String, String)]) -> (u16, String, bool, bool) {
        let get = |k: &str| {
            params
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.clone())
        };
        let Some(amount) = get("amount").and_then(|a| a.parse::<i64>().ok()) else {
            let (s, b) = error(
                400,
                "invalid_request_error",
                "parameter_missing",
                json!({"param": "amount"}),
            );
            return (s, b, false, false);
        };
        let behaviour = amount % 100;
        if behaviour == 31 {
            let (s, b) = error(429, "invalid_request_error", "rate_limit", json!({}));
            return (s, b, false, false);
        }
        if behaviour == 40 {
            let (s, b) = error(
                400,
                "invalid_request_error",
                "parameter_invalid_integer",
                json!({"param": "amount"}),
            );
            return (s, b, false, false);
        }
        let method = get("payment_method_types[]").unwrap_or_else(|| "card".into());
        // Pix lifetime: 10 s to 14 days, as Stripe documents it (default 86 400 s).
        let pix_expiry = get("payment_method_options[pix][expires_after_seconds]");
        let pix_expiry = match pix_expiry.map(|v| v.parse::<i64>()) {
            None => None,
            Some(Ok(secs)) if method == "pix" && (10..=1_209_600).contains(&secs) => Some(secs),
            Some(_) => {
                let (s, b) = error(
                    400,
                    "invalid_request_error",
                    "parameter_invalid_integer",
                    json!({"param": "payment_method_options[pix][expires_after_seconds]"}),
                );
                return (s, b, false, false);
            }
        };
        let mut st = self.state.lock().unwrap();
        st.created += 1;
        let id = format!("pi_fake{}", st.created);
        let currency = st.answer_currency.clone().or_else(|| get("currency"));
        let created = 1_795_000_000 + i64::try_from(st.created).unwrap_or(0);
        let mut pi = json!({"id": id, "object": "payment_intent", "amount": amount, "currency": currency, "created": created,
            "status": "succeeded", "next_action": null, "last_payment_error": null,
            "metadata": {"payment_id": get("metadata[payment_id]")}, "payment_method_types": [method]});
        match method.as_str() {
            "pix" => {
                pi["status"] = "requires_action".into();
                pi["next_action"] = json!({"type": "pix_display_qr_code", "pix_display_qr_code": {
                    "data": "00020101021226700014br.gov.bcb.pix2548pix.stripe.fake/qr/abc5204000053039865802BR6304ABCD",
                    "image_url_png": "https://qr.stripe.fake/abc.png",
                    "expires_at": created + pix_expiry.unwrap_or(86_400)}});
                pi["payment_method_options"] =
                    json!({"pix": {"expires_after_seconds": pix_expiry}});
            }
            "boleto" => {
                pi["status"] = "requires_action".into();
                pi["next_action"] = json!({"type": "boleto_display_details", "boleto_display_details": {
                    "number": "23793381286000000000000000000000000000000000000", "hosted_voucher_url": "https://boleto.stripe.fake/abc", "expires_at": 1795434000}});
            }
            _ => {}
        }
        if behaviour == 2 {
            pi["status"] = "requires_payment_method".into();
            pi["last_payment_error"] = json!({"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"});
            st.intents.insert(id.clone(), pi.clone());
            let (s, b) = error(
                402,
                "card_error",
                "card_declined",
                json!({"decline_code": "insufficient_funds", "payment_intent": pi}),
            );
            return (s, b, true, false);
        }
        st.intents.insert(id.clone(), pi.clone());
        if behaviour == 50 {
            let (s, b) = error(500, "api_error", "internal_error", json!({}));
            return (s, b, true, false);
        }
        (200, pi.to_string(), true, behaviour == 77)
    }
}
