//! The start grid: a battle's first tick is scheduled from a start instant on a multiple of
//! `WARROOM_TICK_GRID_MS` (unix ms). Its later ticks are `start + n * tick`, so every battle
//! started on the same grid point ticks at the same instants as the others: the actor thread
//! wakes once for all of them and the socket thread once for all their rooms, instead of once
//! per battle. Side by side (docs/PERFORMANCE.md, round 4) that is fewer context switches per
//! delivered event; the price is at most one grid step before the first tick.

use std::time::Duration;

/// How long to wait from `now_ms` (unix ms) to the next multiple of `grid`; zero when `now_ms`
/// is on it or the grid is off (zero).
pub(super) fn grid_wait(now_ms: i64, grid: Duration) -> Duration {
    let g = grid.as_millis() as i64;
    if g <= 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(((g - now_ms.rem_euclid(g)) % g) as u64)
}

#[cfg(test)]
mod tests {
    use super::grid_wait;
    use std::time::Duration;

    #[test]
    fn waits_for_the_next_multiple_of_the_grid() {
        let g = Duration::from_millis(25);
        assert_eq!(grid_wait(1_000, g), Duration::ZERO);
        assert_eq!(grid_wait(1_001, g), Duration::from_millis(24));
        assert_eq!(grid_wait(1_024, g), Duration::from_millis(1));
        assert_eq!(grid_wait(1_001, Duration::ZERO), Duration::ZERO);
        for now in 1_796_000_000_000..1_796_000_000_100i64 {
            let at = now + grid_wait(now, g).as_millis() as i64;
            assert!(at % 25 == 0 && at - now < 25, "{now} → {at}");
        }
    }
}
