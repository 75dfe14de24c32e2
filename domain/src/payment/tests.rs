//! Given/when/then: one test per rule and per refused transition.

// Amounts are written as euros_cents (`40_00` is 40.00 EUR).
#![allow(clippy::inconsistent_digit_grouping)]

use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::shared::{Currency, CustomerId, Money, OrderId, PaymentId, PaymentMethodToken};

type PaymentTest = TestFramework<Payment>;

const INITIATED: i64 = 100_00;

fn payment_id() -> PaymentId {
    PaymentId::new(Uuid::from_u128(0x9a1))
}

fn order_id() -> OrderId {
    OrderId::new(Uuid::from_u128(0x0de))
}

fn customer_id() -> CustomerId {
    CustomerId::new(Uuid::from_u128(0xc05))
}

fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::new("EUR").unwrap())
}

fn usd(amount: i64) -> Money {
    Money::new(amount, Currency::new("USD").unwrap())
}

fn reference(value: &str) -> GatewayReference {
    GatewayReference::new(value).unwrap()
}

fn token() -> PaymentMethodToken {
    PaymentMethodToken::new("tok_visa").unwrap()
}

fn card() -> CardSummary {
    CardSummary::new("visa", "4242").unwrap()
}

fn challenge() -> NextAction {
    NextAction::redirect_to_url("https://bank.example/3ds/1").unwrap()
}

/// Figures in EUR: status, authorized, captured, refunded, remaining capturable, refundable.
fn figures(
    status: PaymentStatus,
    authorized: i64,
    captured: i64,
    refunded: i64,
    remaining_capturable: i64,
    refundable: i64,
) -> PaymentFigures {
    PaymentFigures {
        status,
        authorized_total: eur(authorized),
        captured_total: eur(captured),
        refunded_total: eur(refunded),
        remaining_capturable: eur(remaining_capturable),
        refundable: eur(refundable),
    }
}

// ---- commands ----

fn initiate(amount: Money) -> PaymentCommand {
    PaymentCommand::InitiatePayment {
        payment_id: payment_id(),
        order_id: order_id(),
        amount,
        method: token(),
        customer_id: Some(customer_id()),
    }
}

fn require_action(gateway_reference: &str) -> PaymentCommand {
    PaymentCommand::RecordActionRequired {
        gateway_reference: reference(gateway_reference),
        next_action: challenge(),
    }
}

fn authorize(gateway_reference: &str, amount: Money) -> PaymentCommand {
    PaymentCommand::RecordAuthorization {
        gateway_reference: reference(gateway_reference),
        amount,
        card: Some(card()),
    }
}

fn decline() -> PaymentCommand {
    PaymentCommand::RecordDecline {
        reason_code: "insufficient_funds".into(),
        message: "The card has insufficient funds.".into(),
    }
}

fn fail() -> PaymentCommand {
    PaymentCommand::RecordFailure {
        reason: "gateway timeout".into(),
    }
}

fn capture(gateway_reference: &str, amount: Money) -> PaymentCommand {
    PaymentCommand::Capture {
        gateway_reference: reference(gateway_reference),
        amount,
    }
}

fn void(gateway_reference: &str) -> PaymentCommand {
    PaymentCommand::Void {
        gateway_reference: reference(gateway_reference),
    }
}

fn refund(gateway_reference: &str, amount: Money) -> PaymentCommand {
    PaymentCommand::Refund {
        gateway_reference: reference(gateway_reference),
        amount,
        reason: "returned".into(),
        refund_id: None,
    }
}

// ---- events ----

fn initiated() -> PaymentEvent {
    PaymentEvent::PaymentInitiated {
        payment_id: payment_id(),
        order_id: order_id(),
        customer_id: Some(customer_id()),
        amount: eur(INITIATED),
        method: token(),
        after: figures(PaymentStatus::Pending, 0, 0, 0, 0, 0),
    }
}

