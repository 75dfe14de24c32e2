//! Given/when/then: every rule of the cart and every refusal, named after the rule.

use cqrs_es::Aggregate;

use super::fixtures::*;
use super::{
    Cart, CartCommand, CartError, CartEvent, CartStatus, MergePolicy, PriceChange, QuantityCap,
};
use crate::shared::{CartId, CustomerId, LineItem, Money};

// ---- opening -------------------------------------------------------------------

#[test]
fn opens_a_guest_cart_in_one_currency() {
    cart()
        .given_no_previous_events()
        .when(CartCommand::OpenCart {
            cart_id: cart_id(),
            currency: eur(),
            customer_id: None,
            opened_at: at(),
        })
        .then_expect_events(vec![opened()]);
}

#[test]
fn opens_a_customer_cart() {
    cart()
        .given_no_previous_events()
        .when(CartCommand::OpenCart {
            cart_id: cart_id(),
            currency: eur(),
            customer_id: Some(customer()),
            opened_at: at(),
        })
        .then_expect_events(vec![opened_for(customer())]);
}

#[test]
fn refuses_to_open_a_cart_twice() {
    cart()
        .given(vec![opened()])
        .when(CartCommand::OpenCart {
            cart_id: cart_id(),
            currency: usd(),
            customer_id: None,
            opened_at: at(),
        })
        .then_expect_error(CartError::AlreadyExists);
}

#[test]
fn refuses_every_other_command_to_a_cart_never_opened() {
    for command in every_command().into_iter().skip(1) {
        cart()
            .given_no_previous_events()
            .when(command)
            .then_expect_error(CartError::NotFound);
    }
}

// ---- adding items --------------------------------------------------------------

#[test]
fn adds_an_item_with_its_catalog_snapshot_and_totals() {
    given_cart(&[])
        .when(add("A", 1999, 2))
        .then_expect_events(vec![CartEvent::ItemAdded {
            line: line("A", 1999, 2),
            quantity_added: qty(2),
            subtotal: eur_cents(3998),
            item_count: 2,
            discounts: None,
        }]);
}

#[test]
fn accepts_a_free_item() {
    given_cart(&[line("A", 500, 1)])
        .when(add("GIFT", 0, 1))
        .then_expect_events(vec![CartEvent::ItemAdded {
            line: line("GIFT", 0, 1),
            quantity_added: qty(1),
            subtotal: eur_cents(500),
            item_count: 2,
            discounts: None,
        }]);
}

#[test]
fn adding_an_existing_sku_increases_its_quantity_and_takes_the_new_snapshot() {
    let mut renamed = line("A", 1200, 5);
    renamed.name = "Product A, new edition".into();
    given_cart(&[line("A", 1000, 2), line("B", 300, 1)])
        .when(CartCommand::AddItem {
            sku: sku("A"),
            name: "Product A, new edition".into(),
            unit_price: eur_cents(1200),
            quantity: qty(3),
        })
        .then_expect_events(vec![CartEvent::ItemAdded {
            line: renamed,
            quantity_added: qty(3),
            subtotal: eur_cents(6300),
            item_count: 6,
            discounts: None,
        }]);
}

#[test]
fn adding_to_a_line_clears_its_price_changed_flag() {
    given_cart(&[line("A", 1000, 1)])
        .and(vec![refreshed_a_to_1100()])
        .when(add("A", 1100, 1))
        .then_expect_events(vec![CartEvent::ItemAdded {
            line: line("A", 1100, 2),
            quantity_added: qty(1),
            subtotal: eur_cents(2200),
            item_count: 2,
            discounts: None,
        }]);
}

#[test]
fn refuses_an_item_priced_in_another_currency() {
    given_cart(&[])
        .when(CartCommand::AddItem {
            sku: sku("A"),
            name: name_of("A"),
            unit_price: Money::new(100, usd()),
            quantity: qty(1),
        })
        .then_expect_error(CartError::CurrencyMismatch {
            sku: sku("A"),
            cart_currency: eur(),
            price_currency: usd(),
        });
}

#[test]
fn refuses_a_negative_unit_price() {
    given_cart(&[])
        .when(add("A", -1, 1))
        .then_expect_error(CartError::NegativeUnitPrice {
            sku: sku("A"),
            unit_price: eur_cents(-1),
        });
}

