//! The EFI Pix client against the fake EFI over mTLS: certificate required, token cached and
//! refreshed, create/QR/status/cancel, every error class, and retries reaching the same cob.

use integration_tests::fakes::efi::{FakeEfi, TestPki};
use integration_tests::fakes::EndpointFailure;
use shared::domain::ChargeAmountError;
use shared::domain::{
    Currency, Customer, Document, Money, PaymentId, PaymentMethod, PaymentStatus,
};
use shared::gateways::efi::{EfiClient, EfiConfig};
use shared::ports::{ChargeLookup, ChargeRequest, ErrorClass, Gateway};
use shared::service::gateway_key;
use std::time::Duration;

fn config(fake: &FakeEfi, pki: &TestPki, identity_pem: Vec<u8>) -> EfiConfig {
    EfiConfig {
        base_url: fake.base_url.clone(),
        client_id: fake.client_id.clone(),
        client_secret: fake.client_secret.clone(),
        pix_key: fake.pix_key.clone(),
        identity_pem,
        extra_root_pem: Some(pki.ca_pem.clone().into_bytes()),
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_millis(900),
    }
}

fn req(amount: i64) -> ChargeRequest {
    let id = PaymentId::generate();
    ChargeRequest {
        gateway_key: gateway_key(&id),
        payment_id: id,
        amount: Money::new(amount, Currency::BRL).unwrap(),
        method: PaymentMethod::Pix,
        customer: Some(Customer {
            name: "Empresa X".into(),
            document: Some(Document::parse("11.222.333/0001-81").unwrap()),
            email: None,
        }),
        description: Some("Pedido 42".into()),
        card_token: None,
        expires_in: None,
    }
}

#[tokio::test]
async fn a_client_without_the_certificate_is_refused() {
    let pki = TestPki::generate();
    let fake = FakeEfi::start(&pki).await;
    let other = TestPki::generate();
    // A certificate from another CA: the handshake fails, nothing is sent, nothing created.
    let foreign = EfiClient::new(config(
        &fake,
        &pki,
        other.client_identity_pem.clone().into_bytes(),
    ))
    .unwrap();
    let e = foreign.create(&req(1990)).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Unavailable, "{e:?}");
    // No client certificate at all (plain reqwest trusting the CA).
    let bare = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    assert!(bare
        .post(format!("{}/oauth/token", fake.base_url))
        .send()
        .await
        .is_err());
    assert!(fake.rejected_handshakes() >= 2);
    assert_eq!((fake.token_requests(), fake.cobs_created()), (0, 0));
}

#[tokio::test]
async fn create_qr_status_cancel_with_pem_and_pkcs12_identities() {
    let pki = TestPki::generate();
    let fake = FakeEfi::start(&pki).await;
    let from_p12 = EfiConfig::identity_from_pkcs12(&pki.client_pkcs12()).unwrap();
    for identity in [pki.client_identity_pem.clone().into_bytes(), from_p12] {
        let c = EfiClient::new(config(&fake, &pki, identity)).unwrap();
        let r = req(1990);
        let charge = c.create(&r).await.unwrap();
        assert_eq!(
            charge.gateway_payment_id, r.gateway_key,
            "txid is the deterministic key"
        );
        assert_eq!(charge.status, PaymentStatus::Pending);
        let pix = charge.pix.unwrap();
        assert!(pix.copy_paste.starts_with("000201"));
        assert!(
            pix.qr_code_png_base64.unwrap().starts_with("iVBOR"),
            "data URI prefix stripped"
        );
        assert!(pix.expires_at.is_some());
        // GET answers expiracao as a string: read leniently.
        assert_eq!(
            c.retrieve(&r.gateway_key, PaymentMethod::Pix)
                .await
                .unwrap()
                .status,
            PaymentStatus::Pending
        );
        c.cancel(&r.gateway_key, PaymentMethod::Pix).await.unwrap();
        assert_eq!(
            c.retrieve(&r.gateway_key, PaymentMethod::Pix)
                .await
                .unwrap()
                .status,
            PaymentStatus::Canceled
        );
    }
}

#[tokio::test]
async fn token_is_fetched_once_reused_then_refreshed() {
    let pki = TestPki::generate();
    let fake = FakeEfi::start(&pki).await;
    fake.set_token_lifetime(62); // the client refreshes 60 s early: usable for ~2 s
    let c = EfiClient::new(config(
        &fake,
        &pki,
        pki.client_identity_pem.clone().into_bytes(),
    ))
    .unwrap();
    for _ in 0..3 {
        c.create(&req(1990)).await.unwrap();
    }
    assert_eq!(fake.token_requests(), 1, "one token for several calls");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    c.create(&req(1990)).await.unwrap();
    assert_eq!(fake.token_requests(), 2, "refreshed after expiry");
}

