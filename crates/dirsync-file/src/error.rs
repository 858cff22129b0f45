//! The one error type of this crate, and its conversion into [`dirsync_core::Error`].
//!
//! Messages name files (by their name in the folder) and line numbers, never a row's values
//! beyond what a human needs to find it: an export may hold personal data.

use std::io;
use std::path::PathBuf;

use dirsync_core::ObjectKind;

/// Everything that can go wrong while configuring the connector or reading the folder.
///
/// None of these is a smaller snapshot: each one means no snapshot exists, so nothing may be
/// deleted. Convert into [`dirsync_core::Error`] with `From` (the
/// [`DirectorySource`](dirsync_core::DirectorySource) impl does this).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The settings are wrong (an empty path, a file name with a `/`, a mapping to a field we
    /// do not document, two columns mapped to one field). Fix them; nothing was read or stored.
    #[error("invalid file settings: {reason}")]
    InvalidSettings {
        /// What is wrong.
        reason: String,
    },

    /// A kind was asked for that the settings say this folder does not provide. Add the kind to
    /// the settings (and its file to the folder) or remove it from the rule.
    #[error(
        "{kind} are not provided by this file integration (its settings list the kinds it provides)"
    )]
    NotProvided {
        /// The kind asked for.
        kind: ObjectKind,
    },

    /// The file of a kind that was asked for does not exist. The export must write it; an
    /// absent file is never read as "no objects".
    #[error("{kind} file {} does not exist", path.display())]
    MissingFile {
        /// The kind it should hold.
        kind: ObjectKind,
        /// Where it was looked for.
        path: PathBuf,
    },

    /// The folder or a file exists but could not be read (permissions, an IO error).
    #[error("cannot read {}: {reason}", path.display())]
    Unreadable {
        /// The folder or file.
        path: PathBuf,
        /// What the operating system said.
        reason: String,
        /// The kind of IO error (permission denied is not worth retrying; most others are).
        io: io::ErrorKind,
    },

    /// The file is not UTF-8. Export it as UTF-8 (a byte-order mark is fine).
    #[error("{file} line {line}: not UTF-8; export the file as UTF-8")]
    Encoding {
        /// The file's name in the folder.
        file: String,
        /// The line (from 1) holding the first byte that is not UTF-8.
        line: u64,
    },

    /// A CSV file without any row, not even a header. A file with only its header row is an
    /// empty but complete kind; a file with nothing is taken to be a failed export.
    #[error(
        "{file} has no header row; a CSV file starts with its column names (a file with only a header is an empty list)"
    )]
    NoHeader {
        /// The file's name in the folder.
        file: String,
    },

    /// The header lacks required columns (or there is no header and the first row is data).
    /// Rename the columns, or map them with `COLUMN=FIELD`.
    #[error("{file} lacks the required column{} {}; map a column to {} with COLUMN=FIELD if it has another name",
        if missing.len() == 1 { "" } else { "s" }, missing.join(", "),
        if missing.len() == 1 { "it" } else { "them" })]
    MissingColumns {
        /// The file's name in the folder.
        file: String,
        /// The documented field names that no column provides.
        missing: Vec<String>,
    },

    /// The header names one field twice (two columns spelled alike, or mapped to one field).
    #[error("{file} header: {reason}")]
    BadHeader {
        /// The file's name in the folder.
        file: String,
        /// What is wrong.
        reason: String,
    },

    /// The file ends mid-record: a last line cut short or a quote never closed. The export was
    /// interrupted; read it again once it is complete.
    #[error("{file} is truncated at line {line}: {reason}")]
    Truncated {
        /// The file's name in the folder.
        file: String,
        /// The line (from 1) where the unfinished record starts.
        line: u64,
        /// What is unfinished.
        reason: String,
    },

    /// The blocking reader task did not finish (the runtime shut down or the task panicked).
    #[error("the file reader task did not finish: {reason}")]
    Task {
        /// What happened.
        reason: String,
    },
}