#[test]
fn refuses_more_than_999_units_of_a_new_line() {
    given_cart(&[])
        .when(add("A", 100, 1000))
        .then_expect_error(CartError::QuantityLimitExceeded {
            sku: sku("A"),
            requested: 1000,
            max: 999,
        });
}

#[test]
fn refuses_to_add_an_existing_line_past_999_units() {
    given_cart(&[line("A", 100, 990)])
        .when(add("A", 100, 10))
        .then_expect_error(CartError::QuantityLimitExceeded {
            sku: sku("A"),
            requested: 1000,
            max: 999,
        });
}

#[test]
fn accepts_exactly_999_units_of_a_line() {
    given_cart(&[line("A", 100, 990)])
        .when(add("A", 100, 9))
        .then_expect_events(vec![CartEvent::ItemAdded {
            line: line("A", 100, 999),
            quantity_added: qty(9),
            subtotal: eur_cents(99_900),
            item_count: 999,
            discounts: None,
        }]);
}

#[test]
fn refuses_a_101st_line() {
    given_cart(&many_lines(100))
        .when(add("ONE-TOO-MANY", 100, 1))
        .then_expect_error(CartError::TooManyLines { max: 100 });
}

#[test]
fn adds_to_an_existing_line_of_a_full_cart() {
    let result = given_cart(&many_lines(100))
        .when(add("L7", 100, 1))
        .inspect_result()
        .unwrap();
    assert!(matches!(
        &result[..],
        [CartEvent::ItemAdded { line, item_count: 101, .. }] if line.quantity.get() == 2
    ));
}

#[test]
fn refuses_empty_blank_long_or_control_character_product_names() {
    let cases = [
        ("", "must not be empty or blank"),
        ("   ", "must not be empty or blank"),
        ("Tea\u{7}pot", "must not contain control characters"),
        ("Line\nbreak", "must not contain control characters"),
    ];
    for (name, reason) in cases {
        given_cart(&[])
            .when(CartCommand::AddItem {
                sku: sku("A"),
                name: name.into(),
                unit_price: eur_cents(100),
                quantity: qty(1),
            })
            .then_expect_error(CartError::InvalidProductName { reason });
    }
    given_cart(&[])
        .when(CartCommand::AddItem {
            sku: sku("A"),
            name: "é".repeat(201),
            unit_price: eur_cents(100),
            quantity: qty(1),
        })
        .then_expect_error(CartError::InvalidProductName {
            reason: "must be at most 200 characters long",
        });
}

#[test]
fn accepts_a_product_name_of_200_characters() {
    let name = "é".repeat(200);
    let result = given_cart(&[])
        .when(CartCommand::AddItem {
            sku: sku("A"),
            name: name.clone(),
            unit_price: eur_cents(100),
            quantity: qty(1),
        })
        .inspect_result()
        .unwrap();
    assert!(matches!(&result[..], [CartEvent::ItemAdded { line, .. }] if line.name == name));
}

#[test]
fn refuses_totals_beyond_the_range_of_money() {
    given_cart(&[])
        .when(add("A", i64::MAX / 2, 3))
        .then_expect_error(CartError::AmountOutOfRange);
    given_cart(&[line("A", i64::MAX / 2, 1)])
        .when(add("B", i64::MAX / 2 + 2, 1))
        .then_expect_error(CartError::AmountOutOfRange);
}

// ---- changing quantities and removing lines -----------------------------------

#[test]
fn changes_the_quantity_of_a_line() {
    given_cart(&[line("A", 1000, 2), line("B", 300, 1)])
        .when(CartCommand::ChangeItemQuantity {
            sku: sku("A"),
            quantity: qty(5),
        })
        .then_expect_events(vec![CartEvent::ItemQuantityChanged {
            line: line("A", 1000, 5),
            previous_quantity: qty(2),
            subtotal: eur_cents(5300),
            item_count: 6,
            discounts: None,
        }]);
}

#[test]
fn changing_a_quantity_to_what_it_is_records_nothing() {
    given_cart(&[line("A", 1000, 2)])
        .when(CartCommand::ChangeItemQuantity {
            sku: sku("A"),
            quantity: qty(2),
        })
        .then_expect_events(vec![]);
}