fn action_required(gateway_reference: &str) -> PaymentEvent {
    PaymentEvent::PaymentActionRequired {
        payment_id: payment_id(),
        order_id: order_id(),
        gateway_reference: reference(gateway_reference),
        next_action: challenge(),
        amount: eur(INITIATED),
        after: figures(PaymentStatus::ActionRequired, 0, 0, 0, 0, 0),
    }
}

fn authorized(amount: i64) -> PaymentEvent {
    PaymentEvent::PaymentAuthorized {
        payment_id: payment_id(),
        order_id: order_id(),
        gateway_reference: reference("auth_1"),
        amount: eur(amount),
        card: Some(card()),
        after: figures(PaymentStatus::Authorized, amount, 0, 0, amount, 0),
    }
}

fn declined() -> PaymentEvent {
    PaymentEvent::PaymentDeclined {
        payment_id: payment_id(),
        order_id: order_id(),
        reason_code: "insufficient_funds".into(),
        message: "The card has insufficient funds.".into(),
        amount: eur(INITIATED),
        after: figures(PaymentStatus::Declined, 0, 0, 0, 0, 0),
    }
}

fn failed() -> PaymentEvent {
    PaymentEvent::PaymentFailed {
        payment_id: payment_id(),
        order_id: order_id(),
        reason: "gateway timeout".into(),
        amount: eur(INITIATED),
        after: figures(PaymentStatus::Failed, 0, 0, 0, 0, 0),
    }
}

fn captured(gateway_reference: &str, amount: i64, after: PaymentFigures) -> PaymentEvent {
    PaymentEvent::PaymentCaptured {
        payment_id: payment_id(),
        order_id: order_id(),
        gateway_reference: reference(gateway_reference),
        amount: eur(amount),
        after,
    }
}

fn voided(gateway_reference: &str, amount: i64, after: PaymentFigures) -> PaymentEvent {
    PaymentEvent::PaymentVoided {
        payment_id: payment_id(),
        order_id: order_id(),
        gateway_reference: reference(gateway_reference),
        amount: eur(amount),
        after,
    }
}

fn refunded(gateway_reference: &str, amount: i64, after: PaymentFigures) -> PaymentEvent {
    PaymentEvent::PaymentRefunded {
        payment_id: payment_id(),
        order_id: order_id(),
        gateway_reference: reference(gateway_reference),
        amount: eur(amount),
        reason: "returned".into(),
        refund_id: None,
        after,
    }
}

// ---- histories, one per status ----

fn pending() -> Vec<PaymentEvent> {
    vec![initiated()]
}

fn awaiting_action() -> Vec<PaymentEvent> {
    vec![initiated(), action_required("pi_1")]
}

fn authorized_in_full() -> Vec<PaymentEvent> {
    vec![initiated(), authorized(INITIATED)]
}

fn partially_captured() -> Vec<PaymentEvent> {
    let after = figures(
        PaymentStatus::PartiallyCaptured,
        INITIATED,
        40_00,
        0,
        60_00,
        40_00,
    );
    vec![
        initiated(),
        authorized(INITIATED),
        captured("cap_1", 40_00, after),
    ]
}

fn captured_in_full() -> Vec<PaymentEvent> {
    let after = figures(
        PaymentStatus::Captured,
        INITIATED,
        INITIATED,
        0,
        0,
        INITIATED,
    );
    vec![
        initiated(),
        authorized(INITIATED),
        captured("cap_1", INITIATED, after),
    ]
}

fn partially_refunded() -> Vec<PaymentEvent> {
    let mut events = captured_in_full();
    let after = figures(
        PaymentStatus::PartiallyRefunded,
        INITIATED,
        INITIATED,
        30_00,
        0,
        70_00,
    );
    events.push(refunded("ref_1", 30_00, after));
    events
}

fn refunded_in_full() -> Vec<PaymentEvent> {
    let mut events = captured_in_full();
    let after = figures(
        PaymentStatus::Refunded,
        INITIATED,
        INITIATED,
        INITIATED,
        0,
        0,
    );
    events.push(refunded("ref_1", INITIATED, after));
    events
}

