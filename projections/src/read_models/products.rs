//! The catalog read model (`read_products`): one row per product with its details,
//! price and status, for the storefront's product pages and lists and for the
//! command side, which looks current prices up by SKU.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::PgExecutor;
use utoipa::ToSchema;
use uuid::Uuid;

use domain::product::ProductEvent;

use super::document::{
    self, created_twice, existing, DocumentProjection, EventContext, KeyKind, View,
};
use super::pagination::{list_newest_first, Filter, Page};
use super::view_types::MoneyView;
use crate::Error;

pub const PROJECTOR: &str = "products";

/// Builds `read_products`.
pub type ProductsProjection = DocumentProjection<ProductView>;

/// Where a product is in its life; only `published` products are sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    Draft,
    Published,
    Unpublished,
    Discontinued,
}

impl ProductStatus {
    pub const fn as_str(&self) -> &'static str {
        match self {
            ProductStatus::Draft => "draft",
            ProductStatus::Published => "published",
            ProductStatus::Unpublished => "unpublished",
            ProductStatus::Discontinued => "discontinued",
        }
    }
}

/// A catalog entry as shoppers and admins read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProductView {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub brand: String,
    pub price: MoneyView,
    /// Free-form details (colour, size, material), by name.
    pub attributes: BTreeMap<String, String>,
    pub status: ProductStatus,
    /// When the product was created (its first event was recorded).
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The product stream's sequence of the last event folded in.
    pub version: i64,
}

impl View for ProductView {
    const PROJECTOR: &'static str = PROJECTOR;
    const AGGREGATE_TYPE: &'static str = domain::AggregateKind::Product.type_name();
    const TABLE: &'static str = "read_products";
    const KEY_COLUMN: &'static str = "product_id";
    const KEY_KIND: KeyKind = KeyKind::Uuid;
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("sku", "doc->>'sku'"),
        ("category", "doc->>'category'"),
        ("status", "doc->>'status'"),
        ("created_at", "(doc->>'created_at')::timestamptz"),
    ];

    type Event = ProductEvent;

    fn fold(view: Option<Self>, event: ProductEvent, at: &EventContext) -> Result<Self, String> {
        let mut view = match event {
            ProductEvent::ProductCreated {
                product_id,
                sku,
                name,
                description,
                category,
                brand,
                price,
                attributes,
            } => {
                created_twice(&view, "ProductCreated")?;
                ProductView {
                    product_id: product_id.as_uuid(),
                    sku: sku.as_str().to_owned(),
                    name,
                    description,
                    category,
                    brand,
                    price: price.into(),
                    attributes,
                    status: ProductStatus::Draft,
                    created_at: at.recorded_at,
                    updated_at: at.recorded_at,
                    version: 0,
                }
            }
            ProductEvent::ProductDetailsUpdated {
                name,
                description,
                category,
                brand,
                attributes,
                ..
            } => ProductView {
                name,
                description,
                category,
                brand,
                attributes,
                ..existing(view, "ProductDetailsUpdated")?
            },
            ProductEvent::ProductPriceChanged { new_price, .. } => ProductView {
                price: new_price.into(),
                ..existing(view, "ProductPriceChanged")?
            },
            ProductEvent::ProductPublished { .. } => ProductView {
                status: ProductStatus::Published,
                ..existing(view, "ProductPublished")?
            },
            ProductEvent::ProductUnpublished { .. } => ProductView {
                status: ProductStatus::Unpublished,
                ..existing(view, "ProductUnpublished")?
            },
            ProductEvent::ProductDiscontinued { .. } => ProductView {
                status: ProductStatus::Discontinued,
                ..existing(view, "ProductDiscontinued")?
            },
        };
        view.version = at.sequence;
        view.updated_at = at.recorded_at;
        Ok(view)
    }

    fn version(&self) -> i64 {
        self.version
    }
}

/// The product `product_id`, if the catalog has it.
pub async fn get<'e>(
    executor: impl PgExecutor<'e>,
    product_id: Uuid,
) -> Result<Option<ProductView>, Error> {
    document::get(executor, product_id).await
}

/// The product sold under `sku`. The catalog does not forbid two products with one
/// SKU; should that happen, the newest one not discontinued wins, else the newest.
pub async fn find_by_sku<'e>(
    executor: impl PgExecutor<'e>,
    sku: &str,
) -> Result<Option<ProductView>, Error> {
    let mut found = find_by_skus(executor, &[sku.to_owned()]).await?;
    Ok(found.remove(sku))
}

/// The products sold under `skus`, by SKU, in one statement; SKUs no product has
/// are absent. Ties are broken as in [`find_by_sku`].
pub async fn find_by_skus<'e>(
    executor: impl PgExecutor<'e>,
    skus: &[String],
) -> Result<BTreeMap<String, ProductView>, Error> {
    let rows: Vec<(String, Json<ProductView>)> = sqlx::query_as(
        "SELECT DISTINCT ON (sku) sku, doc
           FROM read_products
          WHERE sku = ANY($1)
          ORDER BY sku, status = 'discontinued', created_at DESC, product_id",
    )
    .bind(skus)
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(sku, Json(view))| (sku, view))
        .collect())
}

/// Products newest first (`created_at` descending, then `product_id`), optionally
/// of one category and one status.
pub async fn list<'e>(
    executor: impl PgExecutor<'e>,
    category: Option<&str>,
    status: Option<ProductStatus>,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<ProductView>, Error> {
    let mut filters = Vec::new();
    if let Some(category) = category {
        filters.push(Filter::Text("category", category.to_owned()));
    }
    if let Some(status) = status {
        filters.push(Filter::Text("status", status.as_str().to_owned()));
    }
    list_newest_first(executor, "created_at", filters, limit, cursor).await
}
