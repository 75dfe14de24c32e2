//! The index's fields, and the tokenizers they need registered on every open.
//!
//! One index holds three kinds of documents, told apart by `kind`:
//! - `listing`: a published product, the only kind a search ever matches;
//! - `product` and `stock`: the indexer's own state (the folded product view,
//!   published or not, and a SKU's stock), stored beside the listings so that they
//!   commit atomically with them and with the position in the commit payload.
//!
//! Unpublished products thus leave the searchable index (their `listing` is
//! deleted) while their details stay at hand for the day they are published again.

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST,
    INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{LowerCaser, RawTokenizer, SimpleTokenizer, TextAnalyzer};
use tantivy::Index;

/// Full text, English stemming ("mugs" finds "mug").
pub const STEMMED: &str = "en_stem";
/// Words lower-cased but not stemmed: name prefixes for autocomplete.
pub const WORDS: &str = "words";
/// The whole value lower-cased as one token: an exact name.
pub const WHOLE: &str = "whole_lowercase";

pub const KIND_LISTING: &str = "listing";
pub const KIND_PRODUCT: &str = "product";
pub const KIND_STOCK: &str = "stock";

/// Every field, resolved once.
#[derive(Debug, Clone)]
pub struct SearchFields {
    pub schema: Schema,
    pub kind: Field,
    /// `listing:<id>`, `product:<id>` or `stock:<sku>`: what an update deletes.
    pub key: Field,
    pub product_id: Field,
    pub sku: Field,
    pub name: Field,
    pub name_words: Field,
    pub name_whole: Field,
    pub description: Field,
    /// Brand, category and attribute values as text, so "acme mug" finds Acme's.
    pub extra: Field,
    pub category: Field,
    pub brand: Field,
    pub category_text: Field,
    pub brand_text: Field,
    pub price: Field,
    pub currency: Field,
    pub attributes: Field,
    pub in_stock: Field,
    pub created_at: Field,
    /// State documents: the folded view as JSON.
    pub state: Field,
    /// Product state documents: the SKU, to find the products a stock change
    /// concerns.
    pub state_sku: Field,
}

fn text(tokenizer: &str, positions: bool, stored: bool) -> TextOptions {
    let record = if positions {
        IndexRecordOption::WithFreqsAndPositions
    } else {
        IndexRecordOption::Basic
    };
    let options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(record),
    );
    if stored {
        options.set_stored()
    } else {
        options
    }
}

impl SearchFields {
    pub fn new() -> Self {
        let mut builder = Schema::builder();
        let kind = builder.add_text_field("kind", STRING);
        let key = builder.add_text_field("key", STRING);
        let product_id = builder.add_text_field("product_id", STRING | STORED);
        let sku = builder.add_text_field("sku", STRING | STORED);
        let name = builder.add_text_field("name", text(STEMMED, true, true));
        let name_words = builder.add_text_field("name_words", text(WORDS, true, false));
        let name_whole = builder.add_text_field("name_whole", text(WHOLE, false, false));
        let description = builder.add_text_field("description", text(STEMMED, true, true));
        let extra = builder.add_text_field("extra", text(STEMMED, true, false));
        let category = builder.add_facet_field("category", INDEXED);
        let brand = builder.add_facet_field("brand", INDEXED);
        let category_text = builder.add_text_field("category_text", STORED);
        let brand_text = builder.add_text_field("brand_text", STORED);
        let price = builder.add_u64_field(
            "price",
            NumericOptions::default()
                .set_indexed()
                .set_fast()
                .set_stored(),
        );
        let currency = builder.add_text_field("currency", STORED);
        let attributes = builder.add_text_field("attributes", STORED);
        let in_stock = builder.add_u64_field("in_stock", INDEXED | FAST | STORED);
        let created_at = builder.add_i64_field("created_at", FAST | STORED);
        let state = builder.add_bytes_field("state", STORED);
        let state_sku = builder.add_text_field("state_sku", STRING);
        SearchFields {
            schema: builder.build(),
            kind,
            key,
            product_id,
            sku,
            name,
            name_words,
            name_whole,
            description,
            extra,
            category,
            brand,
            category_text,
            brand_text,
            price,
            currency,
            attributes,
            in_stock,
            created_at,
            state,
            state_sku,
        }
    }
}

impl Default for SearchFields {
    fn default() -> Self {
        Self::new()
    }
}

/// Tokenizers are not stored in the index: every `Index` opened needs them.
pub fn register_tokenizers(index: &Index) {
    index.tokenizers().register(
        WORDS,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .build(),
    );
    index.tokenizers().register(
        WHOLE,
        TextAnalyzer::builder(RawTokenizer::default())
            .filter(LowerCaser)
            .build(),
    );
}
