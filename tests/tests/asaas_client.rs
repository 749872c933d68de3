//! The Asaas client against the fake Asaas server: each method, every error class, exact
//! decimals, and a retry after an ambiguous create finding the first charge by externalReference.

use integration_tests::fakes::asaas::FakeAsaas;
use integration_tests::fakes::EndpointFailure;
use shared::domain::ChargeAmountError;
use shared::domain::{
    Currency, Customer, Document, Money, PaymentId, PaymentMethod, PaymentStatus,
};
use shared::gateways::asaas::{AsaasClient, AsaasConfig};
use shared::ports::{ChargeLookup, ChargeRequest, ErrorClass, Gateway};
use shared::service::gateway_key;
use std::time::Duration;

fn client(fake: &FakeAsaas, token: &str) -> AsaasClient {
    AsaasClient::new(AsaasConfig {
        base_url: fake.base_url.clone(),
        access_token: token.into(),
        user_agent: "orchestrator-tests".into(),
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_millis(700),
    })
    .unwrap()
}

fn req(amount: i64, method: PaymentMethod) -> ChargeRequest {
    let id = PaymentId::generate();
    ChargeRequest {
        gateway_key: gateway_key(&id),
        payment_id: id,
        amount: Money::new(amount, Currency::BRL).unwrap(),
        method,
        customer: Some(Customer {
            name: "Maria Souza".into(),
            document: Some(Document::parse("52998224725").unwrap()),
            email: Some("maria@example.com".into()),
        }),
        description: Some("Pedido 42".into()),
        card_token: (method == PaymentMethod::Card).then(|| "tok_asaas_1".to_string()),
        expires_in: None,
    }
}

#[tokio::test]
async fn creates_each_method_with_one_customer() {
    let fake = FakeAsaas::start().await;
    let c = client(&fake, &fake.token);
    let pix = c.create(&req(1990, PaymentMethod::Pix)).await.unwrap();
    assert_eq!(pix.status, PaymentStatus::Pending);
    let qr = pix.pix.clone().unwrap();
    assert!(qr.copy_paste.starts_with("000201"));
    assert!(qr.qr_code_png_base64.is_some() && qr.expires_at.is_some());
    let card = c.create(&req(10000, PaymentMethod::Card)).await.unwrap();
    assert_eq!(card.status, PaymentStatus::Succeeded);
    let boleto = c.create(&req(5000, PaymentMethod::Boleto)).await.unwrap();
    assert_eq!(boleto.status, PaymentStatus::Pending);
    assert_eq!(boleto.boleto.unwrap().barcode.len(), 47);
    assert_eq!(
        fake.customers_created(),
        1,
        "the customer is found by cpfCnpj after the first"
    );
    assert_eq!(fake.payments_created(), 3);
    assert_eq!(
        c.retrieve(&pix.gateway_payment_id, PaymentMethod::Pix)
            .await
            .unwrap()
            .status,
        PaymentStatus::Pending
    );
    c.cancel(&pix.gateway_payment_id, PaymentMethod::Pix)
        .await
        .unwrap();
    assert_eq!(
        c.retrieve(&pix.gateway_payment_id, PaymentMethod::Pix)
            .await
            .unwrap()
            .status,
        PaymentStatus::Canceled
    );
}

#[tokio::test]
async fn exact_decimals_round_trip() {
    let fake = FakeAsaas::start().await;
    let c = client(&fake, &fake.token);
    for minor in [29, 115, 1_999_999_999] {
        // The client checks the charge's value against the request, exactly.
        c.create(&req(minor, PaymentMethod::Pix)).await.unwrap();
    }
}

#[tokio::test]
async fn every_error_class() {
    let fake = FakeAsaas::start().await;
    let c = client(&fake, &fake.token);
    assert_eq!(
        c.create(&req(1002, PaymentMethod::Card))
            .await
            .unwrap_err()
            .class,
        ErrorClass::Declined
    );
    assert_eq!(
        c.create(&req(1040, PaymentMethod::Pix))
            .await
            .unwrap_err()
            .class,
        ErrorClass::Invalid
    );
    assert_eq!(
        c.create(&req(1031, PaymentMethod::Pix))
            .await
            .unwrap_err()
            .class,
        ErrorClass::Unavailable
    );
    assert_eq!(
        c.create(&req(1050, PaymentMethod::Pix))
            .await
            .unwrap_err()
            .class,
        ErrorClass::Ambiguous
    );
    assert_eq!(
        client(&fake, "$aact_wrong")
            .create(&req(1990, PaymentMethod::Pix))
            .await
            .unwrap_err()
            .class,
        ErrorClass::Misconfigured
    );
    let mut no_doc = req(1990, PaymentMethod::Pix);
    no_doc.customer = None;
    assert_eq!(
        c.create(&no_doc).await.unwrap_err().class,
        ErrorClass::Invalid
    );
    let closed = AsaasClient::new(AsaasConfig {
        base_url: "http://127.0.0.1:9/v3".into(),
        ..AsaasConfig::new("t")
    })
    .unwrap();
    assert_eq!(
        closed
            .create(&req(1990, PaymentMethod::Pix))
            .await
            .unwrap_err()
            .class,
        ErrorClass::Unavailable
    );
}