fn voided_payment() -> Vec<PaymentEvent> {
    let after = figures(PaymentStatus::Voided, INITIATED, 0, 0, 0, 0);
    vec![
        initiated(),
        authorized(INITIATED),
        voided("void_1", INITIATED, after),
    ]
}

fn declined_payment() -> Vec<PaymentEvent> {
    vec![initiated(), declined()]
}

fn failed_payment() -> Vec<PaymentEvent> {
    vec![initiated(), failed()]
}

fn given(events: Vec<PaymentEvent>) -> cqrs_es::test::AggregateTestExecutor<Payment> {
    PaymentTest::with(()).given(events)
}

// ---- initiation ----

#[test]
fn initiating_records_the_order_amount_customer_and_token_as_pending() {
    PaymentTest::with(())
        .given_no_previous_events()
        .when(initiate(eur(INITIATED)))
        .then_expect_events(vec![initiated()]);
}

#[test]
fn refuses_to_initiate_a_payment_twice() {
    given(pending())
        .when(initiate(eur(INITIATED)))
        .then_expect_error(PaymentError::AlreadyExists);
}

#[test]
fn refuses_to_initiate_a_payment_of_zero_or_less() {
    for amount in [0, -1] {
        PaymentTest::with(())
            .given_no_previous_events()
            .when(initiate(eur(amount)))
            .then_expect_error(PaymentError::NonPositiveAmount {
                amount: eur(amount),
            });
    }
}

#[test]
fn refuses_every_other_command_before_the_payment_is_initiated() {
    for command in [
        require_action("pi_1"),
        authorize("auth_1", eur(1)),
        decline(),
        fail(),
        capture("cap_1", eur(1)),
        void("void_1"),
        refund("ref_1", eur(1)),
    ] {
        PaymentTest::with(())
            .given_no_previous_events()
            .when(command)
            .then_expect_error(PaymentError::NotFound);
    }
}

// ---- action required (3-D Secure) ----

#[test]
fn the_gateway_asking_the_customer_to_act_awaits_the_customer() {
    given(pending())
        .when(require_action("pi_1"))
        .then_expect_events(vec![action_required("pi_1")]);
}

#[test]
fn the_gateway_may_ask_the_customer_again_under_a_new_reference() {
    given(awaiting_action())
        .when(require_action("pi_2"))
        .then_expect_events(vec![action_required("pi_2")]);
}

#[test]
fn a_repeated_action_request_changes_nothing_even_after_the_decision() {
    given(awaiting_action())
        .when(require_action("pi_1"))
        .then_expect_events(vec![]);
    // The webhook authorized first; the synchronous "requires action" arrives late.
    let mut events = awaiting_action();
    events.push(authorized(INITIATED));
    given(events)
        .when(require_action("pi_1"))
        .then_expect_events(vec![]);
}

#[test]
fn refuses_a_new_action_request_once_the_gateway_has_decided() {
    for (history, status) in [
        (authorized_in_full(), PaymentStatus::Authorized),
        (declined_payment(), PaymentStatus::Declined),
        (failed_payment(), PaymentStatus::Failed),
        (voided_payment(), PaymentStatus::Voided),
        (captured_in_full(), PaymentStatus::Captured),
    ] {
        given(history)
            .when(require_action("pi_9"))
            .then_expect_error(PaymentError::ActionRequiredNotAllowed { status });
    }
}

// ---- authorization ----

#[test]
fn authorizing_a_pending_payment_records_the_reference_amount_and_card() {
    given(pending())
        .when(authorize("auth_1", eur(INITIATED)))
        .then_expect_events(vec![authorized(INITIATED)]);
}

#[test]
fn the_customer_completing_the_action_authorizes_the_payment() {
    given(awaiting_action())
        .when(authorize("auth_1", eur(INITIATED)))
        .then_expect_events(vec![authorized(INITIATED)]);
}

#[test]
fn may_authorize_less_than_the_initiated_amount() {
    given(pending())
        .when(authorize("auth_1", eur(80_00)))
        .then_expect_events(vec![authorized(80_00)]);
}

