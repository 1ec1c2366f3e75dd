-- Leaderboard. The actor follows the live season's `ratings` by `updated_at` (an incremental
-- sync every second), and past seasons are paged by rating straight from SQL.
CREATE INDEX ratings_season_updated ON ratings (season, updated_at);
CREATE INDEX ratings_board ON ratings (season, mode, rating);
