//! The access check of a file integration: named checks, each ok or not, with what to do.
//!
//! It reads the folder listing and the first line of each file, never a whole export.

use dirsync_core::AccessCheck as Check;

use crate::{Error, FileSettings, table};

/// The checks of `settings`: the folder can be listed; then, per kind it provides, the file
/// exists and its header (CSV) or first object (JSON Lines) has the required columns.
pub(crate) fn run(settings: &FileSettings) -> Vec<Check> {
    let folder = settings.path().display();
    let listed = format!("folder {folder} exists and can be read");
    match std::fs::read_dir(settings.path()) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return vec![Check::failed(
                listed,
                "create the folder, or correct the path in the integration's settings",
            )];
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            return vec![Check::failed(
                listed,
                "the path is a file: give the folder that holds the export's files",
            )];
        }
        Err(e) => {
            return vec![Check::failed(
                listed,
                format!("{e}: give the service read access to the folder, or correct the path"),
            )];
        }
    }
    let mut checks = vec![Check::passed(listed)];
    for kind in settings.kinds().iter() {
        let name = settings.file_name(kind);
        let exists = format!("{kind} file {name} exists");
        let required = crate::required_fields(kind).join(", ");
        let columns = format!("{name} has the required columns {required}");
        match table::head(kind, &settings.file_path(kind), settings.format(), settings.columns()) {
            Ok(_) => checks.extend([Check::passed(exists), Check::passed(columns)]),
            Err(Error::MissingFile { .. }) => checks.push(Check::failed(
                exists,
                format!("export {kind} to {name}, name its file in the settings, or remove {kind} from the kinds the integration provides"),
            )),
            Err(
                e @ (Error::NoHeader { .. }
                | Error::MissingColumns { .. }
                | Error::BadHeader { .. }
                | Error::Encoding { .. }),
            ) => checks.extend([Check::passed(exists), Check::failed(columns, e.to_string())]),
            Err(e) => checks.push(Check::failed(
                format!("{kind} file {name} can be read"),
                e.to_string(),
            )),
        }
    }
    checks
}
