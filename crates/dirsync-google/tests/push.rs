//! Push (issue 19): `users.watch` opens a channel in the emulator with our id, address and
//! token, `channels.stop` stops it (twice is fine), and `users.get` re-reads a notified user:
//! suspended as the tenant has it, or deleted when Google answers 404.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Duration, Utc};
use dirsync_core::{ChannelRequest, ChannelToken, Email, PushSource, UserRead};
use dirsync_google::{GoogleConnectorBuilder, ServiceAccountKey};
use dirsync_google_emulator::{Emulator, EmulatorConfig, PushDelivery, TenantSpec};

#[tokio::test]
async fn a_channel_is_opened_and_stopped_and_a_notified_user_re_read() {
    let mut config = EmulatorConfig::new(TenantSpec::small(5));
    config.push = PushDelivery::default().with_retries(1, std::time::Duration::ZERO);
    let emu = Emulator::start(config).await.unwrap();
    let connector = GoogleConnectorBuilder::new()
        .api_base(emu.base_url())
        .subject(Email::new(emu.admin_subject()).unwrap())
        .key_json(ServiceAccountKey::new(emu.service_account_key_json()))
        .build()
        .unwrap();

    let request = ChannelRequest::new(
        "ch-1",
        "http://127.0.0.1:9/hooks/google/x",
        ChannelToken::new("secret-token"),
        Duration::hours(48),
    );
    let opened = connector.open_channel(&request).await.unwrap();
    let channels = emu.watch_channels();
    assert_eq!(channels.len(), 1);
    assert_eq!(channels[0].id, "ch-1");
    assert_eq!(channels[0].resource_id, opened.resource_id);
    assert_eq!(channels[0].event, None, "no event filter: every user event");
    let six_hours = Utc::now() + Duration::hours(6);
    assert!((opened.expires_at - six_hours).num_seconds().abs() < 60);

    let user = emu.tenant().live_users().nth(3).unwrap().clone();
    emu.suspend_user(&user.id).unwrap();
    let external_id = dirsync_core::ExternalId::new(&user.id).unwrap();
    match connector.read_user(&external_id).await.unwrap() {
        UserRead::Present(u) => {
            assert!(u.suspended);
            assert_eq!(u.primary_email.as_str(), user.primary_email);
        }
        other => panic!("{other:?}"),
    }
    emu.remove_user(&user.id).unwrap();
    assert_eq!(
        connector.read_user(&external_id).await.unwrap(),
        UserRead::Deleted
    );

    connector
        .stop_channel("ch-1", &opened.resource_id)
        .await
        .unwrap();
    assert!(emu.watch_channels()[0].stopped);
    connector
        .stop_channel("ch-1", &opened.resource_id)
        .await
        .expect("stopping a channel Google no longer knows is fine");
}

/// When `users.get` gives no answer, a delete is still confirmed by the user listed among the
/// deleted ones (`showDeleted=true`); a user not listed there is not taken for deleted.
#[tokio::test]
async fn a_delete_is_confirmed_by_the_deleted_users_listing_when_users_get_fails() {
    let emu = Emulator::start(EmulatorConfig::new(TenantSpec::small(5)))
        .await
        .unwrap();
    let connector = GoogleConnectorBuilder::new()
        .api_base(emu.base_url())
        .subject(Email::new(emu.admin_subject()).unwrap())
        .key_json(ServiceAccountKey::new(emu.service_account_key_json()))
        .retry({
            let mut once = dirsync_google::RetryConfig::default();
            once.max_retries = 0;
            once
        })
        .build()
        .unwrap();
    let mut users = emu
        .tenant()
        .live_users()
        .filter(|u| !u.is_admin)
        .cloned()
        .collect::<Vec<_>>();
    let (gone, kept) = (users.remove(0), users.remove(0));
    emu.remove_user(&gone.id).unwrap();
    emu.fail_page("GET /admin/directory/v1/users/{user_key}", 0, 503);
    let id = |u: &dirsync_google_emulator::User| dirsync_core::ExternalId::new(&u.id).unwrap();
    assert_eq!(
        connector.read_user(&id(&gone)).await.unwrap(),
        UserRead::Deleted
    );
    assert!(
        connector.read_user(&id(&kept)).await.is_err(),
        "no answer, and not among the deleted: an error, never a delete"
    );
}
