//! A fake EFI Pix API on 127.0.0.1 over **mTLS**: the TLS handshake fails without a client
//! certificate chained to the test CA (as EFI requires on every call, `/oauth/token` included).
//! OAuth2 client credentials (Basic auth) issue counted tokens with a configurable lifetime;
//! `PUT /v2/cob/{txid}` creates (409 `txid_duplicado` when it exists), `GET` reads back with
//! `calendario.expiracao` as a string (a documented quirk), `PATCH` cancels, `/v2/loc/{id}/qrcode`
//! returns the QR as a data URI. The amount's centavos pick the behaviour: 31 rate limited
//! (429), 40 rejected (BCB problem JSON), 50 created then 500 (`erro_aplicacao`), 77 created
//! then a 2 s stall; anything else succeeds.
//!
//! Switches for what can go wrong after the cob exists: `set_qr_failure` (the QR endpoint),
//! `set_cob_read_failure` (`GET /v2/cob/{txid}`), `fail_tokens_after` (token requests beyond
//! the n-th), each answering a status or closing the connection; `set_copia_e_cola` adds
//! `pixCopiaECola` to cobs created from then on. Requests (after the TLS handshake) and cob
//! PUTs are counted.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

use super::{DropConnection, EndpointFailure};

/// Test certificates: a CA, the server's certificate, and a client identity.
pub struct TestPki {
    pub ca_pem: String,
    server_cert_der: Vec<u8>,
    server_key_der: Vec<u8>,
    /// Client certificate + key, PEM, as the orchestrator holds it.
    pub client_identity_pem: String,
    pub client_cert_der: Vec<u8>,
    pub client_key_der: Vec<u8>,
}

impl TestPki {
    /// Generates everything fresh.
    pub fn generate() -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "fake efi ca");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        client_params
            .distinguished_name
            .push(DnType::CommonName, "orchestrator client");
        let client = client_params.signed_by(&client_key, &ca).unwrap();
        TestPki {
            ca_pem: ca.pem(),
            server_cert_der: server.der().to_vec(),
            server_key_der: server_key.serialize_der(),
            client_identity_pem: format!("{}{}", client.pem(), client_key.serialize_pem()),
            client_cert_der: client.der().to_vec(),
            client_key_der: client_key.serialize_der(),
        }
    }

    /// The client identity as the `.p12` EFI hands out (empty passphrase).
    pub fn client_pkcs12(&self) -> Vec<u8> {
        self.client_pkcs12_with_password("")
    }

    /// The same, protected by `password`.
    pub fn client_pkcs12_with_password(&self, password: &str) -> Vec<u8> {
        use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
        let chain = PrivateKeyChain::new(
            vec![1u8; 20],
            PrivateKey::from_der(&self.client_key_der).unwrap(),
            [Certificate::from_der(&self.client_cert_der).unwrap()],
        );
        let mut ks = KeyStore::new();
        ks.add_entry("efi", KeyStoreEntry::PrivateKeyChain(chain));
        ks.writer(password).write().unwrap()
    }
}

