//! Economy settings (rates, mint price, chain addresses and timing), read with the rest of
//! [`crate::config::Config`].

use std::{collections::BTreeMap, time::Duration};

use crate::chain::devchain::DevChainConfig;
use crate::config::ConfigError;
use crate::domain::economy::{parse_eldr, Rates};

/// Economy configuration.
#[derive(Clone)]
pub struct EconomyConfig {
    /// Rates and limits (`WARROOM_GMO_PER_ELDR`, `WARROOM_MIN_ELDR_DEPOSIT`,
    /// `WARROOM_MIN_ELDR_WITHDRAW`, `WARROOM_MAX_ELDR_WITHDRAW`, `WARROOM_WITHDRAW_FEE_BPS`).
    pub rates: Rates,
    /// GMO a pilot mint costs (`WARROOM_PILOT_MINT_GMO`, 500).
    pub mint_gmo: i64,
    /// GMO charged for the mint's gas (`WARROOM_PILOT_GAS_GMO`, 25).
    pub mint_gas_gmo: i64,
    /// Dev chain addresses (`CHAIN_TOKEN_ADDRESS`, `CHAIN_TREASURY_ADDRESS`,
    /// `CHAIN_PILOT_ADDRESS`) and confirmation delay (`CHAIN_CONFIRM_MS`, 2000).
    pub devchain: DevChainConfig,
    /// How often pending chain work is checked (`CHAIN_POLL_MS`, 500).
    pub poll: Duration,
    /// A deposit whose tx is still unknown after this fails (`CHAIN_DEPOSIT_TIMEOUT_MS`, 600000).
    pub deposit_timeout: Duration,
    /// EVM adapter: the treasury's private key, hex (`CHAIN_PRIVATE_KEY`).
    pub evm_key: Option<String>,
    /// EVM adapter: blocks for a confirmation, the transaction's own included
    /// (`CHAIN_CONFIRMATIONS`, 3).
    pub confirmations: u64,
}

impl std::fmt::Debug for EvmKeyRedacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(<redacted>)"
        } else {
            "None"
        })
    }
}

/// Keeps the key out of `Debug` output (logs).
struct EvmKeyRedacted<'a>(&'a Option<String>);

impl std::fmt::Debug for EconomyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EconomyConfig")
            .field("rates", &self.rates)
            .field("mint_gmo", &self.mint_gmo)
            .field("mint_gas_gmo", &self.mint_gas_gmo)
            .field("devchain", &self.devchain)
            .field("poll", &self.poll)
            .field("deposit_timeout", &self.deposit_timeout)
            .field("evm_key", &EvmKeyRedacted(&self.evm_key))
            .field("confirmations", &self.confirmations)
            .finish()
    }
}

impl Default for EconomyConfig {
    fn default() -> Self {
        Self {
            rates: Rates::default(),
            mint_gmo: 500,
            mint_gas_gmo: 25,
            devchain: DevChainConfig::default(),
            poll: Duration::from_millis(500),
            deposit_timeout: Duration::from_secs(600),
            evm_key: None,
            confirmations: 3,
        }
    }
}

fn invalid(key: &'static str, value: &str, reason: impl ToString) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: value.into(),
        reason: reason.to_string(),
    }
}

impl EconomyConfig {
    /// Reads the economy keys from the merged file + environment map.
    pub fn from_map(vars: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let get = |k: &str| vars.get(k).filter(|v| !v.is_empty()).cloned();
        let mut c = Self::default();
        let int = |key: &'static str, default: i64| -> Result<i64, ConfigError> {
            match get(key) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| invalid(key, &v, "expected a non-negative integer")),
            }
        };
        let eldr = |key: &'static str, default: i64| -> Result<i64, ConfigError> {
            match get(key) {
                None => Ok(default),
                Some(v) => parse_eldr(&v).map_err(|e| invalid(key, &v, e)),
            }
        };
        let addr = |key: &'static str, default: &str| -> Result<String, ConfigError> {
            match get(key) {
                None => Ok(default.to_string()),
                Some(v) => crate::chain::devchain::normalize(&v).map_err(|e| invalid(key, &v, e)),
            }
        };
        let d = c.rates;
        c.rates = Rates {
            gmo_per_eldr: int("WARROOM_GMO_PER_ELDR", d.gmo_per_eldr)?.max(1),
            min_eldr_deposit: eldr("WARROOM_MIN_ELDR_DEPOSIT", d.min_eldr_deposit)?,
            min_eldr_withdraw: eldr("WARROOM_MIN_ELDR_WITHDRAW", d.min_eldr_withdraw)?,
            max_eldr_withdraw: eldr("WARROOM_MAX_ELDR_WITHDRAW", d.max_eldr_withdraw)?,
            withdraw_fee_bps: int("WARROOM_WITHDRAW_FEE_BPS", d.withdraw_fee_bps)?.min(10_000),
        };
        c.mint_gmo = int("WARROOM_PILOT_MINT_GMO", c.mint_gmo)?;
        c.mint_gas_gmo = int("WARROOM_PILOT_GAS_GMO", c.mint_gas_gmo)?;
        c.devchain = DevChainConfig {
            token: addr("CHAIN_TOKEN_ADDRESS", &c.devchain.token)?,
            treasury: addr("CHAIN_TREASURY_ADDRESS", &c.devchain.treasury)?,
            pilots: addr("CHAIN_PILOT_ADDRESS", &c.devchain.pilots)?,
            confirm: Duration::from_millis(int("CHAIN_CONFIRM_MS", 2000)? as u64),
        };
        c.poll = Duration::from_millis(int("CHAIN_POLL_MS", 500)?.max(10) as u64);
        c.deposit_timeout = Duration::from_millis(int("CHAIN_DEPOSIT_TIMEOUT_MS", 600_000)? as u64);
        Ok(c)
    }
}