#[test]
fn changing_a_flagged_line_confirms_its_new_price() {
    given_cart(&[line("A", 1000, 1)])
        .and(vec![refreshed_a_to_1100()])
        .when(CartCommand::ChangeItemQuantity {
            sku: sku("A"),
            quantity: qty(1),
        })
        .then_expect_events(vec![CartEvent::ItemQuantityChanged {
            line: line("A", 1100, 1),
            previous_quantity: qty(1),
            subtotal: eur_cents(1100),
            item_count: 1,
            discounts: None,
        }]);
}

#[test]
fn refuses_to_change_a_line_the_cart_does_not_have() {
    given_cart(&[line("A", 1000, 2)])
        .when(CartCommand::ChangeItemQuantity {
            sku: sku("Z"),
            quantity: qty(1),
        })
        .then_expect_error(CartError::LineNotFound { sku: sku("Z") });
}

#[test]
fn refuses_to_change_a_quantity_above_999() {
    given_cart(&[line("A", 1000, 2)])
        .when(CartCommand::ChangeItemQuantity {
            sku: sku("A"),
            quantity: qty(1000),
        })
        .then_expect_error(CartError::QuantityLimitExceeded {
            sku: sku("A"),
            requested: 1000,
            max: 999,
        });
}

#[test]
fn removes_a_line_and_reports_what_it_was() {
    given_cart(&[line("A", 1000, 2), line("B", 300, 1)])
        .when(CartCommand::RemoveItem { sku: sku("A") })
        .then_expect_events(vec![CartEvent::ItemRemoved {
            line: line("A", 1000, 2),
            subtotal: eur_cents(300),
            item_count: 1,
            discounts: None,
        }]);
}

#[test]
fn refuses_to_remove_a_line_the_cart_does_not_have() {
    given_cart(&[line("A", 1000, 2)])
        .when(CartCommand::RemoveItem { sku: sku("Z") })
        .then_expect_error(CartError::LineNotFound { sku: sku("Z") });
}

// ---- customers -----------------------------------------------------------------

#[test]
fn attaches_a_guest_cart_to_a_customer() {
    given_cart(&[])
        .when(CartCommand::AttachCartToCustomer {
            customer_id: customer(),
        })
        .then_expect_events(vec![CartEvent::CartAttachedToCustomer {
            customer_id: customer(),
        }]);
}

#[test]
fn attaching_to_the_same_customer_again_records_nothing() {
    for history in [
        vec![opened(), attached(customer())],
        vec![opened_for(customer())],
    ] {
        cart()
            .given(history)
            .when(CartCommand::AttachCartToCustomer {
                customer_id: customer(),
            })
            .then_expect_events(vec![]);
    }
}

#[test]
fn refuses_to_attach_a_customer_cart_to_another_customer() {
    for history in [
        vec![opened(), attached(customer())],
        vec![opened_for(customer())],
    ] {
        cart()
            .given(history)
            .when(CartCommand::AttachCartToCustomer {
                customer_id: other_customer(),
            })
            .then_expect_error(CartError::AttachedToAnotherCustomer);
    }
}

fn attached(customer_id: CustomerId) -> CartEvent {
    CartEvent::CartAttachedToCustomer { customer_id }
}

// ---- merging -------------------------------------------------------------------

fn merge(lines: Vec<LineItem>, policy: MergePolicy) -> CartCommand {
    CartCommand::MergeCartLines {
        source_cart_id: other_cart_id(),
        lines,
        policy,
    }
}

#[test]
fn merge_policy_adds_up_quantities_and_appends_new_skus() {
    given_cart(&[line("A", 1000, 2), line("B", 300, 1)])
        .when(merge(
            vec![item("C", 50, 4), item("A", 1000, 1)],
            MergePolicy::Merge,
        ))
        .then_expect_events(vec![CartEvent::CartLinesMerged {
            source_cart_id: other_cart_id(),
            policy: MergePolicy::Merge,
            lines: vec![line("A", 1000, 3), line("B", 300, 1), line("C", 50, 4)],
            capped_quantities: vec![],
            dropped_skus: vec![],
            subtotal: eur_cents(3500),
            item_count: 8,
        }]);
}

