//! Searching the index: hits with highlighted snippets, facet counts and a total;
//! and name suggestions for autocomplete.

use std::collections::BTreeMap;
use std::ops::Bound;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, FacetCollector, FacetCounts, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhrasePrefixQuery, PhraseQuery,
    Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Index, Order, TantivyDocument, Term};
use utoipa::ToSchema;
use uuid::Uuid;

use super::documents::{facet, text_of};
use super::live::SearchIndex;
use super::query::{parse, typo_allowance, Clause};
use super::schema::{SearchFields, KIND_LISTING};
use crate::read_models::view_types::MoneyView;
use crate::Error;

/// How far a search pages: deeper than this, refine the search instead.
pub const MAX_OFFSET: usize = 1_000;
/// How many names a suggestion offers at most.
pub const MAX_SUGGESTIONS: usize = 10;

/// The order of hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    #[default]
    Relevance,
    PriceAsc,
    PriceDesc,
    Newest,
}

/// What a shopper asked for.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub q: String,
    pub category: Option<String>,
    pub brand: Option<String>,
    /// Minor units, inclusive.
    pub min_price: Option<u64>,
    pub max_price: Option<u64>,
    pub in_stock: Option<bool>,
    pub sort: SearchSort,
    pub limit: usize,
    pub cursor: Option<String>,
}

/// One product found, with the parts of its text that matched in `<b>…</b>`
/// (the rest HTML-escaped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchHit {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub category: String,
    pub brand: String,
    pub price: MoneyView,
    pub in_stock: bool,
    pub attributes: BTreeMap<String, String>,
    /// The name, matched words highlighted.
    pub name_highlighted: String,
    /// The best passage of the description, matched words highlighted ("" when
    /// nothing in it matched).
    pub snippet: String,
}

/// How many of all the matches fall under one category or brand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SearchFacets {
    pub category: Vec<FacetCount>,
    pub brand: Vec<FacetCount>,
}

/// A page of hits, the total and the facets of every match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// How many products match, on every page.
    pub total: u64,
    pub facets: SearchFacets,
    /// Pass it as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// Name completions for a prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Suggestions {
    pub suggestions: Vec<String>,
}

/// Runs `request` on the generation searches read now.
pub fn search(index: &SearchIndex, request: &SearchRequest) -> Result<SearchResults, Error> {
    let fields = index.fields();
    let clauses = parse(&request.q)?;
    let offset = decode_cursor(request.cursor.as_deref())?;
    let limit = request.limit.max(1);
    let tantivy_index = index.index();
    let text = text_query(&tantivy_index, fields, &clauses, &request.q)?;
    let query = BooleanQuery::new(
        std::iter::once((Occur::Must, text))
            .chain(
                filters(fields, request)
                    .into_iter()
                    .map(|f| (Occur::Must, f)),
            )
            .collect(),
    );
    let searcher = index.searcher();
    let facets = (facet_collector("category"), facet_collector("brand"));
    let top = TopDocs::with_limit(limit).and_offset(offset);
    let (addresses, total, (categories, brands)) = match request.sort {
        SearchSort::Relevance => {
            let (top, count, facets) = searcher.search(&query, &(top, Count, facets))?;
            (addresses_of(top), count, facets)
        }
        SearchSort::PriceAsc | SearchSort::PriceDesc => {
            let order = if request.sort == SearchSort::PriceAsc {
                Order::Asc
            } else {
                Order::Desc
            };
            let by_price = top.order_by_fast_field::<u64>("price", order);
            let (top, count, facets) = searcher.search(&query, &(by_price, Count, facets))?;
            (addresses_of(top), count, facets)
        }
        SearchSort::Newest => {
            let newest = top.order_by_fast_field::<i64>("created_at", Order::Desc);
            let (top, count, facets) = searcher.search(&query, &(newest, Count, facets))?;
            (addresses_of(top), count, facets)
        }
    };

    let highlight = highlight_query(&tantivy_index, fields, &clauses)?;
    let mut names = SnippetGenerator::create(&searcher, &*highlight, fields.name)?;
    names.set_max_num_chars(300);
    let mut descriptions = SnippetGenerator::create(&searcher, &*highlight, fields.description)?;
    descriptions.set_max_num_chars(160);
    let mut hits = Vec::with_capacity(addresses.len());
    for address in addresses {
        let doc: TantivyDocument = searcher.doc(address)?;
        hits.push(hit(fields, &doc, &names, &descriptions)?);
    }
    let next = offset + hits.len();
    let next_cursor =
        (hits.len() == limit && next < total && next <= MAX_OFFSET).then(|| encode_cursor(next));
    Ok(SearchResults {
        hits,
        total: total as u64,
        facets: SearchFacets {
            category: counts(&categories),
            brand: counts(&brands),
        },
        next_cursor,
    })
}

