//! Given/when/then for every customer rule, one test per rule.

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::*;
use crate::shared::{Email, PersonName, PostalAddress, PostalAddressFields};

type CustomerTest = TestFramework<Customer>;

fn id() -> CustomerId {
    CustomerId::new(Uuid::from_u128(0xc05))
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 8, 9, 0, 0).unwrap()
}

fn email(value: &str) -> Email {
    Email::new(value).unwrap()
}

fn name(value: &str) -> PersonName {
    PersonName::new(value).unwrap()
}

fn home() -> PostalAddress {
    PostalAddress::new(PostalAddressFields {
        name: "Ada Lovelace".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "London".into(),
        postal_code: "N1 1AA".into(),
        region: None,
        country: "GB".into(),
    })
    .unwrap()
}

fn address(n: u128) -> AddressId {
    AddressId::new(Uuid::from_u128(n))
}

fn registered() -> CustomerEvent {
    CustomerEvent::CustomerRegistered {
        customer_id: id(),
        email: email("ada@example.com"),
        name: name("Ada Lovelace"),
        sign_up: SignUp::Password,
        email_verified: false,
        registered_at: at(),
    }
}

fn added(n: u128) -> CustomerEvent {
    CustomerEvent::CustomerAddressAdded {
        address_id: address(n),
        address: home(),
    }
}

#[test]
fn registers_with_a_password_unverified_and_through_a_provider_verified() {
    CustomerTest::with(())
        .given_no_previous_events()
        .when(CustomerCommand::RegisterCustomer {
            customer_id: id(),
            email: email("ada@example.com"),
            name: name("Ada Lovelace"),
            sign_up: SignUp::Password,
            registered_at: at(),
        })
        .then_expect_events(vec![registered()]);
    let issuer = SignUp::External {
        issuer: "https://id.example.com/".into(),
    };
    CustomerTest::with(())
        .given_no_previous_events()
        .when(CustomerCommand::RegisterCustomer {
            customer_id: id(),
            email: email("ada@example.com"),
            name: name("Ada Lovelace"),
            sign_up: issuer.clone(),
            registered_at: at(),
        })
        .then_expect_events(vec![CustomerEvent::CustomerRegistered {
            customer_id: id(),
            email: email("ada@example.com"),
            name: name("Ada Lovelace"),
            sign_up: issuer,
            email_verified: true,
            registered_at: at(),
        }]);
}

#[test]
fn refuses_to_register_twice_and_anything_before_registering() {
    CustomerTest::with(())
        .given(vec![registered()])
        .when(CustomerCommand::RegisterCustomer {
            customer_id: id(),
            email: email("other@example.com"),
            name: name("Other"),
            sign_up: SignUp::Password,
            registered_at: at(),
        })
        .then_expect_error(CustomerError::AlreadyRegistered);
    CustomerTest::with(())
        .given_no_previous_events()
        .when(CustomerCommand::ChangeName { name: name("X") })
        .then_expect_error(CustomerError::NotFound);
}