#[test]
fn may_authorize_without_a_card_summary() {
    let command = PaymentCommand::RecordAuthorization {
        gateway_reference: reference("auth_1"),
        amount: eur(INITIATED),
        card: None,
    };
    let events = given(pending()).when(command).inspect_result().unwrap();
    assert!(matches!(
        &events[..],
        [PaymentEvent::PaymentAuthorized { card: None, .. }]
    ));
}

#[test]
fn refuses_to_authorize_more_than_the_initiated_amount() {
    given(pending())
        .when(authorize("auth_1", eur(INITIATED + 1)))
        .then_expect_error(PaymentError::AuthorizationExceedsAmount {
            requested: eur(INITIATED + 1),
            initiated: eur(INITIATED),
        });
}

#[test]
fn refuses_an_authorization_in_another_currency() {
    given(pending())
        .when(authorize("auth_1", usd(INITIATED)))
        .then_expect_error(PaymentError::CurrencyMismatch {
            expected: Currency::new("EUR").unwrap(),
            got: Currency::new("USD").unwrap(),
        });
}

#[test]
fn refuses_an_authorization_of_zero() {
    given(pending())
        .when(authorize("auth_1", eur(0)))
        .then_expect_error(PaymentError::NonPositiveAmount { amount: eur(0) });
}

#[test]
fn a_webhook_and_the_synchronous_answer_for_one_authorization_end_in_one_transition() {
    given(authorized_in_full())
        .when(authorize("auth_1", eur(INITIATED)))
        .then_expect_events(vec![]);
    // Still a no-op once the payment has moved on.
    given(partially_captured())
        .when(authorize("auth_1", eur(INITIATED)))
        .then_expect_events(vec![]);
}

#[test]
fn refuses_an_authorization_reusing_a_reference_with_another_amount() {
    given(authorized_in_full())
        .when(authorize("auth_1", eur(50_00)))
        .then_expect_error(PaymentError::GatewayReferenceConflict {
            kind: TransactionKind::Authorization,
            reference: reference("auth_1"),
            recorded: eur(INITIATED),
            requested: eur(50_00),
        });
}

#[test]
fn refuses_a_second_authorization_under_another_reference() {
    given(authorized_in_full())
        .when(authorize("auth_2", eur(INITIATED)))
        .then_expect_error_message("cannot authorize an authorized payment");
}

#[test]
fn refuses_to_authorize_a_payment_that_is_declined_failed_voided_or_captured() {
    for (history, status) in [
        (declined_payment(), PaymentStatus::Declined),
        (failed_payment(), PaymentStatus::Failed),
        (voided_payment(), PaymentStatus::Voided),
        (captured_in_full(), PaymentStatus::Captured),
    ] {
        given(history)
            .when(authorize("auth_2", eur(INITIATED)))
            .then_expect_error(PaymentError::AuthorizationNotAllowed { status });
    }
}

// ---- decline ----

#[test]
fn a_decline_ends_a_pending_payment() {
    given(pending())
        .when(decline())
        .then_expect_events(vec![declined()]);
}

#[test]
fn the_customer_failing_the_action_declines_the_payment() {
    given(awaiting_action())
        .when(decline())
        .then_expect_events(vec![declined()]);
}

#[test]
fn a_repeated_decline_changes_nothing() {
    given(declined_payment())
        .when(decline())
        .then_expect_events(vec![]);
}

#[test]
fn refuses_to_decline_a_payment_the_gateway_already_decided() {
    for (history, status) in [
        (authorized_in_full(), PaymentStatus::Authorized),
        (failed_payment(), PaymentStatus::Failed),
        (voided_payment(), PaymentStatus::Voided),
        (captured_in_full(), PaymentStatus::Captured),
    ] {
        given(history)
            .when(decline())
            .then_expect_error(PaymentError::DeclineNotAllowed { status });
    }
}

// ---- failure ----

#[test]
fn a_gateway_failure_ends_the_payment() {
    given(pending())
        .when(fail())
        .then_expect_events(vec![failed()]);
    given(awaiting_action())
        .when(fail())
        .then_expect_events(vec![failed()]);
}

