//! Keyset pagination for the read models' lists: a page of views and an opaque
//! cursor for the next one.
//!
//! A cursor is the base64url (no padding) of the JSON of the last row's sort key
//! and id, read from the row's typed columns (not from the document, whose
//! timestamps may carry more precision than PostgreSQL keeps). Because the id is
//! part of the key, rows sharing a sort value are still visited exactly once
//! across pages. Each list asks for one row more than it returns: that row only
//! tells whether there is a next page, so the last page has no cursor.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgExecutor, Postgres, QueryBuilder};
use utoipa::ToSchema;
use uuid::Uuid;

use super::document::View;
use crate::Error;

/// The most rows a page holds, whatever the caller asks.
pub const MAX_LIMIT: i64 = 100;

/// Cursors longer than this were not made here; refused before decoding.
const MAX_CURSOR_LEN: usize = 512;

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page<V> {
    pub items: Vec<V>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `limit` brought into `1..=MAX_LIMIT`.
pub fn clamp_limit(limit: i64) -> i64 {
    limit.clamp(1, MAX_LIMIT)
}

pub(crate) fn encode_cursor<K: Serialize>(key: &K) -> String {
    // Serializing a tuple of strings, timestamps and UUIDs cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// The sort key a cursor holds; `None` for the first page.
pub(crate) fn decode_cursor<K: DeserializeOwned>(cursor: Option<&str>) -> Result<Option<K>, Error> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(Error::InvalidCursor("too long".into()));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|e| Error::InvalidCursor(format!("not base64url: {e}")))?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::InvalidCursor(format!("not a cursor of this list: {e}")))
}

impl<V> Page<V> {
    /// The page made of `rows` (fetched with a limit of `limit + 1`), each with its
    /// sort key; the row past `limit`, if any, only says a next page exists.
    pub(crate) fn from_rows<K: Serialize>(mut rows: Vec<(V, K)>, limit: i64) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = match rows.last() {
            Some((_, key)) if more => Some(encode_cursor(key)),
            _ => None,
        };
        Page {
            items: rows.into_iter().map(|(view, _)| view).collect(),
            next_cursor,
        }
    }
}

/// An equality filter on a typed column of a list.
pub(crate) enum Filter {
    Text(&'static str, String),
    Uuid(&'static str, Uuid),
}

/// A page of `V`'s rows, newest first: ordered by `time_column` descending, then
/// by the key column ascending, narrowed by `filters`.
///
/// The keyset condition is written `time <= t AND (time < t OR id > i)`: its first
/// half bounds the index scan of `(…, time DESC, id)` indexes, the second only
/// sorts out the rows sharing `t`.
pub(crate) async fn list_newest_first<'e, V: View>(
    executor: impl PgExecutor<'e>,
    time_column: &'static str,
    filters: Vec<Filter>,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<V>, Error> {
    let after: Option<(DateTime<Utc>, Uuid)> = decode_cursor(cursor)?;
    let limit = clamp_limit(limit);
    let id_column = V::KEY_COLUMN;
    let mut query: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!(
        "SELECT doc, {time_column}, {id_column} FROM {table} WHERE true",
        table = V::TABLE
    ));
    for filter in filters {
        match filter {
            Filter::Text(column, value) => {
                query.push(format!(" AND {column} = ")).push_bind(value);
            }
            Filter::Uuid(column, value) => {
                query.push(format!(" AND {column} = ")).push_bind(value);
            }
        }
    }
    if let Some((time, id)) = after {
        query
            .push(format!(" AND {time_column} <= "))
            .push_bind(time)
            .push(format!(" AND ({time_column} < "))
            .push_bind(time)
            .push(format!(" OR {id_column} > "))
            .push_bind(id)
            .push(")");
    }
    query
        .push(format!(" ORDER BY {time_column} DESC, {id_column} LIMIT "))
        .push_bind(limit + 1);
    let rows: Vec<(Json<V>, DateTime<Utc>, Uuid)> =
        query.build_query_as().fetch_all(executor).await?;
    Ok(Page::from_rows(
        rows.into_iter()
            .map(|(Json(view), time, id)| (view, (time, id)))
            .collect(),
        limit,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_its_sort_key() {
        let key = (Utc::now(), Uuid::from_u128(7));
        let cursor = encode_cursor(&key);
        assert!(cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(decode_cursor(Some(&cursor)).unwrap(), Some(key));
        assert_eq!(decode_cursor::<String>(None).unwrap(), None);
    }

    #[test]
    fn a_malformed_cursor_is_an_error_not_a_panic() {
        let wrong_shape = encode_cursor(&"SKU-1");
        for bad in ["%%%", "bm90IGpzb24", wrong_shape.as_str(), &"A".repeat(600)] {
            let error = decode_cursor::<(DateTime<Utc>, Uuid)>(Some(bad)).unwrap_err();
            assert!(matches!(error, Error::InvalidCursor(_)), "{bad}: {error}");
        }
    }

    #[test]
    fn limits_are_clamped_to_one_to_a_hundred() {
        assert_eq!(
            [-5, 0, 1, 50, 100, 101, i64::MAX].map(clamp_limit),
            [1, 1, 1, 50, 100, 100, 100]
        );
    }

    #[test]
    fn only_a_page_with_a_row_beyond_the_limit_has_a_next_cursor() {
        let rows = |n: usize| (0..n).map(|i| (i, i)).collect::<Vec<_>>();
        let full = Page::from_rows(rows(3), 2);
        assert_eq!(full.items, vec![0, 1]);
        assert_eq!(full.next_cursor, Some(encode_cursor(&1)));
        let last = Page::from_rows(rows(2), 2);
        assert_eq!((last.items.len(), last.next_cursor), (2, None));
        let empty = Page::from_rows(rows(0), 2);
        assert_eq!((empty.items.len(), empty.next_cursor), (0, None));
    }
}
