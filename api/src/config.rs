//! Command line and environment: every setting has an env fallback and a default
//! that works on a developer's machine (see `.env.sample`).

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use projections::redis_views::{KeySpace, RedisTarget};

use crate::secret::Secret;

#[derive(Debug, Parser)]
#[command(
    name = "commerce",
    version,
    about = "The event-sourced commerce backend"
)]
pub struct Cli {
    /// How log lines are written: readable text, or one JSON object per line.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate, start the projectors and serve HTTP until SIGTERM or Ctrl-C.
    Serve(Box<ServeConfig>),
    /// Run the projectors only, no HTTP: a worker beside API processes started
    /// with `--run-projectors=false`. Several workers may run; per projector, one
    /// is active and the others stand by.
    Project(ProjectConfig),
    /// Create the database if it is missing and apply every pending migration.
    Migrate(DatabaseConfig),
    /// Mint a bearer token (HS256, with JWT_SECRET) for local use.
    Token(TokenConfig),
}

#[derive(Debug, Clone, Args)]
pub struct TokenConfig {
    /// The subject: a customer's id (a UUID) or a staff member's name.
    #[arg(long)]
    pub sub: String,
    /// customer, admin, auditor or analyst.
    #[arg(long)]
    pub role: crate::auth::Role,
    /// Seconds until the token expires.
    #[arg(long, default_value_t = 3600)]
    pub ttl: i64,
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Secret,
}

/// Auth, limits and behaviour of the HTTP API.
#[derive(Debug, Clone, Args)]
pub struct ApiConfig {
    /// HS256 secret that signs and verifies bearer tokens (at least 32 bytes).
    /// Required unless JWT_PUBLIC_KEY_FILE is given.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,

    /// An outside OpenID Connect issuer's RSA public key (PEM): its RS256 tokens
    /// are accepted too, when their `iss` is JWT_ISSUER and their `aud`
    /// JWT_AUDIENCE (both then required).
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<std::path::PathBuf>,

    /// The same issuer's keys as a JWK set (its `jwks_uri` document saved to a
    /// file), instead of one PEM key: tokens name their key by `kid`.
    #[arg(long, env = "JWT_JWKS_FILE")]
    pub jwt_jwks_file: Option<std::path::PathBuf>,

    /// The `iss` an outside issuer's tokens must carry (its issuer URL).
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// The `aud` an outside issuer's tokens must carry (this API's client id there).
    #[arg(long, env = "JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// Signs guest cart tokens; defaults to a key derived from JWT_SECRET.
    #[arg(long, env = "CART_TOKEN_SECRET", hide_env_values = true)]
    pub cart_token_secret: Option<Secret>,

    /// Requests per minute per caller (token subject, or IP for anonymous callers);
    /// 0 turns rate limits off.
    #[arg(long, env = "RATE_LIMIT_PER_MINUTE", default_value_t = 600)]
    pub rate_limit_per_minute: u32,

    /// How many requests a caller may send at once before the rate applies.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 100)]
    pub rate_limit_burst: u32,

    /// How long a query waits for its read model to reach a consistency token.
    #[arg(long, env = "CONSISTENCY_WAIT_MS", default_value_t = 5000)]
    pub consistency_wait_ms: u64,

    /// The currency of carts opened without one (ISO 4217).
    #[arg(long, env = "DEFAULT_CURRENCY", default_value = "EUR")]
    pub default_currency: String,

    /// Currencies (ISO 4217, comma-separated) whose catalog prices exclude tax:
    /// the checkout adds the destination's tax on top. Prices in every other
    /// currency include it.
    #[arg(
        long,
        env = "TAX_EXCLUSIVE_CURRENCIES",
        default_value = "USD,CAD",
        value_delimiter = ','
    )]
    pub tax_exclusive_currencies: Vec<String>,

    /// Days after delivery during which a customer may ask to return goods.
    #[arg(long, env = "RETURN_WINDOW_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub return_window_days: u32,

    /// Checks the signatures of the payment gateway's webhooks; webhooks are
    /// refused (503) while unset.
    #[arg(long, env = "PAYMENT_WEBHOOK_SECRET", hide_env_values = true)]
    pub payment_webhook_secret: Option<Secret>,

    /// Lets webhook subscriptions name `http://` loopback endpoints (tests,
    /// local receivers); never in production.
    #[arg(long, env = "WEBHOOKS_ALLOW_LOOPBACK", default_value_t = false)]
    pub webhooks_allow_loopback: bool,

    /// Aggregates of each type kept in memory by the command side.
    #[arg(long, env = "AGGREGATE_CACHE_CAPACITY", default_value_t = 10_000)]
    pub aggregate_cache_capacity: usize,
}