#[test]
fn merge_policy_takes_the_source_snapshot_and_flags_a_price_the_customer_has_not_seen() {
    given_cart(&[line("A", 1000, 2)])
        .when(merge(vec![item("A", 900, 1)], MergePolicy::Merge))
        .then_expect_events(vec![CartEvent::CartLinesMerged {
            source_cart_id: other_cart_id(),
            policy: MergePolicy::Merge,
            lines: vec![flagged(line("A", 900, 3))],
            capped_quantities: vec![],
            dropped_skus: vec![],
            subtotal: eur_cents(2700),
            item_count: 3,
        }]);
}

#[test]
fn merge_policy_caps_quantities_at_999_and_reports_the_cap() {
    given_cart(&[line("A", 100, 900)])
        .when(merge(
            vec![item("A", 100, 60), item("A", 100, 60), item("B", 10, 1500)],
            MergePolicy::Merge,
        ))
        .then_expect_events(vec![CartEvent::CartLinesMerged {
            source_cart_id: other_cart_id(),
            policy: MergePolicy::Merge,
            lines: vec![line("A", 100, 999), line("B", 10, 999)],
            capped_quantities: vec![
                QuantityCap {
                    sku: sku("A"),
                    requested: 1020,
                    kept: qty(999),
                },
                QuantityCap {
                    sku: sku("B"),
                    requested: 1500,
                    kept: qty(999),
                },
            ],
            dropped_skus: vec![],
            subtotal: eur_cents(99_900 + 9_990),
            item_count: 1998,
        }]);
}

#[test]
fn merge_policy_drops_new_skus_beyond_100_lines_and_reports_them() {
    let existing = many_lines(99);
    let mut expected = existing.clone();
    expected.push(line("N1", 100, 1));
    let result = given_cart(&existing)
        .when(merge(
            vec![
                item("N1", 100, 1),
                item("L3", 100, 1),
                item("N2", 100, 1),
                item("N3", 100, 1),
            ],
            MergePolicy::Merge,
        ))
        .inspect_result()
        .unwrap();
    expected[3] = line("L3", 100, 2);
    assert_eq!(
        result,
        vec![CartEvent::CartLinesMerged {
            source_cart_id: other_cart_id(),
            policy: MergePolicy::Merge,
            lines: expected,
            capped_quantities: vec![],
            dropped_skus: vec![sku("N2"), sku("N3")],
            subtotal: eur_cents(10_100),
            item_count: 101,
        }]
    );
}

#[test]
fn keep_guest_policy_replaces_the_target_lines_with_the_source_lines() {
    given_cart(&[line("A", 1000, 2), line("B", 300, 1)])
        .when(merge(
            vec![item("C", 50, 4), item("A", 900, 1)],
            MergePolicy::KeepGuest,
        ))
        .then_expect_events(vec![CartEvent::CartLinesMerged {
            source_cart_id: other_cart_id(),
            policy: MergePolicy::KeepGuest,
            lines: vec![line("C", 50, 4), line("A", 900, 1)],
            capped_quantities: vec![],
            dropped_skus: vec![],
            subtotal: eur_cents(1100),
            item_count: 5,
        }]);
}

#[test]
fn keep_existing_policy_keeps_the_target_lines_even_beside_another_currency() {
    let usd_item = LineItem {
        unit_price: Money::new(100, usd()),
        ..item("C", 0, 1)
    };
    given_cart(&[line("A", 1000, 2)])
        .when(merge(vec![usd_item], MergePolicy::KeepExisting))
        .then_expect_events(vec![CartEvent::CartLinesMerged {
            source_cart_id: other_cart_id(),
            policy: MergePolicy::KeepExisting,
            lines: vec![line("A", 1000, 2)],
            capped_quantities: vec![],
            dropped_skus: vec![],
            subtotal: eur_cents(2000),
            item_count: 2,
        }]);
}

