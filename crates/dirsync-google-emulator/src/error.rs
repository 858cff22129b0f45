//! The crate's error type.

/// Everything that can go wrong when configuring, starting or mutating an emulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Binding or serving the HTTP listener failed.
    #[error("emulator I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A service-account private key could not be parsed (must be PKCS#8 PEM RSA).
    #[error("invalid service-account key: {0}")]
    InvalidKey(String),
    /// A mutation named a user, group or member the tenant does not have.
    #[error("not found: {0}")]
    NotFound(String),
    /// A mutation would create something that already exists (e.g. a duplicate email).
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// A mutation or configuration value was rejected (e.g. a cyclic group membership).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// Serializing a response or key file failed.
    #[error("serialization failed: {0}")]
    Json(#[from] serde_json::Error),
}
