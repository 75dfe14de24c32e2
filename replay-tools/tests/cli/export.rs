//! `export` round trips: every format read back holds the same events, ids and
//! payloads as the log, and filters narrow it.

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::RowAccessor;
use serde::Deserialize;
use serde_json::value::RawValue;
use sqlx::PgPool;

use crate::support::{product_log, replay_ok, Written};

/// What an exported event must carry to be compared with the log.
#[derive(Debug, PartialEq)]
struct Exported {
    global_position: i64,
    event_id: String,
    event_type: String,
    recorded_at_micros: i64,
    payload: String,
}

fn expected(written: &[Written]) -> Vec<(i64, String, i64, String)> {
    written
        .iter()
        .map(|w| {
            (
                w.global_position,
                w.event_id.to_string(),
                w.recorded_at.timestamp_micros(),
                w.payload.clone(),
            )
        })
        .collect()
}

fn summary(exported: &[Exported]) -> Vec<(i64, String, i64, String)> {
    exported
        .iter()
        .map(|e| {
            (
                e.global_position,
                e.event_id.clone(),
                e.recorded_at_micros,
                e.payload.clone(),
            )
        })
        .collect()
}

fn export(pool: &PgPool, format: &str, extra: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("log.{format}"));
    let mut args = vec![
        "export",
        "--format",
        format,
        "--output",
        path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    replay_ok(pool, &args);
    (dir, path)
}

fn read_ndjson(path: &std::path::Path) -> Vec<Exported> {
    #[derive(Deserialize)]
    struct Line<'a> {
        global_position: i64,
        event_id: String,
        event_type: String,
        recorded_at: chrono::DateTime<chrono::Utc>,
        #[serde(borrow)]
        payload: &'a RawValue,
        metadata: serde_json::Value,
        hash: String,
    }
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            let line: Line = serde_json::from_str(line).unwrap();
            assert!(line.metadata["actor"].is_string());
            assert_eq!(line.hash.len(), 64);
            Exported {
                global_position: line.global_position,
                event_id: line.event_id,
                event_type: line.event_type,
                recorded_at_micros: line.recorded_at.timestamp_micros(),
                payload: line.payload.get().to_owned(),
            }
        })
        .collect()
}

fn read_csv(path: &std::path::Path) -> Vec<Exported> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), replay_tools_columns());
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            Exported {
                global_position: record[0].parse().unwrap(),
                event_id: record[2].to_owned(),
                event_type: record[6].to_owned(),
                recorded_at_micros: chrono::DateTime::parse_from_rfc3339(&record[8])
                    .unwrap()
                    .timestamp_micros(),
                payload: record[9].to_owned(),
            }
        })
        .collect()
}

fn replay_tools_columns() -> Vec<&'static str> {
    vec![
        "global_position",
        "transaction_id",
        "event_id",
        "aggregate_type",
        "aggregate_id",
        "sequence",
        "event_type",
        "event_version",
        "recorded_at",
        "payload",
        "metadata",
        "hash",
    ]
}

