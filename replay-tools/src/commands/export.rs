//! `export`: the log, or a filtered part of it, to a file analysts' tools read.
//!
//! Rows stream from the server straight to the writer: NDJSON and CSV hold one
//! event at a time, Parquet one row group (a bounded number of rows), so a log of
//! millions of events exports in constant memory. The order is the gap-free
//! reader's, and only ended transactions are read: exporting the same filter
//! again later yields the same events first.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use eventlog::integrity::HashedEvent;
use eventlog::query::LogQuery;
use eventlog::Checkpoint;
use futures::TryStreamExt;
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;
use sqlx::PgPool;

use crate::filter::FilterArgs;
use crate::progress::events_bar;

/// Export the log (or a filtered part of it) to NDJSON, CSV or Parquet.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// The file format.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    pub format: Format,
    /// The file to write; `-` writes to standard output.
    #[arg(long, short, default_value = "-")]
    pub output: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line: payload and metadata as JSON, hash in hex.
    Ndjson,
    /// A header row, then one row per event: payload and metadata as JSON text.
    Csv,
    /// Typed columns (positions, times, ids); payload and metadata as JSON text.
    Parquet,
}

pub async fn run(pool: &PgPool, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let out: Box<dyn Write + Send> = if args.output.as_os_str() == "-" {
        Box::new(BufWriter::with_capacity(1 << 16, io::stdout()))
    } else {
        let file = File::create(&args.output)
            .with_context(|| format!("failed to create {}", args.output.display()))?;
        Box::new(BufWriter::with_capacity(1 << 16, file))
    };
    let mut writer = EventWriter::new(args.format, out)?;
    crate::settle_horizon(pool).await?;
    let query = LogQuery::new(&args.filter.to_filter(), Checkpoint::START, None)?;
    let bar = events_bar(None, "exporting");
    let mut rows = query.fetch(pool);
    let mut exported = 0u64;
    while let Some(event) = rows.try_next().await.context("failed to read the log")? {
        // Personal fields in the clear with PERSONAL_DATA_KEY, as erased once
        // their subject is; sealed without the key.
        let mut one = [event];
        eventlog::personal::unseal_hashed(pool, &mut one)
            .await
            .context("failed to open a personal field")?;
        let [event] = one;
        writer.write(event)?;
        exported += 1;
        bar.inc(1);
    }
    writer.finish()?;
    bar.finish_and_clear();
    eprintln!(
        "exported {exported} events in {:.1} s",
        bar.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// The columns of CSV and Parquet, in order.
pub const COLUMNS: [&str; 12] = [
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
];

/// A writer of one format, fed one event at a time.
pub enum EventWriter {
    Ndjson(Box<dyn Write + Send>),
    Csv(Box<csv::Writer<Box<dyn Write + Send>>>),
    Parquet(Box<ParquetEvents>),
}

impl EventWriter {
    pub fn new(format: Format, out: Box<dyn Write + Send>) -> anyhow::Result<Self> {
        Ok(match format {
            Format::Ndjson => EventWriter::Ndjson(out),
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(COLUMNS)?;
                EventWriter::Csv(Box::new(csv))
            }
            Format::Parquet => EventWriter::Parquet(Box::new(ParquetEvents::new(out)?)),
        })
    }

    pub fn write(&mut self, hashed: HashedEvent) -> anyhow::Result<()> {
        match self {
            EventWriter::Ndjson(out) => {
                serde_json::to_writer(&mut *out, &hashed)?;
                out.write_all(b"\n")?;
            }
            EventWriter::Csv(csv) => {
                let event = &hashed.event;
                csv.write_record([
                    event.global_position.to_string().as_str(),
                    &event.transaction_id.to_string(),
                    &event.event_id.to_string(),
                    &event.aggregate_type,
                    &event.aggregate_id,
                    &event.sequence.to_string(),
                    &event.event_type,
                    &event.event_version,
                    &event
                        .recorded_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    &event.payload,
                    &event.metadata,
                    &hex::encode(&hashed.hash),
                ])?;
            }
            EventWriter::Parquet(parquet) => parquet.push(hashed)?,
        }
        Ok(())
    }

    /// Flushes what is buffered and closes the file (Parquet writes its footer).
    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            EventWriter::Ndjson(mut out) => out.flush()?,
            EventWriter::Csv(mut csv) => csv.flush()?,
            EventWriter::Parquet(parquet) => parquet.finish()?,
        }
        Ok(())
    }
}

