//! The product's state and its decisions: `decide` turns a command into events or
//! a refusal without touching the state; `apply` evolves the state from an event.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{ProductCommand, ProductDetails, ProductError, ProductEvent};
use crate::shared::{Money, ProductId, Sku};

/// Where a product stands in its life; see the table in the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// Created, never published.
    Draft,
    Published,
    Unpublished,
    /// Final.
    Discontinued,
}

/// A catalog product; `Default` is the product before `CreateProduct`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Product {
    entry: Option<CatalogEntry>,
}

/// Everything a created product is. Kept apart so that "not created yet" is one
/// `None`, not a set of fields that only mean something together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CatalogEntry {
    product_id: ProductId,
    sku: Sku,
    details: ProductDetails,
    price: Money,
    status: ProductStatus,
}

impl Product {
    /// Whether a cart may take this product: published, hence not discontinued.
    pub fn is_purchasable(&self) -> bool {
        self.status() == Some(ProductStatus::Published)
    }

    pub fn product_id(&self) -> Option<ProductId> {
        self.entry.as_ref().map(|e| e.product_id)
    }

    pub fn sku(&self) -> Option<&Sku> {
        self.entry.as_ref().map(|e| &e.sku)
    }

    pub fn details(&self) -> Option<&ProductDetails> {
        self.entry.as_ref().map(|e| &e.details)
    }

    pub fn price(&self) -> Option<Money> {
        self.entry.as_ref().map(|e| e.price)
    }

    /// `None` before the product is created.
    pub fn status(&self) -> Option<ProductStatus> {
        self.entry.as_ref().map(|e| e.status)
    }

    /// The events `command` would record, or why it is refused. Pure: the state is
    /// not changed, so a caller can decide without a runtime.
    pub fn decide(&self, command: ProductCommand) -> Result<Vec<ProductEvent>, ProductError> {
        match (&self.entry, command) {
            (
                None,
                ProductCommand::CreateProduct {
                    product_id,
                    sku,
                    name,
                    description,
                    category,
                    brand,
                    price,
                    attributes,
                },
            ) => {
                let details = ProductDetails {
                    name,
                    description,
                    category,
                    brand,
                    attributes,
                };
                details.validate()?;
                check_price_positive(price)?;
                Ok(vec![ProductEvent::ProductCreated {
                    product_id,
                    sku,
                    name: details.name,
                    description: details.description,
                    category: details.category,
                    brand: details.brand,
                    price,
                    attributes: details.attributes,
                }])
            }
            (None, _) => Err(ProductError::NotFound),
            (Some(entry), command) => entry.decide(command),
        }
    }
}

impl CatalogEntry {
    fn decide(&self, command: ProductCommand) -> Result<Vec<ProductEvent>, ProductError> {
        let product_id = self.product_id;
        let sku = self.sku.clone();
        if self.status == ProductStatus::Discontinued {
            return match command {
                ProductCommand::DiscontinueProduct => Ok(vec![]),
                other => Err(self.refusal(other)),
            };
        }
        match command {
            ProductCommand::CreateProduct { .. } => Err(self.refusal(command)),
            ProductCommand::UpdateProductDetails {
                name,
                description,
                category,
                brand,
                attributes,
            } => {
                let details = ProductDetails {
                    name,
                    description,
                    category,
                    brand,
                    attributes,
                };
                details.validate()?;
                if details == self.details {
                    return Ok(vec![]);
                }
                Ok(vec![ProductEvent::ProductDetailsUpdated {
                    product_id,
                    sku,
                    name: details.name,
                    description: details.description,
                    category: details.category,
                    brand: details.brand,
                    attributes: details.attributes,
                }])
            }
            ProductCommand::ChangeProductPrice { price } => {
                check_price_positive(price)?;
                if price.currency() != self.price.currency() {
                    return Err(ProductError::CurrencyChangeNotAllowed {
                        current: self.price.currency(),
                        requested: price.currency(),
                    });
                }
                if price == self.price {
                    return Ok(vec![]);
                }
                Ok(vec![ProductEvent::ProductPriceChanged {
                    product_id,
                    sku,
                    old_price: self.price,
                    new_price: price,
                }])
            }
            ProductCommand::PublishProduct => match self.status {
                ProductStatus::Published => Ok(vec![]),
                _ => Ok(vec![ProductEvent::ProductPublished { product_id, sku }]),
            },
            ProductCommand::UnpublishProduct => match self.status {
                ProductStatus::Published => {
                    Ok(vec![ProductEvent::ProductUnpublished { product_id, sku }])
                }
                _ => Ok(vec![]),
            },
            ProductCommand::DiscontinueProduct => {
                Ok(vec![ProductEvent::ProductDiscontinued { product_id, sku }])
            }
        }
    }

    /// The refusal of a command this entry's state does not allow.
    fn refusal(&self, command: ProductCommand) -> ProductError {
        let action = match command {
            ProductCommand::CreateProduct { .. } => {
                return ProductError::AlreadyExists {
                    product_id: self.product_id,
                }
            }
            ProductCommand::UpdateProductDetails { .. } => "updated",
            ProductCommand::ChangeProductPrice { .. } => "repriced",
            ProductCommand::PublishProduct => "published",
            ProductCommand::UnpublishProduct => "unpublished",
            ProductCommand::DiscontinueProduct => "discontinued",
        };
        ProductError::Discontinued { action }
    }

    fn apply(&mut self, event: ProductEvent) {
        match event {
            // Only the first event creates; a second one cannot be decided.
            ProductEvent::ProductCreated { .. } => {}
            ProductEvent::ProductDetailsUpdated {
                name,
                description,
                category,
                brand,
                attributes,
                ..
            } => {
                self.details = ProductDetails {
                    name,
                    description,
                    category,
                    brand,
                    attributes,
                };
            }
            ProductEvent::ProductPriceChanged { new_price, .. } => self.price = new_price,
            ProductEvent::ProductPublished { .. } => self.status = ProductStatus::Published,
            ProductEvent::ProductUnpublished { .. } => self.status = ProductStatus::Unpublished,
            ProductEvent::ProductDiscontinued { .. } => self.status = ProductStatus::Discontinued,
        }
    }
}

fn check_price_positive(price: Money) -> Result<(), ProductError> {
    if price.amount() > 0 {
        Ok(())
    } else {
        Err(ProductError::PriceNotPositive { price })
    }
}

impl Aggregate for Product {
    const TYPE: &'static str = "Product";
    type Command = ProductCommand;
    type Event = ProductEvent;
    type Error = ProductError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match (&mut self.entry, event) {
            (
                None,
                ProductEvent::ProductCreated {
                    product_id,
                    sku,
                    name,
                    description,
                    category,
                    brand,
                    price,
                    attributes,
                },
            ) => {
                self.entry = Some(CatalogEntry {
                    product_id,
                    sku,
                    details: ProductDetails {
                        name,
                        description,
                        category,
                        brand,
                        attributes,
                    },
                    price,
                    status: ProductStatus::Draft,
                });
            }
            (Some(entry), event) => entry.apply(event),
            // No other event can precede creation in a stream this aggregate wrote.
            (None, _) => {}
        }
    }
}
