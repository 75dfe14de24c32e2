//! Values the cart's tests share: ids, money, lines and the histories they start from.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use uuid::Uuid;

use super::{Cart, CartCommand, CartEvent, CartLine};
use crate::shared::{
    CartId, Currency, CustomerId, Email, LineItem, Money, OrderId, PaymentMethodToken,
    PostalAddress, PostalAddressFields, Quantity, Sku,
};

pub fn eur() -> Currency {
    Currency::new("EUR").unwrap()
}

pub fn usd() -> Currency {
    Currency::new("USD").unwrap()
}

/// Minor units of EUR.
pub fn eur_cents(amount: i64) -> Money {
    Money::new(amount, eur())
}

pub fn cart_id() -> CartId {
    CartId::new(Uuid::from_u128(0xca47))
}

pub fn other_cart_id() -> CartId {
    CartId::new(Uuid::from_u128(0x0e7))
}

pub fn customer() -> CustomerId {
    CustomerId::new(Uuid::from_u128(0xada))
}

pub fn other_customer() -> CustomerId {
    CustomerId::new(Uuid::from_u128(0xb0b))
}

pub fn order_id() -> OrderId {
    OrderId::new(Uuid::from_u128(0x0d3))
}

pub fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()
}

pub fn sku(code: &str) -> Sku {
    Sku::new(code).unwrap()
}

pub fn qty(n: u32) -> Quantity {
    Quantity::new(n).unwrap()
}

pub fn name_of(code: &str) -> String {
    format!("Product {code}")
}

/// A line of `n` units of `code` at `cents` EUR each, named after its SKU.
pub fn line(code: &str, cents: i64, n: u32) -> CartLine {
    CartLine::new(sku(code), name_of(code), eur_cents(cents), qty(n), false).unwrap()
}

pub fn flagged(mut line: CartLine) -> CartLine {
    line.price_changed = true;
    line
}

pub fn item(code: &str, cents: i64, n: u32) -> LineItem {
    LineItem {
        sku: sku(code),
        name: name_of(code),
        unit_price: eur_cents(cents),
        quantity: qty(n),
    }
}

pub fn cart() -> TestFramework<Cart> {
    TestFramework::with(())
}

pub fn opened() -> CartEvent {
    CartEvent::CartOpened {
        cart_id: cart_id(),
        currency: eur(),
        customer_id: None,
        opened_at: at(),
    }
}

pub fn opened_for(customer_id: CustomerId) -> CartEvent {
    CartEvent::CartOpened {
        cart_id: cart_id(),
        currency: eur(),
        customer_id: Some(customer_id),
        opened_at: at(),
    }
}

/// `ItemAdded` events for new lines, with running totals as the aggregate makes them.
pub fn added(lines: &[CartLine]) -> Vec<CartEvent> {
    let mut subtotal = 0;
    let mut item_count = 0;
    lines
        .iter()
        .map(|line| {
            subtotal += line.line_total.amount();
            item_count += line.quantity.get();
            CartEvent::ItemAdded {
                line: line.clone(),
                quantity_added: line.quantity,
                subtotal: eur_cents(subtotal),
                item_count,
                discounts: None,
            }
        })
        .collect()
}

/// An open guest cart holding `lines`.
pub fn given_cart(lines: &[CartLine]) -> AggregateTestExecutor<Cart> {
    let mut events = vec![opened()];
    events.extend(added(lines));
    cart().given(events)
}

/// `count` distinct lines of one unit at 1.00 EUR: `L0`, `L1`, …
pub fn many_lines(count: usize) -> Vec<CartLine> {
    (0..count).map(|i| line(&format!("L{i}"), 100, 1)).collect()
}

pub fn add(code: &str, cents: i64, n: u32) -> CartCommand {
    CartCommand::AddItem {
        sku: sku(code),
        name: name_of(code),
        unit_price: eur_cents(cents),
        quantity: qty(n),
    }
}

pub fn prices(entries: &[(&str, i64)]) -> BTreeMap<Sku, Money> {
    entries
        .iter()
        .map(|(code, cents)| (sku(code), eur_cents(*cents)))
        .collect()
}

pub fn email() -> Email {
    Email::new("ada@example.org").unwrap()
}

pub fn address() -> PostalAddress {
    PostalAddress::new(PostalAddressFields {
        name: "Ada Lovelace".into(),
        line1: "12 St James's Square".into(),
        line2: None,
        city: "London".into(),
        postal_code: "SW1Y 4JH".into(),
        region: None,
        country: "GB".into(),
    })
    .unwrap()
}

pub fn token() -> PaymentMethodToken {
    PaymentMethodToken::new("tok_visa").unwrap()
}

pub fn check_out(current_prices: &[(&str, i64)]) -> CartCommand {
    CartCommand::CheckOutCart {
        order_id: order_id(),
        current_prices: prices(current_prices),
        email: email(),
        shipping_address: address(),
        payment_token: token(),
        checked_out_at: at(),
    }
}

/// One command of every kind, each one an open cart holding line `A` would accept.
pub fn every_command() -> Vec<CartCommand> {
    vec![
        CartCommand::OpenCart {
            cart_id: cart_id(),
            currency: eur(),
            customer_id: None,
            opened_at: at(),
        },
        add("A", 100, 1),
        CartCommand::ChangeItemQuantity {
            sku: sku("A"),
            quantity: qty(2),
        },
        CartCommand::RemoveItem { sku: sku("A") },
        CartCommand::AttachCartToCustomer {
            customer_id: customer(),
        },
        CartCommand::MergeCartLines {
            source_cart_id: other_cart_id(),
            lines: vec![item("B", 100, 1)],
            policy: super::MergePolicy::Merge,
        },
        CartCommand::MarkCartMergedInto {
            target_cart_id: other_cart_id(),
        },
        CartCommand::RefreshPrices {
            current_prices: prices(&[("A", 200)]),
        },
        check_out(&[("A", 100)]),
        CartCommand::AbandonCart { abandoned_at: at() },
    ]
}
