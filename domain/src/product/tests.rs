//! Given/when/then for every product rule, one test per rule.

use std::collections::BTreeMap;

use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use uuid::Uuid;

use super::*;
use crate::shared::{Currency, Money, ProductId, Sku};

type ProductTest = TestFramework<Product>;

fn product_id() -> ProductId {
    ProductId::new(Uuid::from_u128(0xA11CE))
}

fn sku() -> Sku {
    Sku::new("MUG-BLUE-1").unwrap()
}

fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::new("EUR").unwrap())
}

fn attributes() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("colour".to_owned(), "blue".to_owned()),
        ("volume".to_owned(), "350 ml".to_owned()),
    ])
}

fn create() -> ProductCommand {
    ProductCommand::CreateProduct {
        product_id: product_id(),
        sku: sku(),
        name: "Blue mug".into(),
        description: "Stoneware, dishwasher safe.".into(),
        category: "Kitchen".into(),
        brand: "Acme".into(),
        price: eur(1200),
        attributes: attributes(),
    }
}

fn created() -> ProductEvent {
    ProductEvent::ProductCreated {
        product_id: product_id(),
        sku: sku(),
        name: "Blue mug".into(),
        description: "Stoneware, dishwasher safe.".into(),
        category: "Kitchen".into(),
        brand: "Acme".into(),
        price: eur(1200),
        attributes: attributes(),
    }
}

fn update(details: ProductDetails) -> ProductCommand {
    ProductCommand::UpdateProductDetails {
        name: details.name,
        description: details.description,
        category: details.category,
        brand: details.brand,
        attributes: details.attributes,
    }
}

fn current_details() -> ProductDetails {
    ProductDetails {
        name: "Blue mug".into(),
        description: "Stoneware, dishwasher safe.".into(),
        category: "Kitchen".into(),
        brand: "Acme".into(),
        attributes: attributes(),
    }
}

fn published() -> ProductEvent {
    ProductEvent::ProductPublished {
        product_id: product_id(),
        sku: sku(),
    }
}

fn unpublished() -> ProductEvent {
    ProductEvent::ProductUnpublished {
        product_id: product_id(),
        sku: sku(),
    }
}

fn discontinued() -> ProductEvent {
    ProductEvent::ProductDiscontinued {
        product_id: product_id(),
        sku: sku(),
    }
}

fn state_after(events: Vec<ProductEvent>) -> Product {
    let mut product = Product::default();
    for event in events {
        product.apply(event);
    }
    product
}

/// The refusal a product with `given` history answers `command` with.
fn refusal(given: Vec<ProductEvent>, command: ProductCommand) -> ProductError {
    ProductTest::with(())
        .given(given)
        .when(command)
        .inspect_result()
        .unwrap_err()
}

/// Creating with `details` instead of the valid ones: the refusal, if any.
fn create_with(details: ProductDetails) -> Result<Vec<ProductEvent>, ProductError> {
    let ProductCommand::CreateProduct {
        product_id,
        sku,
        price,
        ..
    } = create()
    else {
        unreachable!()
    };
    Product::default().decide(ProductCommand::CreateProduct {
        product_id,
        sku,
        name: details.name,
        description: details.description,
        category: details.category,
        brand: details.brand,
        price,
        attributes: details.attributes,
    })
}

#[test]
fn creates_a_draft_product_with_all_its_details() {
    ProductTest::with(())
        .given_no_previous_events()
        .when(create())
        .then_expect_events(vec![created()]);
    let product = state_after(vec![created()]);
    assert_eq!(product.status(), Some(ProductStatus::Draft));
    assert_eq!(product.details(), Some(&current_details()));
    assert_eq!(product.price(), Some(eur(1200)));
    assert_eq!(product.sku(), Some(&sku()));
    assert_eq!(product.product_id(), Some(product_id()));
}

#[test]
fn refuses_to_create_a_product_twice() {
    let error = refusal(vec![created()], create());
    assert_eq!(
        error,
        ProductError::AlreadyExists {
            product_id: product_id()
        }
    );
    assert_eq!(error.code(), "already_exists");
    // Discontinued is final, but a second creation is still "already exists".
    assert_eq!(
        refusal(vec![created(), discontinued()], create()).code(),
        "already_exists"
    );
}