#[test]
fn a_repeated_failure_changes_nothing() {
    given(failed_payment())
        .when(fail())
        .then_expect_events(vec![]);
}

#[test]
fn refuses_to_record_a_failure_after_the_gateway_decided() {
    for (history, status) in [
        (authorized_in_full(), PaymentStatus::Authorized),
        (declined_payment(), PaymentStatus::Declined),
        (voided_payment(), PaymentStatus::Voided),
        (refunded_in_full(), PaymentStatus::Refunded),
    ] {
        given(history)
            .when(fail())
            .then_expect_error(PaymentError::FailureNotAllowed { status });
    }
}

// ---- capture ----

#[test]
fn capturing_the_whole_authorization_captures_the_payment() {
    given(authorized_in_full())
        .when(capture("cap_1", eur(INITIATED)))
        .then_expect_events(vec![captured(
            "cap_1",
            INITIATED,
            figures(
                PaymentStatus::Captured,
                INITIATED,
                INITIATED,
                0,
                0,
                INITIATED,
            ),
        )]);
}

#[test]
fn a_partial_capture_leaves_the_rest_capturable() {
    given(authorized_in_full())
        .when(capture("cap_1", eur(40_00)))
        .then_expect_events(partially_captured()[2..].to_vec());
}

#[test]
fn further_captures_may_complete_the_authorization() {
    given(partially_captured())
        .when(capture("cap_2", eur(60_00)))
        .then_expect_events(vec![captured(
            "cap_2",
            60_00,
            figures(
                PaymentStatus::Captured,
                INITIATED,
                INITIATED,
                0,
                0,
                INITIATED,
            ),
        )]);
}

#[test]
fn refuses_to_capture_more_than_authorized() {
    given(authorized_in_full())
        .when(capture("cap_1", eur(INITIATED + 1)))
        .then_expect_error(PaymentError::CaptureExceedsAuthorized {
            requested: eur(INITIATED + 1),
            remaining: eur(INITIATED),
        });
}

#[test]
fn refuses_captures_that_together_exceed_the_authorization() {
    given(partially_captured())
        .when(capture("cap_2", eur(60_01)))
        .then_expect_error(PaymentError::CaptureExceedsAuthorized {
            requested: eur(60_01),
            remaining: eur(60_00),
        });
}

#[test]
fn refuses_a_capture_in_another_currency_or_of_zero() {
    given(authorized_in_full())
        .when(capture("cap_1", usd(10_00)))
        .then_expect_error(PaymentError::CurrencyMismatch {
            expected: Currency::new("EUR").unwrap(),
            got: Currency::new("USD").unwrap(),
        });
    given(authorized_in_full())
        .when(capture("cap_1", eur(0)))
        .then_expect_error(PaymentError::NonPositiveAmount { amount: eur(0) });
}

#[test]
fn a_repeated_capture_report_changes_nothing_even_after_a_refund() {
    given(partially_captured())
        .when(capture("cap_1", eur(40_00)))
        .then_expect_events(vec![]);
    given(partially_refunded())
        .when(capture("cap_1", eur(INITIATED)))
        .then_expect_events(vec![]);
}

#[test]
fn refuses_a_capture_reusing_a_reference_with_another_amount() {
    given(partially_captured())
        .when(capture("cap_1", eur(10_00)))
        .then_expect_error(PaymentError::GatewayReferenceConflict {
            kind: TransactionKind::Capture,
            reference: reference("cap_1"),
            recorded: eur(40_00),
            requested: eur(10_00),
        });
}

#[test]
fn refuses_to_capture_a_voided_payment() {
    given(voided_payment())
        .when(capture("cap_1", eur(10_00)))
        .then_expect_error_message("cannot capture a voided payment");
}

#[test]
fn refuses_to_capture_once_refunding_has_started() {
    let mut events = partially_captured();
    events.push(refunded(
        "ref_1",
        10_00,
        figures(
            PaymentStatus::PartiallyRefunded,
            INITIATED,
            40_00,
            10_00,
            0,
            30_00,
        ),
    ));
    given(events)
        .when(capture("cap_2", eur(10_00)))
        .then_expect_error(PaymentError::CaptureNotAllowed {
            status: PaymentStatus::PartiallyRefunded,
        });
}