#[test]
fn merging_the_same_source_again_records_nothing() {
    given_cart(&[])
        .and(vec![CartEvent::CartLinesMerged {
            source_cart_id: other_cart_id(),
            policy: MergePolicy::Merge,
            lines: vec![line("C", 50, 4)],
            capped_quantities: vec![],
            dropped_skus: vec![],
            subtotal: eur_cents(200),
            item_count: 4,
        }])
        .when(merge(vec![item("C", 50, 4)], MergePolicy::Merge))
        .then_expect_events(vec![]);
}

#[test]
fn refuses_to_merge_a_cart_into_itself() {
    given_cart(&[])
        .when(CartCommand::MergeCartLines {
            source_cart_id: cart_id(),
            lines: vec![],
            policy: MergePolicy::Merge,
        })
        .then_expect_error(CartError::CannotMergeIntoItself);
    given_cart(&[])
        .when(CartCommand::MarkCartMergedInto {
            target_cart_id: cart_id(),
        })
        .then_expect_error(CartError::CannotMergeIntoItself);
}

#[test]
fn refuses_merged_lines_in_another_currency() {
    let usd_item = LineItem {
        unit_price: Money::new(100, usd()),
        ..item("C", 0, 1)
    };
    for policy in [MergePolicy::Merge, MergePolicy::KeepGuest] {
        given_cart(&[])
            .when(merge(vec![usd_item.clone()], policy))
            .then_expect_error(CartError::CurrencyMismatch {
                sku: sku("C"),
                cart_currency: eur(),
                price_currency: usd(),
            });
    }
}

#[test]
fn refuses_merged_lines_with_invalid_names_or_negative_prices() {
    let unnamed = LineItem {
        name: String::new(),
        ..item("C", 100, 1)
    };
    given_cart(&[])
        .when(merge(vec![unnamed], MergePolicy::Merge))
        .then_expect_error(CartError::InvalidProductName {
            reason: "must not be empty or blank",
        });
    given_cart(&[])
        .when(merge(vec![item("C", -5, 1)], MergePolicy::KeepGuest))
        .then_expect_error(CartError::NegativeUnitPrice {
            sku: sku("C"),
            unit_price: eur_cents(-5),
        });
}

#[test]
fn marks_a_source_cart_merged_into_its_target() {
    given_cart(&[line("A", 1000, 2)])
        .when(CartCommand::MarkCartMergedInto {
            target_cart_id: other_cart_id(),
        })
        .then_expect_events(vec![CartEvent::CartMergedInto {
            target_cart_id: other_cart_id(),
        }]);
}

#[test]
fn marking_merged_into_the_same_target_again_records_nothing() {
    given_cart(&[])
        .and(vec![merged_into_other()])
        .when(CartCommand::MarkCartMergedInto {
            target_cart_id: other_cart_id(),
        })
        .then_expect_events(vec![]);
}

fn merged_into_other() -> CartEvent {
    CartEvent::CartMergedInto {
        target_cart_id: other_cart_id(),
    }
}

// ---- prices --------------------------------------------------------------------

/// A's price went from 10.00 to 11.00 EUR, in a cart holding one unit of A.
fn refreshed_a_to_1100() -> CartEvent {
    CartEvent::PricesRefreshed {
        changes: vec![PriceChange {
            sku: sku("A"),
            old_price: eur_cents(1000),
            new_price: eur_cents(1100),
        }],
        lines: vec![flagged(line("A", 1100, 1))],
        subtotal: eur_cents(1100),
        item_count: 1,
    }
}

#[test]
fn refresh_updates_and_flags_the_lines_whose_price_changed() {
    given_cart(&[line("A", 1000, 2), line("B", 300, 1), line("C", 50, 1)])
        .when(CartCommand::RefreshPrices {
            current_prices: prices(&[("A", 1100), ("B", 300), ("C", 40), ("X", 1)]),
        })
        .then_expect_events(vec![CartEvent::PricesRefreshed {
            changes: vec![
                PriceChange {
                    sku: sku("A"),
                    old_price: eur_cents(1000),
                    new_price: eur_cents(1100),
                },
                PriceChange {
                    sku: sku("C"),
                    old_price: eur_cents(50),
                    new_price: eur_cents(40),
                },
            ],
            lines: vec![
                flagged(line("A", 1100, 2)),
                line("B", 300, 1),
                flagged(line("C", 40, 1)),
            ],
            subtotal: eur_cents(2540),
            item_count: 4,
        }]);
}