#[test]
fn refuses_every_other_command_before_the_product_exists() {
    for command in [
        update(current_details()),
        ProductCommand::ChangeProductPrice { price: eur(1) },
        ProductCommand::PublishProduct,
        ProductCommand::UnpublishProduct,
        ProductCommand::DiscontinueProduct,
    ] {
        let error = refusal(vec![], command);
        assert_eq!(error, ProductError::NotFound);
        assert_eq!(error.code(), "not_found");
    }
}

#[test]
fn refuses_a_blank_or_too_long_name() {
    for name in [String::new(), "   ".into(), "n".repeat(201)] {
        let details = ProductDetails {
            name,
            ..current_details()
        };
        assert_eq!(create_with(details).unwrap_err().code(), "invalid_name");
    }
    let longest = ProductDetails {
        name: "n".repeat(200),
        ..current_details()
    };
    assert!(create_with(longest).is_ok());
}

#[test]
fn counts_characters_not_bytes() {
    // 200 characters, 400 bytes: within the limit.
    let details = ProductDetails {
        name: "é".repeat(200),
        ..current_details()
    };
    assert!(create_with(details).is_ok());
}

#[test]
fn refuses_a_description_over_10000_characters() {
    let details = ProductDetails {
        description: "d".repeat(10_001),
        ..current_details()
    };
    assert_eq!(
        create_with(details).unwrap_err(),
        ProductError::DescriptionTooLong { length: 10_001 }
    );
    for ok in [String::new(), "d".repeat(10_000)] {
        let details = ProductDetails {
            description: ok,
            ..current_details()
        };
        assert!(create_with(details).is_ok());
    }
}

#[test]
fn refuses_a_blank_or_too_long_category_or_brand() {
    for text in [String::new(), " ".into(), "c".repeat(101)] {
        let category = ProductDetails {
            category: text.clone(),
            ..current_details()
        };
        assert_eq!(
            create_with(category).unwrap_err().code(),
            "invalid_category"
        );
        let brand = ProductDetails {
            brand: text,
            ..current_details()
        };
        assert_eq!(create_with(brand).unwrap_err().code(), "invalid_brand");
    }
    let longest = ProductDetails {
        category: "c".repeat(100),
        brand: "b".repeat(100),
        ..current_details()
    };
    assert!(create_with(longest).is_ok());
}

#[test]
fn refuses_more_than_50_attributes() {
    let many = |n: usize| ProductDetails {
        attributes: (0..n).map(|i| (format!("k{i}"), "v".into())).collect(),
        ..current_details()
    };
    assert_eq!(
        create_with(many(51)).unwrap_err(),
        ProductError::TooManyAttributes { count: 51 }
    );
    assert!(create_with(many(50)).is_ok());
}

#[test]
fn refuses_blank_or_too_long_attribute_names() {
    for name in [String::new(), "  ".into(), "k".repeat(65)] {
        let details = ProductDetails {
            attributes: BTreeMap::from([(name.clone(), "v".into())]),
            ..current_details()
        };
        assert_eq!(
            create_with(details).unwrap_err(),
            ProductError::InvalidAttributeName { name }
        );
    }
    let longest = ProductDetails {
        attributes: BTreeMap::from([("k".repeat(64), "v".into())]),
        ..current_details()
    };
    assert!(create_with(longest).is_ok());
}

#[test]
fn refuses_attribute_values_over_500_characters() {
    let details = ProductDetails {
        attributes: BTreeMap::from([("colour".into(), "v".repeat(501))]),
        ..current_details()
    };
    assert_eq!(
        create_with(details).unwrap_err(),
        ProductError::AttributeValueTooLong {
            name: "colour".into(),
            length: 501
        }
    );
    let ok = ProductDetails {
        attributes: BTreeMap::from([
            ("colour".into(), "v".repeat(500)),
            ("empty".into(), "".into()),
        ]),
        ..current_details()
    };
    assert!(create_with(ok).is_ok());
}