#[test]
fn refuses_to_capture_before_authorization_after_a_decline_or_when_all_is_captured() {
    for (history, status) in [
        (pending(), PaymentStatus::Pending),
        (awaiting_action(), PaymentStatus::ActionRequired),
        (declined_payment(), PaymentStatus::Declined),
        (failed_payment(), PaymentStatus::Failed),
        (captured_in_full(), PaymentStatus::Captured),
        (refunded_in_full(), PaymentStatus::Refunded),
    ] {
        given(history)
            .when(capture("cap_9", eur(1)))
            .then_expect_error(PaymentError::CaptureNotAllowed { status });
    }
}

// ---- void ----

#[test]
fn voiding_an_authorized_payment_releases_the_whole_authorization() {
    given(authorized_in_full())
        .when(void("void_1"))
        .then_expect_events(voided_payment()[2..].to_vec());
}

#[test]
fn voiding_a_payment_awaiting_the_customer_cancels_it() {
    given(awaiting_action())
        .when(void("void_1"))
        .then_expect_events(vec![voided(
            "void_1",
            0,
            figures(PaymentStatus::Voided, 0, 0, 0, 0, 0),
        )]);
}

#[test]
fn a_repeated_void_changes_nothing() {
    given(voided_payment())
        .when(void("void_1"))
        .then_expect_events(vec![]);
}

#[test]
fn refuses_to_void_after_any_capture() {
    for (history, status, captured) in [
        (
            partially_captured(),
            PaymentStatus::PartiallyCaptured,
            40_00,
        ),
        (captured_in_full(), PaymentStatus::Captured, INITIATED),
        (
            partially_refunded(),
            PaymentStatus::PartiallyRefunded,
            INITIATED,
        ),
        (refunded_in_full(), PaymentStatus::Refunded, INITIATED),
    ] {
        given(history)
            .when(void("void_1"))
            .then_expect_error(PaymentError::VoidAfterCapture {
                status,
                captured: eur(captured),
            });
    }
    given(partially_captured())
        .when(void("void_1"))
        .then_expect_error_message(
        "cannot void a partially captured payment: 4000 EUR has been captured, and only a refund gives captured money back",
    );
}

#[test]
fn refuses_to_void_a_pending_declined_failed_or_already_voided_payment() {
    for (history, status) in [
        (pending(), PaymentStatus::Pending),
        (declined_payment(), PaymentStatus::Declined),
        (failed_payment(), PaymentStatus::Failed),
        (voided_payment(), PaymentStatus::Voided),
    ] {
        given(history)
            .when(void("void_2"))
            .then_expect_error(PaymentError::VoidNotAllowed { status });
    }
}

// ---- refund ----

#[test]
fn refunding_part_of_the_capture_partially_refunds_the_payment() {
    given(captured_in_full())
        .when(refund("ref_1", eur(30_00)))
        .then_expect_events(partially_refunded()[3..].to_vec());
}

#[test]
fn refunding_everything_captured_refunds_the_payment() {
    given(partially_refunded())
        .when(refund("ref_2", eur(70_00)))
        .then_expect_events(vec![refunded(
            "ref_2",
            70_00,
            figures(
                PaymentStatus::Refunded,
                INITIATED,
                INITIATED,
                INITIATED,
                0,
                0,
            ),
        )]);
}

#[test]
fn refunding_a_partially_captured_payment_releases_the_uncaptured_rest() {
    given(partially_captured())
        .when(refund("ref_1", eur(40_00)))
        .then_expect_events(vec![refunded(
            "ref_1",
            40_00,
            figures(PaymentStatus::Refunded, INITIATED, 40_00, 40_00, 0, 0),
        )]);
}

#[test]
fn refuses_to_refund_more_than_captured() {
    given(partially_captured())
        .when(refund("ref_1", eur(40_01)))
        .then_expect_error(PaymentError::RefundExceedsCaptured {
            requested: eur(40_01),
            refundable: eur(40_00),
        });
}

