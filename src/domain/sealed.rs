//! Sealing secret values: XChaCha20-Poly1305 with a random 24-byte nonce per value and
//! the secret's name as associated data, so a sealed value cannot be moved to another name.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Nonce length of XChaCha20-Poly1305.
pub const NONCE_LEN: usize = 24;

/// The 256-bit key. Its bytes never leave this type except as the hex of a new key file.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    /// A key from 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> SecretKey {
        SecretKey(bytes)
    }

    /// Parses 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(s: &str) -> Result<SecretKey, String> {
        let s = s.trim();
        if s.len() != 64 || !s.is_ascii() {
            return Err("a key is 64 hex digits".into());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
                .map_err(|_| "a key is 64 hex digits".to_string())?;
        }
        Ok(SecretKey(out))
    }

    /// The key as 64 hex digits (written to a new key file).
    pub fn to_hex(&self) -> String {
        super::access::hex(&self.0)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.0).into())
    }

    /// Seals `value` under `name` with `nonce` (24 random bytes, never reused).
    pub fn seal(
        &self,
        name: &str,
        nonce: &[u8; NONCE_LEN],
        value: &str,
    ) -> Result<Vec<u8>, String> {
        self.cipher()
            .encrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| "sealing failed".to_string())
    }

    /// Opens what [`SecretKey::seal`] produced for `name`.
    pub fn open(&self, name: &str, nonce: &[u8], sealed: &[u8]) -> Result<String, String> {
        if nonce.len() != NONCE_LEN {
            return Err(format!("secret `{name}`: stored nonce is malformed"));
        }
        let plain = self
            .cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| {
                format!(
                    "secret `{name}` cannot be opened: wrong key, or the stored value was altered"
                )
            })?;
        String::from_utf8(plain).map_err(|_| format!("secret `{name}` is not UTF-8"))
    }
}

/// True for a secret name: 1 to 100 letters, digits, `_`, `-` and `.`.
pub fn valid_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(b: u8) -> SecretKey {
        SecretKey::from_bytes([b; 32])
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_name() {
        let nonce = [9u8; NONCE_LEN];
        let sealed = key(1)
            .seal("db-password", &nonce, "hunter2")
            .unwrap_or_default();
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(
            key(1).open("db-password", &nonce, &sealed),
            Ok("hunter2".into())
        );
        assert!(key(2).open("db-password", &nonce, &sealed).is_err());
        assert!(key(1).open("other-name", &nonce, &sealed).is_err());
        let mut tampered = sealed.clone();
        tampered[0] ^= 1;
        assert!(key(1).open("db-password", &nonce, &tampered).is_err());
        assert!(key(1).open("db-password", &nonce[..10], &sealed).is_err());
    }

    #[test]
    fn keys_are_64_hex_digits_and_never_printed() {
        let k = key(0xab);
        assert_eq!(
            SecretKey::from_hex(&k.to_hex()).map(|k| k.to_hex()),
            Ok(k.to_hex())
        );
        assert!(SecretKey::from_hex("abc").is_err());
        assert!(SecretKey::from_hex(&"g".repeat(64)).is_err());
        assert!(SecretKey::from_hex(&"é".repeat(32)).is_err());
        assert_eq!(format!("{k:?}"), "SecretKey(***)");
    }

    #[test]
    fn names() {
        assert!(valid_name("prod.db-password_2"));
        assert!(!valid_name(""));
        assert!(!valid_name("has space"));
        assert!(!valid_name(&"x".repeat(101)));
    }

    proptest! {
        #[test]
        fn round_trip(value in ".{0,200}", name in "[a-z]{1,20}", nonce in proptest::array::uniform24(any::<u8>())) {
            let sealed = key(7).seal(&name, &nonce, &value).unwrap_or_default();
            prop_assert_eq!(key(7).open(&name, &nonce, &sealed), Ok(value));
        }
    }
}
