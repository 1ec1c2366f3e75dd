CREATE TABLE armies (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    faction_id TEXT NOT NULL,
    detachment TEXT,
    points_value BIGINT NOT NULL,
    army_list TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX armies_owner ON armies(owner_id, created_at);