#[test]
fn refuses_a_price_of_zero_or_less() {
    for amount in [0, -1] {
        let ProductCommand::CreateProduct {
            product_id,
            sku,
            name,
            description,
            category,
            brand,
            attributes,
            ..
        } = create()
        else {
            unreachable!()
        };
        let command = ProductCommand::CreateProduct {
            product_id,
            sku,
            name,
            description,
            category,
            brand,
            price: eur(amount),
            attributes,
        };
        let expected = ProductError::PriceNotPositive { price: eur(amount) };
        assert_eq!(refusal(vec![], command), expected);
        let change = ProductCommand::ChangeProductPrice { price: eur(amount) };
        let error = refusal(vec![created()], change);
        assert_eq!(error, expected);
        assert_eq!(error.code(), "price_not_positive");
    }
}

#[test]
fn replaces_all_details_and_records_the_full_new_details() {
    let new = ProductDetails {
        name: "Big blue mug".into(),
        description: String::new(),
        category: "Kitchen".into(),
        brand: "Acme".into(),
        attributes: BTreeMap::new(),
    };
    let expected = ProductEvent::ProductDetailsUpdated {
        product_id: product_id(),
        sku: sku(),
        name: "Big blue mug".into(),
        description: String::new(),
        category: "Kitchen".into(),
        brand: "Acme".into(),
        attributes: BTreeMap::new(),
    };
    ProductTest::with(())
        .given(vec![created(), published()])
        .when(update(new.clone()))
        .then_expect_events(vec![expected.clone()]);
    let product = state_after(vec![created(), published(), expected]);
    assert_eq!(product.details(), Some(&new));
    assert_eq!(product.status(), Some(ProductStatus::Published));
}

#[test]
fn updating_details_to_the_same_values_records_nothing() {
    ProductTest::with(())
        .given(vec![created()])
        .when(update(current_details()))
        .then_expect_events(vec![]);
}

#[test]
fn validates_details_on_update_as_on_creation() {
    let bad = ProductDetails {
        name: String::new(),
        ..current_details()
    };
    assert_eq!(refusal(vec![created()], update(bad)).code(), "invalid_name");
}

#[test]
fn changes_the_price_recording_old_and_new() {
    let changed = ProductEvent::ProductPriceChanged {
        product_id: product_id(),
        sku: sku(),
        old_price: eur(1200),
        new_price: eur(999),
    };
    ProductTest::with(())
        .given(vec![created()])
        .when(ProductCommand::ChangeProductPrice { price: eur(999) })
        .then_expect_events(vec![changed.clone()]);
    assert_eq!(
        state_after(vec![created(), changed]).price(),
        Some(eur(999))
    );
}

#[test]
fn refuses_to_change_the_currency_of_a_price() {
    let usd = Currency::new("USD").unwrap();
    let error = refusal(
        vec![created()],
        ProductCommand::ChangeProductPrice {
            price: Money::new(1200, usd),
        },
    );
    assert_eq!(
        error,
        ProductError::CurrencyChangeNotAllowed {
            current: Currency::new("EUR").unwrap(),
            requested: usd,
        }
    );
    assert_eq!(error.code(), "currency_change_not_allowed");
}

#[test]
fn changing_to_the_same_price_records_nothing() {
    ProductTest::with(())
        .given(vec![created()])
        .when(ProductCommand::ChangeProductPrice { price: eur(1200) })
        .then_expect_events(vec![]);
}

#[test]
fn publishes_a_draft_or_unpublished_product() {
    ProductTest::with(())
        .given(vec![created()])
        .when(ProductCommand::PublishProduct)
        .then_expect_events(vec![published()]);
    ProductTest::with(())
        .given(vec![created(), published(), unpublished()])
        .when(ProductCommand::PublishProduct)
        .then_expect_events(vec![published()]);
}

#[test]
fn publishing_a_published_product_records_nothing() {
    ProductTest::with(())
        .given(vec![created(), published()])
        .when(ProductCommand::PublishProduct)
        .then_expect_events(vec![]);
}

#[test]
fn unpublishes_a_published_product() {
    ProductTest::with(())
        .given(vec![created(), published()])
        .when(ProductCommand::UnpublishProduct)
        .then_expect_events(vec![unpublished()]);
}

