//! A fake Asaas API v3 on 127.0.0.1: `access_token` auth, mandatory `User-Agent`, customers,
//! payments with `externalReference` lookup, Pix QR codes, `{"errors": [...]}` bodies. No
//! idempotency key (as the real API). The value's centavos pick the behaviour: 02 credit card
//! refused, 31 rate limited, 40 invalid value, 50 payment created then 500, 77 payment created
//! then a 2 s stall; anything else succeeds (card CONFIRMED, Pix/boleto PENDING).
//! `dueDate` must be a `YYYY-MM-DD` date not before today (else 400 `invalid_dueDate`); a paid
//! payment refuses `DELETE` (400). `set_qr_failure` makes `GET /payments/{id}/pixQrCode` fail
//! (a status, or a closed connection) while everything else keeps working; requests and
//! payment POSTs are counted.
//! `GET /finance/balance` answers a zero balance; `rotate_token` accepts only a new key.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

use super::EndpointFailure;

#[derive(Default)]
struct State {
    customers: Vec<Value>,
    payments: Vec<Value>,
    requests: usize,
    payment_posts: usize,
    qr_failure: Option<EndpointFailure>,
    /// Set by `rotate_token`: the only key accepted from then on.
    rotated_token: Option<String>,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeAsaas {
    pub base_url: String,
    pub token: String,
    state: Arc<Mutex<State>>,
}

fn resp(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r
}

fn err(status: u16, code: &str) -> Response<Full<Bytes>> {
    resp(
        status,
        json!({"errors": [{"code": code, "description": format!("fake asaas: {code}")}]}),
    )
}

fn query_param(q: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

impl FakeAsaas {
    /// Starts on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let fake = FakeAsaas {
            base_url: format!("http://{}/v3", listener.local_addr().expect("addr")),
            token: "$aact_hmlg_fake0123456789".into(),
            state: Arc::new(Mutex::new(State::default())),
        };
        let f = fake.clone();
        super::serve_http_or_drop(listener, move |req| {
            let f = f.clone();
            async move { f.serve_or_drop(req).await }
        });
        fake
    }

    /// While set, the Pix QR code endpoint fails this way (the payment itself is unaffected).
    pub fn set_qr_failure(&self, failure: Option<EndpointFailure>) {
        self.state.lock().unwrap().qr_failure = failure;
    }

    /// From now on only `token` is accepted (the old key answers 401).
    pub fn rotate_token(&self, token: &str) {
        self.state.lock().unwrap().rotated_token = Some(token.to_string());
    }

    /// Requests received, of any kind.
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    /// `POST /payments` requests received (a look-up must never add one).
    pub fn payment_posts(&self) -> usize {
        self.state.lock().unwrap().payment_posts
    }

    /// Ids of every payment created.
    pub fn payment_ids(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .payments
            .iter()
            .filter_map(|p| p["id"].as_str().map(str::to_string))
            .collect()
    }

