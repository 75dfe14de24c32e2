//! The `commerce` binary: `serve`, `project` (a projector worker), `migrate`.

use clap::Parser;

use api::config::{Cli, Command};
use api::{server, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    match cli.command {
        Command::Serve(config) => server::serve(*config).await,
        Command::Project(config) => server::project(config).await,
        Command::Migrate(database) => server::migrate(&database).await.map(|_| ()),
        Command::Token(config) => {
            println!("{}", server::mint_token(&config)?);
            Ok(())
        }
    }
}