#[derive(Default)]
struct State {
    tokens: HashMap<String, Instant>,
    token_requests: usize,
    rejected_handshakes: usize,
    cobs: HashMap<String, Value>,
    refunds: HashMap<String, (String, i64)>,
    locs: usize,
    requests: usize,
    cob_puts: usize,
    qr_failure: Option<EndpointFailure>,
    cob_read_failure: Option<EndpointFailure>,
    token_failure_after: Option<(usize, EndpointFailure)>,
    copia_e_cola: bool,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeEfi {
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub pix_key: String,
    token_lifetime: Arc<Mutex<i64>>,
    state: Arc<Mutex<State>>,
}

fn resp(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r
}

fn nome(status: u16, nome: &str) -> Response<Full<Bytes>> {
    resp(
        status,
        json!({"nome": nome, "mensagem": format!("fake efi: {nome}")}),
    )
}

impl FakeEfi {
    /// Starts with mTLS on a free loopback port.
    pub async fn start(pki: &TestPki) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        let ca_der = rustls_pemfile_ca(&pki.ca_pem);
        roots
            .add(rustls::pki_types::CertificateDer::from(ca_der))
            .unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![rustls::pki_types::CertificateDer::from(
                    pki.server_cert_der.clone(),
                )],
                rustls::pki_types::PrivateKeyDer::Pkcs8(pki.server_key_der.clone().into()),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let fake = FakeEfi {
            base_url: format!(
                "https://localhost:{}",
                listener.local_addr().unwrap().port()
            ),
            client_id: "Client_Id_fake".into(),
            client_secret: "Client_Secret_fake".into(),
            pix_key: "71cdf9ba-c695-4e3c-b010-abb521a3f1be".into(),
            token_lifetime: Arc::new(Mutex::new(3600)),
            state: Arc::new(Mutex::new(State::default())),
        };
        let f = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let f = f.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let tls = match acceptor.accept(stream).await {
                        Ok(t) => t,
                        Err(_) => {
                            f.state.lock().unwrap().rejected_handshakes += 1;
                            return;
                        }
                    };
                    let svc = service_fn(move |req| {
                        let f = f.clone();
                        async move { f.serve_or_drop(req).await.ok_or(DropConnection) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        fake
    }

    /// While set, `GET /v2/loc/{id}/qrcode` fails this way.
    pub fn set_qr_failure(&self, failure: Option<EndpointFailure>) {
        self.state.lock().unwrap().qr_failure = failure;
    }

    /// While set, `GET /v2/cob/{txid}` fails this way (the cob itself is unaffected).
    pub fn set_cob_read_failure(&self, failure: Option<EndpointFailure>) {
        self.state.lock().unwrap().cob_read_failure = failure;
    }

    /// Token requests after the first `n` (counted since the fake started) fail this way.
    pub fn fail_tokens_after(&self, n: usize, failure: EndpointFailure) {
        self.state.lock().unwrap().token_failure_after = Some((n, failure));
    }

    /// Whether cobs created from now on carry `pixCopiaECola` (optional in EFI's answers).
    pub fn set_copia_e_cola(&self, on: bool) {
        self.state.lock().unwrap().copia_e_cola = on;
    }

    /// HTTP requests received (after a successful handshake), tokens included.
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    /// `PUT /v2/cob/{txid}` requests received (a look-up must never add one).
    pub fn cob_puts(&self) -> usize {
        self.state.lock().unwrap().cob_puts
    }

    /// A cob's `pixCopiaECola`, when it has one.
    pub fn copia_e_cola(&self, txid: &str) -> Option<String> {
        self.state
            .lock()
            .unwrap()
            .cobs
            .get(txid)
            .and_then(|c| c["pixCopiaECola"].as_str().map(str::to_string))
    }

    /// Applies the failure switches, then serves; `None` closes the connection unanswered.
    async fn serve_or_drop(
        &self,
        req: Request<hyper::body::Incoming>,
    ) -> Option<Response<Full<Bytes>>> {
        let failure = {
            let mut st = self.state.lock().unwrap();
            st.requests += 1;
            let segs: Vec<&str> = req.uri().path().trim_matches('/').split('/').collect();
            match (req.method().as_str(), segs.as_slice()) {
                ("PUT", ["v2", "cob", _]) => {
                    st.cob_puts += 1;
                    None
                }
                ("GET", ["v2", "loc", _, "qrcode"]) => {
                    st.qr_failure.map(|f| (f, "location_nao_encontrada"))
                }
                ("GET", ["v2", "cob", _]) => st.cob_read_failure.map(|f| (f, "erro_aplicacao")),
                ("POST", ["oauth", "token"]) => match st.token_failure_after {
                    Some((n, f)) if st.token_requests >= n => {
                        st.token_requests += 1;
                        Some((f, "erro_aplicacao"))
                    }
                    _ => None,
                },
                _ => None,
            }
        };
        match failure {
            Some((EndpointFailure::CloseConnection, _)) => None,
            Some((EndpointFailure::Status(status), name)) => Some(nome(status, name)),
            None => Some(self.serve(req).await),
        }
    }

    /// Lifetime (`expires_in`) of tokens issued from now on.
    pub fn set_token_lifetime(&self, secs: i64) {
        *self.token_lifetime.lock().unwrap() = secs;
    }

    /// `POST /oauth/token` calls.
    pub fn token_requests(&self) -> usize {
        self.state.lock().unwrap().token_requests
    }

    /// TLS handshakes refused (no or foreign client certificate).
    pub fn rejected_handshakes(&self) -> usize {
        self.state.lock().unwrap().rejected_handshakes
    }

    /// Marks a cob paid, as if the payer's bank had sent the Pix.
    pub fn pay(&self, txid: &str) {
        let mut st = self.state.lock().unwrap();
        if let Some(c) = st.cobs.get_mut(txid) {
            c["status"] = "CONCLUIDA".into();
            c["pix"] = json!([{"endToEndId": format!("E1823612020261121{txid}"), "txid": txid, "valor": c["valor"]["original"], "horario": "2026-11-21T13:40:34.000Z"}]);
        }
    }

    /// Total refunded on a cob's Pix, in centavos.
    pub fn refunded(&self, txid: &str) -> i64 {
        self.state
            .lock()
            .unwrap()
            .refunds
            .values()
            .filter(|(t, _)| t == txid)
            .map(|(_, v)| v)
            .sum()
    }

    /// Returns `cents` of a paid cob's Pix outside the orchestrator (the merchant in EFI's own
    /// app), as devolução `id`: listed on the cob like every devolução.
    pub fn refund_outside(&self, txid: &str, id: &str, cents: i64) {
        let mut st = self.state.lock().unwrap();
        if let Some(c) = st.cobs.get_mut(txid) {
            let d = json!({"id": id, "rtrId": format!("D{id}"), "valor": shared::domain::format_decimal(cents, 2), "status": "DEVOLVIDO"});
            match c["pix"][0]["devolucoes"].as_array_mut() {
                Some(list) => list.push(d),
                None => c["pix"][0]["devolucoes"] = json!([d]),
            }
        }
        st.refunds.insert(id.to_string(), (txid.to_string(), cents));
    }

    /// A cob's status (`ATIVA`, `CONCLUIDA`, `REMOVIDA_PELO_USUARIO_RECEBEDOR`, …).
    pub fn cob_status(&self, txid: &str) -> Option<String> {
        self.state
            .lock()
            .unwrap()
            .cobs
            .get(txid)
            .and_then(|c| c["status"].as_str().map(str::to_string))
    }

    /// A cob's `calendario.expiracao` as the create sent it (seconds).
    pub fn cob_expiracao(&self, txid: &str) -> Option<i64> {
        self.state
            .lock()
            .unwrap()
            .cobs
            .get(txid)
            .and_then(|c| c["calendario"]["expiracao"].as_i64())
    }

    /// Cobs (charges) created.
    pub fn cobs_created(&self) -> usize {
        self.state.lock().unwrap().cobs.len()
    }

    /// `GET /v2/cob?inicio&fim` (both required, RFC 3339, `fim` inclusive) with
    /// `paginacao.paginaAtual` (from 0) and `paginacao.itensPorPagina` (default 100).
    fn list(&self, query: &str) -> Response<Full<Bytes>> {
        let param = |k: &str| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.into_owned())
        };
        let time = |k: &str| param(k).and_then(|v| chrono::DateTime::parse_from_rfc3339(&v).ok());
        let (Some(inicio), Some(fim)) = (time("inicio"), time("fim")) else {
            return nome(400, "parametros_invalidos");
        };
        let page: usize = param("paginacao.paginaAtual")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let per: usize = param("paginacao.itensPorPagina")
            .and_then(|v| v.parse().ok())
            .unwrap_or(100)
            .clamp(1, 1000);
        let st = self.state.lock().unwrap();
        let mut all: Vec<&Value> = st
            .cobs
            .values()
            .filter(|c| {
                c["calendario"]["criacao"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t >= inicio && t <= fim)
            })
            .collect();
        all.sort_by_key(|c| c["txid"].as_str().unwrap_or("").to_string());
        let pages = all.len().div_ceil(per);
        let cobs: Vec<Value> = all
            .iter()
            .skip(page * per)
            .take(per)
            .map(|c| {
                let mut c = (*c).clone();
                c["calendario"]["expiracao"] = c["calendario"]["expiracao"].to_string().into();
                c
            })
            .collect();
        resp(
            200,
            json!({"parametros": {"inicio": param("inicio"), "fim": param("fim"),
                "paginacao": {"paginaAtual": page, "itensPorPagina": per,
                    "quantidadeDePaginas": pages, "quantidadeTotalDeItens": all.len()}},
                "cobs": cobs}),
        )
    }