/// The Parquet schema: typed where a type exists (DuckDB and pandas read these as
/// BIGINT / UBIGINT / TIMESTAMP WITH TIME ZONE / VARCHAR), JSON as text.
const PARQUET_SCHEMA: &str = "
message event {
    required int64 global_position;
    required int64 transaction_id (INTEGER(64, false));
    required binary event_id (STRING);
    required binary aggregate_type (STRING);
    required binary aggregate_id (STRING);
    required int64 sequence;
    required binary event_type (STRING);
    required binary event_version (STRING);
    required int64 recorded_at (TIMESTAMP(MICROS, true));
    required binary payload (STRING);
    required binary metadata (STRING);
    required binary hash;
}";

/// Rows per row group: bounds the memory an export holds (tens of MB for typical
/// payloads) while keeping groups large enough to compress and scan well.
const ROW_GROUP_ROWS: usize = 50_000;

/// Columns of the row group being filled.
#[derive(Default)]
struct Columns {
    global_position: Vec<i64>,
    transaction_id: Vec<i64>,
    sequence: Vec<i64>,
    recorded_at: Vec<i64>,
    /// event_id, aggregate_type, aggregate_id, event_type, event_version, payload,
    /// metadata, hash: the byte-array columns in schema order.
    bytes: [Vec<ByteArray>; 8],
}

impl Columns {
    fn len(&self) -> usize {
        self.global_position.len()
    }
}

/// A Parquet file written one row group at a time.
pub struct ParquetEvents {
    writer: SerializedFileWriter<Box<dyn Write + Send>>,
    columns: Columns,
}

impl ParquetEvents {
    fn new(out: Box<dyn Write + Send>) -> anyhow::Result<Self> {
        let schema = Arc::new(parse_message_type(PARQUET_SCHEMA)?);
        let mut properties = WriterProperties::builder().set_compression(Compression::SNAPPY);
        // Nearly every value of these is unique: a dictionary would be built and
        // then abandoned on every page.
        for column in ["event_id", "aggregate_id", "payload", "metadata", "hash"] {
            properties = properties.set_column_dictionary_enabled(ColumnPath::from(column), false);
        }
        let properties = properties
            .set_created_by(format!("commerce-replay {}", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(ParquetEvents {
            writer: SerializedFileWriter::new(out, schema, Arc::new(properties))?,
            columns: Columns::default(),
        })
    }

    /// Takes the event: its strings become the column values without a copy.
    fn push(&mut self, hashed: HashedEvent) -> anyhow::Result<()> {
        let HashedEvent { event, hash } = hashed;
        let columns = &mut self.columns;
        columns.global_position.push(event.global_position);
        // Stored as the same 64 bits; the schema marks the column unsigned.
        columns
            .transaction_id
            .push(i64::from_ne_bytes(event.transaction_id.0.to_ne_bytes()));
        columns.sequence.push(event.sequence);
        columns
            .recorded_at
            .push(event.recorded_at.timestamp_micros());
        let values: [Vec<u8>; 8] = [
            event.event_id.to_string().into_bytes(),
            event.aggregate_type.into_bytes(),
            event.aggregate_id.into_bytes(),
            event.event_type.into_bytes(),
            event.event_version.into_bytes(),
            event.payload.into_bytes(),
            event.metadata.into_bytes(),
            hash,
        ];
        for (column, value) in columns.bytes.iter_mut().zip(values) {
            column.push(ByteArray::from(value));
        }
        if columns.len() >= ROW_GROUP_ROWS {
            self.flush_row_group()?;
        }
        Ok(())
    }

    fn flush_row_group(&mut self) -> anyhow::Result<()> {
        if self.columns.len() == 0 {
            return Ok(());
        }
        let columns = std::mem::take(&mut self.columns);
        let mut group = self.writer.next_row_group()?;
        let mut bytes = columns.bytes.into_iter();
        // In schema order: each int64 column names its vector, every other takes
        // the next byte-array column.
        for int64 in [
            Some(columns.global_position),
            Some(columns.transaction_id),
            None,
            None,
            None,
            Some(columns.sequence),
            None,
            None,
            Some(columns.recorded_at),
            None,
            None,
            None,
        ] {
            let mut column = group
                .next_column()?
                .context("the Parquet schema has fewer columns than the writer")?;
            match int64 {
                Some(values) => {
                    column
                        .typed::<Int64Type>()
                        .write_batch(&values, None, None)?;
                }
                None => {
                    let values = bytes
                        .next()
                        .context("the Parquet schema has more text columns than the writer")?;
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&values, None, None)?;
                }
            }
            column.close()?;
        }
        group.close()?;
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        self.flush_row_group()?;
        let mut out = self.writer.into_inner()?;
        out.flush()?;
        Ok(())
    }
}
