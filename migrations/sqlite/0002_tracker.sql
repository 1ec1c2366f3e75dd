-- Tabletop tracker battles: the live state as JSON plus indexed columns for listing.
CREATE TABLE tracker_battles (
    id TEXT PRIMARY KEY,
    tournament_id TEXT,
    status TEXT NOT NULL,
    player1_id TEXT NOT NULL,
    player2_id TEXT NOT NULL,
    state TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tracker_battles_status ON tracker_battles(status);
CREATE INDEX tracker_battles_tournament ON tracker_battles(tournament_id, status);
CREATE INDEX tracker_battles_p1 ON tracker_battles(player1_id);
CREATE INDEX tracker_battles_p2 ON tracker_battles(player2_id);
