//! The emulator's injected faults, end to end: latency, transient errors, failing pages, the
//! quota, load shedding, and the write faults; and the counters that see them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use dirsync_google_emulator::{Faults, RunningEmulator, TenantSpec};
use serde_json::{Value, json};

/// Five GETs of `path` sent at once; their answers.
async fn five_at_once(emu: &RunningEmulator, tok: &str, path: &str) -> [(u16, Value); 5] {
    let (a, b, c, d, e) = tokio::join!(
        get(emu, tok, path),
        get(emu, tok, path),
        get(emu, tok, path),
        get(emu, tok, path),
        get(emu, tok, path),
    );
    [a, b, c, d, e]
}

#[tokio::test]
async fn a_front_end_sheds_load_past_its_bound_with_503_backend_error() {
    let emu = start(TenantSpec::small(18)).await;
    let tok = admin_token(&emu).await;
    let path = format!("{USERS}?customer=my_customer&maxResults=10");
    // Five requests at once, each served for 200 ms, against a bound of two.
    emu.set_latency(Duration::from_millis(200));
    emu.set_max_in_flight(Some(2));
    emu.reset_stats();
    let answers = five_at_once(&emu, &tok, &path).await;
    assert_eq!(answers.iter().filter(|(s, _)| *s == 200).count(), 2);
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 503);
        assert_eq!(body["error"]["errors"][0]["reason"], "backendError");
    }
    assert_eq!(emu.stats().overload_rejections, 3);
    // The token endpoint is not the Directory API: never shed.
    emu.set_max_in_flight(Some(1));
    let (t1, t2) = tokio::join!(admin_token(&emu), admin_token(&emu));
    assert!(!t1.is_empty() && !t2.is_empty());
    assert_eq!(emu.stats().overload_rejections, 3);
    // The bound lifted, all five are answered.
    emu.set_max_in_flight(None);
    let answers = five_at_once(&emu, &tok, &path).await;
    assert!(answers.iter().all(|(s, _)| *s == 200));
    assert_eq!(emu.stats().overload_rejections, 3);
}

#[tokio::test]
async fn injected_latency_errors_failing_pages_and_quota() {
    let emu = start(TenantSpec::small(18)).await;
    let tok = admin_token(&emu).await;
    let path = format!("{USERS}?customer=my_customer&maxResults=10");
    // Latency.
    // Latency: a request waits it out before an answer (a client that gives up after 50 ms
    // sees none while the latency is 30 s, and an answer once it is gone).
    emu.set_latency(Duration::from_secs(30));
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let url = format!("{}{path}", emu.base_url());
    let err = impatient
        .get(&url)
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    emu.set_latency(Duration::ZERO);
    assert_eq!(get(&emu, &tok, &path).await.0, 200);
    // Transient errors: every request fails with one of the three kinds.
    emu.set_faults(Faults {
        error_rate: 1.0,
        seed: 3,
        ..Faults::default()
    });
    let mut seen = HashSet::new();
    for _ in 0..30 {
        let (status, body) = get(&emu, &tok, &path).await;
        let reason = body["error"]["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(matches!(
            (status, reason.as_str()),
            (503, "backendError") | (429, "rateLimitExceeded") | (403, "userRateLimitExceeded")
        ));
        seen.insert(status);
    }
    assert_eq!(seen.len(), 3);
    assert_eq!(emu.stats().errors_injected, 30);
    emu.set_faults(Faults {
        error_rate: 0.3,
        seed: 3,
        ..Faults::default()
    });
    let mut ok = 0;
    for _ in 0..40 {
        ok += usize::from(get(&emu, &tok, &path).await.0 == 200);
    }
    assert!((10..40).contains(&ok), "{ok}");
    emu.set_faults(Faults::default());
    // A failing page: page 2 of the users chain fails every time; page 0 and 1 work.
    emu.fail_page("GET /admin/directory/v1/users", 2, 503);
    let (_, p0) = get(&emu, &tok, &path).await;
    let t1 = p0["nextPageToken"].as_str().unwrap().to_owned();
    let (s1, p1) = get(&emu, &tok, &format!("{path}&pageToken={t1}")).await;
    assert_eq!(s1, 200);
    let t2 = p1["nextPageToken"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let (s2, body) = get(&emu, &tok, &format!("{path}&pageToken={t2}")).await;
        assert_eq!(s2, 503);
        assert_envelope(&body, 503, "backendError");
    }
    emu.clear_failing_pages();
    assert_eq!(
        get(&emu, &tok, &format!("{path}&pageToken={t2}")).await.0,
        200
    );
    // Quota per subject.
    emu.set_quota_per_minute(Some(5));
    for _ in 0..5 {
        assert_eq!(get(&emu, &tok, &path).await.0, 200);
    }
    let (status, body) = get(&emu, &tok, &path).await;
    assert_eq!(status, 403);
    assert_envelope(&body, 403, "userRateLimitExceeded");
    assert_eq!(emu.stats().quota_rejections, 1);
    emu.set_quota_per_minute(None);
    assert_eq!(get(&emu, &tok, &path).await.0, 200);
}

