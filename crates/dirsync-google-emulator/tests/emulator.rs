//! End-to-end checks of the emulator's reads against the shapes and behaviour in
//! `reference/google-directory-api.md`: users, groups, members and org units, pagination,
//! field masks, gzip, determinism. Authorization, membership writes and injected faults have
//! files of their own (`auth.rs`, `member_writes.rs`, `faults.rs`).

// Test helpers (not `#[test]` functions themselves) may unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;

use dirsync_google_emulator::{NewUser, Role, RunningEmulator, TenantSpec};
use serde_json::{Value, json};

mod common;

use common::*;

#[tokio::test]
async fn gcp_auth_token_then_users_list() {
    let emu = start(TenantSpec::small(1)).await;
    let sa = gcp_auth::CustomServiceAccount::from_json(&emu.service_account_key_json())
        .unwrap()
        .with_subject(emu.admin_subject());
    use gcp_auth::TokenProvider as _;
    let token = sa.token(&[USER_RO]).await.unwrap();
    let (status, body) = get(
        &emu,
        token.as_str(),
        &format!("{USERS}?customer=my_customer&maxResults=5"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["users"].as_array().unwrap().len(), 5);
    assert_eq!(emu.stats().tokens_issued, 1);
    let key: Value = serde_json::from_str(&emu.service_account_key_json()).unwrap();
    for field in [
        "type",
        "project_id",
        "private_key_id",
        "private_key",
        "client_email",
        "client_id",
        "token_uri",
    ] {
        assert!(key[field].is_string(), "{field}");
    }
    assert_eq!(key["type"], "service_account");
    assert_eq!(key["token_uri"], json!(emu.token_uri()));
}

#[tokio::test]
async fn user_shape_matches_reference() {
    let emu = start(TenantSpec::small(2)).await;
    let tok = admin_token(&emu).await;
    let (_, body) = get(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&maxResults=500"),
    )
    .await;
    let users = body["users"].as_array().unwrap();
    assert!(body.get("nextPageToken").is_none());
    for u in users {
        assert_eq!(u["kind"], "admin#directory#user");
        for f in [
            "id",
            "etag",
            "primaryEmail",
            "creationTime",
            "orgUnitPath",
            "customerId",
            "lastLoginTime",
        ] {
            assert!(u[f].is_string(), "{f} in {u}");
        }
        assert!(u["name"]["fullName"].is_string());
        assert!(u["suspended"].is_boolean() && u["isAdmin"].is_boolean());
        assert_eq!(u["externalIds"][0]["type"], "organization");
        assert!(
            u["externalIds"][0]["value"]
                .as_str()
                .unwrap()
                .starts_with("E-")
        );
        assert_eq!(u["organizations"][0]["primary"], true);
        let d = u["organizations"][0]["description"].as_str().unwrap();
        assert!(d == "employee" || d == "contractor");
        if let Some(r) = u.get("relations") {
            assert_eq!(r[0]["type"], "manager");
        }
        assert_eq!(u["suspended"] == true, u.get("suspensionReason").is_some());
        assert!(u.get("deletionTime").is_none());
    }
    let one = &users[3];
    let (status, got) = get(
        &emu,
        &tok,
        &format!(
            "{USERS}/{}",
            one["primaryEmail"].as_str().unwrap().replace('@', "%40")
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(&got, one);
    let (status, got) = get(
        &emu,
        &tok,
        &format!("{USERS}/{}", one["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!((status, &got), (200, one));
    let (status, body) = get(&emu, &tok, &format!("{USERS}/nobody%40example.com")).await;
    assert_eq!(status, 404);
    assert_envelope(&body, 404, "notFound");
    assert_eq!(body["error"]["message"], "Resource Not Found: userKey");
}

#[tokio::test]
async fn users_pagination_visits_every_user_once() {
    let emu = start(TenantSpec::sized(3, 230)).await;
    let tok = admin_token(&emu).await;
    let expected: HashSet<String> = emu.tenant().live_users().map(|u| u.id.clone()).collect();
    for size in [1usize, 7, 100, 229, 230, 500] {
        let (items, pages) = collect(
            &emu,
            &tok,
            &format!("{USERS}?customer=my_customer&maxResults={size}"),
            "users",
            "admin#directory#users",
        )
        .await;
        let ids: Vec<String> = items
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect();
        let set: HashSet<String> = ids.iter().cloned().collect();
        assert_eq!(ids.len(), set.len(), "duplicates at size {size}");
        assert_eq!(set, expected, "size {size}");
        assert_eq!(pages, 230usize.div_ceil(size), "size {size}");
        let emails: Vec<&str> = items
            .iter()
            .map(|u| u["primaryEmail"].as_str().unwrap())
            .collect();
        assert!(emails.windows(2).all(|w| w[0] < w[1]), "sorted by email");
    }
    // Default page size is 100.
    let (_, body) = get(&emu, &tok, &format!("{USERS}?customer=my_customer")).await;
    assert_eq!(body["users"].as_array().unwrap().len(), 100);
    // Descending order is the reverse.
    let (items, _) = collect(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&maxResults=50&orderBy=email&sortOrder=DESCENDING"),
        "users",
        "admin#directory#users",
    )
    .await;
    let emails: Vec<&str> = items
        .iter()
        .map(|u| u["primaryEmail"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 230);
    assert!(emails.windows(2).all(|w| w[0] > w[1]));
}

#[tokio::test]
async fn max_results_bounds_and_bad_page_tokens() {
    let emu = start(TenantSpec::small(4)).await;
    let tok = admin_token(&emu).await;
    for (path, bad, good) in [
        (
            format!("{USERS}?customer=my_customer"),
            ["0", "501", "x"],
            "500",
        ),
        (
            "/admin/directory/v1/groups?customer=my_customer".to_owned(),
            ["0", "201", "-1"],
            "200",
        ),
        (
            "/admin/directory/v1/groups/all-staff%40example.com/members".to_owned(),
            ["0", "201", "1.5"],
            "200",
        ),
    ] {
        for b in bad {
            let (status, body) = get(
                &emu,
                &tok,
                &format!(
                    "{path}{}maxResults={b}",
                    if path.contains('?') { '&' } else { '?' }
                ),
            )
            .await;
            assert_eq!(status, 400, "{path} {b}");
            assert_envelope(&body, 400, "invalid");
        }
        let (status, _) = get(
            &emu,
            &tok,
            &format!(
                "{path}{}maxResults={good}",
                if path.contains('?') { '&' } else { '?' }
            ),
        )
        .await;
        assert_eq!(status, 200);
    }
    // A token from another listing, or garbage, is refused.
    let (_, body) = get(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&maxResults=2"),
    )
    .await;
    let t = body["nextPageToken"].as_str().unwrap();
    let (status, body) = get(
        &emu,
        &tok,
        &format!("/admin/directory/v1/groups?customer=my_customer&pageToken={t}"),
    )
    .await;
    assert_eq!(status, 400);
    assert_envelope(&body, 400, "invalid");
    let (status, _) = get(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&pageToken=garbage!"),
    )
    .await;
    assert_eq!(status, 400);
    // customer or domain is required; a foreign customer is forbidden.
    let (status, body) = get(&emu, &tok, USERS).await;
    assert_eq!(status, 400);
    assert_envelope(&body, 400, "badRequest");
    let (status, _) = get(&emu, &tok, &format!("{USERS}?customer=C0other")).await;
    assert_eq!(status, 403);
    let customer = emu.tenant().customer_id().to_owned();
    let (status, _) = get(&emu, &tok, &format!("{USERS}?customer={customer}")).await;
    assert_eq!(status, 200);
    let (status, _) = get(&emu, &tok, &format!("{USERS}?domain=example.com")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn groups_and_members_shapes_and_pagination() {
    let emu = start(TenantSpec::sized(5, 450)).await;
    let tok = admin_token(&emu).await;
    let tenant = emu.tenant();
    let (groups, pages) = collect(
        &emu,
        &tok,
        "/admin/directory/v1/groups?customer=my_customer&maxResults=7",
        "groups",
        "admin#directory#groups",
    )
    .await;
    assert_eq!(groups.len(), tenant.groups().len());
    assert_eq!(pages, tenant.groups().len().div_ceil(7));
    let mut saw_group_member = false;
    let mut saw_customer = false;
    let mut saw_empty = false;
    for g in &groups {
        assert_eq!(g["kind"], "admin#directory#group");
        let count: usize = g["directMembersCount"]
            .as_str()
            .expect("count is a string")
            .parse()
            .unwrap();
        let email = g["email"].as_str().unwrap();
        let tg = tenant.group(email).unwrap();
        assert_eq!(count, tg.members.len());
        let sizes: &[usize] = if count <= 20 { &[1, 3, 200] } else { &[7, 200] };
        for &size in sizes {
            let path = format!(
                "/admin/directory/v1/groups/{}/members?maxResults={size}",
                email.replace('@', "%40")
            );
            let (members, _) =
                collect(&emu, &tok, &path, "members", "admin#directory#members").await;
            assert_eq!(members.len(), count, "{email} at {size}");
            let ids: HashSet<&str> = members.iter().map(|m| m["id"].as_str().unwrap()).collect();
            assert_eq!(ids.len(), count);
            if size == 200 {
                saw_empty |= count == 0;
                for m in &members {
                    assert_eq!(m["kind"], "admin#directory#member");
                    let role = m["role"].as_str().unwrap();
                    assert!(["OWNER", "MANAGER", "MEMBER"].contains(&role));
                    match m["type"].as_str().unwrap() {
                        "USER" => assert!(m["email"].is_string()),
                        "GROUP" => {
                            saw_group_member = true;
                            assert_eq!(m["status"], "ACTIVE");
                        }
                        "CUSTOMER" => {
                            saw_customer = true;
                            assert!(m.get("email").is_none());
                            assert_eq!(m["id"], json!(tenant.customer_id()));
                        }
                        other => panic!("type {other}"),
                    }
                }
            }
        }
    }
    assert!(saw_group_member && saw_customer && saw_empty);
    // The all-staff group holds every live user.
    let all = tenant.groups()[0].email.replace('@', "%40");
    let (members, pages) = collect(
        &emu,
        &tok,
        &format!("/admin/directory/v1/groups/{all}/members"),
        "members",
        "admin#directory#members",
    )
    .await;
    assert_eq!(members.len(), 450);
    assert_eq!(pages, 3);
    let (status, body) = get(
        &emu,
        &tok,
        "/admin/directory/v1/groups/none%40example.com/members",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["message"], "Resource Not Found: groupKey");
}

#[tokio::test]
async fn show_deleted_lists_only_deleted_users() {
    let emu = start(TenantSpec::small(6)).await;
    let tok = admin_token(&emu).await;
    let (deleted, _) = collect(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&showDeleted=true"),
        "users",
        "admin#directory#users",
    )
    .await;
    assert_eq!(deleted.len(), 2);
    assert!(deleted.iter().all(|u| u["deletionTime"].is_string()));
    let victim = emu.tenant().users()[5].primary_email.clone();
    emu.remove_user(&victim).unwrap();
    let (deleted, _) = collect(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&showDeleted=true"),
        "users",
        "admin#directory#users",
    )
    .await;
    assert_eq!(deleted.len(), 3);
    assert!(deleted.iter().any(|u| u["primaryEmail"] == json!(victim)));
    let (live, _) = collect(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer"),
        "users",
        "admin#directory#users",
    )
    .await;
    assert_eq!(live.len(), 49);
    assert!(live.iter().all(|u| u["primaryEmail"] != json!(victim)));
}

#[tokio::test]
async fn fields_masks_and_query_subset() {
    let emu = start(TenantSpec::sized(7, 120)).await;
    let tok = admin_token(&emu).await;
    let (_, body) = get(&emu, &tok, &format!("{USERS}?customer=my_customer&maxResults=10&fields=nextPageToken,users(id,primaryEmail,name/fullName,relations)")).await;
    let obj = body.as_object().unwrap();
    assert!(
        obj.keys().all(|k| k == "users" || k == "nextPageToken"),
        "{body}"
    );
    assert!(body["nextPageToken"].is_string());
    for u in body["users"].as_array().unwrap() {
        let keys: HashSet<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
        assert!(
            keys.is_subset(&HashSet::from(["id", "primaryEmail", "name", "relations"])),
            "{u}"
        );
        assert_eq!(u["name"].as_object().unwrap().len(), 1);
    }
    // Without nextPageToken in the mask, paging silently stops (as at Google).
    let (_, body) = get(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&maxResults=10&fields=users(id)"),
    )
    .await;
    assert!(body.get("nextPageToken").is_none());
    let (status, _) = get(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&fields=users(id"),
    )
    .await;
    assert_eq!(status, 400);
    // query=orgUnitPath='/X' selects the unit and its sub-units.
    let tenant = emu.tenant();
    let dept = tenant.org_units()[1].path.clone();
    let expected = tenant
        .live_users()
        .filter(|u| u.org_unit_path == dept || u.org_unit_path.starts_with(&format!("{dept}/")))
        .count();
    let q = format!("orgUnitPath='{dept}'")
        .replace('\'', "%27")
        .replace('/', "%2F");
    let (users, _) = collect(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&query={q}"),
        "users",
        "admin#directory#users",
    )
    .await;
    assert_eq!(users.len(), expected);
    assert!(expected > 0);
    let (users, _) = collect(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&query=isSuspended%3Dtrue"),
        "users",
        "admin#directory#users",
    )
    .await;
    assert_eq!(
        users.len(),
        tenant.live_users().filter(|u| u.suspended).count()
    );
    let (status, _) = get(
        &emu,
        &tok,
        &format!("{USERS}?customer=my_customer&query=foo%3Dbar"),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn gzip_when_asked() {
    let emu = start(TenantSpec::small(8)).await;
    let tok = admin_token(&emu).await;
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let url = format!("{}{USERS}?customer=my_customer", emu.base_url());
    let r = client
        .get(&url)
        .bearer_auth(&tok)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("content-encoding").unwrap(), "gzip");
    let r = client.get(&url).bearer_auth(&tok).send().await.unwrap();
    assert!(r.headers().get("content-encoding").is_none());
    // reqwest's transparent gzip decodes it.
    let (status, body) = get(&emu, &tok, &format!("{USERS}?customer=my_customer")).await;
    assert_eq!(status, 200);
    assert!(body["users"].is_array());
}

#[tokio::test]
async fn org_units_and_customer() {
    let emu = start(TenantSpec {
        org_units: 14,
        ..TenantSpec::small(15)
    })
    .await;
    let tok = admin_token(&emu).await;
    let base = "/admin/directory/v1/customer/my_customer/orgunits";
    let (status, all) = get(&emu, &tok, &format!("{base}?type=all")).await;
    assert_eq!(status, 200);
    assert_eq!(all["kind"], "admin#directory#orgUnits");
    assert!(all.get("nextPageToken").is_none());
    let units = all["organizationUnits"].as_array().unwrap();
    assert_eq!(units.len(), 14);
    for u in units {
        assert_eq!(u["kind"], "admin#directory#orgUnit");
        assert!(u["orgUnitId"].as_str().unwrap().starts_with("id:"));
        assert!(u["parentOrgUnitPath"].is_string() && u["parentOrgUnitId"].is_string());
        assert_ne!(u["orgUnitPath"], "/");
    }
    let (_, children) = get(&emu, &tok, base).await;
    assert_eq!(children["organizationUnits"].as_array().unwrap().len(), 10);
    let (_, with_root) = get(&emu, &tok, &format!("{base}?type=allIncludingParent")).await;
    assert_eq!(with_root["organizationUnits"].as_array().unwrap().len(), 15);
    let leaf = units.last().unwrap();
    let path = leaf["orgUnitPath"]
        .as_str()
        .unwrap()
        .trim_start_matches('/')
        .to_owned();
    let (status, got) = get(&emu, &tok, &format!("{base}/{path}")).await;
    assert_eq!((status, &got), (200, leaf));
    let (_, leaf_children) = get(
        &emu,
        &tok,
        &format!(
            "{base}?type=children&orgUnitPath={}",
            leaf["orgUnitId"].as_str().unwrap()
        ),
    )
    .await;
    assert!(
        leaf_children.get("organizationUnits").is_none(),
        "{leaf_children}"
    );
    let (status, c) = get(&emu, &tok, "/admin/directory/v1/customers/my_customer").await;
    assert_eq!(status, 200);
    assert_eq!(c["kind"], "admin#directory#customer");
    assert_eq!(c["id"], json!(emu.tenant().customer_id()));
    assert_eq!(c["customerDomain"], "example.com");
}

#[tokio::test]
async fn same_seed_same_bytes() {
    let a = start(TenantSpec::sized(16, 120)).await;
    let b = start(TenantSpec::sized(16, 120)).await;
    let (ta, tb) = (admin_token(&a).await, admin_token(&b).await);
    for path in [
        format!("{USERS}?customer=my_customer&maxResults=50"),
        "/admin/directory/v1/groups?customer=my_customer".to_owned(),
        "/admin/directory/v1/groups/all-staff%40example.com/members?maxResults=30".to_owned(),
        "/admin/directory/v1/customer/my_customer/orgunits?type=all".to_owned(),
    ] {
        let fetch = |emu: &RunningEmulator, tok: &str| {
            let url = format!("{}{path}", emu.base_url());
            let tok = tok.to_owned();
            async move {
                client()
                    .get(url)
                    .bearer_auth(tok)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(fetch(&a, &ta).await, fetch(&b, &tb).await, "{path}");
    }
}

#[tokio::test]
async fn mutations_are_visible() {
    let emu = start(TenantSpec::small(17)).await;
    let tok = admin_token(&emu).await;
    let mut new = NewUser::new("new.hire@example.com", "New", "Hire");
    new.employee_id = Some("E-99999".into());
    new.manager_email = Some(emu.admin_subject());
    let user = emu.add_user(new).unwrap();
    let (status, got) = get(&emu, &tok, &format!("{USERS}/new.hire%40example.com")).await;
    assert_eq!(status, 200);
    assert_eq!(got["id"], json!(user.id));
    assert_eq!(got["relations"][0]["value"], json!(emu.admin_subject()));
    emu.suspend_user(&user.id).unwrap();
    let (_, got) = get(&emu, &tok, &format!("{USERS}/{}", user.id)).await;
    assert_eq!(got["suspended"], true);
    let g = emu.add_group("new-group@example.com", "New group").unwrap();
    emu.add_member(&g.email, &user.primary_email, Role::Owner)
        .unwrap();
    let (_, members) = get(
        &emu,
        &tok,
        "/admin/directory/v1/groups/new-group%40example.com/members",
    )
    .await;
    assert_eq!(members["members"][0]["role"], "OWNER");
    assert_eq!(members["members"][0]["status"], "SUSPENDED");
    emu.remove_member(&g.email, &user.id).unwrap();
    let (_, members) = get(
        &emu,
        &tok,
        "/admin/directory/v1/groups/new-group%40example.com/members",
    )
    .await;
    assert!(members.get("members").is_none());
    let (groups, _) = collect(
        &emu,
        &tok,
        "/admin/directory/v1/groups?customer=my_customer",
        "groups",
        "admin#directory#groups",
    )
    .await;
    assert_eq!(groups.len(), 11);
    emu.remove_user(&user.primary_email).unwrap();
    let (status, _) = get(&emu, &tok, &format!("{USERS}/{}", user.id)).await;
    assert_eq!(status, 404);
}