/// Up to `limit` product names that start with `prefix` (its last word may be
/// unfinished), the best matches first.
pub fn suggest(index: &SearchIndex, prefix: &str, limit: usize) -> Result<Suggestions, Error> {
    let fields = index.fields();
    if prefix.chars().count() > super::query::MAX_QUERY_CHARS
        || prefix.chars().any(char::is_control)
    {
        return Err(Error::InvalidSearch(format!(
            "a prefix is at most {} characters without control characters",
            super::query::MAX_QUERY_CHARS
        )));
    }
    let words = tokens(&index.index(), fields.name_words, prefix)?;
    if words.is_empty() {
        return Ok(Suggestions {
            suggestions: Vec::new(),
        });
    }
    let terms: Vec<Term> = words
        .iter()
        .map(|word| Term::from_field_text(fields.name_words, word))
        .collect();
    let query = BooleanQuery::new(vec![
        (Occur::Must, listings(fields)),
        (Occur::Must, Box::new(PhrasePrefixQuery::new(terms))),
    ]);
    let searcher = index.searcher();
    let limit = limit.clamp(1, MAX_SUGGESTIONS);
    // Several products may share a name: read a few more than asked for.
    let found = searcher.search(&query, &TopDocs::with_limit(limit * 3))?;
    let mut suggestions: Vec<String> = Vec::with_capacity(limit);
    for (_, address) in found {
        let doc: TantivyDocument = searcher.doc(address)?;
        let name = text_of(&doc, fields.name).to_owned();
        if !suggestions.contains(&name) {
            suggestions.push(name);
        }
        if suggestions.len() == limit {
            break;
        }
    }
    Ok(Suggestions { suggestions })
}

fn facet_collector(field: &str) -> FacetCollector {
    let mut collector = FacetCollector::for_field(field);
    collector.add_facet("/");
    collector
}

fn counts(facets: &FacetCounts) -> Vec<FacetCount> {
    let mut counts: Vec<FacetCount> = facets
        .get("/")
        .map(|(facet, count)| FacetCount {
            value: facet.to_path().concat(),
            count,
        })
        .collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    counts
}

fn addresses_of<S>(top: Vec<(S, DocAddress)>) -> Vec<DocAddress> {
    top.into_iter().map(|(_, address)| address).collect()
}

fn listings(fields: &SearchFields) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(fields.kind, KIND_LISTING),
        IndexRecordOption::Basic,
    ))
}

fn filters(fields: &SearchFields, request: &SearchRequest) -> Vec<Box<dyn Query>> {
    let mut filters = vec![listings(fields)];
    let exact =
        |term: Term| -> Box<dyn Query> { Box::new(TermQuery::new(term, IndexRecordOption::Basic)) };
    if let Some(category) = &request.category {
        filters.push(exact(Term::from_facet(fields.category, &facet(category))));
    }
    if let Some(brand) = &request.brand {
        filters.push(exact(Term::from_facet(fields.brand, &facet(brand))));
    }
    if request.min_price.is_some() || request.max_price.is_some() {
        let bound = |value: Option<u64>| match value {
            Some(value) => Bound::Included(Term::from_field_u64(fields.price, value)),
            None => Bound::Unbounded,
        };
        filters.push(Box::new(RangeQuery::new(
            bound(request.min_price),
            bound(request.max_price),
        )));
    }
    if let Some(in_stock) = request.in_stock {
        filters.push(exact(Term::from_field_u64(
            fields.in_stock,
            u64::from(in_stock),
        )));
    }
    filters
}

/// The tokens `text` becomes in `field`, as the index made them.
fn tokens(index: &Index, field: Field, text: &str) -> Result<Vec<String>, Error> {
    let mut analyzer = index.tokenizer_for_field(field)?;
    let mut stream = analyzer.token_stream(text);
    let mut tokens = Vec::new();
    while let Some(token) = stream.next() {
        tokens.push(token.text.clone());
    }
    Ok(tokens)
}

/// The fields full text is searched in, with how much a match in each weighs.
fn text_fields(fields: &SearchFields) -> [(Field, f32); 3] {
    [
        (fields.name, 3.0),
        (fields.description, 1.0),
        (fields.extra, 1.0),
    ]
}

