//! Failures common to every store adapter.

/// What a store can fail with. `Unavailable` maps to 503 (retry-safe); `Corrupt` means an item
/// could not be decoded, which is an operator problem, never the caller's.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("conditional write lost: {0}")]
    Conflict(String),
    #[error("stored item is corrupt: {0}")]
    Corrupt(String),
}
