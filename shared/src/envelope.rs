//! AES-256-GCM with a random 96-bit nonce: the one place bytes are encrypted (credential
//! documents under their data key; data keys under the dev server's local key). The output is
//! `nonce ‖ ciphertext ‖ tag`; the associated data binds it to what it belongs to.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use rand::RngCore;
use zeroize::Zeroizing;

/// Nonce length (96 bits, the GCM standard).
pub const NONCE_LEN: usize = 12;

/// Decryption failed: another key or associated data, or damaged bytes. Says nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("authenticated decryption failed")]
pub struct OpenError;

/// Encryption failed (only for inputs beyond GCM's limits, 64 GiB; ours are under 256 KiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("authenticated encryption failed")]
pub struct SealError;

/// Encrypts `plaintext` under `key`, bound to `aad`.
pub fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    let cipher = Aes256Gcm::new(key.into());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(
            &nonce.into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| SealError)?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Decrypts what [`seal`] made, with the same key and associated data.
pub fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(OpenError);
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError)?;
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .decrypt(&nonce.into(), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| OpenError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let key = [7u8; 32];
        let a = seal(&key, b"ctx-a", b"secret document").unwrap();
        let b = seal(&key, b"ctx-a", b"secret document").unwrap();
        assert_ne!(a, b, "a fresh nonce per message");
        assert_eq!(
            open(&key, b"ctx-a", &a).unwrap().as_slice(),
            b"secret document"
        );
        assert_eq!(
            open(&key, b"ctx-b", &a),
            Err(OpenError),
            "other associated data"
        );
        assert_eq!(open(&[8u8; 32], b"ctx-a", &a), Err(OpenError), "other key");
        let mut tampered = a.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(open(&key, b"ctx-a", &tampered), Err(OpenError));
        assert_eq!(open(&key, b"ctx-a", &a[..10]), Err(OpenError), "too short");
        assert!(
            !a.windows(6).any(|w| w == b"secret"),
            "no plaintext in the output"
        );
    }
}
