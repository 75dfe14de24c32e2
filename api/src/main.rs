//! The `commerce` binary: `serve` (the default for operators), `migrate`.

use clap::Parser;

use api::config::{Cli, Command};
use api::{server, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    match cli.command {
        Command::Serve(config) => server::serve(config).await,
        Command::Migrate(database) => server::migrate(&database).await.map(|_| ()),
    }
}
