//! What an admin can ask of a catalog product. The product id of every command but
//! `CreateProduct` is the aggregate id, taken from the request path.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::shared::{Money, ProductId, Sku};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum ProductCommand {
    /// Adds a product to the catalog as a draft: not yet purchasable.
    CreateProduct {
        product_id: ProductId,
        sku: Sku,
        name: String,
        description: String,
        category: String,
        brand: String,
        price: Money,
        #[serde(default)]
        attributes: BTreeMap<String, String>,
    },
    /// Replaces every detail at once; fields left out of the request would be
    /// ambiguous (keep or clear?), so all are required.
    UpdateProductDetails {
        name: String,
        description: String,
        category: String,
        brand: String,
        attributes: BTreeMap<String, String>,
    },
    /// Sets a new price in the product's own currency.
    ChangeProductPrice {
        price: Money,
    },
    PublishProduct,
    UnpublishProduct,
    /// Takes the product off the catalog for good.
    DiscontinueProduct,
}
