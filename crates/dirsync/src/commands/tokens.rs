//! API tokens for `dirsync serve`: create (shown once), list, revoke.

use anyhow::Result;
use dirsync_core::ApiToken;
use dirsync_service::Service;
use serde_json::{Value, json};

use crate::output::Output;

fn view(t: &ApiToken) -> Value {
    json!({"name": t.name, "read_only": t.read_only, "created_at": t.created_at})
}

pub(super) async fn create(s: &Service, name: &str, read_only: bool) -> Result<Output> {
    let made = s.create_api_token(name, read_only).await?;
    let token = made.secret.expose_secret();
    Ok(Output::new(
        json!({"name": made.record.name, "token": token, "read_only": read_only}),
        format!(
            "API token {name}{}:\n\n    {token}\n\nIt is shown this once: only its hash is kept. \
             Send it as `Authorization: Bearer <token>`.",
            if read_only { " (read-only)" } else { "" }
        ),
    ))
}

pub(super) async fn list(s: &Service) -> Result<Output> {
    let tokens = s.api_tokens().await?;
    Ok(Output::list(
        tokens.iter().map(view).collect(),
        &["name", "read_only", "created_at"],
    ))
}

pub(super) async fn revoke(s: &Service, name: &str) -> Result<Output> {
    let revoked = s.revoke_api_token(name).await?;
    Ok(Output::new(
        json!({"name": revoked.name, "revoked": true}),
        format!("API token {} revoked", revoked.name),
    ))
}