#[derive(Debug, Clone, Args)]
pub struct ProjectConfig {
    #[command(flatten)]
    pub database: DatabaseConfig,

    /// How often an idle projector reads the log without being woken.
    #[arg(long, env = "PROJECTOR_POLL_INTERVAL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub projector_poll_interval_ms: u64,

    /// Once caught up, how long a projector lets events gather before reading them:
    /// longer means fewer, larger transactions under load, and later reads.
    #[arg(long, env = "PROJECTOR_GATHER_MS", default_value_t = 10)]
    pub projector_gather_ms: u64,

    /// How long the checkout holds an order's stock while its payment is pending.
    #[arg(long, env = "RESERVATION_TTL_SECONDS", default_value_t = 900)]
    pub reservation_ttl_seconds: u64,

    /// Where the product search index lives (generations of a tantivy index).
    #[arg(long, env = "SEARCH_INDEX_DIR", default_value = ".local/search-index")]
    pub search_index_dir: std::path::PathBuf,

    /// How long an order may wait for its payment before it is cancelled.
    #[arg(long, env = "PAYMENT_TIMEOUT_SECONDS", default_value_t = 1800)]
    pub payment_timeout_seconds: u64,

    /// How often expired reservations and unpaid orders are looked for.
    #[arg(long, env = "SCHEDULER_INTERVAL_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub scheduler_interval_seconds: u64,

    /// How long one payment gateway call may take before it is asked again.
    #[arg(long, env = "GATEWAY_TIMEOUT_MS", default_value_t = 5000)]
    pub gateway_timeout_ms: u64,

    /// How long shutdown waits for the batches in hand.
    #[arg(long, env = "SHUTDOWN_GRACE_SECONDS", default_value_t = 30)]
    pub shutdown_grace_seconds: u64,

    #[command(flatten)]
    pub redis: RedisConfig,

    #[command(flatten)]
    pub kafka: KafkaConfig,
}

/// Redis for the hot views (carts, stock): written by the projectors, read by
/// queries before PostgreSQL. Optional: without it, or while it is down, queries
/// read PostgreSQL and commands are unaffected.
#[derive(Debug, Clone, Args)]
pub struct RedisConfig {
    /// Redis for the hot views; also reported by /health/ready. Unset: no hot views.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// What every key of the hot views starts with, so that several deployments
    /// can share one Redis.
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "commerce")]
    pub redis_key_prefix: String,

    /// How long a query waits for Redis before it reads PostgreSQL instead.
    #[arg(long, env = "REDIS_READ_TIMEOUT_MS", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    pub redis_read_timeout_ms: u64,
}

impl Default for RedisConfig {
    /// No Redis; the other settings as the command line's defaults.
    fn default() -> Self {
        RedisConfig {
            redis_url: None,
            redis_key_prefix: "commerce".into(),
            redis_read_timeout_ms: 50,
        }
    }
}

impl RedisConfig {
    /// Where the hot views live, when a Redis is configured.
    pub fn target(&self) -> anyhow::Result<Option<RedisTarget>> {
        let Some(url) = &self.redis_url else {
            return Ok(None);
        };
        let client = redis::Client::open(url.as_str())
            .map_err(|_| anyhow::anyhow!("REDIS_URL is not a valid Redis URL"))?;
        Ok(Some(RedisTarget {
            client,
            keys: KeySpace::new(self.redis_key_prefix.clone()),
        }))
    }

    pub fn read_timeout(&self) -> Duration {
        Duration::from_millis(self.redis_read_timeout_ms)
    }
}

/// The Kafka feed (docs/kafka.md): off unless brokers are named.
#[derive(Debug, Clone, Args)]
pub struct KafkaConfig {
    /// Bootstrap brokers (`host:port,...`); unset, no events are published.
    #[arg(long, env = "KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,

    /// Topics are `<prefix>.cart`, `<prefix>.order`, `<prefix>.inventory`,
    /// `<prefix>.payment` and `<prefix>.product`.
    #[arg(long, env = "KAFKA_TOPIC_PREFIX", default_value = "commerce")]
    pub kafka_topic_prefix: String,

    /// Partitions of each topic created at start (existing topics are kept).
    #[arg(long, env = "KAFKA_PARTITIONS", default_value_t = 6, value_parser = clap::value_parser!(i32).range(1..))]
    pub kafka_partitions: i32,

