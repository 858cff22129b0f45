//! The directory's contents: users (with filters), groups and their members, org units.

use std::fmt::Write;

use anyhow::Result;
use dirsync_core::OrgUnitPath;
use dirsync_service::{Service, UserQuery};
use serde_json::Value;

use super::{matches, view_integration};
use crate::args::{UsersListArgs, ViewArgs};
use crate::output::Output;
use crate::render;

pub(super) async fn users(s: &Service, args: &UsersListArgs) -> Result<Output> {
    let mut query = UserQuery::new();
    if let Some(status) = args.status {
        query = query.status(status.into());
    }
    if let Some(ou) = &args.org_unit {
        query = query.org_unit(OrgUnitPath::new(ou)?);
    }
    if let Some(text) = &args.filter.query {
        query = query.text(text);
    }
    let mut users = s.store().users().await?;
    users.retain(|u| query.matches(u));
    let count = users.len();
    let out = Output::list(
        render::users(&users, &s.directory_attributes().await?),
        &[
            "primary_email",
            "display_name",
            "org_unit_path",
            "employment_type",
            "status",
            "manager_email",
        ],
    );
    let table = out.render(crate::cli::Format::Table, &[])?;
    Ok(out.with_text(format!("{table}\n{count} users")))
}

pub(super) async fn groups(s: &Service, args: &ViewArgs) -> Result<Output> {
    let view = s
        .store()
        .view(view_integration(s, args.integration.as_deref()).await?)
        .await?;
    let query = args.filter.query.as_deref().map(str::to_lowercase);
    let rows: Vec<Value> = render::groups(&view.groups, &view.memberships)
        .into_iter()
        .filter(|g| {
            query.as_deref().is_none_or(|q| {
                let field = |k: &str| g[k].as_str().unwrap_or_default().to_owned();
                matches(q, &[&field("email"), &field("name"), &field("description")])
            })
        })
        .collect();
    let mut text = String::new();
    for g in &rows {
        let members = g["members"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let _ = writeln!(
            text,
            "{}  {}  ({} members)",
            g["email"].as_str().unwrap_or(""),
            g["name"].as_str().unwrap_or(""),
            members.len()
        );
        for m in members {
            let _ = writeln!(
                text,
                "    {:<8} {:<8} {}",
                m["role"].as_str().unwrap_or(""),
                m["type"].as_str().unwrap_or(""),
                m["email"].as_str().unwrap_or("(everyone in the domain)")
            );
        }
    }
    let _ = write!(text, "{} groups", rows.len());
    Ok(Output::list(rows, &["email", "name", "member_count"]).with_text(text))
}

pub(super) async fn org_units(s: &Service, args: &ViewArgs) -> Result<Output> {
    let view = s
        .store()
        .view(view_integration(s, args.integration.as_deref()).await?)
        .await?;
    let query = args.filter.query.as_deref().map(str::to_lowercase);
    let mut units = view.org_units;
    units.retain(|o| {
        query
            .as_deref()
            .is_none_or(|q| matches(q, &[&o.path.to_string(), &o.name]))
    });
    units.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Output::list(render::org_units(&units), &["path", "name"]))
}
