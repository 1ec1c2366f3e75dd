//! Just enough Ethereum encoding for the EVM adapter: RLP, EIP-155 legacy transactions signed
//! with k256, and ABI call data for `transfer`, `mint` and `balanceOf`.

use k256::ecdsa::SigningKey;

use super::eip191::{keccak256, Address};

/// Minimal big-endian bytes of an integer (zero is empty, as RLP wants).
pub(crate) fn be_min(v: u128) -> Vec<u8> {
    let b = v.to_be_bytes();
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b[first..].to_vec()
}

fn rlp_len(prefix_short: u8, len: usize, out: &mut Vec<u8>) {
    if len < 56 {
        out.push(prefix_short + len as u8);
    } else {
        let l = be_min(len as u128);
        out.push(prefix_short + 55 + l.len() as u8);
        out.extend(l);
    }
}

/// RLP of a byte string.
pub(crate) fn rlp_bytes(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + 9);
    if b.len() == 1 && b[0] < 0x80 {
        out.push(b[0]);
    } else {
        rlp_len(0x80, b.len(), &mut out);
        out.extend_from_slice(b);
    }
    out
}

/// RLP of a list of already-encoded items.
pub(crate) fn rlp_list(items: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = items.concat();
    let mut out = Vec::with_capacity(body.len() + 9);
    rlp_len(0xc0, body.len(), &mut out);
    out.extend(body);
    out
}

/// A legacy (type 0) transaction.
#[derive(Debug, Clone)]
pub struct LegacyTx {
    /// Sender nonce.
    pub nonce: u128,
    /// Wei per gas.
    pub gas_price: u128,
    /// Gas limit.
    pub gas: u128,
    /// Recipient; `None` deploys a contract.
    pub to: Option<Address>,
    /// Wei sent.
    pub value: u128,
    /// Call data or init code.
    pub data: Vec<u8>,
    /// EIP-155 chain id.
    pub chain_id: u64,
}

impl LegacyTx {
    fn fields(&self) -> Vec<Vec<u8>> {
        vec![
            rlp_bytes(&be_min(self.nonce)),
            rlp_bytes(&be_min(self.gas_price)),
            rlp_bytes(&be_min(self.gas)),
            rlp_bytes(self.to.as_ref().map(|a| &a[..]).unwrap_or(&[])),
            rlp_bytes(&be_min(self.value)),
            rlp_bytes(&self.data),
        ]
    }

    /// The EIP-155 signing hash.
    pub(crate) fn signing_hash(&self) -> [u8; 32] {
        let mut f = self.fields();
        f.push(rlp_bytes(&be_min(u128::from(self.chain_id))));
        f.push(rlp_bytes(&[]));
        f.push(rlp_bytes(&[]));
        keccak256(&rlp_list(&f))
    }

    /// Signs; returns (raw transaction bytes, transaction hash).
    pub fn sign(&self, key: &SigningKey) -> (Vec<u8>, [u8; 32]) {
        let (sig, recid) = key
            .sign_prehash_recoverable(&self.signing_hash())
            .expect("prehash is 32 bytes");
        let v = u128::from(recid.to_byte()) + u128::from(self.chain_id) * 2 + 35;
        let bytes = sig.to_bytes();
        let strip = |b: &[u8]| {
            let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
            b[first..].to_vec()
        };
        let mut f = self.fields();
        f.push(rlp_bytes(&be_min(v)));
        f.push(rlp_bytes(&strip(&bytes[..32])));
        f.push(rlp_bytes(&strip(&bytes[32..])));
        let raw = rlp_list(&f);
        let hash = keccak256(&raw);
        (raw, hash)
    }
}

/// The 4-byte selector of a function signature.
pub fn selector(sig: &str) -> [u8; 4] {
    let h = keccak256(sig.as_bytes());
    [h[0], h[1], h[2], h[3]]
}

/// ABI word of an address.
pub fn word_address(a: &Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a);
    w
}

/// ABI word of an unsigned integer.
pub fn word_u128(v: u128) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

/// Call data: `selector(sig)` followed by the words.
pub fn call(sig: &str, words: &[[u8; 32]]) -> Vec<u8> {
    let mut out = selector(sig).to_vec();
    for w in words {
        out.extend_from_slice(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlp_basics() {
        assert_eq!(rlp_bytes(b"dog"), vec![0x83, b'd', b'o', b'g']);
        assert_eq!(rlp_bytes(&[]), vec![0x80]);
        assert_eq!(rlp_bytes(&[0x0f]), vec![0x0f]);
        assert_eq!(
            rlp_list(&[rlp_bytes(b"cat"), rlp_bytes(b"dog")]),
            vec![0xc8, 0x83, b'c', b'a', b't', 0x83, b'd', b'o', b'g']
        );
        let long = vec![b'a'; 56];
        assert_eq!(&rlp_bytes(&long)[..2], &[0xb8, 56]);
    }

    #[test]
    fn eip155_example() {
        // The example transaction of EIP-155.
        let key = SigningKey::from_slice(&[0x46; 32]).unwrap();
        let tx = LegacyTx {
            nonce: 9,
            gas_price: 20_000_000_000,
            gas: 21_000,
            to: Some([0x35; 20]),
            value: 1_000_000_000_000_000_000,
            data: vec![],
            chain_id: 1,
        };
        assert_eq!(
            hex::encode(tx.signing_hash()),
            "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"
        );
        let (raw, _) = tx.sign(&key);
        assert_eq!(
            hex::encode(raw),
            "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
        );
    }

    #[test]
    fn selectors() {
        assert_eq!(
            hex::encode(selector("transfer(address,uint256)")),
            "a9059cbb"
        );
        assert_eq!(hex::encode(selector("balanceOf(address)")), "70a08231");
    }
}
