//! Property tests: whatever the gateway reports, in whatever order and however
//! often, the figures stay ordered (refunded ≤ captured ≤ authorized ≤ initiated),
//! in one currency, and the status agrees with them.

use cqrs_es::Aggregate;
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::shared::{Currency, Money, OrderId, PaymentId, PaymentMethodToken};

fn eur() -> Currency {
    Currency::new("EUR").unwrap()
}

fn money() -> impl Strategy<Value = Money> {
    let currency = prop_oneof![9 => Just("EUR"), 1 => Just("USD")];
    (-10i64..12_000, currency)
        .prop_map(|(amount, code)| Money::new(amount, Currency::new(code).unwrap()))
}

fn reference() -> impl Strategy<Value = GatewayReference> {
    (0u8..3).prop_map(|n| GatewayReference::new(format!("ref_{n}")).unwrap())
}

fn command() -> impl Strategy<Value = PaymentCommand> {
    prop_oneof![
        1 => (1i64..10_000).prop_map(|amount| PaymentCommand::InitiatePayment {
            payment_id: PaymentId::new(Uuid::from_u128(1)),
            order_id: OrderId::new(Uuid::from_u128(2)),
            amount: Money::new(amount, eur()),
            method: PaymentMethodToken::new("tok_visa").unwrap(),
            customer_id: None,
        }),
        1 => reference().prop_map(|gateway_reference| PaymentCommand::RecordActionRequired {
            gateway_reference,
            next_action: NextAction::challenge("chl_1").unwrap(),
        }),
        3 => (reference(), money()).prop_map(|(gateway_reference, amount)| {
            PaymentCommand::RecordAuthorization { gateway_reference, amount, card: None }
        }),
        1 => Just(PaymentCommand::RecordDecline {
            reason_code: "do_not_honor".into(),
            message: "Do not honor".into()
        }),
        1 => Just(PaymentCommand::RecordFailure { reason: "timeout".into() }),
        4 => (reference(), money()).prop_map(|(gateway_reference, amount)| {
            PaymentCommand::Capture { gateway_reference, amount }
        }),
        1 => reference().prop_map(|gateway_reference| PaymentCommand::Void { gateway_reference }),
        4 => (reference(), money()).prop_map(|(gateway_reference, amount)| {
            PaymentCommand::Refund { gateway_reference, amount, reason: "r".into(), refund_id: None }
        }),
    ]
}

/// Random amounts seldom hit a limit exactly; now and then a command is made to
/// take exactly what is left (the whole authorization, capture or refund).
fn exact_or_random() -> impl Strategy<Value = (PaymentCommand, bool)> {
    (command(), proptest::bool::weighted(0.3))
}

fn take_what_is_left(command: PaymentCommand, payment: &Payment) -> PaymentCommand {
    let Some(figures) = payment.figures() else {
        return command;
    };
    match command {
        PaymentCommand::RecordAuthorization {
            gateway_reference,
            card,
            ..
        } => PaymentCommand::RecordAuthorization {
            gateway_reference,
            amount: payment.amount().unwrap_or(figures.authorized_total),
            card,
        },
        PaymentCommand::Capture {
            gateway_reference, ..
        } => PaymentCommand::Capture {
            gateway_reference,
            amount: figures.remaining_capturable,
        },
        PaymentCommand::Refund {
            gateway_reference,
            reason,
            ..
        } => PaymentCommand::Refund {
            gateway_reference,
            amount: figures.refundable,
            reason,
            refund_id: None,
        },
        other => other,
    }
}

/// A history that starts with an initiation and goes on with anything at all.
fn commands() -> impl Strategy<Value = Vec<(PaymentCommand, bool)>> {
    (
        1i64..10_000,
        proptest::collection::vec(exact_or_random(), 0..40),
    )
        .prop_map(|(amount, rest)| {
            let mut all = vec![(
                PaymentCommand::InitiatePayment {
                    payment_id: PaymentId::new(Uuid::from_u128(1)),
                    order_id: OrderId::new(Uuid::from_u128(2)),
                    amount: Money::new(amount, eur()),
                    method: PaymentMethodToken::new("tok_visa").unwrap(),
                    customer_id: None,
                },
                false,
            )];
            all.extend(rest);
            all
        })
}

fn assert_consistent(payment: &Payment) -> Result<(), TestCaseError> {
    let f = payment.figures().unwrap();
    let initiated = payment.amount().unwrap();
    for amount in [
        f.authorized_total,
        f.captured_total,
        f.refunded_total,
        f.remaining_capturable,
        f.refundable,
    ] {
        prop_assert_eq!(amount.currency(), initiated.currency());
        prop_assert!(amount.amount() >= 0);
    }
    let (auth, capt, refd) = (
        f.authorized_total.amount(),
        f.captured_total.amount(),
        f.refunded_total.amount(),
    );
    prop_assert!(
        refd <= capt && capt <= auth && auth <= initiated.amount(),
        "{f:?}"
    );
    prop_assert_eq!(f.refundable.amount(), capt - refd);
    prop_assert_eq!(f.status, payment.status());
    use PaymentStatus as S;
    let consistent = match f.status {
        S::Pending | S::ActionRequired | S::Declined | S::Failed => auth == 0 && capt == 0,
        S::Authorized => auth > 0 && capt == 0,
        S::PartiallyCaptured => refd == 0 && 0 < capt && capt < auth,
        S::Captured => refd == 0 && capt == auth,
        S::PartiallyRefunded => 0 < refd && refd < capt,
        S::Refunded => 0 < refd && refd == capt,
        S::Voided => capt == 0,
    };
    prop_assert!(consistent, "{f:?}");
    let capturable = matches!(f.status, S::Authorized | S::PartiallyCaptured);
    prop_assert_eq!(
        f.remaining_capturable.amount(),
        if capturable { auth - capt } else { 0 }
    );
    Ok(())
}

proptest! {
    #[test]
    fn any_command_sequence_keeps_refunded_le_captured_le_authorized_in_one_currency(
        commands in commands()
    ) {
        let mut payment = Payment::default();
        for (command, exact) in commands {
            let command = if exact { take_what_is_left(command, &payment) } else { command };
            let before = payment.clone();
            if let Ok(Some(event)) = payment.decide(command.clone()) {
                payment.apply(event.clone());
                // The event carries exactly the figures the state now derives.
                prop_assert_eq!(Some(event.after().clone()), payment.figures());
                // A gateway report delivered again changes nothing.
                if !matches!(command, PaymentCommand::InitiatePayment { .. }) {
                    prop_assert!(matches!(payment.decide(command), Ok(None)));
                }
            } else {
                prop_assert_eq!(&payment, &before);
            }
            assert_consistent(&payment)?;
        }
    }

    #[test]
    fn a_final_status_stays_final(commands in commands(), more in proptest::collection::vec(command(), 0..20)) {
        let mut payment = Payment::default();
        for (command, exact) in commands {
            let command = if exact { take_what_is_left(command, &payment) } else { command };
            if let Ok(Some(event)) = payment.decide(command) {
                payment.apply(event);
            }
        }
        if payment.status().is_final() {
            let status = payment.status();
            for command in more {
                let emitted = matches!(payment.decide(command), Ok(Some(_)));
                prop_assert!(!emitted, "a {} payment accepted a change", status);
            }
        }
    }
}