    /// Replicas of each topic created at start; 3 on a production cluster.
    #[arg(long, env = "KAFKA_REPLICATION_FACTOR", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    pub kafka_replication_factor: i32,
}

impl KafkaConfig {
    /// The publisher's settings, or `None` when the feed is off.
    pub fn settings(&self) -> Option<projections::kafka::KafkaSettings> {
        let brokers = self.kafka_brokers.as_deref()?.trim();
        if brokers.is_empty() {
            return None;
        }
        Some(projections::kafka::KafkaSettings {
            topic_prefix: self.kafka_topic_prefix.clone(),
            partitions: self.kafka_partitions,
            replication_factor: self.kafka_replication_factor,
            ..projections::kafka::KafkaSettings::new(brokers)
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// PostgreSQL holding the event store and the read models. Printed nowhere: it
    /// may carry a password.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/commerce",
        hide_env_values = true
    )]
    pub database_url: String,

    /// Upper bound of the connection pool. PostgreSQL's own limit is shared by every
    /// process; keep the sum of all pools below it.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,

    /// The master key of personal data (32 bytes in base64: `openssl rand -base64
    /// 32`): it wraps each customer's data key, which seals their personal fields
    /// in the log. Required to serve or project; every process of one database
    /// needs the same. Lost, every personal field is lost with it.
    #[arg(long, env = "PERSONAL_DATA_KEY", hide_env_values = true)]
    pub personal_data_key: Option<Secret>,
}

impl DatabaseConfig {
    /// Installs the personal data key for this process's writers and readers.
    pub fn install_personal_data_key(&self) -> anyhow::Result<()> {
        let key = self.personal_data_key.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "set PERSONAL_DATA_KEY (32 bytes in base64, `openssl rand -base64 32`): personal data is sealed with it"
            )
        })?;
        eventlog::personal::install(key.expose())?;
        Ok(())
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Where HTTP is served.
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind_addr: SocketAddr,

    /// Run the projectors in this process (the default) or serve HTTP only, for an
    /// API scaled out beside `commerce project` workers.
    #[arg(long, env = "RUN_PROJECTORS", default_value_t = true, action = clap::ArgAction::Set)]
    pub run_projectors: bool,

    #[command(flatten)]
    pub projectors: ProjectConfig,

    #[command(flatten)]
    pub api: ApiConfig,
}

impl ProjectConfig {
    pub fn projector_poll_interval(&self) -> Duration {
        Duration::from_millis(self.projector_poll_interval_ms)
    }

    pub fn projector_gather(&self) -> Duration {
        Duration::from_millis(self.projector_gather_ms)
    }

    pub fn checkout(&self) -> commands::checkout::CheckoutSettings {
        commands::checkout::CheckoutSettings {
            reservation_ttl: Duration::from_secs(self.reservation_ttl_seconds),
        }
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_work_locally() {
        let cli = Cli::try_parse_from(["commerce", "serve", "--jwt-secret", "x"]).unwrap();
        let Command::Serve(config) = cli.command else {
            panic!("expected serve")
        };
        assert_eq!(config.bind_addr.to_string(), "127.0.0.1:8080");
        assert!(config.run_projectors);
    }

    #[test]
    fn redis_defaults_are_the_command_lines() {
        let cli = Cli::try_parse_from(["commerce", "project"]).unwrap();
        let Command::Project(config) = cli.command else {
            panic!("expected project")
        };
        let parsed = config.redis;
        let default = RedisConfig::default();
        assert_eq!(
            (parsed.redis_key_prefix, parsed.redis_read_timeout_ms),
            (default.redis_key_prefix, default.redis_read_timeout_ms)
        );
    }

    #[test]
    fn refuses_a_bad_bind_address_with_a_clear_error() {
        let error =
            Cli::try_parse_from(["commerce", "serve", "--bind-addr", "nowhere"]).unwrap_err();
        assert!(error.to_string().contains("--bind-addr"), "{error}");
    }
}

#[cfg(test)]
mod secret_tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn secrets_never_print_in_the_parsed_configuration() {
        let cli = Cli::try_parse_from([
            "commerce",
            "serve",
            "--jwt-secret",
            "very-secret-value",
            "--cart-token-secret",
            "another-secret-value",
        ])
        .unwrap();
        let printed = format!("{cli:?}");
        assert!(!printed.contains("very-secret-value"), "{printed}");
        assert!(!printed.contains("another-secret-value"), "{printed}");
    }
}
