//! Property tests: whatever sequence of add, change, remove, refresh and merge
//! commands a cart receives, its totals equal the sum of its lines, it never holds
//! more than 100 lines, and no line more than 999 units.

use std::collections::BTreeSet;

use cqrs_es::Aggregate;
use proptest::prelude::*;
use uuid::Uuid;

use super::fixtures::*;
use super::{Cart, CartCommand, MergePolicy, MAX_LINES, MAX_LINE_QUANTITY};
use crate::shared::{CartId, LineItem, Money, Quantity};

/// SKUs drawn from 160 codes, and merges of up to 150 lines, so carts reach the
/// line limit.
fn code(index: u8) -> String {
    format!("S{index}")
}

fn an_item() -> impl Strategy<Value = LineItem> {
    (0u8..160, 0i64..100_000, 1u32..1_200).prop_map(|(sku_index, cents, n)| LineItem {
        sku: sku(&code(sku_index)),
        name: name_of(&code(sku_index)),
        unit_price: eur_cents(cents),
        quantity: Quantity::new(n).unwrap(),
    })
}

fn a_policy() -> impl Strategy<Value = MergePolicy> {
    prop_oneof![
        Just(MergePolicy::Merge),
        Just(MergePolicy::KeepGuest),
        Just(MergePolicy::KeepExisting),
    ]
}

fn a_command() -> impl Strategy<Value = CartCommand> {
    prop_oneof![
        4 => an_item().prop_map(|item| CartCommand::AddItem {
            sku: item.sku,
            name: item.name,
            unit_price: item.unit_price,
            quantity: item.quantity,
        }),
        2 => (0u8..130, 1u32..1_200).prop_map(|(sku_index, n)| CartCommand::ChangeItemQuantity {
            sku: sku(&code(sku_index)),
            quantity: Quantity::new(n).unwrap(),
        }),
        1 => (0u8..130).prop_map(|sku_index| CartCommand::RemoveItem {
            sku: sku(&code(sku_index)),
        }),
        1 => proptest::collection::btree_map(0u8..130, 0i64..100_000, 0..40).prop_map(|entries| {
            CartCommand::RefreshPrices {
                current_prices: entries
                    .into_iter()
                    .map(|(sku_index, cents)| (sku(&code(sku_index)), eur_cents(cents)))
                    .collect(),
            }
        }),
        1 => (1u128..6, proptest::collection::vec(an_item(), 0..150), a_policy()).prop_map(
            |(source, lines, policy)| CartCommand::MergeCartLines {
                source_cart_id: CartId::new(Uuid::from_u128(source)),
                lines,
                policy,
            }
        ),
    ]
}

fn check_invariants(cart: &Cart) -> Result<(), TestCaseError> {
    let state = cart.state().unwrap();
    prop_assert!(state.lines.len() <= MAX_LINES);
    let distinct: BTreeSet<_> = state.lines.iter().map(|line| &line.sku).collect();
    prop_assert_eq!(distinct.len(), state.lines.len());
    for line in &state.lines {
        prop_assert!(line.quantity.get() <= MAX_LINE_QUANTITY);
        prop_assert_eq!(
            line.line_total,
            line.unit_price.checked_mul(line.quantity.get()).unwrap()
        );
    }
    let subtotal = Money::sum(eur(), state.lines.iter().map(|line| &line.line_total)).unwrap();
    prop_assert_eq!(state.subtotal, subtotal);
    let item_count: u32 = state.lines.iter().map(|line| line.quantity.get()).sum();
    prop_assert_eq!(state.item_count, item_count);
    Ok(())
}

proptest! {
    #[test]
    fn totals_equal_the_sum_of_lines_and_limits_hold_after_any_commands(
        commands in proptest::collection::vec(a_command(), 1..40)
    ) {
        let mut cart = Cart::default();
        cart.apply(opened());
        let mut history = vec![opened()];
        for command in commands {
            // A refusal changes nothing; accepted events are applied as the store would.
            if let Ok(events) = cart.decide(command) {
                for event in events {
                    history.push(event.clone());
                    cart.apply(event);
                }
            }
            check_invariants(&cart)?;
        }
        // Replaying the stream and reading a snapshot give the same cart.
        let mut replayed = Cart::default();
        for event in history {
            replayed.apply(event);
        }
        prop_assert_eq!(&replayed, &cart);
        let snapshot = serde_json::to_value(&cart).unwrap();
        prop_assert_eq!(serde_json::from_value::<Cart>(snapshot).unwrap(), cart);
    }
}
