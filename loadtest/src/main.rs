//! `loadtest`: load scenarios against a running WarRoom server.
//!
//! Each scenario is a subcommand with its own module and arguments; shared plumbing (HTTP
//! client, accounts, percentiles, result files) lives in [`common`]. To add a scenario, add a
//! module, a variant of [`Scenario`] and an arm in `main`.

mod battles;
mod common;
mod compare;
mod report;
mod rest;
mod sio;
mod sockets;
mod tables;

use clap::{Parser, Subcommand};

/// Load scenarios against a running WarRoom server (start it with `WARROOM_RATE_LIMITS=off`).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Tabletop tracker: battles in progress, WebSocket watchers, PATCHes at a steady rate.
    Tables(tables::Args),
    /// Robot battles over Socket.IO: players queue, play and re-queue; spectators join late.
    Battles(battles::Args),
    /// Issue 14's memory bar: N idle guest Socket.IO sockets held open; server RSS per socket.
    Sockets(sockets::Args),
    /// Issue 14's side-by-side run: WarRoom's `battles` against bare socketioxide
    /// (`../shared/bench-ref/side_by_side.py`), each server pinned to cpu0; prints the ratio of
    /// server CPU per delivered event.
    Compare(compare::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = rt.block_on(async {
        match cli.scenario {
            Scenario::Tables(args) => tables::run(args).await,
            Scenario::Battles(args) => battles::run(args).await,
            Scenario::Sockets(args) => sockets::run(args).await,
            Scenario::Compare(args) => compare::run(args).await,
        }
    });
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("bar not met");
            std::process::ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
