//! Economy settings (rates, mint price, chain addresses and timing). `crate::config` reads
//! them from the environment with the rest of the configuration.

use std::time::Duration;

use crate::chain::devchain::DevChainConfig;
use crate::domain::economy::Rates;

/// Economy configuration.
#[derive(Clone)]
pub struct EconomyConfig {
    /// Rates and limits (`WARROOM_GMO_PER_ELDR`, `WARROOM_MIN_ELDR_DEPOSIT`,
    /// `WARROOM_MIN_ELDR_WITHDRAW`, `WARROOM_MAX_ELDR_WITHDRAW`, `WARROOM_WITHDRAW_FEE_BPS`).
    pub rates: Rates,
    /// GMO a pilot mint costs (`WARROOM_PILOT_MINT_GMO`, 500).
    pub(crate) mint_gmo: i64,
    /// GMO charged for the mint's gas (`WARROOM_PILOT_GAS_GMO`, 25).
    pub(crate) mint_gas_gmo: i64,
    /// Dev chain addresses (`CHAIN_TOKEN_ADDRESS`, `CHAIN_TREASURY_ADDRESS`,
    /// `CHAIN_PILOT_ADDRESS`) and confirmation delay (`CHAIN_CONFIRM_MS`, 2000).
    pub devchain: DevChainConfig,
    /// How often pending chain work is checked (`CHAIN_POLL_MS`, 500).
    pub poll: Duration,
    /// A deposit whose tx is still unknown after this fails (`CHAIN_DEPOSIT_TIMEOUT_MS`, 600000).
    pub(crate) deposit_timeout: Duration,
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
