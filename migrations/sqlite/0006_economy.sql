-- Economy: wallet link challenges, chain deposits/withdrawals/mints, pilots, and the embedded
-- dev chain's state. Money amounts: GMO whole units, ELDR nano-ELDR (1e-9), all BIGINT.

-- Server nonces for wallet linking (GET /v2/auth/wallet/nonce): each used once within 5 min.
CREATE TABLE wallet_nonces (
    nonce TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    issued_at BIGINT NOT NULL,
    used_at BIGINT
);
-- Every (wallet, signed message) accepted for a link, so no signature is accepted twice.
CREATE TABLE wallet_used_messages (
    wallet_address TEXT NOT NULL,
    message TEXT NOT NULL,
    user_id TEXT NOT NULL,
    used_at BIGINT NOT NULL,
    PRIMARY KEY (wallet_address, message)
);

-- One row per deposit, withdrawal or mint, with its chain status. `claim_hash` is the
-- deposit's tx hash while the claim stands (UNIQUE: a hash is credited at most once); it is
-- cleared when the deposit fails so the rightful owner can still claim it.
CREATE TABLE economy_transactions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    type TEXT NOT NULL CHECK (type IN ('DEPOSIT', 'WITHDRAW', 'MINT')),
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'SENT', 'CONFIRMED', 'FAILED')),
    tx_hash TEXT,
    claim_hash TEXT UNIQUE,
    wallet_address TEXT,
    eldr_amount BIGINT NOT NULL DEFAULT 0,
    fee_eldr BIGINT NOT NULL DEFAULT 0,
    gmo_amount BIGINT NOT NULL DEFAULT 0,
    fee_gmo BIGINT NOT NULL DEFAULT 0,
    reference TEXT,
    reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX economy_transactions_user ON economy_transactions(user_id, created_at);
CREATE INDEX economy_transactions_status ON economy_transactions(status);

-- Pilots (ERC-721 style). The bonus is fixed at mint (see src/domain/economy.rs).
CREATE TABLE pilots (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    sprite_key TEXT NOT NULL,
    token_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'MINTED', 'FAILED')),
    tx_hash TEXT,
    attack_pct BIGINT NOT NULL,
    defense_pct BIGINT NOT NULL,
    hp_pct BIGINT NOT NULL,
    speed BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    minted_at BIGINT
);
CREATE INDEX pilots_user ON pilots(user_id, created_at);

-- Embedded dev chain (the default chain adapter).
CREATE TABLE devchain_balances (
    address TEXT NOT NULL,
    contract TEXT NOT NULL,
    balance BIGINT NOT NULL CHECK (balance >= 0),
    PRIMARY KEY (address, contract)
);
CREATE TABLE devchain_nfts (
    contract TEXT NOT NULL,
    token_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    PRIMARY KEY (contract, token_id)
);
CREATE TABLE devchain_txs (
    hash TEXT PRIMARY KEY,
    seq BIGINT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    contract TEXT NOT NULL,
    from_addr TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    amount BIGINT NOT NULL,
    token_id TEXT,
    reference TEXT UNIQUE,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- EVM adapter: each signed send stored under its economy row id before broadcast, so a retry
-- rebroadcasts the same transaction instead of paying twice.
CREATE TABLE evm_outbox (
    reference TEXT PRIMARY KEY,
    tx_hash TEXT NOT NULL,
    raw_tx TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
