//! The cart's workflows of more than one command, decided here on the write side
//! so they are tested without HTTP; the API sends the commands they name, with the
//! request's metadata and idempotency.
//!
//! - **Attaching** a guest cart to a customer who signs in: the guest cart becomes
//!   theirs, or, when they already have an open cart, its lines merge into that
//!   one by the policy they chose, and the guest cart ends as merged.
//! - **Checking out at today's prices**: the checkout carries the catalog's current
//!   prices; when the cart refuses because a price changed, the cart is re-priced,
//!   so the client shows the new total and checks out again.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use domain::cart::{Cart, CartCommand, MergePolicy};
use domain::shared::{CartId, CustomerId, LineItem, Money, Sku};
use sqlx::PgPool;

use crate::catalog::Catalog;
use crate::error::StoreError;

/// The projector whose read model says which cart a customer has open.
const CARTS_PROJECTOR: &str = "carts";

/// What attaching a guest cart to a signed-in customer takes. Built once per
/// request and taken apart at once: boxing the larger variant would buy nothing.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Attach {
    /// No other open cart: the guest cart becomes the customer's.
    Attach { cart: CartId, command: CartCommand },
    /// The customer has an open cart already: the guest's lines merge into it
    /// (`merge`, sent to `target`), then the guest cart ends as merged (`close`,
    /// sent to `guest`). Merging is idempotent per source cart, so a retry after a
    /// failure between the two completes the second without merging twice.
    Merge {
        target: CartId,
        merge: CartCommand,
        guest: CartId,
        close: CartCommand,
    },
}

/// Why a guest cart cannot be attached as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttachRefusal {
    #[error(
        "you already have an open cart ({0}); send `policy`: merge, keep_guest or keep_existing"
    )]
    MergePolicyRequired(CartId),
}

impl AttachRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            AttachRefusal::MergePolicyRequired(_) => "merge_policy_required",
        }
    }
}