#[test]
fn refuses_refunds_that_together_exceed_the_captured_amount() {
    given(partially_refunded())
        .when(refund("ref_2", eur(70_01)))
        .then_expect_error(PaymentError::RefundExceedsCaptured {
            requested: eur(70_01),
            refundable: eur(70_00),
        });
}

#[test]
fn refuses_a_refund_in_another_currency_or_of_zero() {
    given(captured_in_full())
        .when(refund("ref_1", usd(10_00)))
        .then_expect_error(PaymentError::CurrencyMismatch {
            expected: Currency::new("EUR").unwrap(),
            got: Currency::new("USD").unwrap(),
        });
    given(captured_in_full())
        .when(refund("ref_1", eur(-5)))
        .then_expect_error(PaymentError::NonPositiveAmount { amount: eur(-5) });
}

#[test]
fn a_repeated_refund_report_changes_nothing() {
    given(partially_refunded())
        .when(refund("ref_1", eur(30_00)))
        .then_expect_events(vec![]);
    given(refunded_in_full())
        .when(refund("ref_1", eur(INITIATED)))
        .then_expect_events(vec![]);
}

#[test]
fn refuses_a_refund_reusing_a_reference_with_another_amount() {
    given(partially_refunded())
        .when(refund("ref_1", eur(20_00)))
        .then_expect_error(PaymentError::GatewayReferenceConflict {
            kind: TransactionKind::Refund,
            reference: reference("ref_1"),
            recorded: eur(30_00),
            requested: eur(20_00),
        });
}

#[test]
fn refuses_to_refund_what_was_never_captured_or_is_already_refunded() {
    for (history, status) in [
        (pending(), PaymentStatus::Pending),
        (awaiting_action(), PaymentStatus::ActionRequired),
        (authorized_in_full(), PaymentStatus::Authorized),
        (voided_payment(), PaymentStatus::Voided),
        (declined_payment(), PaymentStatus::Declined),
        (failed_payment(), PaymentStatus::Failed),
        (refunded_in_full(), PaymentStatus::Refunded),
    ] {
        given(history)
            .when(refund("ref_9", eur(1)))
            .then_expect_error(PaymentError::RefundNotAllowed { status });
    }
    given(refunded_in_full())
        .when(refund("ref_9", eur(1)))
        .then_expect_error_message("cannot refund a refunded payment");
}

// ---- state, commands and errors ----

#[test]
fn status_and_figures_derive_from_the_log() {
    let mut payment = Payment::default();
    assert!(!payment.exists());
    assert_eq!(payment.figures(), None);
    for event in partially_refunded() {
        cqrs_es::Aggregate::apply(&mut payment, event);
    }
    assert_eq!(payment.status(), PaymentStatus::PartiallyRefunded);
    assert_eq!(payment.amount(), Some(eur(INITIATED)));
    assert_eq!(payment.authorized(), Some(eur(INITIATED)));
    assert_eq!(payment.captured(), Some(eur(INITIATED)));
    assert_eq!(payment.refunded(), Some(eur(30_00)));
    assert_eq!(payment.remaining_capturable(), Some(eur(0)));
    assert_eq!(payment.refundable(), Some(eur(70_00)));
}

#[test]
fn the_state_survives_a_snapshot() {
    let mut payment = Payment::default();
    for event in partially_refunded() {
        cqrs_es::Aggregate::apply(&mut payment, event);
    }
    let json = serde_json::to_value(&payment).unwrap();
    assert_eq!(serde_json::from_value::<Payment>(json).unwrap(), payment);
}

#[test]
fn commands_refuse_unknown_fields_and_card_numbers() {
    let ok = serde_json::json!({ "Capture": {
        "gateway_reference": "cap_1", "amount": { "amount": 100, "currency": "EUR" } } });
    assert!(serde_json::from_value::<PaymentCommand>(ok).is_ok());
    let unknown = serde_json::json!({ "Capture": {
        "gateway_reference": "cap_1", "amount": { "amount": 100, "currency": "EUR" }, "force": true } });
    assert!(serde_json::from_value::<PaymentCommand>(unknown).is_err());
    let pan = serde_json::json!({ "InitiatePayment": {
        "payment_id": payment_id(), "order_id": order_id(),
        "amount": { "amount": 100, "currency": "EUR" }, "method": "4242 4242 4242 4242" } });
    assert!(serde_json::from_value::<PaymentCommand>(pan).is_err());
}