/// `expires_in` is EFI's answer: an absurd lifetime is capped, never an `Instant` overflow.
#[tokio::test]
async fn a_huge_token_lifetime_is_capped_not_a_panic() {
    let pki = TestPki::generate();
    let fake = FakeEfi::start(&pki).await;
    fake.set_token_lifetime(i64::MAX);
    let c = EfiClient::new(config(
        &fake,
        &pki,
        pki.client_identity_pem.clone().into_bytes(),
    ))
    .unwrap();
    c.create(&req(1990)).await.unwrap();
    c.create(&req(1990)).await.unwrap();
    assert_eq!(fake.token_requests(), 1, "the capped token is still reused");
}

#[tokio::test]
async fn every_error_class_and_retries_reach_the_same_cob() {
    let pki = TestPki::generate();
    let fake = FakeEfi::start(&pki).await;
    let c = EfiClient::new(config(
        &fake,
        &pki,
        pki.client_identity_pem.clone().into_bytes(),
    ))
    .unwrap();
    assert_eq!(
        c.create(&req(1031)).await.unwrap_err().class,
        ErrorClass::Unavailable
    );
    let invalid = c.create(&req(1040)).await.unwrap_err();
    assert_eq!(
        (invalid.class, invalid.code.as_str()),
        (ErrorClass::Invalid, "CobOperacaoInvalida")
    );
    let mut wrong_key = config(&fake, &pki, pki.client_identity_pem.clone().into_bytes());
    wrong_key.pix_key = "not-my-key".into();
    let e = EfiClient::new(wrong_key)
        .unwrap()
        .create(&req(1990))
        .await
        .unwrap_err();
    assert_eq!(
        (e.class, e.code.as_str()),
        (ErrorClass::Invalid, "chave_invalida")
    );
    let mut bad_secret = config(&fake, &pki, pki.client_identity_pem.clone().into_bytes());
    bad_secret.client_secret = "wrong".into();
    assert_eq!(
        EfiClient::new(bad_secret)
            .unwrap()
            .create(&req(1990))
            .await
            .unwrap_err()
            .class,
        ErrorClass::Misconfigured
    );
    let before = fake.cobs_created();
    // 500 after creating, then a retry: same txid → txid_duplicado → the same cob read back.
    let r = req(2050);
    assert_eq!(c.create(&r).await.unwrap_err().class, ErrorClass::Ambiguous);
    assert_eq!(
        c.create(&r).await.unwrap().gateway_payment_id,
        r.gateway_key
    );
    // Timeout after send, then a retry.
    let r = req(2077);
    assert_eq!(c.create(&r).await.unwrap_err().class, ErrorClass::Ambiguous);
    assert_eq!(c.create(&r).await.unwrap().status, PaymentStatus::Pending);
    assert_eq!(
        fake.cobs_created(),
        before + 2,
        "one cob per payment despite the retries"
    );
    // Exact amounts.
    for minor in [29, 115, 1_999_999_999] {
        c.create(&req(minor)).await.unwrap();
    }
}

#[tokio::test]
async fn full_and_partial_refunds_of_a_received_pix() {
    use shared::ports::RefundRequest;
    let pki = TestPki::generate();
    let fake = FakeEfi::start(&pki).await;
    let c = EfiClient::new(config(
        &fake,
        &pki,
        pki.client_identity_pem.clone().into_bytes(),
    ))
    .unwrap();
    let r = req(10000);
    c.create(&r).await.unwrap();
    let refund = |key: &str, amount: i64| RefundRequest {
        gateway_payment_id: r.gateway_key.clone(),
        method: PaymentMethod::Pix,
        refund_key: key.into(),
        amount: Money::new(amount, Currency::BRL).unwrap(),
    };
    assert_eq!(
        c.refund(&refund("REF1", 2500)).await.unwrap_err().class,
        ErrorClass::Invalid,
        "nothing received yet"
    );
    fake.pay(&r.gateway_key);
    assert_eq!(
        c.retrieve(&r.gateway_key, PaymentMethod::Pix)
            .await
            .unwrap()
            .status,
        PaymentStatus::Succeeded
    );
    let r1 = c.refund(&refund("REF1", 2500)).await.unwrap();
    assert_eq!(
        c.refund(&refund("REF1", 2500)).await.unwrap(),
        r1,
        "same devolucao id: no second refund"
    );
    assert_eq!(
        c.refund(&refund("REF2", 9000)).await.unwrap_err().class,
        ErrorClass::Invalid
    );
    c.refund(&refund("REF3", 7500)).await.unwrap();
    assert_eq!(fake.refunded(&r.gateway_key), 10000);
}