#[test]
fn unpublishing_a_product_that_is_not_published_records_nothing() {
    for given in [vec![created()], vec![created(), published(), unpublished()]] {
        ProductTest::with(())
            .given(given)
            .when(ProductCommand::UnpublishProduct)
            .then_expect_events(vec![]);
    }
}

#[test]
fn discontinues_a_product_from_any_live_state() {
    for given in [
        vec![created()],
        vec![created(), published()],
        vec![created(), published(), unpublished()],
    ] {
        ProductTest::with(())
            .given(given)
            .when(ProductCommand::DiscontinueProduct)
            .then_expect_events(vec![discontinued()]);
    }
}

#[test]
fn discontinuing_a_discontinued_product_records_nothing() {
    ProductTest::with(())
        .given(vec![created(), published(), discontinued()])
        .when(ProductCommand::DiscontinueProduct)
        .then_expect_events(vec![]);
}

#[test]
fn refuses_to_republish_a_discontinued_product() {
    let error = refusal(
        vec![created(), published(), discontinued()],
        ProductCommand::PublishProduct,
    );
    assert_eq!(
        error,
        ProductError::Discontinued {
            action: "published"
        }
    );
    assert_eq!(error.code(), "product_discontinued");
    assert!(error.to_string().contains("discontinued"));
}

#[test]
fn refuses_every_change_to_a_discontinued_product() {
    let given = vec![created(), discontinued()];
    for (command, action) in [
        (update(current_details()), "updated"),
        (
            ProductCommand::ChangeProductPrice { price: eur(1500) },
            "repriced",
        ),
        (ProductCommand::UnpublishProduct, "unpublished"),
    ] {
        assert_eq!(
            refusal(given.clone(), command),
            ProductError::Discontinued { action }
        );
    }
}

#[test]
fn only_a_published_product_is_purchasable() {
    assert!(!Product::default().is_purchasable());
    assert!(!state_after(vec![created()]).is_purchasable());
    assert!(state_after(vec![created(), published()]).is_purchasable());
    assert!(!state_after(vec![created(), published(), unpublished()]).is_purchasable());
    assert!(!state_after(vec![created(), published(), discontinued()]).is_purchasable());
}

#[test]
fn state_survives_a_snapshot_round_trip() {
    let product = state_after(vec![created(), published()]);
    let json = serde_json::to_value(&product).unwrap();
    assert_eq!(serde_json::from_value::<Product>(json).unwrap(), product);
}

#[test]
fn commands_refuse_unknown_fields() {
    let json = serde_json::json!({"ChangeProductPrice": {
        "price": {"amount": 100, "currency": "EUR"}, "discount": 5}});
    assert!(serde_json::from_value::<ProductCommand>(json).is_err());
    let ok = serde_json::json!({"ChangeProductPrice": {
        "price": {"amount": 100, "currency": "EUR"}}});
    assert_eq!(
        serde_json::from_value::<ProductCommand>(ok).unwrap(),
        ProductCommand::ChangeProductPrice { price: eur(100) }
    );
    assert_eq!(
        serde_json::from_value::<ProductCommand>(serde_json::json!("PublishProduct")).unwrap(),
        ProductCommand::PublishProduct
    );
}

#[test]
fn every_error_has_its_own_code() {
    let errors = [
        ProductError::NotFound,
        ProductError::AlreadyExists {
            product_id: product_id(),
        },
        ProductError::InvalidName { length: 0 },
        ProductError::DescriptionTooLong { length: 0 },
        ProductError::InvalidCategory { length: 0 },
        ProductError::InvalidBrand { length: 0 },
        ProductError::TooManyAttributes { count: 0 },
        ProductError::InvalidAttributeName { name: "x".into() },
        ProductError::AttributeValueTooLong {
            name: "x".into(),
            length: 0,
        },
        ProductError::PriceNotPositive { price: eur(0) },
        ProductError::CurrencyChangeNotAllowed {
            current: Currency::new("EUR").unwrap(),
            requested: Currency::new("USD").unwrap(),
        },
        ProductError::Discontinued {
            action: "published",
        },
    ];
    let codes: std::collections::BTreeSet<_> = errors.iter().map(ProductError::code).collect();
    assert_eq!(codes.len(), errors.len());
}
