//! The one list of the domain's aggregate types. Everything that enumerates
//! aggregates (Kafka topics, the audit routes, replay's state folding, the API's
//! stores, the event catalog) derives from [`AggregateKind`], so a new aggregate is
//! declared here once and every enumeration takes it in.
//!
//! Code that needs the aggregate's Rust type for each kind (to fold its events, to
//! build its store) implements [`ForEachAggregate`] once, generically: adding a
//! kind whose type lacks what that code needs fails to compile, never at run time.

use cqrs_es::Aggregate;

use crate::Refusal;

/// An aggregate type as the rest of the system may use it generically: its state
/// is shown as JSON, its commands may be retried, its refusals carry codes.
pub trait RegisteredAggregate:
    Aggregate<Services = (), Error: Refusal + Send + Sync, Command: Clone + Send + Sync>
    + Clone
    + 'static
{
    /// Its entry in the registry.
    const KIND: AggregateKind;

    /// Its own value among one value per aggregate type.
    fn select<F: Family>(all: &PerAggregate<F>) -> &F::Of<Self>;
}

/// What [`PerAggregate`] holds for each aggregate type `A` (a store of `A`, say).
pub trait Family {
    type Of<A: RegisteredAggregate>;
}

/// Builds the value of each aggregate type for [`PerAggregate::build`].
pub trait Make<F: Family> {
    fn make<A: RegisteredAggregate>(&mut self) -> F::Of<A>;
}

/// Work done once per aggregate type, with the type in hand: see
/// [`AggregateKind::for_each`] and [`AggregateKind::visit`].
pub trait ForEachAggregate {
    type Output;

    fn visit<A: RegisteredAggregate>(&mut self) -> Self::Output;
}

/// A name that is no aggregate type of the domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown aggregate type {given:?}: expected one of {expected}")]
pub struct UnknownAggregateType {
    pub given: String,
    pub expected: String,
}

/// Declares the aggregate types: for each, its kind, its Rust type, its stored
/// `aggregate_type` (the type's `Aggregate::TYPE`), its singular lowercase name
/// (topics, CLI), the plural path segment of its routes, its event types and how
/// often its store snapshots it.
macro_rules! aggregates {
    ($($kind:ident => $ty:ty {
        name: $name:ident,
        path: $path:literal,
        event_types: $events:path,
        snapshot_every: $snapshot:expr $(,)?
    }),* $(,)?) => {
        /// The aggregate types of the domain, by the type name their streams carry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum AggregateKind {
            $($kind),*
        }

        impl AggregateKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [AggregateKind] = &[$(AggregateKind::$kind),*];

            /// The `aggregate_type` of its streams, as stored.
            pub const fn type_name(self) -> &'static str {
                match self {
                    $(AggregateKind::$kind => <$ty as Aggregate>::TYPE),*
                }
            }

            /// Its singular lowercase name: Kafka topics, the CLI.
            pub const fn name(self) -> &'static str {
                match self {
                    $(AggregateKind::$kind => stringify!($name)),*
                }
            }

            /// The path segment of its routes (`/commands/carts/...`).
            pub const fn path(self) -> &'static str {
                match self {
                    $(AggregateKind::$kind => $path),*
                }
            }

            /// Every event type its streams may hold.
            pub const fn event_types(self) -> &'static [&'static str] {
                match self {
                    $(AggregateKind::$kind => $events),*
                }
            }

            /// Every how many events its store takes a snapshot; `None`: never
            /// (streams that stay short).
            pub const fn snapshot_every(self) -> Option<u64> {
                match self {
                    $(AggregateKind::$kind => $snapshot),*
                }
            }

            /// Runs `work` with this kind's Rust type.
            pub fn visit<W: ForEachAggregate>(self, work: &mut W) -> W::Output {
                match self {
                    $(AggregateKind::$kind => work.visit::<$ty>()),*
                }
            }
        }

        /// One value per aggregate type, typed: `get::<A>()` is checked when it
        /// compiles, so no aggregate type can lack its value at run time.
        pub struct PerAggregate<F: Family> {
            $(pub $name: F::Of<$ty>),*
        }

        impl<F: Family> PerAggregate<F> {
            /// One value per aggregate type, made by `make`.
            pub fn build(make: &mut impl Make<F>) -> Self {
                PerAggregate {
                    $($name: make.make::<$ty>()),*
                }
            }

            /// The value of `A`.
            pub fn get<A: RegisteredAggregate>(&self) -> &F::Of<A> {
                A::select(self)
            }
        }

        impl<F: Family> Clone for PerAggregate<F>
        where
            $(F::Of<$ty>: Clone),*
        {
            fn clone(&self) -> Self {
                PerAggregate {
                    $($name: self.$name.clone()),*
                }
            }
        }

        $(impl RegisteredAggregate for $ty {
            const KIND: AggregateKind = AggregateKind::$kind;

            fn select<F: Family>(all: &PerAggregate<F>) -> &F::Of<Self> {
                &all.$name
            }
        })*
    };
}

