//! Parsed credentials: a `Username`, `Email` or `Password` exists only if it is valid.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

/// A valid username: 3–32 characters of letters, digits, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Parses a username.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let n = s.chars().count();
        if !(3..=32).contains(&n) {
            return Err("username must be 3 to 32 characters".into());
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err("username may contain only letters, digits, '_' and '-'".into());
        }
        Ok(Self(s.to_string()))
    }
    /// The username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A plausible email address (one `@`, a dot in the domain, no spaces, at most 254 chars).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an email address.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || Err("email is not a valid address".to_string());
        if s.len() > 254 || s.chars().any(char::is_whitespace) {
            return bad();
        }
        let Some((local, domain)) = s.split_once('@') else {
            return bad();
        };
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return bad();
        }
        Ok(Self(s.to_string()))
    }
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password meeting the policy: 8–128 characters with an upper, a lower and a digit.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Parses a new password against the policy.
    pub fn parse(s: &str) -> Result<Self, String> {
        let n = s.chars().count();
        if n < 8 {
            return Err("password must be at least 8 characters".into());
        }
        if n > 128 {
            return Err("password must be at most 128 characters".into());
        }
        if !s.chars().any(|c| c.is_uppercase())
            || !s.chars().any(|c| c.is_lowercase())
            || !s.chars().any(|c| c.is_ascii_digit())
        {
            return Err(
                "password needs an uppercase letter, a lowercase letter and a digit".into(),
            );
        }
        Ok(Self(s.to_string()))
    }

    /// argon2id hash (PHC string). CPU-heavy: call from a blocking thread.
    pub fn hash(&self) -> String {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    }
}

/// Checks `candidate` against a stored PHC hash. CPU-heavy: call from a blocking thread.
pub(crate) fn verify_password(candidate: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default()
            .verify_password(candidate.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// A fixed hash to verify against when the account does not exist, so timing does not reveal it.
pub(crate) fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| Password("Dummy-password-1".into()).hash())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert!(Password::parse("short1A").is_err());
        assert!(Password::parse("alllowercase1").is_err());
        assert!(Password::parse("ALLUPPER1").is_err());
        assert!(Password::parse("NoDigitsHere").is_err());
        assert!(Password::parse("Min8chars!Uppercase1").is_ok());
    }

    #[test]
    fn hash_roundtrip() {
        let p = Password::parse("Correct-Horse1").unwrap();
        let h = p.hash();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Correct-Horse1", &h));
        assert!(!verify_password("Correct-Horse2", &h));
    }

    #[test]
    fn usernames_and_emails() {
        assert!(Username::parse("RoboPilot42").is_ok());
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Email::parse("pilot@example.com").is_ok());
        assert!(Email::parse("nope").is_err());
        assert!(Email::parse("a@b").is_err());
    }
}
