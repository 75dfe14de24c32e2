//! The payment read model: every payment event, an order's payments, and what a
//! payment view must never hold.

use domain::payment::{
    CardSummary, GatewayReference, NextAction, PaymentEvent, PaymentFigures,
    PaymentStatus as Status,
};
use domain::shared::{CustomerId, Money, OrderId, PaymentId, PaymentMethodToken};
use projections::read_models::payments::{
    self, CardView, NextActionView, PaymentStatus, PaymentView, TransactionKind,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use uuid::Uuid;

use super::fixtures::{append, append_all, eur, fold_all, id, project, small_pool};

/// Figures after an event: authorized, captured, refunded (the rest follow).
fn figures(status: Status, authorized: i64, captured: i64, refunded: i64) -> PaymentFigures {
    PaymentFigures {
        status,
        authorized_total: eur(authorized),
        captured_total: eur(captured),
        refunded_total: eur(refunded),
        remaining_capturable: eur(authorized - captured),
        refundable: eur(captured - refunded),
    }
}

fn reference(text: &str) -> GatewayReference {
    GatewayReference::new(text).unwrap()
}

pub fn initiated(payment: Uuid, order: Uuid, amount: Money) -> PaymentEvent {
    PaymentEvent::PaymentInitiated {
        payment_id: PaymentId::new(payment),
        order_id: OrderId::new(order),
        customer_id: Some(CustomerId::new(id(77))),
        amount,
        method: PaymentMethodToken::new("tok_secret_method").unwrap(),
        after: figures(Status::Pending, 0, 0, 0),
    }
}

async fn payment(pool: &PgPool, payment: Uuid) -> PaymentView {
    project::<PaymentView>(pool).await;
    payments::get(pool, payment)
        .await
        .unwrap()
        .expect("the payment")
}

fn totals(view: &PaymentView) -> (PaymentStatus, i64, i64, i64, i64, i64) {
    (
        view.status,
        view.authorized_total.amount,
        view.captured_total.amount,
        view.refunded_total.amount,
        view.remaining_capturable.amount,
        view.refundable.amount,
    )
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn every_payment_event_changes_the_view_as_it_should(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let (p, o) = (id(1), id(2));
    let (payment_id, order_id) = (PaymentId::new(p), OrderId::new(o));
    let stream = p.to_string();
    let mut sequence = 0;
    let mut next = || {
        sequence += 1;
        sequence
    };

    append(
        &pool,
        "Payment",
        &stream,
        next(),
        &initiated(p, o, eur(1000)),
    )
    .await;
    let view = payment(&pool, p).await;
    assert_eq!(
        (view.payment_id, view.order_id, view.customer_id),
        (p, o, Some(id(77)))
    );
    assert_eq!((view.amount.amount, view.card.clone()), (1000, None));
    assert_eq!(totals(&view), (PaymentStatus::Pending, 0, 0, 0, 0, 0));
    assert_eq!(view.transactions[0].kind, TransactionKind::Initiation);

    let action = PaymentEvent::PaymentActionRequired {
        payment_id,
        order_id,
        gateway_reference: reference("pi_1"),
        next_action: NextAction::redirect_to_url("https://bank.example/3ds").unwrap(),
        amount: eur(1000),
        after: figures(Status::ActionRequired, 0, 0, 0),
    };
    append(&pool, "Payment", &stream, next(), &action).await;
    let view = payment(&pool, p).await;
    assert_eq!(view.status, PaymentStatus::ActionRequired);
    assert_eq!(
        view.next_action,
        Some(NextActionView::RedirectToUrl {
            url: "https://bank.example/3ds".into()
        })
    );

    let authorized = PaymentEvent::PaymentAuthorized {
        payment_id,
        order_id,
        gateway_reference: reference("pi_1"),
        amount: eur(1000),
        card: Some(CardSummary::new("visa", "4242").unwrap()),
        after: figures(Status::Authorized, 1000, 0, 0),
    };
    append(&pool, "Payment", &stream, next(), &authorized).await;
    let view = payment(&pool, p).await;
    assert_eq!(
        totals(&view),
        (PaymentStatus::Authorized, 1000, 0, 0, 1000, 0)
    );
    assert_eq!(
        view.card,
        Some(CardView {
            brand: "visa".into(),
            last4: "4242".into()
        })
    );
    assert_eq!(view.next_action, None, "the customer has acted");

    for (amount, captured, status) in [
        (400, 400, Status::PartiallyCaptured),
        (600, 1000, Status::Captured),
    ] {
        let captured_event = PaymentEvent::PaymentCaptured {
            payment_id,
            order_id,
            gateway_reference: reference(&format!("ch_{captured}")),
            amount: eur(amount),
            after: figures(status, 1000, captured, 0),
        };
        append(&pool, "Payment", &stream, next(), &captured_event).await;
    }
    let view = payment(&pool, p).await;
    assert_eq!(
        totals(&view),
        (PaymentStatus::Captured, 1000, 1000, 0, 0, 1000)
    );

    for (amount, refunded, status) in [
        (300, 300, Status::PartiallyRefunded),
        (700, 1000, Status::Refunded),
    ] {
        let refund = PaymentEvent::PaymentRefunded {
            payment_id,
            order_id,
            gateway_reference: reference(&format!("re_{refunded}")),
            amount: eur(amount),
            reason: "returned".into(),
            refund_id: None,
            after: figures(status, 1000, 1000, refunded),
        };
        append(&pool, "Payment", &stream, next(), &refund).await;
    }
    let view = payment(&pool, p).await;
    assert_eq!(
        totals(&view),
        (PaymentStatus::Refunded, 1000, 1000, 1000, 0, 0)
    );
    let log: Vec<(TransactionKind, Option<&str>, i64)> = view
        .transactions
        .iter()
        .map(|t| (t.kind, t.gateway_reference.as_deref(), t.amount.amount))
        .collect();
    assert_eq!(
        log,
        vec![
            (TransactionKind::Initiation, None, 1000),
            (TransactionKind::ActionRequired, Some("pi_1"), 1000),
            (TransactionKind::Authorization, Some("pi_1"), 1000),
            (TransactionKind::Capture, Some("ch_400"), 400),
            (TransactionKind::Capture, Some("ch_1000"), 600),
            (TransactionKind::Refund, Some("re_300"), 300),
            (TransactionKind::Refund, Some("re_1000"), 700),
        ]
    );
    assert_eq!(view.transactions[6].reason.as_deref(), Some("returned"));
    assert_eq!(view.version, 7);

    // Never the payment method token; of the card only brand and last four.
    let doc: String =
        sqlx::query_scalar("SELECT doc::text FROM read_payments WHERE payment_id = $1")
            .bind(p)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        !doc.contains("tok_secret_method") && !doc.contains("method"),
        "{doc}"
    );
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn declines_failures_and_voids_end_a_payment_and_say_why(
    pool_options: PgPoolOptions,
    connect_options: PgConnectOptions,
) {
    let pool = small_pool(pool_options, connect_options).await;
    let o = id(50);
    let (declined, failed, voided) = (id(1), id(2), id(3));
    append_all(
        &pool,
        "Payment",
        &declined.to_string(),
        1,
        &[
            initiated(declined, o, eur(500)),
            PaymentEvent::PaymentDeclined {
                payment_id: PaymentId::new(declined),
                order_id: OrderId::new(o),
                reason_code: "insufficient_funds".into(),
                message: "Insufficient funds".into(),
                amount: eur(500),
                after: figures(Status::Declined, 0, 0, 0),
            },
        ],
    )
    .await;
    append_all(
        &pool,
        "Payment",
        &failed.to_string(),
        1,
        &[
            initiated(failed, o, eur(500)),
            PaymentEvent::PaymentFailed {
                payment_id: PaymentId::new(failed),
                order_id: OrderId::new(o),
                reason: "gateway timeout".into(),
                amount: eur(500),
                after: figures(Status::Failed, 0, 0, 0),
            },
        ],
    )
    .await;
    append_all(
        &pool,
        "Payment",
        &voided.to_string(),
        1,
        &[
            initiated(voided, o, eur(500)),
            PaymentEvent::PaymentAuthorized {
                payment_id: PaymentId::new(voided),
                order_id: OrderId::new(o),
                gateway_reference: reference("pi_3"),
                amount: eur(500),
                card: None,
                after: figures(Status::Authorized, 500, 0, 0),
            },
            PaymentEvent::PaymentVoided {
                payment_id: PaymentId::new(voided),
                order_id: OrderId::new(o),
                gateway_reference: reference("void_3"),
                amount: eur(500),
                after: PaymentFigures {
                    remaining_capturable: eur(0),
                    ..figures(Status::Voided, 500, 0, 0)
                },
            },
        ],
    )
    .await;
    project::<PaymentView>(&pool).await;

    let of_order = payments::list_for_order(&pool, o).await.unwrap();
    let summary: Vec<(Uuid, PaymentStatus, Option<String>)> = of_order
        .iter()
        .map(|p| {
            (
                p.payment_id,
                p.status,
                p.transactions.last().unwrap().reason.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                declined,
                PaymentStatus::Declined,
                Some("insufficient_funds: Insufficient funds".into())
            ),
            (
                failed,
                PaymentStatus::Failed,
                Some("gateway timeout".into())
            ),
            (voided, PaymentStatus::Voided, None),
        ],
        "oldest first"
    );
    let void = &of_order[2];
    assert_eq!(
        (
            void.authorized_total.amount,
            void.remaining_capturable.amount,
            void.card.clone()
        ),
        (500, 0, None)
    );
    assert_eq!(
        void.transactions.last().unwrap().kind,
        TransactionKind::Void
    );
    assert!(payments::list_for_order(&pool, id(51))
        .await
        .unwrap()
        .is_empty());
    assert!(payments::get(&pool, id(99)).await.unwrap().is_none());
}

#[test]
fn the_payment_fold_keeps_no_token_without_a_database() {
    let view: PaymentView = fold_all(vec![initiated(id(1), id(2), eur(100))]).unwrap();
    let json = serde_json::to_string(&view).unwrap();
    assert!(!json.contains("tok_"), "{json}");
    assert_eq!((view.status, view.version), (PaymentStatus::Pending, 1));
    let twice = fold_all::<PaymentView>(vec![
        initiated(id(1), id(2), eur(100)),
        initiated(id(1), id(2), eur(100)),
    ])
    .unwrap_err();
    assert!(twice.contains("already exists"), "{twice}");
}
