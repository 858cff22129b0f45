//! [`FileKind`]: HR exports as a [`ConnectorKind`], for a connector registry. It reads
//! [`FileSettings`] from an integration's stored settings (system `file`) and connects a
//! [`FileConnector`] to the folder.

use std::sync::Arc;

use async_trait::async_trait;
use dirsync_core::{
    AccessDenied, ConnectRequest, Connection, ConnectorKind, DirectionKind, DirectoryTarget,
    Error as CoreError, Grant, ObjectKinds, RemoteApplyReport, RemoteChanges, RemoteOpKinds,
    RemoteSettings, System, TypedSettings,
};

use crate::{FileConnector, FileSettings};

/// The system file integrations are stored under (`file`).
pub const SYSTEM: System = System::from_static("file");

impl TypedSettings for FileSettings {
    const SYSTEM: System = SYSTEM;

    fn validate(&self) -> Result<(), CoreError> {
        FileSettings::validate(self).map_err(CoreError::from)
    }
}

/// HR exports (CSV or JSON Lines files in a folder) as a connector kind: inbound only, nothing
/// to grant (the access checks read the folder), reading the kinds the settings provide.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileKind;

impl FileKind {
    /// The kind.
    pub fn new() -> Self {
        Self
    }
}

impl ConnectorKind for FileKind {
    fn system(&self) -> System {
        SYSTEM
    }

    fn name(&self) -> &str {
        "HR export (files)"
    }

    fn directions(&self) -> Vec<DirectionKind> {
        vec![DirectionKind::Inbound]
    }

    fn readable_kinds(&self, settings: &RemoteSettings) -> Result<ObjectKinds, CoreError> {
        Ok(settings.typed::<FileSettings>()?.kinds().clone())
    }

    fn remote_operations(&self) -> RemoteOpKinds {
        RemoteOpKinds::new([])
    }

    fn validate_settings(&self, settings: &RemoteSettings) -> Result<(), CoreError> {
        settings.typed::<FileSettings>().map(|_| ())
    }

    fn grant(&self, request: &ConnectRequest<'_>) -> Result<Grant, CoreError> {
        request.settings.typed::<FileSettings>()?;
        Ok(Grant::Nothing)
    }

    fn connect(&self, request: &ConnectRequest<'_>) -> Result<Connection, CoreError> {
        let connector = FileConnector::new(request.settings.typed::<FileSettings>()?);
        Ok(Connection::new(Arc::new(connector), Arc::new(ReadOnly)))
    }
}

/// The write side of a file integration: there is none.
#[derive(Debug)]
struct ReadOnly;

#[async_trait]
impl DirectoryTarget for ReadOnly {
    async fn apply(&self, _changes: &RemoteChanges) -> Result<RemoteApplyReport, CoreError> {
        Err(AccessDenied::Unauthorized {
            reason: "an HR export is read-only".to_owned(),
        }
        .into())
    }

    fn supported_operations(&self) -> RemoteOpKinds {
        RemoteOpKinds::new([])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use dirsync_core::{IntegrationId, ObjectKind};

    use super::*;

    #[test]
    fn settings_are_stored_as_the_file_system_and_checked_both_ways() {
        let settings = FileSettings::new("/srv/hr")
            .unwrap()
            .with_kinds(ObjectKinds::only(ObjectKind::Users))
            .unwrap();
        let stored = RemoteSettings::from_typed(&settings).unwrap();
        assert_eq!(stored.system().as_str(), "file");
        assert_eq!(stored.typed::<FileSettings>().unwrap(), settings);
        assert_eq!(
            FileKind.readable_kinds(&stored).unwrap(),
            ObjectKinds::only(ObjectKind::Users)
        );
        let bad = RemoteSettings::new(SYSTEM, serde_json::json!({"path": ""})).unwrap();
        assert!(FileKind.validate_settings(&bad).is_err());
        let kinds = ObjectKinds::all();
        let request = ConnectRequest::new(
            IntegrationId::random(),
            DirectionKind::Inbound,
            &stored,
            &kinds,
        );
        assert_eq!(FileKind.grant(&request).unwrap(), Grant::Nothing);
        assert!(FileKind.connect(&request).is_ok());
    }
}