aggregates! {
    Cart => crate::cart::Cart {
        name: cart, path: "carts",
        event_types: crate::cart::EVENT_TYPES, snapshot_every: None,
    },
    Order => crate::order::Order {
        name: order, path: "orders",
        event_types: crate::order::EVENT_TYPES, snapshot_every: None,
    },
    // A SKU's stream grows with every order: snapshot it.
    Inventory => crate::inventory::Inventory {
        name: inventory, path: "inventory",
        event_types: crate::inventory::EVENT_TYPES, snapshot_every: Some(100),
    },
    Payment => crate::payment::Payment {
        name: payment, path: "payments",
        event_types: crate::payment::EVENT_TYPES, snapshot_every: None,
    },
    Product => crate::product::Product {
        name: product, path: "products",
        event_types: crate::product::EVENT_TYPES, snapshot_every: None,
    },
    // A popular promotion's stream grows with every order that uses it.
    Promotion => crate::promotion::Promotion {
        name: promotion, path: "promotions",
        event_types: crate::promotion::EVENT_TYPES, snapshot_every: Some(100),
    },
    ShippingMethod => crate::shipping_method::ShippingMethod {
        name: shipping_method, path: "shipping-methods",
        event_types: crate::shipping_method::EVENT_TYPES, snapshot_every: None,
    },
    // One stream per country, changed a few times a year.
    TaxRates => crate::tax_rates::TaxRates {
        name: tax_rates, path: "tax-rates",
        event_types: crate::tax_rates::EVENT_TYPES, snapshot_every: None,
    },
    Customer => crate::customer::Customer {
        name: customer, path: "customers",
        event_types: crate::customer::EVENT_TYPES, snapshot_every: None,
    },
}

impl AggregateKind {
    /// The kind whose streams carry `aggregate_type`, exactly as stored.
    pub fn from_type_name(aggregate_type: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.type_name() == aggregate_type)
    }

    /// The kind named `name` in any of its spellings, in any case: the stored
    /// type (`Cart`), the name (`cart`) or the path (`carts`).
    pub fn parse(name: &str) -> Result<Self, UnknownAggregateType> {
        let wanted = name.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|kind| {
                [kind.type_name(), kind.name(), kind.path()]
                    .iter()
                    .any(|spelling| spelling.eq_ignore_ascii_case(wanted))
            })
            .ok_or_else(|| UnknownAggregateType {
                given: name.to_owned(),
                expected: Self::ALL
                    .iter()
                    .map(|kind| kind.type_name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Runs `work` once per kind, in declaration order.
    pub fn for_each<W: ForEachAggregate>(work: &mut W) -> Vec<W::Output> {
        Self::ALL.iter().map(|kind| kind.visit(work)).collect()
    }
}

impl std::fmt::Display for AggregateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.type_name())
    }
}

impl std::str::FromStr for AggregateKind {
    type Err = UnknownAggregateType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn kinds_are_found_by_any_spelling_of_their_type() {
        assert_eq!(AggregateKind::parse("cart"), Ok(AggregateKind::Cart));
        assert_eq!(AggregateKind::parse("Orders"), Ok(AggregateKind::Order));
        assert_eq!(
            AggregateKind::parse("INVENTORY"),
            Ok(AggregateKind::Inventory)
        );
        let error = AggregateKind::parse("basket")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(
                "Cart, Order, Inventory, Payment, Product, Promotion, ShippingMethod, TaxRates, Customer"
            ),
            "{error}"
        );
    }

    #[test]
    fn every_spelling_names_one_kind_only() {
        let mut seen = BTreeSet::new();
        for kind in AggregateKind::ALL {
            for spelling in [kind.type_name(), kind.name(), kind.path()] {
                let spelling = spelling.to_ascii_lowercase();
                assert_eq!(AggregateKind::parse(&spelling), Ok(*kind));
                seen.insert((spelling, *kind));
            }
        }
        let spellings: BTreeSet<_> = seen.iter().map(|(s, _)| s.clone()).collect();
        let kinds_of = |s: &String| seen.iter().filter(|(t, _)| t == s).count();
        assert!(spellings.iter().all(|s| kinds_of(s) == 1), "{seen:?}");
    }

    #[test]
    fn the_stored_type_name_is_the_aggregates_own() {
        struct TypeOf;
        impl ForEachAggregate for TypeOf {
            type Output = (AggregateKind, &'static str);
            fn visit<A: RegisteredAggregate>(&mut self) -> Self::Output {
                (A::KIND, A::TYPE)
            }
        }
        for (kind, type_name) in AggregateKind::for_each(&mut TypeOf) {
            assert_eq!(kind.type_name(), type_name);
            assert_eq!(AggregateKind::from_type_name(type_name), Some(kind));
        }
    }

    #[test]
    fn no_event_type_belongs_to_two_kinds() {
        let mut owners = std::collections::BTreeMap::new();
        for kind in AggregateKind::ALL {
            for event_type in kind.event_types() {
                assert_eq!(owners.insert(*event_type, *kind), None, "{event_type}");
            }
        }
    }
}
