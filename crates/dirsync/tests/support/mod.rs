//! What the command-line tests share: the binary under test and store-file copies.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// The `dirsync` binary cargo built for this test run.
pub(crate) fn dirsync_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dirsync"))
}

/// Copies a closed store file (and its WAL, if any) to `to`.
pub(crate) fn copy_store(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    for ext in ["-wal", "-shm"] {
        let src = PathBuf::from(format!("{}{ext}", from.display()));
        if src.exists() {
            std::fs::copy(&src, format!("{}{ext}", to.display())).unwrap();
        }
    }
}