/// Every clause must match; a name equal to the whole search ranks first.
fn text_query(
    index: &Index,
    fields: &SearchFields,
    clauses: &[Clause],
    text: &str,
) -> Result<Box<dyn Query>, Error> {
    let mut parts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut words = Vec::new();
    for clause in clauses {
        match clause {
            Clause::Word(word) => {
                for token in tokens(index, fields.name, word)? {
                    parts.push((
                        Occur::Must,
                        word_query(fields, &token, typo_allowance(word)),
                    ));
                    words.push(token);
                }
            }
            Clause::Phrase(phrase) => {
                let tokens = tokens(index, fields.name, phrase)?;
                if let Some(query) = phrase_query(fields, &tokens) {
                    parts.push((Occur::Must, query));
                }
                words.extend(tokens);
            }
            Clause::Excluded(word) => {
                for token in tokens(index, fields.name, word)? {
                    parts.push((Occur::MustNot, word_query(fields, &token, 0)));
                }
            }
        }
    }
    if !parts.iter().any(|(occur, _)| *occur == Occur::Must) {
        // Nothing to look for (an empty search, or only punctuation): every listing.
        parts.push((Occur::Must, Box::new(AllQuery)));
    }
    let whole: String = text
        .replace('"', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if !whole.is_empty() {
        let exact_name = TermQuery::new(
            Term::from_field_text(fields.name_whole, &whole.to_lowercase()),
            IndexRecordOption::Basic,
        );
        parts.push((
            Occur::Should,
            Box::new(BoostQuery::new(Box::new(exact_name), 20.0)),
        ));
    }
    if words.len() > 1 {
        let terms = words
            .iter()
            .map(|word| Term::from_field_text(fields.name, word))
            .collect();
        parts.push((
            Occur::Should,
            Box::new(BoostQuery::new(Box::new(PhraseQuery::new(terms)), 5.0)),
        ));
    }
    Ok(Box::new(BooleanQuery::new(parts)))
}

/// One word in any text field: exactly (weighing double) or within its typos.
fn word_query(fields: &SearchFields, token: &str, typos: u8) -> Box<dyn Query> {
    let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (field, weight) in text_fields(fields) {
        let term = Term::from_field_text(field, token);
        alternatives.push((
            Occur::Should,
            Box::new(BoostQuery::new(
                Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                weight * 2.0,
            )),
        ));
        if typos > 0 {
            alternatives.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(FuzzyTermQuery::new(term, typos, true)),
                    weight,
                )),
            ));
        }
    }
    Box::new(BooleanQuery::new(alternatives))
}

/// The words in this order in the name or the description.
fn phrase_query(fields: &SearchFields, tokens: &[String]) -> Option<Box<dyn Query>> {
    match tokens {
        [] => None,
        [single] => Some(word_query(fields, single, 0)),
        _ => {
            let in_field = |field: Field, weight: f32| -> (Occur, Box<dyn Query>) {
                let terms = tokens
                    .iter()
                    .map(|token| Term::from_field_text(field, token))
                    .collect();
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(PhraseQuery::new(terms)), weight)),
                )
            };
            Some(Box::new(BooleanQuery::new(vec![
                in_field(fields.name, 3.0),
                in_field(fields.description, 1.0),
            ])))
        }
    }
}

/// The exact words searched for, to mark in snippets (typo matches are not).
fn highlight_query(
    index: &Index,
    fields: &SearchFields,
    clauses: &[Clause],
) -> Result<Box<dyn Query>, Error> {
    let mut terms = Vec::new();
    for clause in clauses {
        if let Clause::Word(text) | Clause::Phrase(text) = clause {
            for token in tokens(index, fields.name, text)? {
                terms.push(Term::from_field_text(fields.name, &token));
                terms.push(Term::from_field_text(fields.description, &token));
            }
        }
    }
    Ok(Box::new(BooleanQuery::new_multiterms_query(terms)))
}

fn hit(
    fields: &SearchFields,
    doc: &TantivyDocument,
    names: &SnippetGenerator,
    descriptions: &SnippetGenerator,
) -> Result<SearchHit, Error> {
    let product_id = Uuid::parse_str(text_of(doc, fields.product_id))
        .map_err(|e| Error::SearchIndex(format!("a listing without a product id: {e}")))?;
    let number = |field: Field| doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0);
    let name = text_of(doc, fields.name);
    let name_snippet = names.snippet(name);
    let name_highlighted = if name_snippet.is_empty() {
        html_escape(name)
    } else {
        name_snippet.to_html()
    };
    Ok(SearchHit {
        product_id,
        sku: text_of(doc, fields.sku).to_owned(),
        name: name.to_owned(),
        category: text_of(doc, fields.category_text).to_owned(),
        brand: text_of(doc, fields.brand_text).to_owned(),
        price: MoneyView {
            amount: i64::try_from(number(fields.price)).unwrap_or(i64::MAX),
            currency: text_of(doc, fields.currency).to_owned(),
        },
        in_stock: number(fields.in_stock) == 1,
        attributes: serde_json::from_str(text_of(doc, fields.attributes)).unwrap_or_default(),
        name_highlighted,
        snippet: descriptions.snippet_from_doc(doc).to_html(),
    })
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// Cursors are opaque: the offset of the next page, base64url.
fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("search:{offset}"))
}

fn decode_cursor(cursor: Option<&str>) -> Result<usize, Error> {
    let Some(cursor) = cursor else {
        return Ok(0);
    };
    let invalid = || Error::InvalidCursor("not a cursor of this search".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let offset: usize = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| text.strip_prefix("search:"))
        .and_then(|n| n.parse().ok())
        .ok_or_else(invalid)?;
    if offset > MAX_OFFSET {
        return Err(invalid());
    }
    Ok(offset)
}
