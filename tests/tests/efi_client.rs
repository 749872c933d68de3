//! The EFI Pix client against the fake EFI over mTLS: certificate required, token cached and
//! refreshed, create/QR/status/cancel, every error class, and retries reaching the same cob.

use integration_tests::fakes::efi::{FakeEfi, TestPki};
use shared::domain::{
    Currency, Customer, Document, Money, PaymentId, PaymentMethod, PaymentStatus,
};
use shared::gateways::efi::{EfiClient, EfiConfig};
use shared::ports::{ChargeRequest, ErrorClass, Gateway};
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
