//! [`SealedSecrets`]: the default [`SecretStore`] of `dirsync` and its server — a file of
//! secrets, each sealed with ChaCha20-Poly1305 under a 32-byte key, so that the file (and a
//! backup of it) never holds a refresh token in clear.
//!
//! The key comes from `DIRSYNC_SECRET_KEY` (base64 of 32 bytes) or from a key file created on
//! first use with mode 0600 ([`SecretKey::from_env_or_file`]). Each value is sealed with a
//! fresh random nonce and its name as associated data, so a value moved to another name does
//! not open either. A wrong key fails clearly, naming where the key came from, never quoting a
//! secret.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use dirsync_core::{Error as CoreError, Secret, SecretStore};

/// The environment variable that holds the key (base64 of 32 bytes).
pub const SECRET_KEY_VAR: &str = "DIRSYNC_SECRET_KEY";

/// A 32-byte sealing key and where it came from. Its `Debug` shows only the origin.
#[derive(Clone)]
pub struct SecretKey {
    key: Key,
    origin: String,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

fn unusable(reference: impl fmt::Display, reason: impl Into<String>) -> CoreError {
    CoreError::Credential {
        reference: reference.to_string(),
        reason: reason.into(),
    }
}

impl SecretKey {
    /// A key from its base64 text (32 bytes), naming `origin` in errors.
    ///
    /// # Errors
    /// [`CoreError::Credential`] when it is not base64 of exactly 32 bytes.
    pub fn from_base64(text: &str, origin: impl Into<String>) -> Result<Self, CoreError> {
        let origin = origin.into();
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| unusable(&origin, "the secret key is not base64"))?;
        if bytes.len() != 32 {
            return Err(unusable(
                &origin,
                format!(
                    "the secret key is {} bytes, not 32 (make one with `openssl rand -base64 32`)",
                    bytes.len()
                ),
            ));
        }
        Ok(Self {
            key: *Key::from_slice(&bytes),
            origin,
        })
    }

    /// `DIRSYNC_SECRET_KEY` if set, else the key in `file`, created with a new random key
    /// (mode 0600) if it does not exist.
    ///
    /// # Errors
    /// [`CoreError::Credential`] for a malformed key or a key file that cannot be read or
    /// created.
    pub fn from_env_or_file(file: &Path) -> Result<Self, CoreError> {
        if let Ok(text) = std::env::var(SECRET_KEY_VAR)
            && !text.trim().is_empty()
        {
            return Self::from_base64(&text, SECRET_KEY_VAR);
        }
        let origin = format!("the key file {}", file.display());
        match std::fs::read_to_string(file) {
            Ok(text) => Self::from_base64(&text, origin),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = ChaCha20Poly1305::generate_key(&mut OsRng);
                write_private(file, STANDARD.encode(key).as_bytes(), true)
                    .map_err(|e| unusable(&origin, format!("cannot create it: {e}")))?;
                Ok(Self { key, origin })
            }
            Err(e) => Err(unusable(&origin, format!("cannot read it: {e}"))),
        }
    }
}

/// Writes `bytes` to `path` with mode 0600 (on Unix): a new file only when `create_new`,
/// otherwise through a temporary file renamed over it.
fn write_private(path: &Path, bytes: &[u8], create_new: bool) -> std::io::Result<()> {
    let target = if create_new {
        path.to_path_buf()
    } else {
        path.with_extension("tmp")
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&target)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    if !create_new {
        std::fs::rename(&target, path)?;
    }
    Ok(())
}

/// Secrets sealed in one file (JSON: name → base64 of nonce and ciphertext), mode 0600. One
/// process writes at a time through it (a lock in the process; the CLI and a server over the
/// same directory should not write consents at the same moment).
pub struct SealedSecrets {
    path: PathBuf,
    key: SecretKey,
    lock: Mutex<()>,
}

impl fmt::Debug for SealedSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecrets")
            .field("path", &self.path)
            .field("key", &self.key)
            .finish()
    }
}

