//! The emulator's membership writes, end to end: `members.insert`, `members.delete` and
//! `members.patch`, with Google's answers for duplicates, unknown members and missing fields.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use dirsync_google_emulator::{PATCH_MEMBER_ROUTE, Role, TenantSpec};
use serde_json::{Value, json};

#[tokio::test]
async fn members_insert_duplicate_and_delete_not_found() {
    let emu = start(TenantSpec::small(14)).await;
    let tok = admin_token(&emu).await;
    let tenant = emu.tenant();
    let group = tenant
        .groups()
        .iter()
        .find(|g| g.members.is_empty())
        .unwrap()
        .email
        .clone();
    let user = tenant.live_users().nth(4).unwrap().clone();
    let url = format!(
        "{}/admin/directory/v1/groups/{}/members",
        emu.base_url(),
        group.replace('@', "%40")
    );
    let client = client();
    let r = client
        .post(&url)
        .bearer_auth(&tok)
        .json(&json!({"email": user.primary_email, "role": "MEMBER"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["kind"], "admin#directory#member");
    assert_eq!(m["id"], json!(user.id));
    assert_eq!(m["type"], "USER");
    assert_eq!(m["role"], "MEMBER");
    assert!(m["etag"].is_string());
    let r = client
        .post(&url)
        .bearer_auth(&tok)
        .json(&json!({"id": user.id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 409);
    let body: Value = r.json().await.unwrap();
    assert_envelope(&body, 409, "duplicate");
    assert_eq!(body["error"]["message"], "Member already exists.");
    let r = client
        .post(&url)
        .bearer_auth(&tok)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_envelope(&r.json().await.unwrap(), 400, "required");
    // The count follows.
    let (_, g) = get(
        &emu,
        &tok,
        &format!("/admin/directory/v1/groups/{}", group.replace('@', "%40")),
    )
    .await;
    assert_eq!(g["directMembersCount"], "1");
    let (_, hm) = get(
        &emu,
        &tok,
        &format!(
            "/admin/directory/v1/groups/{}/hasMember/{}",
            group, user.primary_email
        ),
    )
    .await;
    assert_eq!(hm, json!({"isMember": true}));
    // Delete: 204, then 404 memberKey.
    let del = format!("{url}/{}", user.primary_email.replace('@', "%40"));
    let r = client.delete(&del).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let r = client.delete(&del).bearer_auth(&tok).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let body: Value = r.json().await.unwrap();
    assert_envelope(&body, 404, "notFound");
    assert_eq!(body["error"]["message"], "Resource Not Found: memberKey");
    let r = client
        .delete(format!(
            "{}/admin/directory/v1/groups/nope%40example.com/members/x",
            emu.base_url()
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["message"],
        "Resource Not Found: groupKey"
    );
    let (_, g) = get(
        &emu,
        &tok,
        &format!("/admin/directory/v1/groups/{}", group.replace('@', "%40")),
    )
    .await;
    assert_eq!(g["directMembersCount"], "0");
    assert!(g.get("members").is_none());
    let (_, list) = get(
        &emu,
        &tok,
        &format!(
            "/admin/directory/v1/groups/{}/members",
            group.replace('@', "%40")
        ),
    )
    .await;
    assert!(
        list.get("members").is_none(),
        "empty member list omits the array: {list}"
    );
}

#[tokio::test]
async fn members_patch_sets_a_role_and_names_what_is_missing() {
    let emu = start(TenantSpec::small(15)).await;
    let tok = admin_token(&emu).await;
    let tenant = emu.tenant();
    let group = tenant
        .groups()
        .iter()
        .find(|g| g.members.is_empty())
        .unwrap()
        .clone();
    let (user, stranger) = {
        let mut live = tenant.live_users().skip(4);
        (live.next().unwrap().clone(), live.next().unwrap().clone())
    };
    let url = format!(
        "{}/admin/directory/v1/groups/{}/members",
        emu.base_url(),
        group.email.replace('@', "%40")
    );
    let member_url = |u: &str| format!("{url}/{}", u.replace('@', "%40"));
    let client = client();
    let r = client
        .post(&url)
        .bearer_auth(&tok)
        .json(&json!({"email": user.primary_email, "role": "MEMBER"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let patch = |key: String, body: Value| {
        client
            .patch(member_url(&key))
            .bearer_auth(&tok)
            .json(&body)
            .send()
    };
    // By email, then by id: the role changes and the member is answered.
    let r = patch(user.primary_email.clone(), json!({"role": "MANAGER"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(
        (m["id"].as_str(), m["role"].as_str()),
        (Some(user.id.as_str()), Some("MANAGER"))
    );
    let r = patch(user.id.clone(), json!({})).await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "no role: left as it is");
    assert_eq!(r.json::<Value>().await.unwrap()["role"], "MANAGER");
    let roles: Vec<Role> = emu
        .tenant()
        .group(&group.id)
        .unwrap()
        .members
        .iter()
        .map(|m| m.role)
        .collect();
    assert_eq!(roles, [Role::Manager]);
    // A bad role, a non-member and a missing group.
    let r = patch(user.id.clone(), json!({"role": "BOSS"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = patch(stranger.primary_email.clone(), json!({"role": "OWNER"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let body: Value = r.json().await.unwrap();
    assert_envelope(&body, 404, "notFound");
    assert_eq!(body["error"]["message"], "Resource Not Found: memberKey");
    let r = client
        .patch(format!(
            "{}/admin/directory/v1/groups/nope%40example.com/members/x",
            emu.base_url()
        ))
        .bearer_auth(&tok)
        .json(&json!({"role": "OWNER"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["message"],
        "Resource Not Found: groupKey"
    );
    let s = emu.stats();
    assert_eq!(s.members_patched, 2);
    assert_eq!(s.requests(PATCH_MEMBER_ROUTE), 5);
    assert_eq!(s.write_requests(), 6);
}
