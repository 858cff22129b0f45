//! What the connector's emulator tests share: a connector for an emulated tenant, and a full
//! read of it.

use dirsync_core::{
    DirectorySource, Email, FetchRequest, Fetched, NoProgress, ObjectKinds, ScopeFilter,
};
use dirsync_google::{GoogleConnector, GoogleConnectorBuilder, ServiceAccountKey};
use dirsync_google_emulator::RunningEmulator;

/// A connector builder with the emulator's API, admin and service account.
pub(crate) fn builder(emu: &RunningEmulator) -> GoogleConnectorBuilder {
    GoogleConnectorBuilder::new()
        .api_base(emu.base_url())
        .subject(Email::new(emu.admin_subject()).unwrap())
        .key_json(ServiceAccountKey::new(emu.service_account_key_json()))
}

/// A connector with the emulator's service account, paced to `requests_per_minute` (0: not
/// paced).
pub(crate) fn connector(emu: &RunningEmulator, requests_per_minute: u32) -> GoogleConnector {
    builder(emu)
        .requests_per_minute(requests_per_minute)
        .build()
        .unwrap()
}

/// Every kind of the whole tenant, read with `connector`.
pub(crate) async fn read_all(connector: &GoogleConnector) -> Fetched {
    let request = FetchRequest::new(ObjectKinds::all(), ScopeFilter::everything());
    connector.fetch(&request, &NoProgress).await.unwrap()
}