/// Every way a read can fail once the cob exists.
const FAILURES: [EndpointFailure; 5] = [
    EndpointFailure::Status(429),
    EndpointFailure::Status(404),
    EndpointFailure::Status(500),
    EndpointFailure::Status(401),
    EndpointFailure::CloseConnection,
];

fn client_for(fake: &FakeEfi, pki: &TestPki) -> EfiClient {
    EfiClient::new(config(
        fake,
        pki,
        pki.client_identity_pem.clone().into_bytes(),
    ))
    .unwrap()
}

/// After `PUT /v2/cob/{txid}` succeeded a failing QR read never makes the create an error (a
/// 429 would fail over to a second payable charge, a 404 would mark the payment failed):
/// without `pixCopiaECola` the cob is `processing` with the txid; with it, `pending` with that
/// copy-paste and no PNG. A later `retrieve` reads the QR code.
#[tokio::test]
async fn a_failing_qr_code_after_the_put_keeps_the_cob() {
    let pki = TestPki::generate();
    let fake = FakeEfi::start(&pki).await;
    let c = client_for(&fake, &pki);
    for (n, failure) in FAILURES.into_iter().enumerate() {
        fake.set_qr_failure(Some(failure));
        let r = req(1990);
        let charge = c
            .create(&r)
            .await
            .unwrap_or_else(|e| panic!("{failure:?}: {e:?}"));
        assert_eq!(
            (
                charge.gateway_payment_id.as_str(),
                charge.status,
                &charge.pix
            ),
            (r.gateway_key.as_str(), PaymentStatus::Processing, &None),
            "{failure:?}"
        );
        assert_eq!(fake.cobs_created(), n + 1);
        fake.set_qr_failure(None);
        let later = c
            .retrieve(&r.gateway_key, PaymentMethod::Pix)
            .await
            .unwrap();
        assert_eq!(later.status, PaymentStatus::Pending);
        assert!(later.pix.unwrap().qr_code_png_base64.is_some());
    }
    fake.set_copia_e_cola(true);
    for failure in FAILURES {
        fake.set_qr_failure(Some(failure));
        let r = req(1990);
        let charge = c
            .create(&r)
            .await
            .unwrap_or_else(|e| panic!("{failure:?}: {e:?}"));
        assert_eq!(charge.gateway_payment_id, r.gateway_key);
        assert_eq!(charge.status, PaymentStatus::Pending, "{failure:?}");
        let pix = charge.pix.unwrap();
        assert_eq!(Some(pix.copy_paste), fake.copia_e_cola(&r.gateway_key));
        assert_eq!(pix.qr_code_png_base64, None);
    }
}

/// The token for the QR read is refreshed and the refresh fails: the cob is kept all the same.
#[tokio::test]
async fn a_failing_token_refresh_for_the_qr_code_keeps_the_cob() {
    let pki = TestPki::generate();
    let fake = FakeEfi::start(&pki).await;
    fake.set_token_lifetime(60); // the client refreshes 60 s early: a new token for every call
    let c = client_for(&fake, &pki);
    for (n, failure) in [
        EndpointFailure::Status(503),
        EndpointFailure::Status(401),
        EndpointFailure::CloseConnection,
    ]
    .into_iter()
    .enumerate()
    {
        // The PUT's token is the next one; the QR read's is refused.
        fake.fail_tokens_after(fake.token_requests() + 1, failure);
        let r = req(1990);
        let charge = c
            .create(&r)
            .await
            .unwrap_or_else(|e| panic!("{failure:?}: {e:?}"));
        assert_eq!(
            (charge.gateway_payment_id.as_str(), charge.status),
            (r.gateway_key.as_str(), PaymentStatus::Processing),
            "{failure:?}"
        );
        assert_eq!(fake.cobs_created(), n + 1);
    }
}

/// A retry meets `409 txid_duplicado`: the cob certainly exists, so a failing read-back is the
/// cob as `processing` with the txid, not an error.
#[tokio::test]
async fn txid_duplicado_with_a_failing_read_back_keeps_the_cob() {
    let pki = TestPki::generate();
    let fake = FakeEfi::start(&pki).await;
    let c = client_for(&fake, &pki);
    let r = req(2050);
    assert_eq!(c.create(&r).await.unwrap_err().class, ErrorClass::Ambiguous);
    for failure in FAILURES {
        fake.set_cob_read_failure(Some(failure));
        let charge = c
            .create(&r)
            .await
            .unwrap_or_else(|e| panic!("{failure:?}: {e:?}"));
        assert_eq!(
            (charge.gateway_payment_id.as_str(), charge.status),
            (r.gateway_key.as_str(), PaymentStatus::Processing),
            "{failure:?}"
        );
    }
    fake.set_cob_read_failure(None);
    // The read-back works again but the QR code does not: still the cob.
    fake.set_qr_failure(Some(EndpointFailure::Status(429)));
    assert_eq!(
        c.create(&r).await.unwrap().status,
        PaymentStatus::Processing
    );
    assert_eq!(fake.cobs_created(), 1, "one cob throughout");
}

