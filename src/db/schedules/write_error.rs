//! Why a schedule write is refused: a duplicate name, a reference to something missing (a
//! secret, a schedule in a chain), or the database.

use crate::db::{DbError, DbPool};
use crate::domain::task::TaskSpec;

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("a schedule named `{0}` already exists")]
    DuplicateName(String),
    /// Refers to something that does not exist (a secret).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for WriteError {
    fn from(e: diesel::result::Error) -> Self {
        WriteError::Db(DbError::Query(e))
    }
}

pub(super) fn map_unique(name: &str) -> impl Fn(diesel::result::Error) -> WriteError + '_ {
    move |e| match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => WriteError::DuplicateName(name.to_string()),
        other => WriteError::Db(DbError::Query(other)),
    }
}

/// Refuses a task that refers to secrets that do not exist (checked at write time; a secret
/// deleted later makes the run fail as `spawn`).
pub async fn check_secrets(pool: &DbPool, task: &TaskSpec) -> Result<(), WriteError> {
    let refs = task.secret_refs();
    let names: Vec<String> = refs.iter().map(|(_, n)| n.clone()).collect();
    let missing = crate::db::secrets::missing(pool, &names).await?;
    match refs.into_iter().find(|(_, n)| missing.contains(n)) {
        Some((field, name)) => Err(WriteError::Invalid {
            field,
            message: format!("secret `{name}` does not exist (create it with POST /api/secrets)"),
        }),
        None => Ok(()),
    }
}