    /// Ids of the payments whose `externalReference` is this (our payment id).
    pub fn payments_for(&self, reference: &str) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .payments
            .iter()
            .filter(|p| p["externalReference"] == reference)
            .filter_map(|p| p["id"].as_str().map(str::to_string))
            .collect()
    }

    /// Applies the QR failure switch, then serves; `None` closes the connection unanswered.
    async fn serve_or_drop(
        &self,
        req: Request<hyper::body::Incoming>,
    ) -> Option<Response<Full<Bytes>>> {
        let failure = {
            let mut st = self.state.lock().unwrap();
            st.requests += 1;
            if req.method() == "POST" && req.uri().path().trim_end_matches('/') == "/v3/payments" {
                st.payment_posts += 1;
            }
            st.qr_failure
                .filter(|_| req.method() == "GET" && req.uri().path().ends_with("/pixQrCode"))
        };
        match failure {
            Some(EndpointFailure::CloseConnection) => None,
            Some(EndpointFailure::Status(status)) => Some(err(status, "qr_code_unavailable")),
            None => Some(self.serve(req).await),
        }
    }

    /// A stored payment, as `GET /v3/payments/{id}` answers it.
    pub fn payment(&self, id: &str) -> Option<Value> {
        self.find(id)
    }

    /// Sets a payment's status (the payer paid meanwhile: `RECEIVED`).
    pub fn set_payment_status(&self, id: &str, status: &str) {
        let mut st = self.state.lock().unwrap();
        if let Some(p) = st.payments.iter_mut().find(|p| p["id"] == id) {
            p["status"] = status.into();
        }
    }

    /// Refunds `cents` of a payment outside the orchestrator (the merchant in Asaas's own
    /// app): a `DONE` entry in its `refunds`, `REFUNDED` once all is returned.
    pub fn refund_outside(&self, id: &str, cents: i64) {
        let mut st = self.state.lock().unwrap();
        if let Some(p) = st.payments.iter_mut().find(|p| p["id"] == id) {
            let entry = json!({"dateCreated": "2026-11-21 10:28:40", "status": "DONE", "value": serde_json::value::RawValue::from_string(shared::domain::format_decimal(cents, 2)).unwrap(), "description": null});
            match p["refunds"].as_array_mut() {
                Some(list) => list.push(entry),
                None => p["refunds"] = json!([entry]),
            }
            let total = shared::domain::parse_decimal(&p["value"].to_string(), 2).unwrap_or(0);
            if refunded_cents(p) >= total {
                p["status"] = "REFUNDED".into();
            }
        }
    }

    /// Payments (charges) created.
    pub fn payments_created(&self) -> usize {
        self.state.lock().unwrap().payments.len()
    }

    /// Total refunded on a payment, in centavos.
    pub fn refunded(&self, id: &str) -> i64 {
        self.find(id).map(|p| refunded_cents(&p)).unwrap_or(0)
    }

    /// Customers created.
    pub fn customers_created(&self) -> usize {
        self.state.lock().unwrap().customers.len()
    }

    async fn serve(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        if req
            .headers()
            .get("access_token")
            .and_then(|v| v.to_str().ok())
            != Some(
                self.state
                    .lock()
                    .unwrap()
                    .rotated_token
                    .clone()
                    .unwrap_or_else(|| self.token.clone())
                    .as_str(),
            )
        {
            return err(401, "invalid_access_token");
        }
        if req.headers().get("user-agent").is_none() {
            return err(400, "user_agent_required");
        }
        let method = req.method().clone();
        let path = req.uri().path().trim_start_matches("/v3").to_string();
        let query = req.uri().query().unwrap_or("").to_string();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method.as_str(), segs.as_slice()) {
            ("GET", ["finance", "balance"]) => resp(200, json!({"balance": 0.0})),
            ("GET", ["customers"]) => {
                let doc = query_param(&query, "cpfCnpj");
                let st = self.state.lock().unwrap();
                let data: Vec<&Value> = st
                    .customers
                    .iter()
                    .filter(|c| doc.as_deref().is_none_or(|d| c["cpfCnpj"] == d))
                    .collect();
                resp(
                    200,
                    json!({"object": "list", "hasMore": false, "totalCount": data.len(), "limit": 10, "offset": 0, "data": data}),
                )
            }
            ("POST", ["customers"]) => {
                let Ok(mut c) = serde_json::from_slice::<Value>(&body) else {
                    return err(400, "invalid_json");
                };
                let mut st = self.state.lock().unwrap();
                c["id"] = format!("cus_{:012}", st.customers.len() + 1).into();
                c["object"] = "customer".into();
                st.customers.push(c.clone());
                resp(200, c)
            }
            ("GET", ["payments"]) => {
                // `externalReference`, `dateCreated[ge]`/`[le]` (São Paulo dates, compared as
                // text: both are `YYYY-MM-DD`), `offset`, `limit` (default 10, at most 100).
                let r = query_param(&query, "externalReference");
                let ge = query_param(&query, "dateCreated[ge]");
                let le = query_param(&query, "dateCreated[le]");
                let offset: usize = query_param(&query, "offset")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or(0);
                let limit: usize = query_param(&query, "limit")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or(10)
                    .clamp(1, 100);
                let st = self.state.lock().unwrap();
                let all: Vec<&Value> = st
                    .payments
                    .iter()
                    .filter(|p| r.as_deref().is_none_or(|r| p["externalReference"] == r))
                    .filter(|p| {
                        let d = p["dateCreated"].as_str().unwrap_or("");
                        ge.as_deref().is_none_or(|g| d >= g) && le.as_deref().is_none_or(|l| d <= l)
                    })
                    .collect();
                let data: Vec<&Value> = all.iter().skip(offset).take(limit).copied().collect();
                let has_more = offset + data.len() < all.len();
                resp(
                    200,
                    json!({"object": "list", "hasMore": has_more, "totalCount": all.len(), "limit": limit, "offset": offset, "data": data}),
                )
            }
            ("POST", ["payments"]) => self.create(&body).await,
            ("GET", ["payments", id]) => match self.find(id) {
                Some(p) => resp(200, p),
                None => err(404, "not_found"),
            },
            ("DELETE", ["payments", id]) => {
                let mut st = self.state.lock().unwrap();
                match st.payments.iter_mut().find(|p| p["id"] == *id) {
                    // A paid payment cannot be removed (the code is an assumption).
                    Some(p)
                        if matches!(
                            p["status"].as_str(),
                            Some("RECEIVED" | "CONFIRMED" | "REFUNDED")
                        ) =>
                    {
                        err(400, "invalid_action")
                    }
                    Some(p) => {
                        p["deleted"] = true.into();
                        resp(200, json!({"deleted": true, "id": id}))
                    }
                    None => err(404, "not_found"),
                }
            }
            ("POST", ["payments", id, "refund"]) => {
                let Ok(raw) = serde_json::from_slice::<
                    std::collections::BTreeMap<String, Box<serde_json::value::RawValue>>,
                >(&body) else {
                    return err(400, "invalid_json");
                };
                let value = raw
                    .get("value")
                    .and_then(|v| shared::domain::parse_decimal(v.get(), 2));
                let description: Option<String> = raw
                    .get("description")
                    .and_then(|d| serde_json::from_str(d.get()).ok());
                let mut st = self.state.lock().unwrap();
                let Some(p) = st.payments.iter_mut().find(|p| p["id"] == *id) else {
                    return err(404, "not_found");
                };
                let total = shared::domain::parse_decimal(&p["value"].to_string(), 2).unwrap_or(0);
                let amount = value.unwrap_or(total - refunded_cents(p));
                if !matches!(p["status"].as_str(), Some("CONFIRMED" | "RECEIVED"))
                    || refunded_cents(p) + amount > total
                {
                    return err(400, "invalid_value");
                }
                let entry = json!({"dateCreated": "2026-11-21 10:28:40", "status": "DONE", "value": serde_json::value::RawValue::from_string(shared::domain::format_decimal(amount, 2)).unwrap(), "description": description});
                match p["refunds"].as_array_mut() {
                    Some(list) => list.push(entry),
                    None => p["refunds"] = json!([entry]),
                }
                if refunded_cents(p) == total {
                    p["status"] = "REFUNDED".into();
                }
                resp(200, p.clone())
            }
            ("GET", ["payments", id, "pixQrCode"]) => match self.find(id) {
                Some(_) => resp(
                    200,
                    json!({"success": true, "encodedImage": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
                    "payload": "00020101021226820014br.gov.bcb.pix2560qrpix.asaas.fake/qr/cobv/abc5204000053039865802BR6304ABCD",
                    "expirationDate": "2026-11-23 23:59:59"}),
                ),
                None => err(404, "not_found"),
            },
            _ => err(404, "not_found"),
        }
    }

    fn find(&self, id: &str) -> Option<Value> {
        self.state
            .lock()
            .unwrap()
            .payments
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
    }

    async fn create(&self, body: &[u8]) -> Response<Full<Bytes>> {
        // The value is read as text, like the client does: the fake must not round either.
        let Ok(raw) = serde_json::from_slice::<
            std::collections::BTreeMap<String, Box<serde_json::value::RawValue>>,
        >(body) else {
            return err(400, "invalid_json");
        };
        let Some(value_text) = raw.get("value").map(|v| v.get().to_string()) else {
            return err(400, "invalid_value");
        };
        let cents: i64 = match value_text.split_once('.') {
            Some((_, f)) => f.get(..2).and_then(|c| c.parse().ok()).unwrap_or(0),
            None => 0,
        };
        let p: Value = serde_json::from_slice(body).unwrap_or_default();
        // `dueDate`: a `YYYY-MM-DD` date, not before today.
        let due = p["dueDate"]
            .as_str()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        if due.is_none_or(|d| d < chrono::Utc::now().date_naive()) {
            return err(400, "invalid_dueDate");
        }
        match cents {
            2 if p["billingType"] == "CREDIT_CARD" => return err(400, "invalid_creditCard"),
            31 => return err(429, "rate_limit_exceeded"),
            40 => return err(400, "invalid_value"),
            _ => {}
        }
        let id = format!("pay_{:012}", self.state.lock().unwrap().payments.len() + 1);
        let status = if p["billingType"] == "CREDIT_CARD" {
            "CONFIRMED"
        } else {
            "PENDING"
        };
        let boleto = p["billingType"] == "BOLETO";
        // Asaas's fee: R$ 0.99 a charge here (never more than the value); `netValue` is the rest.
        let minor = shared::domain::parse_decimal(&value_text, 2).unwrap_or(0);
        let net_text = shared::domain::format_decimal(minor - minor.min(99), 2);
        let created = (chrono::Utc::now() - chrono::Duration::hours(3))
            .format("%Y-%m-%d")
            .to_string();
        let text = format!(
            r#"{{"object":"payment","id":"{id}","dateCreated":"{created}","customer":{},"value":{value_text},"netValue":{net_text},"billingType":{},"status":"{status}","dueDate":{},"externalReference":{},"deleted":false,"invoiceUrl":"https://asaas.fake/i/{id}","bankSlipUrl":{},"identificationField":{},"refunds":null}}"#,
            p["customer"],
            p["billingType"],
            p["dueDate"],
            p["externalReference"],
            if boleto {
                format!("\"https://asaas.fake/b/{id}\"")
            } else {
                "null".into()
            },
            if boleto {
                "\"23793.38128 60000.000003 00000.000400 1 00000000001990\"".to_string()
            } else {
                "null".into()
            },
        );
        self.state
            .lock()
            .unwrap()
            .payments
            .push(serde_json::from_str(&text).unwrap_or_default());
        match cents {
            50 => err(500, "internal_error"),
            77 => {
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                resp(200, serde_json::from_str(&text).unwrap_or_default())
            }
            // Created, but the answer never comes in time: the caller dies waiting (the
            // black-box crash scenarios of `loadtest clock`).
            78 => {
                tokio::time::sleep(std::time::Duration::from_secs(120)).await;
                resp(200, serde_json::from_str(&text).unwrap_or_default())
            }
            _ => {
                let mut r = Response::new(Full::new(Bytes::from(text)));
                r.headers_mut()
                    .insert("content-type", "application/json".parse().unwrap());
                r
            }
        }
    }
}

fn refunded_cents(p: &Value) -> i64 {
    p["refunds"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|r| shared::domain::parse_decimal(&r["value"].to_string(), 2))
                .sum()
        })
        .unwrap_or(0)
}
