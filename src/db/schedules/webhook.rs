//! A schedule's webhook credentials: a random key (its URL) and a random secret, sealed
//! under the server's secrets key with the schedule's id as associated data.

use uuid::Uuid;

use super::ScheduleRow;
use crate::db::secrets::Keyring;

/// A schedule's webhook as stored: its key and its secret, sealed.
#[derive(Debug, Clone)]
pub struct WebhookCreds {
    pub key: String,
    pub nonce: Vec<u8>,
    pub sealed: Vec<u8>,
}

/// What the secret of schedule `id` is sealed under.
fn sealed_name(id: Uuid) -> String {
    format!("webhook:{id}")
}

fn random_hex(bytes: usize) -> Result<String, String> {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).map_err(|e| format!("no randomness for a webhook: {e}"))?;
    Ok(crate::domain::access::hex(&b))
}

impl WebhookCreds {
    /// A new random key and secret for schedule `id`.
    pub fn fresh(keyring: &Keyring, id: Uuid) -> Result<WebhookCreds, String> {
        let key = random_hex(24)?;
        let secret = random_hex(32)?;
        let mut nonce = [0u8; crate::domain::sealed::NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| format!("no randomness: {e}"))?;
        let sealed = keyring.key()?.seal(&sealed_name(id), &nonce, &secret)?;
        Ok(WebhookCreds {
            key,
            nonce: nonce.to_vec(),
            sealed,
        })
    }
}

/// The secret of `row`'s webhook, opened (None when it has none).
pub fn secret_of(keyring: &Keyring, row: &ScheduleRow) -> Result<Option<String>, String> {
    match (&row.webhook_secret_nonce, &row.webhook_secret_sealed) {
        (Some(nonce), Some(sealed)) => keyring
            .key()?
            .open(&sealed_name(row.id), nonce, sealed)
            .map(Some),
        _ => Ok(None),
    }
}