impl Error {
    /// A short machine-readable code for the variant (used as the `reason` of the core error).
    fn code(&self) -> &'static str {
        match self {
            Self::InvalidSettings { .. } => "invalid_settings",
            Self::NotProvided { .. } => "not_provided",
            Self::MissingFile { .. } => "missing_file",
            Self::Unreadable { .. } => "unreadable",
            Self::Encoding { .. } => "encoding",
            Self::NoHeader { .. } => "no_header",
            Self::MissingColumns { .. } => "missing_columns",
            Self::BadHeader { .. } => "bad_header",
            Self::Truncated { .. } => "truncated",
            Self::Task { .. } => "task",
        }
    }

    /// What the core error's `route` names: the file or folder concerned.
    fn route(&self) -> String {
        match self {
            Self::MissingFile { path, .. } | Self::Unreadable { path, .. } => {
                format!("read {}", path.display())
            }
            Self::Encoding { file, .. }
            | Self::NoHeader { file }
            | Self::MissingColumns { file, .. }
            | Self::BadHeader { file, .. }
            | Self::Truncated { file, .. } => format!("read {file}"),
            Self::InvalidSettings { .. } | Self::NotProvided { .. } | Self::Task { .. } => {
                "read folder".to_owned()
            }
        }
    }
}

impl From<Error> for dirsync_core::Error {
    /// Settings → [`InvalidValue`](dirsync_core::Error::InvalidValue); a kind not provided, a
    /// missing file, a file without header or a truncated file →
    /// [`IncompleteSnapshot`](dirsync_core::Error::IncompleteSnapshot) (a kind that could not
    /// be read completely); everything else → [`Remote`](dirsync_core::Error::Remote) with the
    /// file as its route and [`Error`]'s variant as its reason, transient only for IO errors
    /// other than permission denied and for an unfinished reader task.
    fn from(e: Error) -> Self {
        match &e {
            Error::InvalidSettings { reason } => Self::InvalidValue {
                kind: "file settings",
                value: String::new(),
                reason: reason.clone(),
            },
            Error::NotProvided { .. }
            | Error::MissingFile { .. }
            | Error::NoHeader { .. }
            | Error::Truncated { .. } => Self::IncompleteSnapshot {
                missing: e.to_string(),
            },
            Error::Unreadable { .. }
            | Error::Encoding { .. }
            | Error::MissingColumns { .. }
            | Error::BadHeader { .. }
            | Error::Task { .. } => Self::Remote {
                route: e.route(),
                status: None,
                reason: Some(e.code().to_owned()),
                message: e.to_string(),
                transient: match &e {
                    Error::Unreadable { io, .. } => *io != io::ErrorKind::PermissionDenied,
                    Error::Task { .. } => true,
                    _ => false,
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_truncated_files_are_incomplete_snapshots_never_empty_ones() {
        let missing = Error::MissingFile {
            kind: ObjectKind::Users,
            path: PathBuf::from("/exports/users.csv"),
        };
        match dirsync_core::Error::from(missing) {
            dirsync_core::Error::IncompleteSnapshot { missing } => {
                assert!(missing.contains("/exports/users.csv"), "{missing}")
            }
            other => panic!("{other:?}"),
        }
        let truncated = Error::Truncated {
            file: "users.csv".into(),
            line: 9,
            reason: "a quote is never closed".into(),
        };
        assert!(matches!(
            dirsync_core::Error::from(truncated),
            dirsync_core::Error::IncompleteSnapshot { .. }
        ));
    }

    #[test]
    fn encoding_and_permission_errors_are_permanent_remote_failures_naming_the_file() {
        let e = dirsync_core::Error::from(Error::Encoding {
            file: "users.csv".into(),
            line: 4,
        });
        match e {
            dirsync_core::Error::Remote {
                route,
                reason,
                message,
                transient,
                ..
            } => {
                assert_eq!(route, "read users.csv");
                assert_eq!(reason.as_deref(), Some("encoding"));
                assert!(message.contains("line 4"), "{message}");
                assert!(!transient);
            }
            other => panic!("{other:?}"),
        }
        let denied = Error::Unreadable {
            path: PathBuf::from("/exports"),
            reason: "permission denied".into(),
            io: io::ErrorKind::PermissionDenied,
        };
        assert!(matches!(
            dirsync_core::Error::from(denied),
            dirsync_core::Error::Remote {
                transient: false,
                ..
            }
        ));
    }
}
