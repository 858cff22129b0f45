//! A temporary export folder and short ways to read it.

use std::path::Path;

use dirsync_core::{FetchRequest, ObjectKind, ObjectKinds, ScopeFilter, Snapshot};
use dirsync_file::{FileConnector, FileSettings, Format};

pub(crate) type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A folder holding an export, removed when dropped.
pub(crate) struct Export {
    dir: tempfile::TempDir,
    format: Format,
}

impl Export {
    /// An empty CSV export folder.
    pub(crate) fn csv() -> std::io::Result<Self> {
        Ok(Self {
            dir: tempfile::tempdir()?,
            format: Format::Csv,
        })
    }

    /// An empty JSON Lines export folder.
    pub(crate) fn jsonl() -> std::io::Result<Self> {
        Ok(Self {
            dir: tempfile::tempdir()?,
            format: Format::Jsonl,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `name` with `content`.
    pub(crate) fn write(&self, name: &str, content: impl AsRef<[u8]>) -> std::io::Result<&Self> {
        std::fs::write(self.dir.path().join(name), content)?;
        Ok(self)
    }

    /// Writes `kind`'s default file.
    pub(crate) fn kind(
        &self,
        kind: ObjectKind,
        content: impl AsRef<[u8]>,
    ) -> std::io::Result<&Self> {
        self.write(&format!("{kind}.{}", self.format.extension()), content)
    }

    /// Settings for the folder in its format, all kinds, no mapping.
    pub(crate) fn settings(&self) -> Result<FileSettings, dirsync_file::Error> {
        Ok(FileSettings::new(self.dir.path())?.with_format(self.format))
    }

    pub(crate) fn connector(&self) -> Result<FileConnector, dirsync_file::Error> {
        Ok(FileConnector::new(self.settings()?))
    }

    /// Settings providing only `kinds`.
    pub(crate) fn only(
        &self,
        kinds: &[ObjectKind],
    ) -> Result<FileConnector, Box<dyn std::error::Error>> {
        let kinds = ObjectKinds::new(kinds.iter().copied())?;
        Ok(FileConnector::new(self.settings()?.with_kinds(kinds)?))
    }
}

/// Reads `kinds` from `connector`, everything in scope.
pub(crate) fn read(
    connector: &FileConnector,
    kinds: &[ObjectKind],
) -> Result<Snapshot, dirsync_core::Error> {
    let kinds = ObjectKinds::new(kinds.iter().copied())?;
    let request = FetchRequest::new(kinds, ScopeFilter::everything());
    Ok(connector.read(&request)?.snapshot)
}

/// Reads users only from a CSV folder holding `users.csv` with `content`.
pub(crate) fn users_csv(
    content: impl AsRef<[u8]>,
) -> Result<Result<Snapshot, dirsync_core::Error>, Box<dyn std::error::Error>> {
    let export = Export::csv()?;
    export.kind(ObjectKind::Users, content)?;
    let connector = export.only(&[ObjectKind::Users])?;
    Ok(read(&connector, &[ObjectKind::Users]))
}

/// The quarantine reasons of `snapshot`, in order.
pub(crate) fn reasons(snapshot: &Snapshot) -> Vec<&str> {
    snapshot
        .quarantined()
        .iter()
        .map(|q| q.reason.as_str())
        .collect()
}
