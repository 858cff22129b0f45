//! Tokens: API tokens for `dirsync serve` (create, shown once; list; revoke), and SCIM
//! integrations with their bearer tokens (create, rotate; shown once).

use anyhow::{Context, Result};
use dirsync_core::{ApiToken, IntegrationId, Secret};
use dirsync_scim::ScimEndpoint;
use dirsync_service::Service;
use dirsync_service::views::CreatedView;
use serde_json::{Value, json};

use crate::args::{ScimCreateArgs, ScimDirection};
use crate::output::Output;

/// `console:login`: a one-time sign-in link for the web console.
pub(super) async fn console_login(s: &Service, public_url: &str) -> Result<Output> {
    let token = s.create_console_bootstrap().await?;
    let url = dirsync_console::bootstrap_url(public_url, token.expose_secret());
    let text = format!(
        "Open this link to sign in to the console as a full operator (once, within {} minutes):\n\n    {url}",
        dirsync_service::BOOTSTRAP_LIFETIME_MINUTES
    );
    Ok(Output::new(json!({ "url": url }), text))
}

pub(super) async fn create_scim(s: &Service, args: ScimCreateArgs) -> Result<Output> {
    if args.direction == ScimDirection::Outbound {
        return create_scim_outbound(s, args).await;
    }
    let made = s.create_scim_integration(&args.title).await?;
    let token = made.token.expose_secret();
    let mut json = serde_json::to_value(CreatedView::from(&made.created))?;
    if let Value::Object(map) = &mut json {
        map.insert("scim_base_path".to_owned(), json!(made.scim_base_path));
        map.insert("token".to_owned(), json!(token));
        map.insert(
            "text".to_owned(),
            json!("Give the identity provider the server's URL followed by scim_base_path, and the token."),
        );
    }
    let any = &made.created.integration;
    let text = format!(
        "created SCIM integration {} ({}, inbound{})\n\nSCIM base path (below the server's URL):\n\n    {}\n\nBearer token:\n\n    {token}\n\n\
         It is shown this once: only its hash is kept (a new one: dirsync integration:rotate-token {}).",
        any.id(),
        any.state(),
        if any.is_primary() { ", primary" } else { "" },
        made.scim_base_path,
        any.id(),
    );
    Ok(Output::new(json, text))
}

/// An outbound SCIM integration: the token read from its file and kept sealed.
async fn create_scim_outbound(s: &Service, args: ScimCreateArgs) -> Result<Output> {
    let (Some(url), Some(file)) = (args.base_url, args.token_file) else {
        anyhow::bail!("an outbound SCIM integration needs --base-url and --token-file");
    };
    let token = std::fs::read_to_string(&file)
        .with_context(|| format!("reading the token file {}", file.display()))?;
    let token = token.trim();
    if token.is_empty() {
        anyhow::bail!("the token file {} is empty", file.display());
    }
    let mut endpoint = ScimEndpoint::new(url, Service::new_scim_token_name());
    if let Some(n) = args.requests_per_minute {
        endpoint = endpoint.with_requests_per_minute(n);
    }
    let made = s
        .create_scim_outbound(&args.title, endpoint, &Secret::new(token))
        .await?;
    let json = serde_json::to_value(CreatedView::from(&made))?;
    let any = &made.integration;
    let text = format!(
        "created outbound SCIM integration {} ({}); the token is kept sealed in the secret store.\n\n\
         Next: add what it provisions, e.g.\n\n    \
         dirsync rule:add {} --name people --provision users --select '\"everyone\"'\n\n\
         then `dirsync sync --dry-run {}` to see the plan.",
        any.id(),
        any.state(),
        any.id(),
        any.id(),
    );
    Ok(Output::new(json, text))
}

pub(super) async fn rotate_scim(s: &Service, id: IntegrationId) -> Result<Output> {
    let token = s.rotate_scim_token(id).await?;
    let token = token.expose_secret();
    Ok(Output::new(
        json!({"id": id.to_string(), "token": token}),
        format!(
            "new bearer token for integration {id}:\n\n    {token}\n\nThe old token is refused from now on. \
             It is shown this once: only its hash is kept."
        ),
    ))
}

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
