//! The PostgreSQL read models, one module each, with the projection that builds it
//! and the queries that read it.
//!
//! The document read models (`products`, `inventory`, `carts`, `orders`,
//! `payments`, `shipping_methods`, `tax_rates`) share one mechanism, [`document::DocumentProjection`]: a view per
//! aggregate, folded in memory from a batch of events and written back in one
//! upsert. Their lists page with opaque keyset cursors ([`pagination`]).

pub mod carts;
pub mod document;
pub mod event_counts;
pub mod inventory;
pub mod orders;
pub mod pagination;
pub mod payments;
pub mod pricing_view;
pub mod products;
pub mod sales;
pub mod shipping_methods;
pub mod tax_rates;
pub mod view_types;

pub use pagination::Page;

use std::sync::Arc;

use crate::runtime::PostgresProjection;

/// Every PostgreSQL read model's projection, in the order a process starts them:
/// the one list that the API's projectors and `commerce-replay rebuild` share, so
/// a new read model is run and rebuildable as soon as it is added here.
pub fn postgres_projections() -> Vec<Arc<dyn PostgresProjection>> {
    vec![
        Arc::new(event_counts::EventCountsProjection),
        Arc::new(products::ProductsProjection::new()),
        Arc::new(inventory::InventoryProjection::new()),
        Arc::new(carts::CartsProjection::new()),
        Arc::new(orders::OrdersProjection::new()),
        Arc::new(payments::PaymentsProjection::new()),
        Arc::new(shipping_methods::ShippingMethodsProjection::new()),
        Arc::new(tax_rates::TaxRatesProjection::new()),
        Arc::new(sales::SalesProjection::new()),
    ]
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    use super::carts::CartView;
    use super::inventory::InventoryView;
    use super::orders::OrderView;
    use super::payments::PaymentView;
    use super::products::ProductView;
    use super::Page;

    #[derive(OpenApi)]
    #[openapi(components(schemas(
        ProductView,
        InventoryView,
        CartView,
        OrderView,
        PaymentView,
        Page<ProductView>,
        Page<OrderView>,
        Page<InventoryView>
    )))]
    struct Views;

    #[test]
    fn every_view_and_page_has_a_schema_for_the_openapi_document() {
        let document = serde_json::to_value(Views::openapi()).unwrap();
        let schemas = document["components"]["schemas"].as_object().unwrap();
        for name in [
            "ProductView",
            "InventoryView",
            "CartView",
            "OrderView",
            "PaymentView",
            "MoneyView",
            "Page_ProductView",
        ] {
            assert!(schemas.contains_key(name), "{name}: {:?}", schemas.keys());
        }
        let payment = &schemas["PaymentView"]["properties"];
        assert!(payment.get("card").is_some() && payment.get("method").is_none());
    }
}