#[test]
fn every_error_has_a_distinct_snake_case_code() {
    let status = PaymentStatus::Authorized;
    let errors = [
        PaymentError::NotFound,
        PaymentError::AlreadyExists,
        PaymentError::NonPositiveAmount { amount: eur(0) },
        PaymentError::CurrencyMismatch {
            expected: Currency::new("EUR").unwrap(),
            got: Currency::new("USD").unwrap(),
        },
        PaymentError::AuthorizationExceedsAmount {
            requested: eur(2),
            initiated: eur(1),
        },
        PaymentError::CaptureExceedsAuthorized {
            requested: eur(2),
            remaining: eur(1),
        },
        PaymentError::RefundExceedsCaptured {
            requested: eur(2),
            refundable: eur(1),
        },
        PaymentError::VoidAfterCapture {
            status,
            captured: eur(1),
        },
        PaymentError::GatewayReferenceConflict {
            kind: TransactionKind::Capture,
            reference: reference("cap_1"),
            recorded: eur(1),
            requested: eur(2),
        },
        PaymentError::ActionRequiredNotAllowed { status },
        PaymentError::AuthorizationNotAllowed { status },
        PaymentError::DeclineNotAllowed { status },
        PaymentError::FailureNotAllowed { status },
        PaymentError::CaptureNotAllowed { status },
        PaymentError::VoidNotAllowed { status },
        PaymentError::RefundNotAllowed { status },
    ];
    let codes: std::collections::BTreeSet<_> = errors.iter().map(PaymentError::code).collect();
    assert_eq!(codes.len(), errors.len());
    for code in codes {
        assert!(
            code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{code}"
        );
    }
}

#[test]
fn an_authorization_is_raised_and_released_in_parts_and_captures_follow_it() {
    let mut payment = Payment::default();
    let commands = vec![
        PaymentCommand::InitiatePayment {
            payment_id: payment_id(),
            order_id: order_id(),
            amount: eur(1000),
            method: crate::shared::PaymentMethodToken::new("tok_visa").unwrap(),
            customer_id: None,
        },
        PaymentCommand::RecordAuthorization {
            gateway_reference: reference("auth_1"),
            amount: eur(1000),
            card: None,
        },
        PaymentCommand::RecordAuthorizationIncreased {
            gateway_reference: reference("inc_1"),
            amount: eur(500),
        },
        PaymentCommand::ReleaseAuthorization {
            gateway_reference: reference("rel_1"),
            amount: eur(200),
        },
    ];
    for command in commands {
        if let Some(event) = payment.decide(command).unwrap() {
            cqrs_es::Aggregate::apply(&mut payment, event);
        }
    }
    assert_eq!(payment.authorized(), Some(eur(1500)));
    assert_eq!(payment.remaining_capturable(), Some(eur(1300)));
    // A repeated raise is recognised by its reference.
    let again = PaymentCommand::RecordAuthorizationIncreased {
        gateway_reference: reference("inc_1"),
        amount: eur(500),
    };
    assert_eq!(payment.decide(again).unwrap(), None);
    let too_much = PaymentCommand::ReleaseAuthorization {
        gateway_reference: reference("rel_2"),
        amount: eur(1301),
    };
    assert_eq!(
        payment.decide(too_much).unwrap_err().code(),
        "release_exceeds_capturable"
    );
    let capture = PaymentCommand::Capture {
        gateway_reference: reference("cap_1"),
        amount: eur(1300),
    };
    if let Some(event) = payment.decide(capture).unwrap() {
        cqrs_es::Aggregate::apply(&mut payment, event);
    }
    assert_eq!(payment.status(), PaymentStatus::Captured);
}
