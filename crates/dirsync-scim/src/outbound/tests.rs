//! The outbound client against `mockito` on 127.0.0.1: paging to `totalResults`, a listing that
//! stops short, a refused token, `Retry-After`, and no token in errors.

use std::time::Duration;

use dirsync_core::{
    DirectorySource, Error as CoreError, FetchRequest, IntegrationId, NoProgress, ObjectKind,
    ObjectKinds, ScopeFilter, Secret,
};
use serde_json::json;

use super::{ClientConfig, ScimClient};
use crate::ScimEndpoint;

type Result = std::result::Result<(), Box<dyn std::error::Error>>;

fn client(url: &str) -> std::result::Result<ScimClient, crate::Error> {
    ScimClient::new(
        &ScimEndpoint::new(url, "token").with_requests_per_minute(0),
        Secret::new("tok-SECRET"),
        IntegrationId::random(),
        ClientConfig::default()
            .with_page_size(2)
            .with_max_wait(Duration::from_millis(5)),
    )
}

fn users() -> std::result::Result<FetchRequest, CoreError> {
    Ok(FetchRequest::new(
        ObjectKinds::new([ObjectKind::Users, ObjectKind::OrgUnits])?,
        ScopeFilter::everything(),
    ))
}

fn user(id: &str) -> serde_json::Value {
    json!({"id": id, "userName": format!("{id}@example.com"), "active": true})
}

fn page(total: usize, start: usize, items: Vec<serde_json::Value>) -> String {
    json!({"totalResults": total, "startIndex": start, "itemsPerPage": items.len(), "Resources": items})
        .to_string()
}

#[tokio::test]
async fn pages_are_read_until_total_results_and_retry_after_is_honoured() -> Result {
    let mut server = mockito::Server::new_async().await;
    let busy = server
        .mock("GET", "/Users?startIndex=1&count=2")
        .with_status(429)
        .with_header("retry-after", "1")
        .expect(1)
        .create_async()
        .await;
    let first = server
        .mock("GET", "/Users?startIndex=1&count=2")
        .match_header("authorization", "Bearer tok-SECRET")
        .with_body(page(3, 1, vec![user("a"), user("b")]))
        .expect(1)
        .create_async()
        .await;
    let second = server
        .mock("GET", "/Users?startIndex=3&count=2")
        .with_body(page(3, 3, vec![user("c")]))
        .create_async()
        .await;
    let fetched = client(&server.url())?.fetch(&users()?, &NoProgress).await?;
    busy.assert_async().await;
    first.assert_async().await;
    second.assert_async().await;
    assert_eq!(fetched.snapshot.users().len(), 3);
    // No org units in SCIM: the snapshot says so by not holding the kind.
    assert!(!fetched.snapshot.kinds().contains(ObjectKind::OrgUnits));
    assert_eq!(fetched.stats.retries, 1);
    assert_eq!(fetched.stats.total_requests(), 3);
    Ok(())
}

#[tokio::test]
async fn a_listing_that_stops_short_is_an_error_never_a_smaller_snapshot() -> Result {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("GET", "/Users?startIndex=1&count=2")
        .with_body(page(5, 1, vec![user("a"), user("b")]))
        .create_async()
        .await;
    server
        .mock("GET", "/Users?startIndex=3&count=2")
        .with_body(page(5, 3, vec![]))
        .create_async()
        .await;
    let err = client(&server.url())?
        .fetch(&users()?, &NoProgress)
        .await
        .err()
        .ok_or("a short listing must fail")?;
    assert!(err.to_string().contains("stopped at 2 of the 5"), "{err}");
    Ok(())
}

#[tokio::test]
async fn a_refused_token_is_an_access_failure_that_never_shows_the_token() -> Result {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("GET", mockito::Matcher::Any)
        .with_status(401)
        .with_body(r#"{"detail": "bad token"}"#)
        .create_async()
        .await;
    let client = client(&server.url())?;
    let err = client
        .fetch(&users()?, &NoProgress)
        .await
        .err()
        .ok_or("a refused token must fail")?;
    assert!(matches!(err, CoreError::Access(_)), "{err:?}");
    assert!(!format!("{err:?} {err} {client:?}").contains("SECRET"));
    Ok(())
}

#[tokio::test]
async fn persistent_503s_fail_after_the_configured_tries() -> Result {
    let mut server = mockito::Server::new_async().await;
    let unavailable = server
        .mock("GET", mockito::Matcher::Any)
        .with_status(503)
        .expect(6)
        .create_async()
        .await;
    let err = client(&server.url())?
        .fetch(&users()?, &NoProgress)
        .await
        .err()
        .ok_or("must fail")?;
    unavailable.assert_async().await;
    assert!(
        matches!(
            err,
            CoreError::Remote {
                transient: true,
                status: Some(503),
                ..
            }
        ),
        "{err:?}"
    );
    Ok(())
}
