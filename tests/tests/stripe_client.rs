//! The Stripe client against the fake Stripe server: every method, every error class, and
//! retries after an ambiguous outcome reaching the same PaymentIntent.

use integration_tests::fakes::stripe::FakeStripe;
use shared::domain::{
    Currency, Customer, Document, Money, PaymentId, PaymentMethod, PaymentStatus,
};
use shared::gateways::stripe::{StripeClient, StripeConfig};
use shared::ports::{ChargeRequest, ErrorClass, Gateway};
use shared::service::gateway_key;
use std::time::Duration;

fn client(fake: &FakeStripe, key: &str) -> StripeClient {
    StripeClient::new(StripeConfig {
        base_url: fake.base_url.clone(),
        secret_key: key.into(),
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
        card_token: (method == PaymentMethod::Card).then(|| "pm_card_visa".to_string()),
        expires_in: None,
    }
}

#[tokio::test]
async fn creates_each_method() {
    let fake = FakeStripe::start().await;
    let c = client(&fake, &fake.api_key);
    let card = c.create(&req(1990, PaymentMethod::Card)).await.unwrap();
    assert_eq!(card.status, PaymentStatus::Succeeded);
    assert!(card.gateway_payment_id.starts_with("pi_"));
    let pix = c.create(&req(1990, PaymentMethod::Pix)).await.unwrap();
    assert_eq!(pix.status, PaymentStatus::Pending);
    assert!(pix.pix.unwrap().copy_paste.starts_with("000201"));
    let boleto = c.create(&req(1990, PaymentMethod::Boleto)).await.unwrap();
    assert_eq!(boleto.status, PaymentStatus::Pending);
    assert_eq!(boleto.boleto.unwrap().barcode.len(), 47);
    assert_eq!(fake.intents_created(), 3);
    // Status sync and cancel.
    let got = c
        .retrieve(&pix.gateway_payment_id, PaymentMethod::Pix)
        .await
        .unwrap();
    assert_eq!(got.status, PaymentStatus::Pending);
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
async fn every_error_class() {
    let fake = FakeStripe::start().await;
    let c = client(&fake, &fake.api_key);
    let class = |r: Result<_, shared::ports::GatewayError>| r.unwrap_err();
    let d = class(c.create(&req(1002, PaymentMethod::Card)).await);
    assert_eq!(
        (d.class, d.code.as_str()),
        (ErrorClass::Declined, "insufficient_funds")
    );
    assert_eq!(
        class(c.create(&req(1040, PaymentMethod::Card)).await).class,
        ErrorClass::Invalid
    );
    assert_eq!(
        class(c.create(&req(1031, PaymentMethod::Card)).await).class,
        ErrorClass::Unavailable
    );
    assert_eq!(
        class(c.create(&req(1050, PaymentMethod::Card)).await).class,
        ErrorClass::Ambiguous
    );
    assert_eq!(
        class(c.create(&req(1077, PaymentMethod::Card)).await).class,
        ErrorClass::Ambiguous
    );
    let bad_key = client(&fake, "sk_test_wrong");
    assert_eq!(
        class(bad_key.create(&req(1990, PaymentMethod::Card)).await).class,
        ErrorClass::Misconfigured
    );
    // Nothing listening: refused before sending, so provably nothing was created.
    let closed = StripeClient::new(StripeConfig {
        base_url: "http://127.0.0.1:9".into(),
        ..StripeConfig::new("sk")
    })
    .unwrap();
    assert_eq!(
        class(closed.create(&req(1990, PaymentMethod::Card)).await).class,
        ErrorClass::Unavailable
    );
}

#[tokio::test]
async fn retry_after_ambiguous_reaches_the_same_intent() {
    let fake = FakeStripe::start().await;
    let c = client(&fake, &fake.api_key);
    // Timeout after send: the intent exists; the retry with the same key gets it back.
    let r = req(2077, PaymentMethod::Card);
    assert_eq!(c.create(&r).await.unwrap_err().class, ErrorClass::Ambiguous);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = c.create(&r).await.unwrap();
    assert_eq!(again.status, PaymentStatus::Succeeded);
    assert_eq!(
        fake.intents_created(),
        1,
        "one PaymentIntent for the payment"
    );
    // A 500 is replayed for the same key (Stripe semantics): still one intent, still ambiguous.
    let r = req(2050, PaymentMethod::Card);
    assert_eq!(c.create(&r).await.unwrap_err().class, ErrorClass::Ambiguous);
    assert_eq!(c.create(&r).await.unwrap_err().class, ErrorClass::Ambiguous);
    assert_eq!(fake.intents_created(), 2);
}

#[tokio::test]
async fn full_and_partial_refunds_never_twice() {
    use shared::ports::RefundRequest;
    let fake = FakeStripe::start().await;
    let c = client(&fake, &fake.api_key);
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
        "same key: the same refund"
    );
    let over = c.refund(&refund("REF2", 9000)).await.unwrap_err();
    assert_eq!(over.class, ErrorClass::Invalid, "more than what is left");
    c.refund(&refund("REF3", 7500)).await.unwrap();
    assert_eq!(fake.refunded(&card.gateway_payment_id), 10000);
}

/// Stripe answered for another currency (the fake records intents in USD): create and look-up
/// refuse the charge as an amount mismatch; a plain read has no expectation.
#[tokio::test]
async fn an_intent_in_another_currency_is_refused() {
    use shared::domain::ChargeAmountError;
    use shared::ports::ChargeLookup;
    let fake = FakeStripe::start().await;
    let c = client(&fake, &fake.api_key);
    fake.set_answer_currency(Some("usd"));
    let r = req(1990, PaymentMethod::Card);
    let e = c.create(&r).await.unwrap_err();
    assert_eq!(
        (e.class, e.code.as_str()),
        (ErrorClass::Ambiguous, ChargeAmountError::CODE),
        "{e:?}"
    );
    let e = c.lookup(&ChargeLookup::from(&r)).await.unwrap_err();
    assert_eq!(
        (e.class, e.code.as_str()),
        (ErrorClass::Ambiguous, ChargeAmountError::CODE),
        "{e:?}"
    );
    let ids = fake.intents_for(r.payment_id.as_str());
    assert_eq!(ids.len(), 1);
    assert_eq!(
        c.retrieve(&ids[0], PaymentMethod::Card)
            .await
            .unwrap()
            .status,
        PaymentStatus::Succeeded
    );
    // Same amount and currency as asked: accepted, in any currency Stripe takes.
    fake.set_answer_currency(None);
    let mut jpy = req(1000, PaymentMethod::Card);
    jpy.amount = Money::new(1000, Currency::JPY).unwrap();
    c.create(&jpy).await.unwrap();
}

/// The look-up finds the intent by `metadata[payment_id]` without creating anything; a payment
/// with no intent is `Ok(None)`; an intent for another amount is refused.
#[tokio::test]
async fn lookup_finds_without_creating_and_checks_the_amount() {
    use shared::domain::ChargeAmountError;
    use shared::ports::ChargeLookup;
    let fake = FakeStripe::start().await;
    let c = client(&fake, &fake.api_key);
    let r = req(1990, PaymentMethod::Pix);
    let made = c.create(&r).await.unwrap();
    let posts = fake.create_posts();
    let found = c.lookup(&ChargeLookup::from(&r)).await.unwrap().unwrap();
    assert_eq!(found, made, "the same intent, normalized the same way");
    let unknown = req(1990, PaymentMethod::Pix);
    assert_eq!(c.lookup(&ChargeLookup::from(&unknown)).await.unwrap(), None);
    let mut other_amount = ChargeLookup::from(&r);
    other_amount.amount = Money::new(1991, Currency::BRL).unwrap();
    let e = c.lookup(&other_amount).await.unwrap_err();
    assert_eq!(
        (e.class, e.code.as_str()),
        (ErrorClass::Ambiguous, ChargeAmountError::CODE)
    );
    assert_eq!(fake.create_posts(), posts, "a look-up never creates");
    assert_eq!(fake.intents_created(), 1);
}

/// Stripe prunes idempotency keys after ~24 h: a create re-sent after that makes a second
/// PaymentIntent, which is why takeovers look up instead. The look-up reports the first.
#[tokio::test]
async fn after_key_expiry_a_resent_create_makes_a_second_intent_and_lookup_finds_the_first() {
    use shared::ports::ChargeLookup;
    let fake = FakeStripe::start().await;
    let c = client(&fake, &fake.api_key);
    let r = req(1990, PaymentMethod::Card);
    let first = c.create(&r).await.unwrap();
    assert_eq!(c.create(&r).await.unwrap(), first, "replayed for the key");
    fake.forget_idempotency_keys();
    let second = c.create(&r).await.unwrap();
    assert_ne!(second.gateway_payment_id, first.gateway_payment_id);
    assert_eq!(fake.intents_created(), 2);
    let posts = fake.create_posts();
    let found = c.lookup(&ChargeLookup::from(&r)).await.unwrap().unwrap();
    assert_eq!(found.gateway_payment_id, first.gateway_payment_id);
    assert_eq!(fake.create_posts(), posts);
    assert_eq!(fake.intents_created(), 2);
}

/// `expires_in` becomes `payment_method_options[pix][expires_after_seconds]` (Stripe's
/// default, a day, without it); a succeeded intent refuses the cancel and reads back as
/// succeeded.
#[tokio::test]
async fn pix_expiry_is_mapped_and_a_paid_intent_refuses_cancel() {
    let fake = FakeStripe::start().await;
    let c = client(&fake, &fake.api_key);
    let r = ChargeRequest {
        expires_in: Some(900),
        ..req(1990, PaymentMethod::Pix)
    };
    let charge = c.create(&r).await.unwrap();
    let pi = fake.intent(&charge.gateway_payment_id).unwrap();
    assert_eq!(
        pi["payment_method_options"]["pix"]["expires_after_seconds"],
        900
    );
    let created = pi["created"].as_i64().unwrap();
    assert_eq!(
        charge.pix.unwrap().expires_at.unwrap().timestamp(),
        created + 900
    );
    let d = c.create(&req(1990, PaymentMethod::Pix)).await.unwrap();
    let pi = fake.intent(&d.gateway_payment_id).unwrap();
    assert!(pi["payment_method_options"]["pix"]["expires_after_seconds"].is_null());
    assert_eq!(
        d.pix.unwrap().expires_at.unwrap().timestamp(),
        pi["created"].as_i64().unwrap() + 86_400
    );
    // Paid meanwhile.
    fake.set_intent_status(&charge.gateway_payment_id, "succeeded");
    let e = c
        .cancel(&charge.gateway_payment_id, PaymentMethod::Pix)
        .await
        .unwrap_err();
    assert_eq!(
        (e.class, e.code.as_str()),
        (ErrorClass::Invalid, "payment_intent_unexpected_state")
    );
    assert_eq!(
        c.retrieve(&charge.gateway_payment_id, PaymentMethod::Pix)
            .await
            .unwrap()
            .status,
        PaymentStatus::Succeeded
    );
}