#[tokio::test]
async fn retry_after_ambiguous_finds_the_charge_by_external_reference() {
    let fake = FakeAsaas::start().await;
    let c = client(&fake, &fake.token);
    let r = req(2077, PaymentMethod::Card);
    assert_eq!(
        c.create(&r).await.unwrap_err().class,
        ErrorClass::Ambiguous,
        "timeout after send"
    );
    let again = c.create(&r).await.unwrap();
    assert_eq!(again.status, PaymentStatus::Succeeded);
    let r2 = req(2050, PaymentMethod::Pix);
    assert_eq!(
        c.create(&r2).await.unwrap_err().class,
        ErrorClass::Ambiguous,
        "500 on create"
    );
    let found = c.create(&r2).await.unwrap();
    assert_eq!(found.status, PaymentStatus::Pending);
    assert_eq!(
        fake.payments_created(),
        2,
        "each retry reached the charge its first attempt made"
    );
}

#[tokio::test]
async fn full_and_partial_refunds_never_twice() {
    use shared::ports::RefundRequest;
    let fake = FakeAsaas::start().await;
    let c = client(&fake, &fake.token);
    let card = c.create(&req(10000, PaymentMethod::Card)).await.unwrap();
    let refund = |key: &str, amount: i64| RefundRequest {
        gateway_payment_id: card.gateway_payment_id.clone(),
        method: PaymentMethod::Card,
        refund_key: key.into(),
        amount: Money::new(amount, Currency::BRL).unwrap(),
    };
    let r1 = c.refund(&refund("REF1", 2500)).await.unwrap();
    assert_eq!(r1.status, shared::domain::RefundStatus::Succeeded);
    assert_eq!(
        c.refund(&refund("REF1", 2500)).await.unwrap(),
        r1,
        "found by its key, not refunded again"
    );
    assert_eq!(
        c.refund(&refund("REF2", 9000)).await.unwrap_err().class,
        ErrorClass::Invalid
    );
    c.refund(&refund("REF3", 7500)).await.unwrap();
    assert_eq!(fake.refunded(&card.gateway_payment_id), 10000);
    assert_eq!(
        c.retrieve(&card.gateway_payment_id, PaymentMethod::Card)
            .await
            .unwrap()
            .status,
        PaymentStatus::Refunded
    );
}

/// Every way the QR read can fail after `POST /payments` made the charge.
const QR_FAILURES: [EndpointFailure; 5] = [
    EndpointFailure::Status(429),
    EndpointFailure::Status(404),
    EndpointFailure::Status(500),
    EndpointFailure::Status(401),
    EndpointFailure::CloseConnection,
];

/// The charge exists once `POST /payments` answered: a failing QR read must not turn it into an
/// error (429 would fail over to a second payable charge, 404 would mark the payment failed).
/// It comes back as `processing` with its id; a later `retrieve` reads the QR code.
#[tokio::test]
async fn a_failing_qr_code_after_create_keeps_the_charge() {
    let fake = FakeAsaas::start().await;
    let c = client(&fake, &fake.token);
    for (n, failure) in QR_FAILURES.into_iter().enumerate() {
        fake.set_qr_failure(Some(failure));
        let r = req(1990, PaymentMethod::Pix);
        let charge = c
            .create(&r)
            .await
            .unwrap_or_else(|e| panic!("{failure:?}: {e:?}"));
        let made = fake.payments_for(r.payment_id.as_str());
        assert_eq!(made.len(), 1, "{failure:?}");
        assert_eq!(charge.gateway_payment_id, made[0], "{failure:?}");
        assert_eq!(charge.status, PaymentStatus::Processing, "{failure:?}");
        assert_eq!(charge.pix, None, "{failure:?}");
        assert_eq!(fake.payments_created(), n + 1);
        fake.set_qr_failure(None);
        let later = c
            .retrieve(&charge.gateway_payment_id, PaymentMethod::Pix)
            .await
            .unwrap();
        assert_eq!(later.status, PaymentStatus::Pending);
        assert!(later.pix.is_some(), "the instructions, once readable");
    }
}

