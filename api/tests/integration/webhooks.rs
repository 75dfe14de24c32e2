//! The payment gateway's signed webhooks: a valid one completes a payment waiting
//! for the customer; forged, stale and replayed ones are refused and change nothing;
//! a webhook repeating what the synchronous answer already recorded is one
//! transition, not two.

use api::secret::Secret;
use commands::{execute, AggregateStore, CommandOptions, StoreOptions};
use domain::payment::{GatewayReference, NextAction, Payment, PaymentCommand};
use domain::shared::{Currency, Money, OrderId, PaymentId, PaymentMethodToken};
use eventlog::LogWakeups;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::fixtures::{count_events, count_events_of, fixture_metadata};
use crate::support::{spawn_app, TestApp, WEBHOOK_SECRET};

/// A payment the gateway asked the customer to confirm (`tok_async`).
async fn payment_awaiting_the_customer(pool: &PgPool) -> Uuid {
    let store =
        AggregateStore::<Payment>::new(pool.clone(), LogWakeups::local(), StoreOptions::default());
    let payment_id = Uuid::new_v4();
    let eur = Currency::new("EUR").unwrap();
    let commands = [
        PaymentCommand::InitiatePayment {
            payment_id: PaymentId::new(payment_id),
            order_id: OrderId::new(Uuid::new_v4()),
            amount: Money::new(2500, eur),
            method: PaymentMethodToken::new("tok_async").unwrap(),
            customer_id: None,
        },
        PaymentCommand::RecordActionRequired {
            gateway_reference: GatewayReference::new("pi_1").unwrap(),
            next_action: NextAction::redirect_to_url("https://gateway.test/3ds/1").unwrap(),
        },
    ];
    for command in commands {
        execute(
            &store,
            &payment_id.to_string(),
            command,
            &fixture_metadata("payment"),
            CommandOptions::default(),
            None,
        )
        .await
        .unwrap();
    }
    payment_id
}

fn authorized(event_id: &str, payment_id: Uuid) -> Value {
    json!({"type": "payment.authorized", "id": event_id, "payment_id": payment_id,
           "gateway_reference": "auth_1", "amount": {"amount": 2500, "currency": "EUR"},
           "card": {"brand": "visa", "last4": "4242"}})
}

async fn deliver(app: &TestApp, body: &Value, signature: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/webhooks/payments"))
        .header("Content-Type", "application/json")
        .header("Payment-Signature", signature)
        .body(serde_json::to_vec(body).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn signed(body: &Value, age_seconds: i64) -> String {
    let secret = Secret::new(WEBHOOK_SECRET.into());
    let now = chrono::Utc::now().timestamp();
    api::routes::webhooks::sign(
        &secret,
        &serde_json::to_vec(body).unwrap(),
        now - age_seconds,
    )
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_signed_webhook_completes_a_payment_waiting_for_the_customer(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    let payment_id = payment_awaiting_the_customer(&pool).await;
    let body = authorized("evt_1", payment_id);
    let (status, answer) = deliver(&app, &body, &signed(&body, 0)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["version"], 3);
    let id = payment_id.to_string();
    assert_eq!(count_events_of(&pool, &id, "PaymentAuthorized").await, 1);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn forged_stale_and_replayed_webhooks_change_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    let payment_id = payment_awaiting_the_customer(&pool).await;
    let before = count_events(&pool).await;
    let body = authorized("evt_2", payment_id);

    let forged = Secret::new("not-the-secret".into());
    let now = chrono::Utc::now().timestamp();
    let forged = api::routes::webhooks::sign(&forged, &serde_json::to_vec(&body).unwrap(), now);
    let (status, answer) = deliver(&app, &body, &forged).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (401, Some("unauthorized")),
        "{answer}"
    );

    // Signed for another body: the amount was changed on the way.
    let mut tampered = body.clone();
    tampered["amount"]["amount"] = json!(1);
    let (status, _) = deliver(&app, &tampered, &signed(&body, 0)).await;
    assert_eq!(status, 401);

    let (status, answer) = deliver(&app, &body, &signed(&body, 301)).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["detail"].as_str().unwrap().contains("5 minutes"));
    let (status, _) = deliver(&app, &body, "garbage").await;
    assert_eq!(status, 401);
    assert_eq!(count_events(&pool).await, before, "nothing changed");

    let (status, _) = deliver(&app, &body, &signed(&body, 0)).await;
    assert_eq!(status, 200);
    let (status, answer) = deliver(&app, &body, &signed(&body, 0)).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (409, Some("webhook_replayed")),
        "{answer}"
    );
    assert_eq!(count_events(&pool).await, before + 1);
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_webhook_repeating_the_recorded_answer_is_one_transition_not_two(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    let payment_id = payment_awaiting_the_customer(&pool).await;
    // The client's synchronous completion and the gateway's webhook carry the same
    // authorization; whichever comes second records nothing.
    let first = authorized("evt_3", payment_id);
    let second = authorized("evt_4", payment_id);
    let (first_signature, second_signature) = (signed(&first, 0), signed(&second, 0));
    let (a, b) = tokio::join!(
        deliver(&app, &first, &first_signature),
        deliver(&app, &second, &second_signature),
    );
    assert_eq!((a.0, b.0), (200, 200), "{} {}", a.1, b.1);
    let id = payment_id.to_string();
    assert_eq!(count_events_of(&pool, &id, "PaymentAuthorized").await, 1);

    // An authorization of another amount under the same reference is refused.
    let mut other = authorized("evt_5", payment_id);
    other["amount"]["amount"] = json!(2400);
    let (status, answer) = deliver(&app, &other, &signed(&other, 0)).await;
    assert_eq!(status, 422, "{answer}");
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn a_webhook_with_a_malformed_body_is_a_400(pool: PgPool) {
    let app = spawn_app(pool.clone(), false).await;
    let body = json!({"type": "payment.exploded", "id": "evt_6"});
    let (status, answer) = deliver(&app, &body, &signed(&body, 0)).await;
    assert_eq!(status, 400, "{answer}");
}
