//! The catalog as the command side reads it: what a SKU costs and whether it can be
//! bought right now. Read from the Product aggregates themselves (through their
//! store's cache), not from the products read model, so a price change or an
//! unpublish takes effect for the very next cart command, without projector lag.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use domain::pricing::{ProductFacts, TaxCategory};
use domain::product::Product;
use domain::shared::{Money, ProductId, Sku};
use lru::LruCache;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::StoreError;
use crate::execute::Executed;
use crate::store::{AggregateStore, AppendHook};

/// A SKU as a cart may take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub product_id: ProductId,
    pub name: String,
    pub unit_price: Money,
    /// What promotions may target and how the product is taxed.
    pub facts: ProductFacts,
}

/// The attribute that names a product's tax category (`standard` when absent
/// or not a valid category name).
pub const TAX_CATEGORY_ATTRIBUTE: &str = "tax_category";

pub struct Catalog {
    products: Arc<AggregateStore<Product>>,
    /// SKU → product: fixed once claimed, so it is cached without expiry.
    owners: Mutex<LruCache<Sku, ProductId>>,
}

impl Catalog {
    pub fn new(products: Arc<AggregateStore<Product>>) -> Self {
        Catalog {
            products,
            owners: Mutex::new(LruCache::new(
                NonZeroUsize::new(100_000).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    /// The product that owns `sku`, if any.
    pub async fn owner(&self, sku: &Sku) -> Result<Option<ProductId>, StoreError> {
        if let Some(owner) = self
            .owners
            .lock()
            .ok()
            .and_then(|mut o| o.get(sku).copied())
        {
            return Ok(Some(owner));
        }
        let owner: Option<Uuid> =
            sqlx::query_scalar("SELECT product_id FROM product_skus WHERE sku = $1")
                .bind(sku.as_str())
                .fetch_optional(self.products.pool())
                .await?;
        let owner = owner.map(ProductId::new);
        if let (Some(owner), Ok(mut owners)) = (owner, self.owners.lock()) {
            owners.put(sku.clone(), owner);
        }
        Ok(owner)
    }

    /// What `sku` costs now, if it is published.
    pub async fn offer(&self, sku: &Sku) -> Result<Option<Offer>, StoreError> {
        let Some(product_id) = self.owner(sku).await? else {
            return Ok(None);
        };
        let (loaded, _) = self.products.load(&product_id.to_string()).await?;
        let product = &loaded.aggregate;
        if !product.is_purchasable() {
            return Ok(None);
        }
        Ok(product
            .details()
            .zip(product.price())
            .map(|(details, unit_price)| Offer {
                product_id,
                name: details.name.clone(),
                unit_price,
                facts: ProductFacts {
                    category: details.category.clone(),
                    brand: details.brand.clone(),
                    tax_category: details
                        .attributes
                        .get(TAX_CATEGORY_ATTRIBUTE)
                        .and_then(|c| TaxCategory::new(c.clone()).ok())
                        .unwrap_or_default(),
                },
            }))
    }

    /// The facts of the purchasable ones among `skus`; the others are absent.
    pub async fn facts<'a>(
        &self,
        skus: impl IntoIterator<Item = &'a Sku>,
    ) -> Result<BTreeMap<Sku, ProductFacts>, StoreError> {
        let mut facts = BTreeMap::new();
        for sku in skus {
            if let Some(offer) = self.offer(sku).await? {
                facts.insert(sku.clone(), offer.facts);
            }
        }
        Ok(facts)
    }

    /// Current prices of the purchasable ones among `skus`; the others are absent.
    pub async fn prices<'a>(
        &self,
        skus: impl IntoIterator<Item = &'a Sku>,
    ) -> Result<BTreeMap<Sku, Money>, StoreError> {
        let mut prices = BTreeMap::new();
        for sku in skus {
            if let Some(offer) = self.offer(sku).await? {
                prices.insert(sku.clone(), offer.unit_price);
            }
        }
        Ok(prices)
    }
}

/// Claims a SKU for a new product inside the transaction of its ProductCreated.
/// A SKU claimed before fails the append on `product_skus_pkey`.
pub struct ClaimSku {
    pub sku: Sku,
    pub product_id: ProductId,
}

#[async_trait::async_trait]
impl AppendHook for ClaimSku {
    async fn within(&self, tx: &mut PgConnection, _: &Executed) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO product_skus (sku, product_id) VALUES ($1, $2)")
            .bind(self.sku.as_str())
            .bind(self.product_id.as_uuid())
            .execute(tx)
            .await?;
        Ok(())
    }
}