#[test]
fn verifies_the_address_it_was_sent_to_once_and_refuses_an_older_one() {
    CustomerTest::with(())
        .given(vec![registered()])
        .when(CustomerCommand::VerifyEmail {
            email: email("ada@example.com"),
            verified_at: at(),
        })
        .then_expect_events(vec![CustomerEvent::CustomerEmailVerified {
            email: email("ada@example.com"),
            verified_at: at(),
        }]);
    CustomerTest::with(())
        .given(vec![
            registered(),
            CustomerEvent::CustomerEmailChanged {
                email: email("ada@new.example.com"),
            },
        ])
        .when(CustomerCommand::VerifyEmail {
            email: email("ada@example.com"),
            verified_at: at(),
        })
        .then_expect_error(CustomerError::EmailMismatch);
    CustomerTest::with(())
        .given(vec![
            registered(),
            CustomerEvent::CustomerEmailVerified {
                email: email("ada@example.com"),
                verified_at: at(),
            },
        ])
        .when(CustomerCommand::VerifyEmail {
            email: email("ada@example.com"),
            verified_at: at(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn a_changed_address_is_unverified_again_and_the_same_address_changes_nothing() {
    let mut customer = Customer::default();
    for event in [
        registered(),
        CustomerEvent::CustomerEmailVerified {
            email: email("ada@example.com"),
            verified_at: at(),
        },
        CustomerEvent::CustomerEmailChanged {
            email: email("ada@new.example.com"),
        },
    ] {
        cqrs_es::Aggregate::apply(&mut customer, event);
    }
    let state = customer.state().unwrap();
    assert!(!state.email_verified);
    assert_eq!(state.email, email("ada@new.example.com"));
    CustomerTest::with(())
        .given(vec![registered()])
        .when(CustomerCommand::ChangeEmail {
            email: email("ada@example.com"),
        })
        .then_expect_events(vec![]);
}

#[test]
fn the_address_book_holds_twenty_addresses_with_ids_of_their_own() {
    let full: Vec<CustomerEvent> = std::iter::once(registered())
        .chain((1..=MAX_ADDRESSES as u128).map(added))
        .collect();
    CustomerTest::with(())
        .given(full)
        .when(CustomerCommand::AddAddress {
            address_id: address(99),
            address: home(),
        })
        .then_expect_error(CustomerError::TooManyAddresses { max: MAX_ADDRESSES });
    CustomerTest::with(())
        .given(vec![registered(), added(1)])
        .when(CustomerCommand::AddAddress {
            address_id: address(1),
            address: home(),
        })
        .then_expect_error(CustomerError::AddressExists);
    CustomerTest::with(())
        .given(vec![registered()])
        .when(CustomerCommand::ChangeAddress {
            address_id: address(1),
            address: home(),
        })
        .then_expect_error(CustomerError::UnknownAddress);
}

#[test]
fn removing_the_default_address_leaves_no_default() {
    CustomerTest::with(())
        .given(vec![
            registered(),
            added(1),
            CustomerEvent::DefaultShippingAddressSet {
                address_id: address(1),
            },
        ])
        .when(CustomerCommand::RemoveAddress {
            address_id: address(1),
        })
        .then_expect_events(vec![CustomerEvent::CustomerAddressRemoved {
            address_id: address(1),
            was_default: true,
        }]);
    let mut customer = Customer::default();
    for event in [
        registered(),
        added(1),
        CustomerEvent::DefaultShippingAddressSet {
            address_id: address(1),
        },
        CustomerEvent::CustomerAddressRemoved {
            address_id: address(1),
            was_default: true,
        },
    ] {
        cqrs_es::Aggregate::apply(&mut customer, event);
    }
    assert_eq!(customer.state().unwrap().shipping_address(), None);
}

#[test]
fn only_an_address_of_the_book_becomes_the_default() {
    CustomerTest::with(())
        .given(vec![registered()])
        .when(CustomerCommand::SetDefaultShippingAddress {
            address_id: address(7),
        })
        .then_expect_error(CustomerError::UnknownAddress);
    CustomerTest::with(())
        .given(vec![registered(), added(7)])
        .when(CustomerCommand::SetDefaultShippingAddress {
            address_id: address(7),
        })
        .then_expect_events(vec![CustomerEvent::DefaultShippingAddressSet {
            address_id: address(7),
        }]);
}

#[test]
fn a_closed_account_refuses_everything_but_erasure() {
    let closed = vec![
        registered(),
        CustomerEvent::CustomerAccountClosed { closed_at: at() },
    ];
    CustomerTest::with(())
        .given(closed.clone())
        .when(CustomerCommand::ChangeName { name: name("B") })
        .then_expect_error(CustomerError::Closed);
    CustomerTest::with(())
        .given(closed)
        .when(CustomerCommand::EraseCustomer { erased_at: at() })
        .then_expect_events(vec![CustomerEvent::CustomerErased { erased_at: at() }]);
}

#[test]
fn an_erased_customer_refuses_everything_and_erasing_again_changes_nothing() {
    let erased = vec![
        registered(),
        added(1),
        CustomerEvent::CustomerErased { erased_at: at() },
    ];
    CustomerTest::with(())
        .given(erased.clone())
        .when(CustomerCommand::AddAddress {
            address_id: address(2),
            address: home(),
        })
        .then_expect_error(CustomerError::Erased);
    CustomerTest::with(())
        .given(erased.clone())
        .when(CustomerCommand::EraseCustomer { erased_at: at() })
        .then_expect_events(vec![]);
    let mut customer = Customer::default();
    for event in erased {
        cqrs_es::Aggregate::apply(&mut customer, event);
    }
    let state = customer.state().unwrap();
    assert!(state.addresses.is_empty());
    assert_eq!(state.email.as_str(), crate::personal::ERASED_EMAIL);
    assert_eq!(state.name.as_str(), crate::personal::ERASED_TEXT);
}

#[test]
fn every_error_has_its_own_snake_case_code() {
    let errors = [
        CustomerError::NotFound,
        CustomerError::AlreadyRegistered,
        CustomerError::Closed,
        CustomerError::Erased,
        CustomerError::EmailMismatch,
        CustomerError::TooManyAddresses { max: 1 },
        CustomerError::AddressExists,
        CustomerError::UnknownAddress,
    ];
    let codes: std::collections::BTreeSet<&str> = errors.iter().map(CustomerError::code).collect();
    assert_eq!(codes.len(), errors.len());
    assert!(codes
        .iter()
        .all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_')));
}