/// A retry that finds the first attempt's payment by `externalReference` keeps it as well.
#[tokio::test]
async fn a_failing_qr_code_after_finding_the_existing_payment_keeps_it() {
    let fake = FakeAsaas::start().await;
    let c = client(&fake, &fake.token);
    let r = req(2050, PaymentMethod::Pix);
    assert_eq!(c.create(&r).await.unwrap_err().class, ErrorClass::Ambiguous);
    let id = fake.payments_for(r.payment_id.as_str())[0].clone();
    for failure in QR_FAILURES {
        fake.set_qr_failure(Some(failure));
        let charge = c
            .create(&r)
            .await
            .unwrap_or_else(|e| panic!("{failure:?}: {e:?}"));
        assert_eq!(
            (charge.gateway_payment_id.as_str(), charge.status),
            (id.as_str(), PaymentStatus::Processing),
            "{failure:?}"
        );
    }
    assert_eq!(fake.payments_created(), 1, "no second charge");
}

/// Found by `externalReference`, without ever creating; nothing there is `Ok(None)`; another
/// amount is refused; a found charge whose QR code cannot be read is still found.
#[tokio::test]
async fn lookup_finds_without_creating_and_checks_the_amount() {
    let fake = FakeAsaas::start().await;
    let c = client(&fake, &fake.token);
    let r = req(1990, PaymentMethod::Pix);
    let made = c.create(&r).await.unwrap();
    let posts = fake.payment_posts();
    let found = c.lookup(&ChargeLookup::from(&r)).await.unwrap().unwrap();
    assert_eq!(found, made);
    let unknown = req(1990, PaymentMethod::Pix);
    assert_eq!(c.lookup(&ChargeLookup::from(&unknown)).await.unwrap(), None);
    let mut other_amount = ChargeLookup::from(&r);
    other_amount.amount = Money::new(1991, Currency::BRL).unwrap();
    let e = c.lookup(&other_amount).await.unwrap_err();
    assert_eq!(
        (e.class, e.code.as_str()),
        (ErrorClass::Ambiguous, ChargeAmountError::CODE)
    );
    // Same minor units in another currency: not this charge either.
    let mut other_currency = ChargeLookup::from(&r);
    other_currency.amount = Money::new(1990, Currency::JPY).unwrap();
    assert_eq!(
        c.lookup(&other_currency).await.unwrap_err().code,
        ChargeAmountError::CODE
    );
    for failure in QR_FAILURES {
        fake.set_qr_failure(Some(failure));
        let kept = c
            .lookup(&ChargeLookup::from(&r))
            .await
            .unwrap_or_else(|e| panic!("{failure:?}: {e:?}"))
            .unwrap();
        assert_eq!(
            (kept.gateway_payment_id.as_str(), kept.status),
            (made.gateway_payment_id.as_str(), PaymentStatus::Processing)
        );
    }
    assert_eq!(fake.payment_posts(), posts, "a look-up never creates");
    assert_eq!(fake.payments_created(), 1);
}

/// Asaas reads every value as reais: an amount in another currency is refused before any
/// request (1000 JPY was once sent as R$ 10,00 and reported paid).
#[tokio::test]
async fn an_amount_in_another_currency_is_refused_before_sending() {
    let fake = FakeAsaas::start().await;
    let c = client(&fake, &fake.token);
    for method in [
        PaymentMethod::Pix,
        PaymentMethod::Card,
        PaymentMethod::Boleto,
    ] {
        let mut r = req(1000, method);
        r.amount = Money::new(1000, Currency::JPY).unwrap();
        let e = c.create(&r).await.unwrap_err();
        assert_eq!(e.class, ErrorClass::Invalid, "{e:?}");
    }
    assert_eq!(fake.requests(), 0, "nothing sent");
    assert_eq!(fake.payments_created(), 0);
}

/// `expires_in` becomes `dueDate`: today plus the lifetime rounded up to whole days (default
/// one day); a paid payment refuses the cancel and reads back as succeeded.
#[tokio::test]
async fn expires_in_is_the_due_date_rounded_up_and_a_paid_payment_refuses_cancel() {
    let fake = FakeAsaas::start().await;
    let c = client(&fake, &fake.token);
    let today = chrono::Utc::now().date_naive();
    let due = |id: &str| {
        let p = fake.payment(id).unwrap();
        let d = p["dueDate"].as_str().unwrap().to_string();
        (chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").unwrap() - today).num_days()
    };
    for (expires_in, days) in [
        (None, 1),
        (Some(3600), 1),
        (Some(86_401), 2),
        (Some(604_800), 7),
    ] {
        let r = ChargeRequest {
            expires_in,
            ..req(1990, PaymentMethod::Pix)
        };
        let charge = c.create(&r).await.unwrap();
        assert_eq!(due(&charge.gateway_payment_id), days, "{expires_in:?}");
    }
    let pix = c.create(&req(2990, PaymentMethod::Pix)).await.unwrap();
    fake.set_payment_status(&pix.gateway_payment_id, "RECEIVED");
    let e = c
        .cancel(&pix.gateway_payment_id, PaymentMethod::Pix)
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Invalid, "{e:?}");
    assert_eq!(
        c.retrieve(&pix.gateway_payment_id, PaymentMethod::Pix)
            .await
            .unwrap()
            .status,
        PaymentStatus::Succeeded
    );
}
