-- Tournaments (issue 6): the event, its participants, its rounds and the pairings that link
-- tracker battles to a round and a table. Portable types: TEXT ids/JSON, BIGINT unix ms,
-- money as BIGINT minor units (cents).
CREATE TABLE tournaments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    organizer_id TEXT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    format TEXT NOT NULL,
    max_participants BIGINT NOT NULL,
    current_participants BIGINT NOT NULL DEFAULT 0 CHECK (current_participants >= 0),
    entry_fee BIGINT NOT NULL DEFAULT 0,
    prize_pool BIGINT NOT NULL DEFAULT 0,
    start_date BIGINT,
    end_date BIGINT,
    rules TEXT NOT NULL,
    winner_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tournaments_status ON tournaments(status, start_date);
CREATE INDEX tournaments_created ON tournaments(created_at, id);
CREATE INDEX tournaments_organizer ON tournaments(organizer_id);

CREATE TABLE tournament_participants (
    tournament_id TEXT NOT NULL REFERENCES tournaments(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    army_id TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    PRIMARY KEY (tournament_id, user_id)
);

CREATE TABLE tournament_rounds (
    tournament_id TEXT NOT NULL REFERENCES tournaments(id),
    round_number BIGINT NOT NULL,
    explanation TEXT NOT NULL DEFAULT '',
    started_at BIGINT,
    ends_at BIGINT,
    completed_at BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tournament_id, round_number)
);

-- One row per game (battle_id set) or bye (battle_id and table_number NULL).
CREATE TABLE tournament_pairings (
    id TEXT PRIMARY KEY,
    tournament_id TEXT NOT NULL REFERENCES tournaments(id),
    round_number BIGINT NOT NULL,
    table_number BIGINT,
    battle_id TEXT UNIQUE,
    player1_id TEXT NOT NULL,
    player2_id TEXT,
    bracket_match TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (tournament_id, round_number, table_number)
);
CREATE INDEX tournament_pairings_round ON tournament_pairings(tournament_id, round_number);