#[tokio::test]
async fn stats_count_routes_and_concurrency() {
    let emu = start(TenantSpec::small(19)).await;
    let tok = admin_token(&emu).await;
    emu.reset_stats();
    emu.set_latency(Duration::from_millis(100));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let url = format!(
            "{}/admin/directory/v1/groups?customer=my_customer",
            emu.base_url()
        );
        let tok = tok.clone();
        tasks.push(tokio::spawn(async move {
            client()
                .get(url)
                .bearer_auth(tok)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().as_u16(), 200);
    }
    let s = emu.stats();
    assert_eq!(s.requests("GET /admin/directory/v1/groups"), 8);
    assert_eq!(s.requests_total, 8);
    assert!(s.max_in_flight >= 2, "{s:?}");
    assert_eq!(s.in_flight, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn write_faults_apply_to_inserts_and_deletes_and_writes_are_counted() {
    let emu = start(TenantSpec::small(20)).await;
    let tok = admin_token(&emu).await;
    let tenant = emu.tenant();
    let mut small = tenant.groups().iter().filter(|g| g.members.len() < 20);
    let (g1, g2) = (small.next().unwrap().clone(), small.next().unwrap().clone());
    let users: Vec<String> = tenant
        .live_users()
        .filter(|u| !g1.members.iter().chain(&g2.members).any(|m| m.id == u.id))
        .map(|u| u.primary_email.clone())
        .take(3)
        .collect();
    let members = |g: &str| {
        format!(
            "{}/admin/directory/v1/groups/{}/members",
            emu.base_url(),
            g.replace('@', "%40")
        )
    };
    let insert = |g: &str, u: &str| {
        client()
            .post(members(g))
            .bearer_auth(&tok)
            .json(&json!({"email": u, "role": "MEMBER"}))
            .send()
    };
    let delete = |g: &str, u: &str| {
        client()
            .delete(format!("{}/{}", members(g), u.replace('@', "%40")))
            .bearer_auth(&tok)
            .send()
    };
    // Every write to g2 (named by email, written by id) fails; g1 is untouched by the fault.
    emu.fail_group_writes(&g2.email, 400);
    let r = insert(&g2.id, &users[0]).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_envelope(&r.json().await.unwrap(), 400, "badRequest");
    assert_eq!(delete(&g2.email, &users[0]).await.unwrap().status(), 400);
    assert_eq!(insert(&g1.id, &users[0]).await.unwrap().status(), 200);
    emu.clear_failing_groups();
    // The 2nd write from now fails once with 503; the retry (the 3rd write) succeeds.
    emu.set_faults(Faults {
        failing_writes: vec![1],
        ..Faults::default()
    });
    assert_eq!(insert(&g1.id, &users[1]).await.unwrap().status(), 200);
    let r = insert(&g1.id, &users[2]).await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert_envelope(&r.json().await.unwrap(), 503, "backendError");
    assert_eq!(insert(&g1.id, &users[2]).await.unwrap().status(), 200);
    assert_eq!(delete(&g1.email, &users[0]).await.unwrap().status(), 204);
    // Transient errors, latency and quota apply to writes as to reads.
    emu.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let status = delete(&g1.id, &users[1]).await.unwrap().status().as_u16();
    assert!(matches!(status, 503 | 429 | 403), "{status}");
    emu.set_faults(Faults {
        quota_per_minute: Some(0),
        ..Faults::default()
    });
    let r = delete(&g1.id, &users[1]).await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_envelope(&r.json().await.unwrap(), 403, "userRateLimitExceeded");
    emu.set_faults(Faults::default());
    let s = emu.stats();
    assert_eq!((s.members_inserted, s.members_deleted), (3, 1));
    assert_eq!(s.write_requests(), 9);
    assert_eq!(s.errors_injected, 4);
    assert_eq!(s.quota_rejections, 1);
    let g1_now: HashSet<String> = emu
        .tenant()
        .group(&g1.id)
        .unwrap()
        .members
        .iter()
        .filter_map(|m| m.email.clone())
        .collect();
    assert!(g1_now.contains(&users[1]) && g1_now.contains(&users[2]));
    assert!(!g1_now.contains(&users[0]));
    assert_eq!(emu.tenant().group(&g2.id).unwrap().members, g2.members);
}