    async fn serve(&self, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let query = req.uri().query().unwrap_or("").to_string();
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if method == "POST" && path == "/oauth/token" {
            use base64::Engine;
            let want = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", self.client_id, self.client_secret))
            );
            let grant_ok = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["grant_type"].as_str().map(str::to_string))
                == Some("client_credentials".into());
            if auth != want || !grant_ok {
                return resp(
                    401,
                    json!({"error": "invalid_client", "error_description": "fake efi: bad credentials"}),
                );
            }
            let life = *self.token_lifetime.lock().unwrap();
            let mut st = self.state.lock().unwrap();
            st.token_requests += 1;
            let token = format!("tok-{}", st.token_requests);
            let now = Instant::now();
            let until = now
                .checked_add(Duration::from_secs(u64::try_from(life).unwrap_or(0)))
                .unwrap_or(now + Duration::from_secs(10 * 365 * 24 * 3600));
            st.tokens.insert(token.clone(), until);
            // expires_in as a string on purpose: the docs table says string, the example a number.
            return resp(
                200,
                json!({"access_token": token, "token_type": "Bearer", "expires_in": life.to_string(), "scope": "cob.read cob.write pix.read pix.write payloadlocation.read"}),
            );
        }
        let token_ok = auth
            .strip_prefix("Bearer ")
            .and_then(|t| self.state.lock().unwrap().tokens.get(t).copied())
            .is_some_and(|until| Instant::now() < until);
        if !token_ok {
            return nome(401, "nao_autorizado");
        }
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method.as_str(), segs.as_slice()) {
            ("PUT", ["v2", "cob", txid]) => self.create(txid, &body).await,
            ("GET", ["v2", "cob"]) => self.list(&query),
            ("GET", ["v2", "cob", txid]) => match self.state.lock().unwrap().cobs.get(*txid) {
                Some(c) => {
                    let mut c = c.clone();
                    c["calendario"]["expiracao"] = c["calendario"]["expiracao"].to_string().into();
                    resp(200, c)
                }
                None => nome(404, "cobranca_nao_encontrada"),
            },
            ("PATCH", ["v2", "cob", txid]) => {
                let patch: Value = serde_json::from_slice(&body).unwrap_or_default();
                let mut st = self.state.lock().unwrap();
                match st.cobs.get_mut(*txid) {
                    Some(c) if c["status"] == "ATIVA" => {
                        c["status"] = patch["status"].clone();
                        resp(200, c.clone())
                    }
                    Some(_) => nome(400, "status_cobranca_invalido"),
                    None => nome(404, "cobranca_nao_encontrada"),
                }
            }
            ("PUT", ["v2", "pix", e2e, "devolucao", id]) => {
                let req: Value = serde_json::from_slice(&body).unwrap_or_default();
                let Some(valor) = req["valor"]
                    .as_str()
                    .and_then(|v| shared::domain::parse_decimal(v, 2))
                else {
                    return nome(400, "valor_invalido");
                };
                let mut st = self.state.lock().unwrap();
                let Some((txid, total)) = st.cobs.values().find_map(|c| {
                    (c["pix"][0]["endToEndId"] == *e2e).then(|| {
                        (
                            c["txid"].as_str().unwrap_or("").to_string(),
                            shared::domain::parse_decimal(
                                c["valor"]["original"].as_str().unwrap_or("0"),
                                2,
                            )
                            .unwrap_or(0),
                        )
                    })
                }) else {
                    return nome(404, "pix_nao_encontrado");
                };
                if let Some((_, v)) = st.refunds.get(*id) {
                    let v = *v;
                    return resp(
                        201,
                        json!({"id": id, "rtrId": format!("D{id}"), "valor": shared::domain::format_decimal(v, 2), "status": "DEVOLVIDO"}),
                    );
                }
                let done: i64 = st
                    .refunds
                    .values()
                    .filter(|(t, _)| *t == txid)
                    .map(|(_, v)| v)
                    .sum();
                if done + valor > total {
                    return nome(400, "valor_devolucao_excedido");
                }
                let devolucao = json!({"id": id, "rtrId": format!("D{id}"), "valor": shared::domain::format_decimal(valor, 2), "horario": {"solicitacao": "2026-11-21T15:25:59.411Z"}, "status": "DEVOLVIDO"});
                // EFI lists a Pix's devoluções on its cob too (`pix[].devolucoes`).
                if let Some(c) = st.cobs.get_mut(&txid) {
                    match c["pix"][0]["devolucoes"].as_array_mut() {
                        Some(list) => list.push(devolucao.clone()),
                        None => c["pix"][0]["devolucoes"] = json!([devolucao.clone()]),
                    }
                }
                st.refunds.insert(id.to_string(), (txid, valor));
                resp(201, devolucao)
            }
            ("GET", ["v2", "loc", id, "qrcode"]) => resp(
                200,
                json!({
                    "qrcode": format!("00020101021226830014BR.GOV.BCB.PIX2561qrcodespix.efi.fake/v2/loc{id}520400005303986540519.905802BR6304ABCD"),
                    "imagemQrcode": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
                    "linkVisualizacao": format!("https://efi.fake/loc/{id}")
                }),
            ),
            _ => nome(404, "rota_nao_encontrada"),
        }
    }

    async fn create(&self, txid: &str, body: &[u8]) -> Response<Full<Bytes>> {
        if txid.len() < 26 || txid.len() > 35 || !txid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return nome(400, "txid_invalido");
        }
        let Ok(req) = serde_json::from_slice::<Value>(body) else {
            return nome(400, "json_invalido");
        };
        if req["chave"] != self.pix_key.as_str() {
            return nome(400, "chave_invalida");
        }
        // `calendario.expiracao`: a positive whole number of seconds (default 3600).
        let expiracao = match &req["calendario"]["expiracao"] {
            Value::Null => 3600,
            v => match v.as_i64().filter(|s| *s > 0) {
                Some(s) => s,
                None => return nome(400, "valor_invalido"),
            },
        };
        let valor = req["valor"]["original"].as_str().unwrap_or("").to_string();
        let cents = valor
            .split_once('.')
            .map(|(_, c)| c.to_string())
            .unwrap_or_default();
        match cents.as_str() {
            "31" => {
                return resp(
                    429,
                    json!({"nome": "limite_excedido", "mensagem": "fake efi: rate limited"}),
                )
            }
            "40" => {
                return resp(
                    400,
                    json!({"type": "https://pix.bcb.gov.br/api/v2/error/CobOperacaoInvalida", "title": "Cobrança inválida.",
                    "status": 400, "detail": "fake efi: valor.original rejected", "violacoes": [{"razao": "valor", "propriedade": "cob.valor.original"}]}),
                )
            }
            _ => {}
        }
        let cob = {
            let mut st = self.state.lock().unwrap();
            if st.cobs.contains_key(txid) {
                return nome(409, "txid_duplicado");
            }
            st.locs += 1;
            let loc = st.locs;
            let cob = json!({
                "calendario": {"criacao": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true), "expiracao": expiracao},
                "txid": txid, "revisao": 0,
                "loc": {"id": loc, "location": format!("pix.efi.fake/qr/v2/{loc}"), "tipoCob": "cob"},
                "location": format!("pix.efi.fake/qr/v2/{loc}"),
                "status": "ATIVA", "devedor": req["devedor"], "valor": {"original": valor}, "chave": req["chave"],
                "solicitacaoPagador": req["solicitacaoPagador"]
            });
            let mut cob = cob;
            if st.copia_e_cola {
                cob["pixCopiaECola"] = format!(
                    "00020101021226830014BR.GOV.BCB.PIX2561qrcodespix.efi.fake/v2/cob{loc}5204000053039865802BR6304ABCD"
                )
                .into();
            }
            st.cobs.insert(txid.to_string(), cob.clone());
            cob
        };
        match cents.as_str() {
            "50" => nome(500, "erro_aplicacao"),
            "77" => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                resp(201, cob)
            }
            _ => resp(201, cob),
        }
    }
}

fn rustls_pemfile_ca(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}