#[test]
fn refresh_records_nothing_when_no_price_changed() {
    given_cart(&[line("A", 1000, 2)])
        .when(CartCommand::RefreshPrices {
            current_prices: prices(&[("A", 1000)]),
        })
        .then_expect_events(vec![]);
}

#[test]
fn refresh_keeps_the_snapshot_of_a_sku_the_catalog_no_longer_prices() {
    given_cart(&[line("A", 1000, 2), line("B", 300, 1)])
        .when(CartCommand::RefreshPrices {
            current_prices: prices(&[("B", 300)]),
        })
        .then_expect_events(vec![]);
}

#[test]
fn refuses_refreshed_prices_in_another_currency_or_below_zero() {
    let mut usd_prices = prices(&[]);
    usd_prices.insert(sku("A"), Money::new(1000, usd()));
    given_cart(&[line("A", 1000, 2)])
        .when(CartCommand::RefreshPrices {
            current_prices: usd_prices,
        })
        .then_expect_error(CartError::CurrencyMismatch {
            sku: sku("A"),
            cart_currency: eur(),
            price_currency: usd(),
        });
    given_cart(&[line("A", 1000, 2)])
        .when(CartCommand::RefreshPrices {
            current_prices: prices(&[("A", -1)]),
        })
        .then_expect_error(CartError::NegativeUnitPrice {
            sku: sku("A"),
            unit_price: eur_cents(-1),
        });
}

// ---- checking out --------------------------------------------------------------

#[test]
fn checks_out_with_the_lines_totals_and_the_new_order_id() {
    cart()
        .given(vec![opened(), attached(customer())])
        .and(added(&[line("A", 1000, 2), line("B", 300, 1)]))
        .when(check_out(&[("A", 1000), ("B", 300), ("X", 5)]))
        .then_expect_events(vec![CartEvent::CartCheckedOut {
            cart_id: cart_id(),
            order_id: order_id(),
            customer_id: Some(customer()),
            lines: vec![item("A", 1000, 2), item("B", 300, 1)],
            line_totals: prices(&[("A", 2000), ("B", 300)]),
            subtotal: eur_cents(2300),
            item_count: 3,
            currency: eur(),
            email: email(),
            shipping_address: address(),
            payment_token: token(),
            checked_out_at: at(),
            pricing: None,
        }]);
}

#[test]
fn checks_out_a_refreshed_cart_at_its_new_prices() {
    let result = given_cart(&[line("A", 1000, 1)])
        .and(vec![refreshed_a_to_1100()])
        .when(check_out(&[("A", 1100)]))
        .inspect_result()
        .unwrap();
    assert!(matches!(
        &result[..],
        [CartEvent::CartCheckedOut { subtotal, .. }] if *subtotal == eur_cents(1100)
    ));
}

#[test]
fn refuses_to_check_out_an_empty_cart() {
    given_cart(&[])
        .when(check_out(&[("A", 1000)]))
        .then_expect_error(CartError::EmptyCart);
}

#[test]
fn refuses_to_check_out_products_without_a_current_price() {
    given_cart(&[line("A", 1000, 2), line("B", 300, 1), line("C", 5, 1)])
        .when(check_out(&[("B", 300)]))
        .then_expect_error(CartError::ProductUnavailable {
            skus: vec![sku("A"), sku("C")],
        });
}

#[test]
fn refuses_to_check_out_when_prices_changed_and_lists_them() {
    let refusal = given_cart(&[line("A", 1000, 2), line("B", 300, 1)])
        .when(check_out(&[("A", 1100), ("B", 300)]))
        .inspect_result()
        .unwrap_err();
    assert_eq!(
        refusal,
        CartError::PricesChanged {
            changes: vec![PriceChange {
                sku: sku("A"),
                old_price: eur_cents(1000),
                new_price: eur_cents(1100),
            }],
        }
    );
    assert_eq!(refusal.code(), "prices_changed");
    assert!(refusal.to_string().contains("A from 1000 EUR to 1100 EUR"));
}

