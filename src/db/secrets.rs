//! `secrets`: values sealed at rest, and the key that seals them — from
//! `secrets.key`, or a key file created with mode 0600 in the data directory on first use.

use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;

use super::schema::secrets::{self, dsl as s};
use super::{conn, DbError, DbPool};
use crate::domain::sealed::{SecretKey, NONCE_LEN};

/// Where the key comes from; loaded (or created) once, on first use.
pub struct Keyring {
    configured: String,
    file: PathBuf,
    key: OnceLock<Result<SecretKey, String>>,
}

impl Keyring {
    /// `configured` is `secrets.key` (may be empty); `data_dir` holds `secret.key` otherwise.
    pub fn new(configured: &str, data_dir: &std::path::Path) -> Keyring {
        Keyring {
            configured: configured.to_string(),
            file: data_dir.join("secret.key"),
            key: OnceLock::new(),
        }
    }

    /// The key, or why there is none (a 503 for the API, a `spawn` failure for a task).
    pub fn key(&self) -> Result<&SecretKey, String> {
        self.key
            .get_or_init(|| self.load())
            .as_ref()
            .map_err(Clone::clone)
    }

    fn load(&self) -> Result<SecretKey, String> {
        if !self.configured.is_empty() {
            return SecretKey::from_hex(&self.configured).map_err(|e| format!("secrets.key: {e}"));
        }
        let shown = self.file.display();
        match std::fs::read_to_string(&self.file) {
            Ok(text) => {
                check_private(&self.file)?;
                SecretKey::from_hex(&text).map_err(|e| format!("key file {shown}: {e}"))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.create(),
            Err(e) => Err(format!("key file {shown}: {e}")),
        }
    }

    fn create(&self) -> Result<SecretKey, String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let shown = self.file.display();
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("key file {shown}: {e}"))?;
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for a key: {e}"))?;
        let key = SecretKey::from_bytes(bytes);
        // create_new: two instances starting at once never overwrite each other's key.
        let mut f = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&self.file)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return self.load(),
            Err(e) => return Err(format!("key file {shown}: {e}")),
        };
        f.write_all(key.to_hex().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| format!("key file {shown}: {e}"))?;
        log::warn!(
            "secret key created: file={shown} (keep a copy: losing it loses every stored secret)"
        );
        Ok(key)
    }
}

/// A key file that others can read is refused: the key is the only thing guarding the values.
fn check_private(path: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| format!("key file {}: {e}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "key file {} is readable by others (mode {:o}): chmod 600 it",
            path.display(),
            mode & 0o777
        ));
    }
    Ok(())
}

/// A stored secret's metadata: what the API shows (never the value).
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = secrets)]
#[serde(rename_all = "camelCase")]
pub struct SecretView {
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a secret write was refused.
#[derive(Debug, thiserror::Error)]
pub enum SecretWriteError {
    #[error("a secret named `{0}` already exists (PUT /api/secrets/{0} changes it)")]
    Exists(String),
    #[error("no secret named `{0}`")]
    NotFound(String),
    #[error("{0}")]
    Key(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

fn sealed(
    keyring: &Keyring,
    name: &str,
    value: &str,
) -> Result<(Vec<u8>, Vec<u8>), SecretWriteError> {
    let key = keyring.key().map_err(SecretWriteError::Key)?;
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce)
        .map_err(|e| SecretWriteError::Key(format!("no randomness: {e}")))?;
    let ct = key
        .seal(name, &nonce, value)
        .map_err(SecretWriteError::Key)?;
    Ok((nonce.to_vec(), ct))
}

/// Stores a new secret.
pub async fn create(
    pool: &DbPool,
    keyring: &Keyring,
    name: &str,
    value: &str,
) -> Result<SecretView, SecretWriteError> {
    let (nonce, ct) = sealed(keyring, name, value)?;
    let mut c = conn(pool).await?;
    diesel::insert_into(secrets::table)
        .values((s::name.eq(name), s::nonce.eq(nonce), s::ciphertext.eq(ct)))
        .returning(SecretView::as_returning())
        .get_result(&mut c)
        .await
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => SecretWriteError::Exists(name.to_string()),
            other => SecretWriteError::Db(DbError::Query(other)),
        })
}

/// Replaces a secret's value.
pub async fn update(
    pool: &DbPool,
    keyring: &Keyring,
    name: &str,
    value: &str,
) -> Result<SecretView, SecretWriteError> {
    let (nonce, ct) = sealed(keyring, name, value)?;
    let mut c = conn(pool).await?;
    diesel::update(s::secrets.filter(s::name.eq(name)))
        .set((
            s::nonce.eq(nonce),
            s::ciphertext.eq(ct),
            s::updated_at.eq(diesel::dsl::now),
        ))
        .returning(SecretView::as_returning())
        .get_result(&mut c)
        .await
        .optional()
        .map_err(DbError::Query)?
        .ok_or_else(|| SecretWriteError::NotFound(name.to_string()))
}

/// Deletes a secret; false when there was none.
pub async fn delete(pool: &DbPool, name: &str) -> Result<bool, DbError> {
    let mut c = conn(pool).await?;
    let n = diesel::delete(s::secrets.filter(s::name.eq(name)))
        .execute(&mut c)
        .await?;
    Ok(n > 0)
}

/// Every secret's metadata, by name.
pub async fn list(pool: &DbPool) -> Result<Vec<SecretView>, DbError> {
    let mut c = conn(pool).await?;
    Ok(s::secrets
        .order(s::name)
        .limit(10_000)
        .select(SecretView::as_select())
        .load(&mut c)
        .await?)
}

/// Which of `names` do not exist.
pub async fn missing(pool: &DbPool, names: &[String]) -> Result<Vec<String>, DbError> {
    if names.is_empty() {
        return Ok(vec![]);
    }
    let mut c = conn(pool).await?;
    let found: Vec<String> = s::secrets
        .filter(s::name.eq_any(names))
        .select(s::name)
        .load(&mut c)
        .await?;
    Ok(names
        .iter()
        .filter(|n| !found.contains(n))
        .cloned()
        .collect())
}

/// The values of `names`, opened; an error names the first secret that is missing or unreadable.
pub async fn open_all(
    pool: &DbPool,
    keyring: &Keyring,
    names: &[String],
) -> Result<Vec<(String, String)>, String> {
    if names.is_empty() {
        return Ok(vec![]);
    }
    let key = keyring.key()?;
    let mut c = conn(pool).await.map_err(|e| e.to_string())?;
    let rows: Vec<(String, Vec<u8>, Vec<u8>)> = s::secrets
        .filter(s::name.eq_any(names))
        .select((s::name, s::nonce, s::ciphertext))
        .load(&mut c)
        .await
        .map_err(|e| format!("reading secrets: {e}"))?;
    names
        .iter()
        .map(|name| {
            let (_, nonce, ct) = rows
                .iter()
                .find(|(n, _, _)| n == name)
                .ok_or_else(|| format!("secret `{name}` does not exist"))?;
            Ok((name.clone(), key.open(name, nonce, ct)?))
        })
        .collect()
}
