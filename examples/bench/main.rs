//! The tools of `scripts/bench` (see the README's "Speed" section): seed a
//! fresh database, drive the callback with unique signed and encrypted text
//! messages, the two references (a minimal HTTP server, the storage floor),
//! verify what was stored, and print the table.
//!
//! `cargo run --release --example bench -- <seed|drive|http-ref|floor|verify|report|createdb> …`

mod drive;
mod floor;
mod report;
mod seed;
mod workload;

use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates (or with --drop drops) a database on a MySQL or PostgreSQL server.
    Createdb {
        server_url: String,
        name: String,
        #[arg(long)]
        drop: bool,
    },
    /// The AES account, 50 keyword rules and a default reply (database
    /// migrated already); with --plugins-dir, two pass-through plugins.
    Seed {
        database_url: String,
        #[arg(long)]
        plugins_dir: Option<std::path::PathBuf>,
    },
    /// Drives a server with unique callbacks and appends one result line.
    Drive(drive::Args),
    /// The HTTP bound: reads each POST body, answers a fixed XML.
    HttpRef { listen: std::net::SocketAddr },
    /// The storage floor: the rows wxmp writes per message, committed on one
    /// connection in batches of 64 with prepared statements.
    Floor(floor::Args),
    /// Every answered request has one received row and one reply row.
    Verify {
        database_url: String,
        answered: std::path::PathBuf,
    },
    /// Prints the result lines as one table with the ratios.
    Report { results: std::path::PathBuf },
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match Cli::parse().command {
        Command::Createdb {
            server_url,
            name,
            drop,
        } => runtime.block_on(seed::createdb(&server_url, &name, drop)),
        Command::Seed {
            database_url,
            plugins_dir,
        } => runtime.block_on(seed::seed(&database_url, plugins_dir.as_deref())),
        Command::Drive(args) => runtime.block_on(drive::drive(args)),
        Command::HttpRef { listen } => runtime.block_on(drive::http_reference(listen)),
        Command::Floor(args) => {
            drop(runtime);
            // One thread, as the floor's definition says.
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(floor::floor(args))
        }
        Command::Verify {
            database_url,
            answered,
        } => runtime.block_on(seed::verify(&database_url, &answered)),
        Command::Report { results } => report::print(&results),
    }
}
