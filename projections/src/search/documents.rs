//! The documents the indexer writes: a published product's listing, and the state
//! documents (product and stock views) it folds the next events onto.

use tantivy::schema::{Facet, Value};
use tantivy::{TantivyDocument, Term};
use uuid::Uuid;

use super::schema::{SearchFields, KIND_LISTING, KIND_PRODUCT, KIND_STOCK};
use crate::read_models::inventory::InventoryView;
use crate::read_models::products::ProductView;
use crate::Error;

pub fn listing_key(product_id: Uuid) -> String {
    format!("{KIND_LISTING}:{product_id}")
}

pub fn product_key(product_id: Uuid) -> String {
    format!("{KIND_PRODUCT}:{product_id}")
}

pub fn stock_key(sku: &str) -> String {
    format!("{KIND_STOCK}:{sku}")
}

pub fn key_term(fields: &SearchFields, key: &str) -> Term {
    Term::from_field_text(fields.key, key)
}

/// A facet of one level holding `value` as it is (slashes included).
pub fn facet(value: &str) -> Facet {
    Facet::from_path([value])
}

/// What a search finds of a published product.
pub fn listing(fields: &SearchFields, product: &ProductView, in_stock: bool) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.kind, KIND_LISTING);
    doc.add_text(fields.key, listing_key(product.product_id));
    doc.add_text(fields.product_id, product.product_id.to_string());
    doc.add_text(fields.sku, &product.sku);
    doc.add_text(fields.name, &product.name);
    doc.add_text(fields.name_words, &product.name);
    doc.add_text(fields.name_whole, &product.name);
    doc.add_text(fields.description, &product.description);
    doc.add_text(fields.extra, &product.brand);
    doc.add_text(fields.extra, &product.category);
    for value in product.attributes.values() {
        doc.add_text(fields.extra, value);
    }
    doc.add_facet(fields.category, facet(&product.category));
    doc.add_facet(fields.brand, facet(&product.brand));
    doc.add_text(fields.category_text, &product.category);
    doc.add_text(fields.brand_text, &product.brand);
    // Money is never negative in the catalog; a negative amount would be a bug
    // upstream, indexed as zero rather than wrapped around.
    doc.add_u64(
        fields.price,
        u64::try_from(product.price.amount).unwrap_or(0),
    );
    doc.add_text(fields.currency, &product.price.currency);
    doc.add_text(
        fields.attributes,
        serde_json::to_string(&product.attributes).unwrap_or_default(),
    );
    doc.add_u64(fields.in_stock, u64::from(in_stock));
    doc.add_i64(fields.created_at, product.created_at.timestamp_micros());
    doc
}

/// The folded product view, published or not.
pub fn product_state(
    fields: &SearchFields,
    product: &ProductView,
) -> Result<TantivyDocument, Error> {
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.kind, KIND_PRODUCT);
    doc.add_text(fields.key, product_key(product.product_id));
    doc.add_text(fields.state_sku, &product.sku);
    doc.add_bytes(fields.state, &encode(product)?);
    Ok(doc)
}

/// The folded stock view of a SKU.
pub fn stock_state(fields: &SearchFields, stock: &InventoryView) -> Result<TantivyDocument, Error> {
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.kind, KIND_STOCK);
    doc.add_text(fields.key, stock_key(&stock.sku));
    doc.add_bytes(fields.state, &encode(stock)?);
    Ok(doc)
}

fn encode<T: serde::Serialize>(view: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(view).map_err(|e| Error::SearchStorage {
        context: "cannot encode a view".into(),
        source: e.into(),
    })
}

/// The view a state document holds.
pub fn decode_state<T: serde::de::DeserializeOwned>(
    fields: &SearchFields,
    doc: &TantivyDocument,
) -> Result<T, Error> {
    let bytes = doc
        .get_first(fields.state)
        .and_then(|value| value.as_bytes())
        .ok_or_else(|| Error::SearchIndex("a state document without its state".into()))?;
    serde_json::from_slice(bytes).map_err(|e| Error::SearchStorage {
        context: "cannot decode a state document".into(),
        source: e.into(),
    })
}

/// A stored text field of a document ("" when absent).
pub fn text_of(doc: &TantivyDocument, field: tantivy::schema::Field) -> &str {
    doc.get_first(field)
        .and_then(|value| value.as_str())
        .unwrap_or_default()
}