fn read_parquet(path: &std::path::Path) -> Vec<Exported> {
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let schema = reader.metadata().file_metadata().schema_descr();
    let names: Vec<&str> = schema.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, replay_tools_columns());
    reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            let row = row.unwrap();
            Exported {
                global_position: row.get_long(0).unwrap(),
                event_id: row.get_string(2).unwrap().clone(),
                event_type: row.get_string(6).unwrap().clone(),
                recorded_at_micros: row.get_timestamp_micros(8).unwrap(),
                payload: row.get_string(9).unwrap().clone(),
            }
        })
        .collect()
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn every_format_reads_back_as_the_log(pool: PgPool) {
    let written = product_log(&pool, 20, 4).await;
    for (format, read) in [
        (
            "ndjson",
            read_ndjson as fn(&std::path::Path) -> Vec<Exported>,
        ),
        ("csv", read_csv),
        ("parquet", read_parquet),
    ] {
        let (_dir, path) = export(&pool, format, &[]);
        let exported = read(&path);
        assert_eq!(exported.len(), 100, "{format}");
        assert_eq!(summary(&exported), expected(&written), "{format}");
        assert!(
            exported.iter().take(5).map(|e| e.event_type.as_str()).eq([
                "ProductCreated",
                "ProductPriceChanged",
                "ProductPriceChanged",
                "ProductPriceChanged",
                "ProductPriceChanged"
            ]),
            "{format}"
        );
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn filters_narrow_the_export(pool: PgPool) {
    let written = product_log(&pool, 4, 2).await;
    let first_stream: String =
        sqlx::query_scalar("SELECT aggregate_id FROM events WHERE global_position = $1")
            .bind(written[0].global_position)
            .fetch_one(&pool)
            .await
            .unwrap();
    let cases: Vec<(Vec<String>, Vec<&Written>)> = vec![
        (
            vec![
                "--aggregate-type".into(),
                "Product".into(),
                "--aggregate-id".into(),
                first_stream,
            ],
            written[..3].iter().collect(),
        ),
        (
            vec!["--event-type".into(), "ProductCreated".into()],
            written.iter().step_by(3).collect(),
        ),
        (
            vec!["--actor".into(), "actor-1".into()],
            written[3..6].iter().chain(&written[9..12]).collect(),
        ),
        (
            vec![
                "--after-position".into(),
                written[1].global_position.to_string(),
                "--up-to-position".into(),
                written[4].global_position.to_string(),
            ],
            written[2..5].iter().collect(),
        ),
        (
            vec![
                "--from".into(),
                written[6].recorded_at.to_rfc3339(),
                "--to".into(),
                written[9].recorded_at.to_rfc3339(),
            ],
            written[6..9].iter().collect(),
        ),
        (vec!["--aggregate-type".into(), "Cart".into()], vec![]),
    ];
    for (args, wanted) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (_dir, path) = export(&pool, "ndjson", &args);
        let positions: Vec<i64> = read_ndjson(&path)
            .iter()
            .map(|e| e.global_position)
            .collect();
        let wanted: Vec<i64> = wanted.iter().map(|w| w.global_position).collect();
        assert_eq!(positions, wanted, "{args:?}");
    }
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn bad_filters_are_refused_before_anything_is_written(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never.ndjson");
    let output = crate::support::replay(
        &pool,
        &[
            "export",
            "--from",
            "yesterday",
            "--output",
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("RFC 3339"));
    assert!(!path.exists());
}

/// DuckDB's Python package, as `make test` provides it (scripts/services.sh test).
fn duckdb_pythonpath() -> String {
    std::env::var("DUCKDB_PYTHONPATH").unwrap_or_else(|_| {
        panic!("DUCKDB_PYTHONPATH is unset: run the tests with `make test`, which fetches DuckDB's Python package")
    })
}

#[sqlx::test(migrator = "eventstore_migrations::MIGRATOR")]
async fn duckdb_reads_the_parquet_export_with_typed_columns(pool: PgPool) {
    let written = product_log(&pool, 10, 2).await;
    let (_dir, path) = export(&pool, "parquet", &[]);
    let script = r#"
import json, sys, duckdb
path = sys.argv[1]
types = {name: kind for name, kind, *_ in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()}
rows = duckdb.sql(f"""
    SELECT global_position, event_id, epoch_us(recorded_at), payload
      FROM read_parquet('{path}')""").fetchall()
prices = duckdb.sql(f"""
    SELECT sum((payload::JSON ->> '$.ProductPriceChanged.new_price.amount')::BIGINT)
      FROM read_parquet('{path}') WHERE event_type = 'ProductPriceChanged'""").fetchone()[0]
print(json.dumps({"types": types, "rows": rows, "prices": prices}))
"#;
    let output = std::process::Command::new("python3")
        .args(["-c", script, path.to_str().unwrap()])
        .env("PYTHONPATH", duckdb_pythonpath())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let types = &read["types"];
    assert_eq!(types["global_position"], "BIGINT");
    assert_eq!(types["transaction_id"], "UBIGINT");
    assert_eq!(types["recorded_at"], "TIMESTAMP WITH TIME ZONE");
    assert_eq!(types["event_id"], "VARCHAR");
    assert_eq!(types["payload"], "VARCHAR");
    assert_eq!(types["hash"], "BLOB");
    let rows: Vec<(i64, String, i64, String)> =
        serde_json::from_value(read["rows"].clone()).unwrap();
    assert_eq!(rows, expected(&written));
    // Ten products, each changed to 1010 then 1020.
    assert_eq!(read["prices"], 10 * (1010 + 1020));
}
