//! The two robot battle modes, shared by the game, the leaderboards and the store.

use serde::Serialize;

/// RANKED or CASUAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Mode {
    /// Rated games.
    Ranked,
    /// Unrated games.
    Casual,
}

impl Mode {
    /// Stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Ranked => "RANKED",
            Mode::Casual => "CASUAL",
        }
    }

    /// Parses `RANKED` / `CASUAL` in any case (leaderboard queries, stored rows).
    pub fn parse(s: &str) -> Option<Self> {
        Self::parse_exact(&s.to_ascii_uppercase())
    }

    /// Parses the exact wire name `RANKED` / `CASUAL` (queue requests).
    pub(crate) fn parse_exact(s: &str) -> Option<Self> {
        match s {
            "RANKED" => Some(Mode::Ranked),
            "CASUAL" => Some(Mode::Casual),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Mode;

    #[test]
    fn queue_names_are_exact_and_queries_any_case() {
        assert_eq!(Mode::parse_exact("RANKED"), Some(Mode::Ranked));
        assert_eq!(Mode::parse_exact("ranked"), None);
        assert_eq!(Mode::parse("casual"), Some(Mode::Casual));
        assert_eq!(Mode::parse("Ranked"), Some(Mode::Ranked));
        assert_eq!(Mode::parse("blitz"), None);
    }
}
