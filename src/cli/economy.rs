//! `warroom ledger ...` and `warroom devchain ...`.

use super::{DevchainCommand, LedgerCommand};
use crate::chain::devchain::DevChain;
use crate::config::Config;
use crate::domain::economy::{format_eldr, parse_eldr};
use crate::server::open_db;

/// Runs a ledger command. `check` fails (exit 1) when the invariant does not hold.
pub async fn ledger(config: &Config, action: LedgerCommand) -> Result<(), String> {
    let db = open_db(config).await.map_err(|e| e.to_string())?;
    match action {
        LedgerCommand::Check => {
            let r = db.ledger_check().await.map_err(|e| e.to_string())?;
            println!("transfers: {}", r.transfers);
            for (cur, total) in &r.totals {
                println!("total {cur}: {total} (must be 0)");
            }
            for m in &r.mismatches {
                println!(
                    "MISMATCH {} {}: balance {} but transfers sum to {}",
                    m.account, m.currency, m.balance, m.from_transfers
                );
            }
            if r.is_ok() {
                println!("ledger ok");
                Ok(())
            } else {
                Err("ledger check failed".into())
            }
        }
    }
}

/// Runs a dev chain command against the configured database.
pub async fn devchain(config: &Config, action: DevchainCommand) -> Result<(), String> {
    let db = open_db(config).await.map_err(|e| e.to_string())?;
    let chain = DevChain::new(db, config.economy.devchain.clone());
    chain.ensure_genesis().await.map_err(|e| e.to_string())?;
    let amount = |s: &str| parse_eldr(s).map_err(|e| e.to_string());
    match action {
        DevchainCommand::Fund { address, amount: a } => {
            let hash = chain
                .fund(&address, amount(&a)?)
                .await
                .map_err(|e| e.to_string())?;
            println!("{hash}");
        }
        DevchainCommand::Transfer {
            from,
            to,
            amount: a,
        } => {
            let to = to.unwrap_or_else(|| config.economy.devchain.treasury.clone());
            let hash = chain
                .transfer(&from, &to, amount(&a)?)
                .await
                .map_err(|e| e.to_string())?;
            println!("{hash}");
        }
        DevchainCommand::Balance { address } => {
            let b = chain.balance(&address).await.map_err(|e| e.to_string())?;
            println!("{}", format_eldr(b));
        }
    }
    Ok(())
}