/// The look-up reads the cob by its txid and never creates: 404 is `Ok(None)`, another amount
/// (or currency) is refused, and a found cob whose QR code cannot be read is still found.
#[tokio::test]
async fn lookup_finds_without_creating_and_checks_the_amount() {
    let pki = TestPki::generate();
    let fake = FakeEfi::start(&pki).await;
    let c = client_for(&fake, &pki);
    let r = req(1990);
    let made = c.create(&r).await.unwrap();
    let puts = fake.cob_puts();
    let found = c.lookup(&ChargeLookup::from(&r)).await.unwrap().unwrap();
    assert_eq!(
        (found.gateway_payment_id.as_str(), found.status),
        (r.gateway_key.as_str(), PaymentStatus::Pending)
    );
    assert_eq!(found.pix, made.pix);
    let unknown = req(1990);
    assert_eq!(c.lookup(&ChargeLookup::from(&unknown)).await.unwrap(), None);
    let mut other_amount = ChargeLookup::from(&r);
    other_amount.amount = Money::new(1991, Currency::BRL).unwrap();
    let e = c.lookup(&other_amount).await.unwrap_err();
    assert_eq!(
        (e.class, e.code.as_str()),
        (ErrorClass::Ambiguous, ChargeAmountError::CODE)
    );
    let mut other_currency = ChargeLookup::from(&r);
    other_currency.amount = Money::new(1990, Currency::USD).unwrap();
    assert_eq!(
        c.lookup(&other_currency).await.unwrap_err().code,
        ChargeAmountError::CODE
    );
    for failure in FAILURES {
        fake.set_qr_failure(Some(failure));
        let kept = c
            .lookup(&ChargeLookup::from(&r))
            .await
            .unwrap_or_else(|e| panic!("{failure:?}: {e:?}"))
            .unwrap();
        assert_eq!(
            (kept.gateway_payment_id.as_str(), kept.status),
            (r.gateway_key.as_str(), PaymentStatus::Processing)
        );
    }
    assert_eq!(fake.cob_puts(), puts, "a look-up never creates");
    assert_eq!(fake.cobs_created(), 1);
}

/// Pix is in reais: an amount in another currency is refused before anything is sent.
#[tokio::test]
async fn an_amount_in_another_currency_is_refused_before_sending() {
    let pki = TestPki::generate();
    let fake = FakeEfi::start(&pki).await;
    let c = client_for(&fake, &pki);
    let mut r = req(1000);
    r.amount = Money::new(1000, Currency::JPY).unwrap();
    let e = c.create(&r).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Invalid, "{e:?}");
    assert_eq!(
        (fake.requests(), fake.token_requests()),
        (0, 0),
        "nothing sent"
    );
    assert_eq!(fake.cobs_created(), 0);
}

/// `expires_in` becomes `calendario.expiracao`; a paid cob refuses the cancel and reads back
/// as succeeded.
#[tokio::test]
async fn expires_in_is_the_cob_lifetime_and_a_paid_cob_refuses_cancel() {
    let pki = TestPki::generate();
    let fake = FakeEfi::start(&pki).await;
    let c = EfiClient::new(config(
        &fake,
        &pki,
        pki.client_identity_pem.clone().into_bytes(),
    ))
    .unwrap();
    let r = ChargeRequest {
        expires_in: Some(900),
        ..req(1990)
    };
    let before = chrono::Utc::now();
    let charge = c.create(&r).await.unwrap();
    assert_eq!(fake.cob_expiracao(&r.gateway_key), Some(900));
    let expires = charge.pix.unwrap().expires_at.unwrap();
    let lifetime = (expires - before).num_seconds();
    assert!((899..=905).contains(&lifetime), "{lifetime}");
    // The default lifetime when none is asked for.
    let d = req(1990);
    c.create(&d).await.unwrap();
    assert_eq!(fake.cob_expiracao(&d.gateway_key), Some(3600));
    // Paid meanwhile: the cancel is refused (invalid), and the cob reads as succeeded.
    fake.pay(&r.gateway_key);
    let e = c
        .cancel(&r.gateway_key, PaymentMethod::Pix)
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Invalid, "{e:?}");
    assert_eq!(
        c.retrieve(&r.gateway_key, PaymentMethod::Pix)
            .await
            .unwrap()
            .status,
        PaymentStatus::Succeeded
    );
}