impl SealedSecrets {
    /// The secrets in `path` (created on the first write), sealed with `key`.
    pub fn new(path: impl Into<PathBuf>, key: SecretKey) -> Self {
        Self {
            path: path.into(),
            key,
            lock: Mutex::new(()),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_all(&self) -> Result<BTreeMap<String, String>, CoreError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|_| {
                unusable(
                    self.path.display(),
                    "the secrets file is not a sealed-secrets file",
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(unusable(self.path.display(), e.to_string())),
        }
    }

    fn write_all(&self, all: &BTreeMap<String, String>) -> Result<(), CoreError> {
        let text = serde_json::to_string_pretty(all)
            .map_err(|e| unusable(self.path.display(), e.to_string()))?;
        write_private(&self.path, text.as_bytes(), false)
            .map_err(|e| unusable(self.path.display(), e.to_string()))
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&self.key.key)
    }
}

const NONCE_LEN: usize = 12;

impl SecretStore for SealedSecrets {
    fn secret(&self, name: &str) -> Result<Secret, CoreError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let sealed = self
            .read_all()?
            .remove(name)
            .ok_or_else(|| unusable(name, dirsync_core::NO_SUCH_SECRET))?;
        let bytes = STANDARD
            .decode(sealed)
            .map_err(|_| unusable(name, "the sealed value is not base64"))?;
        if bytes.len() < NONCE_LEN {
            return Err(unusable(name, "the sealed value is truncated"));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| {
                unusable(
                    name,
                    format!(
                        "cannot be decrypted with {} (a different key sealed it: set the key it was sealed with)",
                        self.key.origin
                    ),
                )
            })?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| unusable(name, "the sealed value is not text"))
    }

    fn put_secret(&self, name: &str, secret: &Secret) -> Result<(), CoreError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.expose_secret().as_bytes(),
                    aad: name.as_bytes(),
                },
            )
            .map_err(|_| unusable(name, "sealing failed"))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        let mut all = self.read_all()?;
        all.insert(name.to_owned(), STANDARD.encode(sealed));
        self.write_all(&all)
    }

    fn remove_secret(&self, name: &str) -> Result<bool, CoreError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut all = self.read_all()?;
        let removed = all.remove(name).is_some();
        if removed {
            self.write_all(&all)?;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Result<SecretKey, CoreError> {
        SecretKey::from_base64(&STANDARD.encode([byte; 32]), "test key")
    }

    #[test]
    fn secrets_are_sealed_and_a_wrong_key_fails_clearly() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("secrets");
        let store = SealedSecrets::new(&path, key(1)?);
        store.put_secret("google-oauth/x", &Secret::new("1//refresh-SECRET"))?;
        let on_disk = std::fs::read_to_string(&path)?;
        assert!(!on_disk.contains("SECRET"), "{on_disk}");
        assert_eq!(
            store.secret("google-oauth/x")?.expose_secret(),
            "1//refresh-SECRET"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&path)?.permissions().mode() & 0o777,
                0o600
            );
        }
        let wrong = SealedSecrets::new(&path, key(2)?);
        let e = wrong.secret("google-oauth/x").map(|_| ()).unwrap_err();
        assert!(
            e.to_string().contains("cannot be decrypted with test key"),
            "{e}"
        );
        assert!(!e.to_string().contains("SECRET"));
        // A value moved to another name does not open.
        let mut all: BTreeMap<String, String> = serde_json::from_str(&on_disk)?;
        let moved = all.remove("google-oauth/x").unwrap_or_default();
        all.insert("google-oauth/y".into(), moved);
        std::fs::write(&path, serde_json::to_string(&all)?)?;
        assert!(store.secret("google-oauth/y").is_err());
        assert!(store.remove_secret("google-oauth/y")?);
        assert!(!store.remove_secret("google-oauth/y")?);
        Ok(())
    }

    #[test]
    fn a_key_file_is_created_once_with_mode_0600() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("secret.key");
        if std::env::var(SECRET_KEY_VAR).is_ok() {
            return Ok(()); // the environment's key wins; nothing to test here
        }
        let first = SecretKey::from_env_or_file(&file)?;
        let again = SecretKey::from_env_or_file(&file)?;
        assert_eq!(first.key, again.key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&file)?.permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(SecretKey::from_base64("c2hvcnQ=", "k").is_err());
        Ok(())
    }
}