/// Decides how the guest cart `guest_id` becomes `customer`'s, given the cart the
/// customer has open (if any, as the carts read model says) and the policy the
/// caller chose. Pure.
pub fn attach(
    guest_id: CartId,
    guest: &Cart,
    customer: CustomerId,
    open_cart: Option<CartId>,
    policy: Option<MergePolicy>,
) -> Result<Attach, AttachRefusal> {
    let Some(target) = open_cart.filter(|target| *target != guest_id) else {
        return Ok(Attach::Attach {
            cart: guest_id,
            command: CartCommand::AttachCartToCustomer {
                customer_id: customer,
            },
        });
    };
    let policy = policy.ok_or(AttachRefusal::MergePolicyRequired(target))?;
    let lines: Vec<LineItem> = guest
        .state()
        .map(|cart| {
            cart.lines
                .iter()
                .map(|line| LineItem {
                    sku: line.sku.clone(),
                    name: line.name.clone(),
                    unit_price: line.unit_price,
                    quantity: line.quantity,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Attach::Merge {
        target,
        merge: CartCommand::MergeCartLines {
            source_cart_id: guest_id,
            lines,
            policy,
        },
        guest: guest_id,
        close: CartCommand::MarkCartMergedInto {
            target_cart_id: target,
        },
    })
}

/// Why the customer's open cart could not be looked up.
#[derive(Debug, thiserror::Error)]
pub enum OpenCartLookupError {
    #[error(transparent)]
    ReadModel(#[from] projections::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The carts read model did not reach the head of the log in time.
    #[error("the carts read model has not caught up within {} ms; retry shortly", .0.as_millis())]
    NotCaughtUp(Duration),
}

/// The customer's open cart as of every write committed so far: the carts read
/// model is first awaited up to the head of the log (at most `bound`), so a cart
/// opened a moment ago is found and merged rather than left open beside another.
pub async fn open_cart_of(
    pool: &PgPool,
    customer: CustomerId,
    bound: Duration,
) -> Result<Option<CartId>, OpenCartLookupError> {
    if let Some(head) = crate::store::log_head(pool).await? {
        let reached =
            projections::runtime::wait_for_checkpoint(pool, CARTS_PROJECTOR, head, bound).await?;
        if !reached {
            return Err(OpenCartLookupError::NotCaughtUp(bound));
        }
    }
    Ok(
        projections::read_models::carts::open_cart_of(pool, customer.as_uuid())
            .await?
            .map(|view| CartId::new(view.cart_id)),
    )
}

/// Today's prices of the cart's SKUs: what a checkout carries, and what
/// [`reprice`] sets when the checkout is refused because they changed.
pub async fn current_prices(
    catalog: &Catalog,
    cart: &Cart,
) -> Result<BTreeMap<Sku, Money>, StoreError> {
    let skus: BTreeSet<Sku> = cart
        .state()
        .map(|cart| cart.lines.iter().map(|l| l.sku.clone()).collect())
        .unwrap_or_default();
    catalog.prices(&skus).await
}

/// The command that re-prices a cart whose checkout was refused with
/// `prices_changed`: its lines take `current_prices` and are flagged.
pub fn reprice(current_prices: BTreeMap<Sku, Money>) -> CartCommand {
    CartCommand::RefreshPrices { current_prices }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::TimeZone;
    use cqrs_es::Aggregate;
    use domain::cart::{CartError, CartEvent};
    use domain::shared::{Currency, Quantity};
    use uuid::Uuid;

    use super::*;

    fn id(n: u128) -> CartId {
        CartId::new(Uuid::from_u128(n))
    }

    fn customer() -> CustomerId {
        CustomerId::new(Uuid::from_u128(42))
    }

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::new("EUR").unwrap())
    }

    /// A guest cart holding one mug at `price`.
    fn guest_cart(price: i64) -> Cart {
        let mut cart = Cart::default();
        let at = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        let commands = [
            CartCommand::OpenCart {
                cart_id: id(1),
                currency: Currency::new("EUR").unwrap(),
                customer_id: None,
                opened_at: at,
            },
            CartCommand::AddItem {
                sku: Sku::new("MUG-1").unwrap(),
                name: "Mug".into(),
                unit_price: eur(price),
                quantity: Quantity::new(2).unwrap(),
            },
        ];
        for command in commands {
            for event in cart.decide(command).unwrap() {
                cart.apply(event);
            }
        }
        cart
    }

    #[test]
    fn a_customer_without_an_open_cart_takes_the_guest_cart() {
        let plan = attach(id(1), &guest_cart(1200), customer(), None, None).unwrap();
        assert_eq!(
            plan,
            Attach::Attach {
                cart: id(1),
                command: CartCommand::AttachCartToCustomer {
                    customer_id: customer()
                }
            }
        );
    }

    #[test]
    fn the_guest_cart_itself_found_open_is_a_retry_not_a_merge() {
        let plan = attach(id(1), &guest_cart(1200), customer(), Some(id(1)), None).unwrap();
        assert!(matches!(plan, Attach::Attach { cart, .. } if cart == id(1)));
    }

    #[test]
    fn merging_into_an_open_cart_needs_a_policy() {
        let refusal = attach(id(1), &guest_cart(1200), customer(), Some(id(2)), None).unwrap_err();
        assert_eq!(refusal, AttachRefusal::MergePolicyRequired(id(2)));
        assert_eq!(refusal.code(), "merge_policy_required");
        assert!(refusal.to_string().contains(&id(2).to_string()));
    }

    #[test]
    fn merging_sends_the_guest_lines_to_the_open_cart_then_closes_the_guest_cart() {
        let plan = attach(
            id(1),
            &guest_cart(1200),
            customer(),
            Some(id(2)),
            Some(MergePolicy::Merge),
        )
        .unwrap();
        let Attach::Merge {
            target,
            merge,
            guest,
            close,
        } = plan
        else {
            panic!("expected a merge, got {plan:?}");
        };
        assert_eq!((target, guest), (id(2), id(1)));
        assert!(matches!(
            merge,
            CartCommand::MergeCartLines { source_cart_id, ref lines, policy: MergePolicy::Merge }
                if source_cart_id == id(1) && lines.len() == 1 && lines[0].unit_price == eur(1200)
        ));
        assert_eq!(
            close,
            CartCommand::MarkCartMergedInto {
                target_cart_id: id(2)
            }
        );
    }

    #[test]
    fn a_checkout_refused_for_a_changed_price_is_followed_by_a_repricing_that_takes_it() {
        let mut cart = guest_cart(1200);
        let prices = BTreeMap::from([(Sku::new("MUG-1").unwrap(), eur(1500))]);
        let checkout = CartCommand::CheckOutCart {
            order_id: domain::shared::OrderId::new(Uuid::from_u128(7)),
            current_prices: prices.clone(),
            email: domain::shared::Email::new("ada@example.com").unwrap(),
            shipping_address: serde_json::from_str(
                r#"{"name": "Ada", "line1": "1 Square", "city": "London", "postal_code": "SW1", "country": "GB"}"#,
            )
            .unwrap(),
            payment_token: domain::shared::PaymentMethodToken::new("tok_visa").unwrap(),
            checked_out_at: chrono::Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap(),
        };
        assert!(matches!(
            cart.decide(checkout.clone()),
            Err(CartError::PricesChanged { .. })
        ));
        let events = cart.decide(reprice(prices)).unwrap();
        assert!(
            matches!(events.as_slice(), [CartEvent::PricesRefreshed { .. }]),
            "{events:?}"
        );
        for event in events {
            cart.apply(event);
        }
        assert_eq!(cart.state().unwrap().lines[0].unit_price, eur(1500));
        assert!(
            cart.decide(checkout).is_ok(),
            "the re-priced cart checks out"
        );
    }
}
