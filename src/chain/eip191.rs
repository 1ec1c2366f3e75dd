//! EIP-191 `personal_sign`: hashing, public-key recovery and address formatting (EIP-55).

use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use sha3::{Digest, Keccak256};

/// A 20-byte account address.
pub(crate) type Address = [u8; 20];

/// Why a signature or address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// Not `0x` + 40 hex digits.
    #[error("wallet_address must be 0x followed by 40 hex digits")]
    BadAddress,
    /// Not hex.
    #[error("signature must be 0x-prefixed hex")]
    BadHex,
    /// Not 65 bytes (r, s, v).
    #[error("signature must be 65 bytes (r, s, v), got {0}")]
    BadLength(usize),
    /// `v` is not 0, 1, 27 or 28.
    #[error("signature recovery byte v is invalid")]
    BadRecoveryId,
    /// No public key recovers from it.
    #[error("signature does not recover to a public key")]
    Unrecoverable,
}

/// keccak-256.
pub(crate) fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// The EIP-191 version 0x45 hash: `keccak256("\x19Ethereum Signed Message:\n" + len + msg)`.
pub fn personal_hash(message: &[u8]) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(b"\x19Ethereum Signed Message:\n");
    h.update(message.len().to_string().as_bytes());
    h.update(message);
    h.finalize().into()
}

/// Parses `0x` + 40 hex digits (any case; the checksum is not required).
pub fn parse_address(s: &str) -> Result<Address, SigError> {
    let hex_part = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or(SigError::BadAddress)?;
    if hex_part.len() != 40 {
        return Err(SigError::BadAddress);
    }
    let mut a = [0u8; 20];
    hex::decode_to_slice(hex_part, &mut a).map_err(|_| SigError::BadAddress)?;
    Ok(a)
}

/// Lowercase `0x…` form, the one stored and compared.
pub fn address_hex(a: &Address) -> String {
    format!("0x{}", hex::encode(a))
}

/// EIP-55 mixed-case checksum form, the one shown to users.
pub fn checksum(a: &Address) -> String {
    let lower = hex::encode(a);
    let h = keccak256(lower.as_bytes());
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (i, c) in lower.chars().enumerate() {
        let nibble = (h[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
        if c.is_ascii_alphabetic() && nibble >= 8 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The address of a public key: the last 20 bytes of keccak256 of its uncompressed point.
pub fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    let h = keccak256(&point.as_bytes()[1..]);
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[12..]);
    a
}

/// Recovers the signer of a `personal_sign` signature over `message`.
pub fn recover(message: &[u8], signature_hex: &str) -> Result<Address, SigError> {
    let hex_part = signature_hex.strip_prefix("0x").unwrap_or(signature_hex);
    let bytes = hex::decode(hex_part).map_err(|_| SigError::BadHex)?;
    if bytes.len() != 65 {
        return Err(SigError::BadLength(bytes.len()));
    }
    let v = match bytes[64] {
        27 | 28 => bytes[64] - 27,
        0 | 1 => bytes[64],
        _ => return Err(SigError::BadRecoveryId),
    };
    let mut sig = Signature::from_slice(&bytes[..64]).map_err(|_| SigError::Unrecoverable)?;
    let mut recid = RecoveryId::from_byte(v).ok_or(SigError::BadRecoveryId)?;
    // Some signers emit the high-s twin; k256 only verifies low-s, so flip to the equivalent.
    if let Some(low) = sig.normalize_s() {
        sig = low;
        recid = RecoveryId::new(!recid.is_y_odd(), recid.is_x_reduced());
    }
    let key = VerifyingKey::recover_from_prehash(&personal_hash(message), &sig, recid)
        .map_err(|_| SigError::Unrecoverable)?;
    Ok(address_of(&key))
}

/// Signs `message` as `personal_sign` does (tests, tools): `0x` + r ‖ s ‖ v (27/28).
pub fn sign(key: &SigningKey, message: &[u8]) -> String {
    let (sig, recid) = key
        .sign_prehash_recoverable(&personal_hash(message))
        .expect("prehash is 32 bytes");
    let mut out = sig.to_bytes().to_vec();
    out.push(27 + recid.to_byte());
    format!("0x{}", hex::encode(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_eip55_examples() {
        for s in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        ] {
            assert_eq!(checksum(&parse_address(s).unwrap()), s);
        }
        assert!(parse_address("0x1234").is_err());
        assert!(parse_address("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").is_err());
    }

    #[test]
    fn sign_then_recover() {
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let sig = sign(&key, b"hello");
        assert_eq!(
            recover(b"hello", &sig).unwrap(),
            address_of(key.verifying_key())
        );
        assert_ne!(
            recover(b"hellO", &sig).unwrap(),
            address_of(key.verifying_key())
        );
    }
}
