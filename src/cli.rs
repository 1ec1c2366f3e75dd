//! The `warroom` command line.

use clap::{Parser, Subcommand};

/// WarRoom battle server.
#[derive(Debug, Parser)]
#[command(
    name = "warroom",
    version,
    about = "Realtime battle server: 40K tracker (/v1) and robot battles (/v2)"
)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Play one robot battle offline from a BattleInputs JSON file and print its log.
    Simulate {
        /// Path to the inputs (`{seed, biome, max_ticks?, p1: {robot, rule_tree?, upgrades?, pilot?}, p2}`).
        file: std::path::PathBuf,
        /// Print only the outcome and log hash, not every tick.
        #[arg(long)]
        summary: bool,
    },
    /// Manage users.
    User {
        /// User action.
        #[command(subcommand)]
        action: UserCommand,
    },
}

/// `warroom user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Give a user a role (player, organizer, admin).
    Promote {
        /// Username.
        name: String,
        /// Role.
        role: String,
    },
}