#[test]
fn refuses_to_check_out_at_prices_in_another_currency() {
    let mut usd_prices = prices(&[]);
    usd_prices.insert(sku("A"), Money::new(1000, usd()));
    given_cart(&[line("A", 1000, 2)])
        .when(CartCommand::CheckOutCart {
            order_id: order_id(),
            current_prices: usd_prices,
            email: email(),
            shipping_address: address(),
            payment_token: token(),
            checked_out_at: at(),
        })
        .then_expect_error(CartError::CurrencyMismatch {
            sku: sku("A"),
            cart_currency: eur(),
            price_currency: usd(),
        });
}

fn checked_out() -> CartEvent {
    CartEvent::CartCheckedOut {
        cart_id: cart_id(),
        order_id: order_id(),
        customer_id: None,
        lines: vec![item("A", 100, 1)],
        line_totals: prices(&[("A", 100)]),
        subtotal: eur_cents(100),
        item_count: 1,
        currency: eur(),
        email: email(),
        shipping_address: address(),
        payment_token: token(),
        checked_out_at: at(),
        pricing: None,
    }
}

#[test]
fn checks_out_at_most_once() {
    given_cart(&[line("A", 100, 1)])
        .and(vec![checked_out()])
        .when(check_out(&[("A", 100)]))
        .then_expect_error(CartError::CheckedOut {
            order_id: order_id(),
        });
}

// ---- abandoning and final states -------------------------------------------------

#[test]
fn abandons_an_open_cart_with_what_it_held() {
    cart()
        .given(vec![opened_for(customer())])
        .and(added(&[line("A", 1000, 2)]))
        .when(CartCommand::AbandonCart { abandoned_at: at() })
        .then_expect_events(vec![CartEvent::CartAbandoned {
            customer_id: Some(customer()),
            subtotal: eur_cents(2000),
            item_count: 2,
            abandoned_at: at(),
        }]);
}

/// Every command but `OpenCart` (refused as `already_exists`) and the idempotent
/// repeats is refused with `refusal` once the cart is in a final state.
fn assert_nothing_changes_after(final_event: CartEvent, refusal: CartError) {
    let mut commands = every_command().into_iter();
    let open = commands.next().unwrap();
    given_cart(&[line("A", 100, 1)])
        .and(vec![final_event.clone()])
        .when(open)
        .then_expect_error(CartError::AlreadyExists);
    for command in commands {
        let is_repeat_of_final = matches!(
            (&command, &final_event),
            (
                CartCommand::MarkCartMergedInto { .. },
                CartEvent::CartMergedInto { .. }
            )
        );
        if is_repeat_of_final {
            continue;
        }
        given_cart(&[line("A", 100, 1)])
            .and(vec![final_event.clone()])
            .when(command)
            .then_expect_error(refusal.clone());
    }
}

#[test]
fn nothing_changes_after_checkout() {
    assert_nothing_changes_after(
        checked_out(),
        CartError::CheckedOut {
            order_id: order_id(),
        },
    );
}

#[test]
fn nothing_changes_after_abandonment() {
    assert_nothing_changes_after(
        CartEvent::CartAbandoned {
            customer_id: None,
            subtotal: eur_cents(100),
            item_count: 1,
            abandoned_at: at(),
        },
        CartError::Abandoned,
    );
}

#[test]
fn nothing_changes_after_being_merged() {
    assert_nothing_changes_after(
        merged_into_other(),
        CartError::Merged {
            target_cart_id: other_cart_id(),
        },
    );
    given_cart(&[])
        .and(vec![merged_into_other()])
        .when(CartCommand::MarkCartMergedInto {
            target_cart_id: CartId::new(uuid::Uuid::from_u128(7)),
        })
        .then_expect_error(CartError::Merged {
            target_cart_id: other_cart_id(),
        });
}

#[test]
fn refusals_in_a_final_state_name_that_state() {
    let checked_out = CartError::CheckedOut {
        order_id: order_id(),
    };
    assert!(checked_out.to_string().contains("checked out"));
    assert!(CartError::Abandoned.to_string().contains("abandoned"));
    assert!(CartError::Merged {
        target_cart_id: other_cart_id()
    }
    .to_string()
    .contains("merged into cart"));
}

// ---- state, codes and wire shapes ------------------------------------------------

