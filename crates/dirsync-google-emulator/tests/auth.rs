//! The emulator's token endpoint and API authorization, end to end: JWT checks, extra service
//! accounts, scopes per method, expiry and revocation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use dirsync_google_emulator::{
    Emulator, EmulatorConfig, OTHER_TEST_PRIVATE_KEY_PEM, ServiceAccount, TEST_PRIVATE_KEY_PEM,
    TenantSpec, sign_jwt,
};
use serde_json::{Value, json};

#[tokio::test]
async fn jwt_verification() {
    let emu = start(TenantSpec::small(9)).await;
    let admin = emu.admin_subject();
    let good = claims(&emu, Some(&admin), &[USER_RO]);
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &good).unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().unwrap() > 3000);
    assert!(body["access_token"].is_string());

    let refused = |body: &Value, error: &str| {
        assert_eq!(body["error"], json!(error), "{body}");
        assert!(body["error_description"].is_string());
    };
    // Wrong key.
    let (status, body) =
        token_request(&emu, &sign_jwt(OTHER_TEST_PRIVATE_KEY_PEM, &good).unwrap()).await;
    assert_eq!(status, 400);
    refused(&body, "invalid_grant");
    assert_eq!(body["error_description"], "Invalid JWT Signature.");
    // Tampered claims.
    let jwt = sign_jwt(TEST_PRIVATE_KEY_PEM, &good).unwrap();
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let other = sign_jwt(
        TEST_PRIVATE_KEY_PEM,
        &claims(&emu, Some(&admin), &[USER_RO, GROUP_RO]),
    )
    .unwrap();
    parts[1] = other.split('.').nth(1).unwrap().to_owned();
    let (status, _) = token_request(&emu, &parts.join(".")).await;
    assert_eq!(status, 400);
    // Expired.
    let mut c = good.clone();
    c["iat"] = json!(now() - 7200);
    c["exp"] = json!(now() - 3605);
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 400);
    refused(&body, "invalid_grant");
    // Wrong audience.
    let mut c = good.clone();
    c["aud"] = json!("https://elsewhere.example/token");
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 400);
    refused(&body, "invalid_grant");
    // Unknown issuer.
    let mut c = good.clone();
    c["iss"] = json!("someone@else.iam.gserviceaccount.com");
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 400);
    refused(&body, "invalid_grant");
    // Unknown and malformed subjects.
    let c = claims(&emu, Some("ghost@example.com"), &[USER_RO]);
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_description"], "Invalid email or User ID");
    let c = claims(&emu, Some("not-an-email"), &[USER_RO]);
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 400);
    refused(&body, "invalid_grant");
    // A scope that is not delegated.
    let c = claims(
        &emu,
        Some(&admin),
        &[USER_RO, "https://www.googleapis.com/auth/gmail.readonly"],
    );
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 401);
    refused(&body, "unauthorized_client");
    // Denied scope / subject at runtime.
    emu.deny_scope(GROUP_RO);
    let c = claims(&emu, Some(&admin), &[GROUP_RO]);
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 401);
    refused(&body, "unauthorized_client");
    emu.allow_scope(GROUP_RO);
    let (status, _) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 200);
    emu.deny_subject(&admin);
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &good).unwrap()).await;
    assert_eq!(status, 401);
    refused(&body, "unauthorized_client");
    // Empty scope, wrong grant type.
    let c = claims(&emu, None, &[]);
    let (status, body) = token_request(&emu, &sign_jwt(TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(status, 400);
    refused(&body, "invalid_scope");
    let r = client()
        .post(emu.token_uri())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let s = emu.stats();
    assert!(s.token_requests_refused >= 10);
    assert_eq!(s.tokens_issued, 2);
}

#[tokio::test]
async fn gcp_auth_retries_refused_token_requests_five_times() {
    let emu = start(TenantSpec::small(10)).await;
    emu.deny_subject(&emu.admin_subject());
    let sa = gcp_auth::CustomServiceAccount::from_json(&emu.service_account_key_json())
        .unwrap()
        .with_subject(emu.admin_subject());
    use gcp_auth::TokenProvider as _;
    assert!(sa.token(&[USER_RO]).await.is_err());
    assert_eq!(emu.stats().token_requests_refused, 5);
    assert_eq!(emu.stats().requests("POST /token"), 5);
}

#[tokio::test]
async fn additional_service_accounts() {
    let mut config = EmulatorConfig::new(TenantSpec::small(11));
    config.service_accounts.push(
        ServiceAccount::new(
            "other@proj.iam.gserviceaccount.com",
            "1234",
            OTHER_TEST_PRIVATE_KEY_PEM,
        )
        .with_granted_scopes([USER_RO]),
    );
    let emu = Emulator::start(config).await.unwrap();
    let key = emu
        .service_account_key_json_for("other@proj.iam.gserviceaccount.com")
        .unwrap();
    let sa = gcp_auth::CustomServiceAccount::from_json(&key)
        .unwrap()
        .with_subject(emu.admin_subject());
    use gcp_auth::TokenProvider as _;
    let tok = sa.token(&[USER_RO]).await.unwrap();
    let (status, _) = get(&emu, tok.as_str(), &format!("{USERS}?customer=my_customer")).await;
    assert_eq!(status, 200);
    // Not delegated for this account: a direct request gets unauthorized_client.
    let c = json!({"iss": "other@proj.iam.gserviceaccount.com", "aud": emu.token_uri(), "iat": now(), "exp": now() + 3000,
        "sub": emu.admin_subject(), "scope": GROUP_RO});
    let (status, body) =
        token_request(&emu, &sign_jwt(OTHER_TEST_PRIVATE_KEY_PEM, &c).unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (401, "unauthorized_client")
    );
    assert!(emu.service_account_key_json_for("nobody@x").is_err());
    assert!(
        Emulator::start(EmulatorConfig {
            service_accounts: vec![ServiceAccount::new("bad@x", "1", "not a key")],
            ..EmulatorConfig::new(TenantSpec::small(1))
        })
        .await
        .is_err()
    );
}

#[tokio::test]
async fn api_authorization_and_scopes() {
    let emu = start(TenantSpec::small(12)).await;
    let admin = emu.admin_subject();
    // No token.
    let r = client()
        .get(format!("{}{USERS}?customer=my_customer", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_envelope(&r.json().await.unwrap(), 401, "required");
    // Unknown token.
    let (status, body) = get(&emu, "ya29.nope", &format!("{USERS}?customer=my_customer")).await;
    assert_eq!(status, 401);
    assert_envelope(&body, 401, "authError");
    // group.member: members yes, groups.list no (reference §0.13).
    let tok = token_for(&emu, Some(&admin), &[GROUP_MEMBER]).await;
    let (status, body) = get(
        &emu,
        &tok,
        "/admin/directory/v1/groups?customer=my_customer",
    )
    .await;
    assert_eq!(status, 403);
    assert_envelope(&body, 403, "insufficientPermissions");
    let (status, body) = get(
        &emu,
        &tok,
        "/admin/directory/v1/groups/all-staff%40example.com",
    )
    .await;
    assert_eq!(status, 403, "groups.get needs group(.readonly) too");
    assert_envelope(&body, 403, "insufficientPermissions");
    let (status, _) = get(
        &emu,
        &tok,
        "/admin/directory/v1/groups/all-staff%40example.com/members",
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = get(&emu, &tok, &format!("{USERS}?customer=my_customer")).await;
    assert_eq!(status, 403);
    // group.readonly reads members but cannot write them.
    let tok = token_for(&emu, Some(&admin), &[GROUP_RO]).await;
    let (status, _) = get(
        &emu,
        &tok,
        "/admin/directory/v1/groups/all-staff%40example.com/members",
    )
    .await;
    assert_eq!(status, 200);
    let r = client()
        .post(format!(
            "{}/admin/directory/v1/groups/all-staff%40example.com/members",
            emu.base_url()
        ))
        .bearer_auth(&tok)
        .json(&json!({"email": "x@external.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // No subject, or a non-admin subject: 403 forbidden.
    let tok = token_for(&emu, None, &[USER_RO]).await;
    let (status, body) = get(&emu, &tok, &format!("{USERS}?customer=my_customer")).await;
    assert_eq!(status, 403);
    assert_envelope(&body, 403, "forbidden");
    assert_eq!(
        body["error"]["message"],
        "Not Authorized to access this resource/api"
    );
    let plain = emu
        .tenant()
        .live_users()
        .find(|u| !u.is_admin && !u.suspended)
        .unwrap()
        .primary_email
        .clone();
    let tok = token_for(&emu, Some(&plain), &[USER_RO]).await;
    let (status, _) = get(&emu, &tok, &format!("{USERS}?customer=my_customer")).await;
    assert_eq!(status, 403);
    // Org units need orgunit scopes.
    let tok = token_for(&emu, Some(&admin), &[USER_RO]).await;
    let (status, _) = get(
        &emu,
        &tok,
        "/admin/directory/v1/customer/my_customer/orgunits?type=all",
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn token_expiry_and_revocation() {
    let mut config = EmulatorConfig::new(TenantSpec::small(13));
    config.token_lifetime = Duration::from_secs(1);
    let emu = Emulator::start(config).await.unwrap();
    let tok = admin_token(&emu).await;
    let path = format!("{USERS}?customer=my_customer&maxResults=1");
    assert_eq!(get(&emu, &tok, &path).await.0, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = get(&emu, &tok, &path).await;
    assert_eq!(status, 401);
    assert_envelope(&body, 401, "authError");
    emu.set_token_lifetime(Duration::from_secs(3599));
    let tok = admin_token(&emu).await;
    let tok2 = admin_token(&emu).await;
    assert_eq!(get(&emu, &tok, &path).await.0, 200);
    assert!(emu.revoke_token(&tok));
    assert_eq!(get(&emu, &tok, &path).await.0, 401);
    assert_eq!(get(&emu, &tok2, &path).await.0, 200);
    assert_eq!(emu.revoke_subject_tokens(&emu.admin_subject()), 1);
    assert_eq!(get(&emu, &tok2, &path).await.0, 401);
    let tok3 = admin_token(&emu).await;
    assert_eq!(emu.revoke_all_tokens(), 1);
    assert_eq!(get(&emu, &tok3, &path).await.0, 401);
}
