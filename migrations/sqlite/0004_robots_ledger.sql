-- Double-entry ledger. Every GMO/ELDR movement is one immutable transfer row: a debit of
-- `debit_account` and a credit of `credit_account` by the same amount, so debits equal
-- credits by construction. Balances live beside their owner (users.gmo_balance,
-- users.eldr_balance, system_accounts.balance) and are changed in the same SQL transaction as
-- the transfer row; `warroom ledger check` proves they agree.
-- ELDR is stored in nano-ELDR (1e-9 ELDR) as BIGINT; GMO in whole GMO.
ALTER TABLE users ADD COLUMN eldr_balance BIGINT NOT NULL DEFAULT 0 CHECK (eldr_balance >= 0);

CREATE TABLE system_accounts (
    id TEXT NOT NULL,
    currency TEXT NOT NULL,
    balance BIGINT NOT NULL DEFAULT 0,
    -- Only the issuance account (the source of new money) may go negative.
    may_go_negative BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (id, currency),
    CHECK (may_go_negative = 1 OR balance >= 0)
);
INSERT INTO system_accounts (id, currency, balance, may_go_negative) VALUES
    ('system:issuance', 'GMO', 0, 1), ('system:issuance', 'ELDR', 0, 1),
    ('system:escrow', 'GMO', 0, 0), ('system:escrow', 'ELDR', 0, 0),
    ('system:fees', 'GMO', 0, 0), ('system:fees', 'ELDR', 0, 0),
    ('system:shop', 'GMO', 0, 0), ('system:shop', 'ELDR', 0, 0),
    ('system:bridge', 'GMO', 0, 1), ('system:bridge', 'ELDR', 0, 1);

CREATE TABLE ledger_transfers (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    debit_account TEXT NOT NULL,
    credit_account TEXT NOT NULL,
    reference TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_transfers_debit ON ledger_transfers(debit_account, created_at);
CREATE INDEX ledger_transfers_credit ON ledger_transfers(credit_account, created_at);
CREATE INDEX ledger_transfers_reference ON ledger_transfers(reference);

-- Users created before the ledger existed got 1000 GMO from the column default: book it.
INSERT INTO ledger_transfers (id, kind, currency, amount, debit_account, credit_account, reference, created_at)
    SELECT 'grant-' || id, 'SIGNUP_GRANT', 'GMO', gmo_balance, 'system:issuance', 'user:' || id, id, created_at
    FROM users WHERE gmo_balance > 0;
UPDATE system_accounts SET balance = -(SELECT COALESCE(SUM(gmo_balance), 0) FROM users)
    WHERE id = 'system:issuance' AND currency = 'GMO';

-- Robot catalogue, seeded from src/sim/catalog at start (ids are UUIDv5 of the slug, so they
-- are the same on every node and survive a re-seed). `data` is the full robot JSON.
CREATE TABLE robots (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    element TEXT NOT NULL,
    tier TEXT NOT NULL,
    base_hp BIGINT NOT NULL,
    base_attack BIGINT NOT NULL,
    gmo_cost BIGINT NOT NULL,
    is_starter BIGINT NOT NULL,
    data TEXT NOT NULL
);

CREATE TABLE user_robots (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    robot_id TEXT NOT NULL REFERENCES robots(id),
    nickname TEXT,
    upgrade_hp BIGINT NOT NULL DEFAULT 0,
    upgrade_attack BIGINT NOT NULL DEFAULT 0,
    upgrade_defense BIGINT NOT NULL DEFAULT 0,
    upgrade_speed BIGINT NOT NULL DEFAULT 0,
    acquired_at BIGINT NOT NULL,
    UNIQUE (user_id, robot_id)
);

CREATE TABLE algorithms (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    description TEXT,
    rule_tree TEXT NOT NULL,
    tree_hash TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    parent_id TEXT,
    status TEXT NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'ACTIVE', 'ARCHIVED')),
    is_valid BIGINT NOT NULL,
    validation_errors TEXT NOT NULL DEFAULT '[]',
    times_used BIGINT NOT NULL DEFAULT 0,
    wins BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX algorithms_user ON algorithms(user_id, created_at);

-- A robot battle is a pure function of `inputs` (BattleInputs JSON) and engine_version.
CREATE TABLE robot_battles (
    id TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    status TEXT NOT NULL,
    biome TEXT NOT NULL,
    season BIGINT NOT NULL,
    p1_id TEXT NOT NULL,
    p2_id TEXT NOT NULL,
    p1_snapshot TEXT NOT NULL,
    p2_snapshot TEXT NOT NULL,
    p1_algorithm_id TEXT,
    p2_algorithm_id TEXT,
    inputs TEXT NOT NULL,
    engine_version BIGINT NOT NULL,
    lcg_seed BIGINT NOT NULL,
    gmo_wager BIGINT NOT NULL DEFAULT 0,
    gmo_winner_gain BIGINT,
    winner_id TEXT,
    is_draw BIGINT NOT NULL DEFAULT 0,
    total_ticks BIGINT,
    current_tick BIGINT NOT NULL DEFAULT 0,
    log_hash TEXT,
    result TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    completed_at BIGINT
);
CREATE INDEX robot_battles_p1 ON robot_battles(p1_id, created_at);
CREATE INDEX robot_battles_p2 ON robot_battles(p2_id, created_at);
CREATE INDEX robot_battles_status ON robot_battles(status);

-- Glicko-2 state per user, season and mode.
CREATE TABLE ratings (
    user_id TEXT NOT NULL REFERENCES users(id),
    season BIGINT NOT NULL,
    mode TEXT NOT NULL,
    rating REAL NOT NULL,
    deviation REAL NOT NULL,
    volatility REAL NOT NULL,
    peak_rating REAL NOT NULL,
    wins BIGINT NOT NULL DEFAULT 0,
    losses BIGINT NOT NULL DEFAULT 0,
    draws BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, season, mode)
);