fn replay(events: Vec<CartEvent>) -> Cart {
    let mut cart = Cart::default();
    for event in events {
        cart.apply(event);
    }
    cart
}

#[test]
fn state_follows_the_events_through_to_checkout() {
    let mut history = vec![opened()];
    history.extend(added(&[line("A", 1000, 1)]));
    history.push(refreshed_a_to_1100());
    let cart = replay(history.clone());
    let state = cart.state().unwrap();
    assert_eq!(state.status, CartStatus::Open);
    assert!(state.line(&sku("A")).unwrap().price_changed);
    assert_eq!(state.subtotal, eur_cents(1100));

    history.push(checked_out());
    let cart = replay(history);
    let state = cart.state().unwrap();
    assert_eq!(
        state.status,
        CartStatus::CheckedOut {
            order_id: order_id()
        }
    );
    assert!(state.lines.iter().all(|line| !line.price_changed));

    let snapshot = serde_json::to_value(&cart).unwrap();
    assert_eq!(snapshot["state"]["status"]["status"], "checked_out");
    assert_eq!(serde_json::from_value::<Cart>(snapshot).unwrap(), cart);
}

#[test]
fn every_error_has_its_own_snake_case_code() {
    let errors = [
        CartError::NotFound,
        CartError::AlreadyExists,
        CartError::CheckedOut {
            order_id: order_id(),
        },
        CartError::Abandoned,
        CartError::Merged {
            target_cart_id: other_cart_id(),
        },
        CartError::InvalidProductName { reason: "x" },
        CartError::CurrencyMismatch {
            sku: sku("A"),
            cart_currency: eur(),
            price_currency: usd(),
        },
        CartError::NegativeUnitPrice {
            sku: sku("A"),
            unit_price: eur_cents(-1),
        },
        CartError::TooManyLines { max: 100 },
        CartError::QuantityLimitExceeded {
            sku: sku("A"),
            requested: 1000,
            max: 999,
        },
        CartError::LineNotFound { sku: sku("A") },
        CartError::AttachedToAnotherCustomer,
        CartError::CannotMergeIntoItself,
        CartError::EmptyCart,
        CartError::ProductUnavailable {
            skus: vec![sku("A")],
        },
        CartError::PricesChanged { changes: vec![] },
        CartError::AmountOutOfRange,
    ];
    let codes: std::collections::BTreeSet<_> = errors.iter().map(CartError::code).collect();
    assert_eq!(codes.len(), errors.len());
    assert!(codes
        .iter()
        .all(|code| code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
    assert_eq!(CartError::NotFound.code(), "not_found");
    assert_eq!(CartError::AlreadyExists.code(), "already_exists");
}

#[test]
fn commands_refuse_unknown_fields() {
    let good = serde_json::json!({"ChangeItemQuantity": {"sku": "A", "quantity": 2}});
    assert_eq!(
        serde_json::from_value::<CartCommand>(good).unwrap(),
        CartCommand::ChangeItemQuantity {
            sku: sku("A"),
            quantity: qty(2),
        }
    );
    let misspelt = serde_json::json!({"ChangeItemQuantity": {"sku": "A", "qty": 2}});
    assert!(serde_json::from_value::<CartCommand>(misspelt).is_err());
    let extra = serde_json::json!({"RemoveItem": {"sku": "A", "force": true}});
    assert!(serde_json::from_value::<CartCommand>(extra).is_err());
    let policy = serde_json::json!({"MergeCartLines": {
        "source_cart_id": other_cart_id(), "lines": [], "policy": "keep_existing"}});
    assert!(serde_json::from_value::<CartCommand>(policy).is_ok());
}

#[test]
fn events_are_externally_tagged_with_flat_lines() {
    let json = serde_json::to_value(&added(&[line("A", 1999, 2)])[0]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"ItemAdded": {
            "line": {
                "sku": "A",
                "name": "Product A",
                "unit_price": {"amount": 1999, "currency": "EUR"},
                "quantity": 2,
                "line_total": {"amount": 3998, "currency": "EUR"},
                "price_changed": false
            },
            "quantity_added": 2,
            "subtotal": {"amount": 3998, "currency": "EUR"},
            "item_count": 2,
            "discounts": null
        }})
    );
}
