//! The `warroom` command line: its grammar here, the economy commands in `economy.rs`.

use clap::{Parser, Subcommand};

pub mod economy;

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
    /// Ledger tools.
    Ledger {
        /// Ledger action.
        #[command(subcommand)]
        action: LedgerCommand,
    },
    /// The embedded dev chain (play the deposit flow locally).
    Devchain {
        /// Dev chain action.
        #[command(subcommand)]
        action: DevchainCommand,
    },
}

/// `warroom ledger ...`
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Check the invariant: every account's transfers sum to its balance, debits equal
    /// credits. Exits 1 on a mismatch.
    Check,
}

/// `warroom devchain ...` (amounts in ELDR, e.g. `2.5`)
#[derive(Debug, Subcommand)]
pub enum DevchainCommand {
    /// Mint tokens to an address (a faucet).
    Fund {
        /// 0x address.
        address: String,
        /// ELDR amount.
        amount: String,
    },
    /// Move tokens between addresses; `--to` defaults to the treasury (a deposit).
    Transfer {
        /// Sender.
        #[arg(long)]
        from: String,
        /// Recipient (default: the treasury).
        #[arg(long)]
        to: Option<String>,
        /// ELDR amount.
        amount: String,
    },
    /// Show an address's token balance.
    Balance {
        /// 0x address.
        address: String,
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
