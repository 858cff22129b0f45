//! One function per command, over the service API.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc, Weekday};
use dirsync_core::{
    AnyIntegration, DayOfMonth, DirectionKind, Email, EmploymentType, GoogleSettings,
    GroupAssignment, IntegrationId, KeyOwnership, KeyReference, MemberRole, ObjectKind,
    ObjectKinds, OrgUnitPath, PlanId, RuleId, RunOutcome, Schedule, ScopeFilter, Selector, SyncRun,
    TimeOfDay, Trigger,
};
use dirsync_service::{CreateGoogle, Error as ServiceError, NewRule, Reauthorize, Service};
use dirsync_sqlite::SqliteStore;
use dirsync_store::Error as StoreError;
use serde_json::{Value, json};

use crate::cli::{
    Cli, Command, CreateArgs, Direction, MemberRoleArg, Ownership, RuleAddArgs, ScheduleKind,
};
use crate::{Code, Output, render};
use dirsync_service::TerminalProgress as Bars;

/// Runs the command line's command.
pub(crate) async fn run(cli: Cli, bars: &Bars) -> Result<Output> {
    let store = SqliteStore::open(&cli.db)
        .with_context(|| format!("opening the directory {}", cli.db.display()))?;
    let mut service = Service::new(Arc::new(store), Arc::new(crate::tuning::connectors()))
        .with_lease(crate::tuning::lease_ttl());
    if let Some(url) = &cli.notify_url {
        service = service.with_notifier(Arc::new(crate::notify::Webhook::new(url)?));
    }
    let s = &service;
    match cli.command {
        Command::GoogleCreate(args) => create(s, args).await,
        Command::GoogleActivate { id } => activate(s, &id, bars).await,
        Command::IntegrationList => list_integrations(s).await,
        Command::IntegrationShow { id } => show(s, &id).await,
        Command::IntegrationDeactivate { id } => {
            let any = s.deactivate(integration_id(&id)?).await?;
            Ok(state_change(&any, "deactivated"))
        }
        Command::IntegrationReactivate { id } => {
            let any = s.reactivate(integration_id(&id)?).await?;
            Ok(state_change(&any, "reactivated"))
        }
        Command::IntegrationReauthorize(args) => {
            let change = Reauthorize {
                subject: args.subject.as_deref().map(Email::new).transpose()?,
                key: args.key.as_deref().map(key_reference).transpose()?,
                ownership: args.ownership.map(ownership),
            };
            let any = s.reauthorize(integration_id(&args.id)?, change).await?;
            Ok(state_change(&any, "reauthorized"))
        }
        Command::IntegrationRemove { id } => {
            let removed = s.remove(integration_id(&id)?).await?;
            let json = serde_json::to_value(removed)?;
            Ok(ok(
                json!({"id": id, "removed": json}),
                format!("removed integration {id} and what it owned: {json}"),
            ))
        }
        Command::RuleAdd(args) => add_rule(s, args).await,
        Command::RuleList { id } => {
            let rules = s.rules(integration_id(&id)?).await?;
            let rows: Vec<Vec<String>> = rules
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.name.clone(),
                        r.kinds.to_string(),
                        serde_json::to_string(&r.scope).unwrap_or_default(),
                        r.trigger.to_string(),
                        r.last_run_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    ]
                })
                .collect();
            Ok(ok(
                Value::Array(rules.iter().map(render::rule).collect()),
                render::table(
                    &["id", "name", "kinds", "scope", "trigger", "last run"],
                    &rows,
                ),
            ))
        }
        Command::RuleRemove { id, rule } => {
            let removed = s.remove_rule(integration_id(&id)?, rule_id(&rule)?).await?;
            Ok(ok(
                render::rule(&removed),
                format!("removed rule {} ({})", removed.id, removed.name),
            ))
        }
        Command::RuleRun { id, rule } => {
            let run = s
                .run_rule(integration_id(&id)?, rule_id(&rule)?, bars)
                .await?;
            Ok(run_output(&run))
        }
        Command::Sync { id, dry_run } => {
            let id = integration_id(&id)?;
            if dry_run {
                dry(s, id, bars).await
            } else {
                Ok(run_output(&s.sync(id, bars).await?))
            }
        }
        Command::Runs { id, limit } => {
            let runs = s.runs(integration_id(&id)?, limit).await?;
            let text = runs
                .iter()
                .map(|r| format!("{}  {}", r.started_at.to_rfc3339(), render::run_text(r)))
                .collect::<Vec<_>>()
                .join("\n");
            Ok(ok(
                Value::Array(runs.iter().map(render::run).collect()),
                if text.is_empty() {
                    "no runs yet".to_owned()
                } else {
                    text
                },
            ))
        }
        Command::PlanApprove { plan } => {
            let plan = PlanId::parse(&plan)?;
            Ok(run_output(&s.approve(&plan).await?))
        }
        Command::Status => crate::status::status(s).await,
        Command::SchedulerRunDue { now } => {
            crate::status::after_run_due(s, run_due(s, now.as_deref(), bars).await?).await
        }
        Command::UsersList => {
            let users = s.store().users().await?;
            let json = render::users(&users);
            let rows: Vec<Vec<String>> = json
                .as_array()
                .map(|a| a.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|u| {
                    [
                        "primary_email",
                        "display_name",
                        "org_unit_path",
                        "employment_type",
                        "status",
                        "manager_email",
                    ]
                    .iter()
                    .map(|k| u[*k].as_str().unwrap_or("").to_owned())
                    .collect()
                })
                .collect();
            let text = format!(
                "{}{} users",
                render::table(
                    &["email", "name", "org unit", "type", "status", "manager"],
                    &rows
                ),
                users.len()
            );
            Ok(ok(json, text))
        }
        Command::GroupsList(args) => {
            let view = s
                .store()
                .view(view_integration(s, args.integration.as_deref()).await?)
                .await?;
            let json = render::groups(&view.groups, &view.memberships);
            let mut text = String::new();
            for g in json.as_array().map(|a| a.as_slice()).unwrap_or_default() {
                let members = g["members"].as_array().map(Vec::len).unwrap_or(0);
                let _ = writeln!(
                    text,
                    "{}  {}  ({members} members)",
                    g["email"].as_str().unwrap_or(""),
                    g["name"].as_str().unwrap_or("")
                );
                for m in g["members"]
                    .as_array()
                    .map(|a| a.as_slice())
                    .unwrap_or_default()
                {
                    let _ = writeln!(
                        text,
                        "    {:<8} {:<8} {}",
                        m["role"].as_str().unwrap_or(""),
                        m["type"].as_str().unwrap_or(""),
                        m["email"].as_str().unwrap_or("(everyone in the domain)")
                    );
                }
            }
            let _ = write!(text, "{} groups", view.groups.len());
            Ok(ok(json, text))
        }
        Command::OrgUnitsList(args) => {
            let view = s
                .store()
                .view(view_integration(s, args.integration.as_deref()).await?)
                .await?;
            let mut units = view.org_units;
            units.sort_by(|a, b| a.path.cmp(&b.path));
            let rows: Vec<Vec<String>> = units
                .iter()
                .map(|o| vec![o.path.to_string(), o.name.clone()])
                .collect();
            Ok(ok(
                render::org_units(&units),
                render::table(&["path", "name"], &rows),
            ))
        }
    }
}

fn ok(json: Value, text: String) -> Output {
    Output {
        json,
        text,
        code: Code::Success,
    }
}

fn integration_id(s: &str) -> Result<IntegrationId> {
    IntegrationId::parse(s).with_context(|| format!("{s:?} is not an integration id"))
}

fn rule_id(s: &str) -> Result<RuleId> {
    RuleId::parse(s).with_context(|| format!("{s:?} is not a rule id"))
}

/// Key files are stored by absolute path, so later commands work from any directory.
fn key_reference(path: &Path) -> Result<KeyReference> {
    let absolute = std::fs::canonicalize(path)
        .with_context(|| format!("reading the key file {}", path.display()))?;
    Ok(KeyReference::File(absolute))
}

fn ownership(o: Ownership) -> KeyOwnership {
    match o {
        Ownership::Customer => KeyOwnership::CustomerOwned,
        Ownership::Managed => KeyOwnership::ProviderManaged,
    }
}

fn schedule(args: &CreateArgs) -> Result<Schedule> {
    let at = || TimeOfDay::parse(&args.at, &args.timezone);
    Ok(match args.schedule {
        ScheduleKind::Manual => Schedule::Manual,
        ScheduleKind::Daily => Schedule::daily(at()?),
        ScheduleKind::Weekly => {
            let day = match &args.day {
                Some(d) => d
                    .parse::<Weekday>()
                    .map_err(|_| anyhow::anyhow!("--day {d:?} is not a weekday"))?,
                None => Weekday::Mon,
            };
            Schedule::weekly(day, at()?)
        }
        ScheduleKind::Monthly => {
            let day = match &args.day {
                Some(d) => d
                    .parse::<u8>()
                    .with_context(|| format!("--day {d:?} is not a day of the month"))?,
                None => 1,
            };
            Schedule::monthly(DayOfMonth::new(day)?, at()?)
        }
    })
}

async fn create(s: &Service, args: CreateArgs) -> Result<Output> {
    let mut settings = GoogleSettings::new(
        Email::new(&args.subject)?,
        key_reference(&args.key)?,
        ownership(args.ownership),
    );
    if let Some(customer) = &args.customer {
        settings.customer.clone_from(customer);
    }
    settings.api_base.clone_from(&args.api_base);
    settings.quota_per_minute = args.quota_per_minute;
    let created = s
        .create_google(CreateGoogle {
            title: args.title.clone(),
            direction: match args.direction {
                Direction::Inbound => DirectionKind::Inbound,
                Direction::Outbound => DirectionKind::Outbound,
            },
            settings,
            schedule: schedule(&args)?,
        })
        .await?;
    let any = &created.integration;
    // The admin's instructions (client id, client email, subject, scopes) and the integration.
    let mut json = render::instructions(&created.instructions);
    json["id"] = json!(any.id().to_string());
    json["state"] = json!(any.state().name());
    json["primary"] = json!(any.is_primary());
    json["direction"] = json!(any.direction().to_string());
    let text = format!(
        "created integration {} ({}, {}{})\n\n{}\n\nthen: dirsync google-integration:activate {}",
        any.id(),
        any.state(),
        any.direction(),
        if any.is_primary() { ", primary" } else { "" },
        created.instructions,
        any.id()
    );
    Ok(ok(json, text))
}

async fn activate(s: &Service, id: &str, bars: &Bars) -> Result<Output> {
    let id = integration_id(id)?;
    let activated = match s.activate(id, bars).await {
        Ok(a) => a,
        Err(e @ ServiceError::MissingScopes { .. }) => {
            let instructions = s.instructions(id).await?;
            return Err(anyhow::Error::new(e).context(format!(
                "activation refused; the integration stays staged\n\n{instructions}"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let mut json = render::integration(&activated.integration);
    let mut text = format!("integration {id} is {}", activated.integration.state());
    let mut code = Code::Success;
    if let Some(run) = &activated.initial_run {
        json["initial_run"] = render::run(run);
        text.push_str("\ninitial sync: ");
        text.push_str(&render::run_text(run));
        code = run_code(run);
    }
    Ok(Output { json, text, code })
}

async fn list_integrations(s: &Service) -> Result<Output> {
    let all = s.integrations().await?;
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|a| {
            vec![
                a.id().to_string(),
                a.title().to_owned(),
                a.direction().to_string(),
                if a.is_primary() { "yes" } else { "" }.to_owned(),
                a.state().to_string(),
                a.record().schedule.to_string(),
            ]
        })
        .collect();
    Ok(ok(
        Value::Array(all.iter().map(render::integration).collect()),
        render::table(
            &["id", "title", "direction", "primary", "state", "schedule"],
            &rows,
        ),
    ))
}

async fn show(s: &Service, id: &str) -> Result<Output> {
    let any = s.integration(integration_id(id)?).await?;
    let r = any.record();
    let mut text = format!(
        "{} — {}\n  system     {}\n  direction  {}{}\n  state      {}\n  schedule   {}\n  created    {}\n",
        r.id,
        r.title,
        r.settings.system(),
        r.direction,
        if any.is_primary() { " (primary)" } else { "" },
        r.state,
        r.schedule,
        r.created_at.to_rfc3339()
    );
    match &r.authorization {
        Some(a) => {
            let _ = writeln!(
                text,
                "  authorized by {} at {}\n    service account {} (client id {}, {})",
                a.subject,
                a.verified_at.to_rfc3339(),
                a.client_email,
                a.client_id,
                a.ownership
            );
            for scope in &a.scopes {
                let _ = writeln!(text, "    {}", scope.as_str());
            }
        }
        None => text.push_str("  not authorized yet (activate it)\n"),
    }
    let _ = writeln!(text, "  rules");
    for rule in &r.rules {
        let _ = writeln!(
            text,
            "    {}  {} [{}] {} {}",
            rule.id,
            rule.name,
            rule.kinds,
            rule.trigger,
            serde_json::to_string(&rule.scope).unwrap_or_default()
        );
    }
    Ok(ok(render::integration(&any), text))
}

fn state_change(any: &AnyIntegration, what: &str) -> Output {
    ok(
        render::integration(any),
        format!("integration {} {what}: {}", any.id(), any.state()),
    )
}

async fn add_rule(s: &Service, args: RuleAddArgs) -> Result<Output> {
    let trigger = if args.manual {
        Trigger::Manual
    } else {
        Trigger::Scheduled
    };
    let rule = match &args.manage {
        Some(group) => {
            let assignment = GroupAssignment {
                group: Email::new(group)?,
                select: selector(&args)?,
                role: match args.role {
                    MemberRoleArg::Member => MemberRole::Member,
                    MemberRoleArg::Manager => MemberRole::Manager,
                    MemberRoleArg::Owner => MemberRole::Owner,
                },
                include_inactive: args.include_inactive,
                fully_managed: args.fully_managed,
            };
            NewRule::assign(args.name, assignment, trigger)
        }
        None => {
            let kinds = if args.kinds.is_empty() {
                ObjectKinds::all()
            } else {
                ObjectKinds::new(
                    args.kinds
                        .iter()
                        .map(|k| k.trim().parse::<ObjectKind>())
                        .collect::<Result<Vec<_>, _>>()?,
                )?
            };
            let scope = ScopeFilter {
                org_unit: args.org_unit.as_deref().map(OrgUnitPath::new).transpose()?,
                groups: if args.groups.is_empty() {
                    None
                } else {
                    Some(
                        args.groups
                            .iter()
                            .map(|g| Email::new(g.trim()))
                            .collect::<Result<_, _>>()?,
                    )
                },
            };
            NewRule::sync(args.name, kinds, scope, trigger)
        }
    };
    let rule = s.add_rule(integration_id(&args.id)?, rule).await?;
    let what = match &rule.assignment {
        Some(a) => format!("manages {}: {}", a.group, a.select),
        None => rule.kinds.to_string(),
    };
    Ok(ok(
        render::rule(&rule),
        format!(
            "added rule {} ({}, {}): {what}",
            rule.id, rule.name, rule.trigger
        ),
    ))
}

/// Who an outbound rule selects, from --select JSON or the --select-* conditions.
fn selector(args: &RuleAddArgs) -> Result<Selector> {
    if let Some(json) = &args.select {
        return Ok(Selector::from_json(json)?);
    }
    let mut terms = Vec::new();
    for path in &args.select_org_unit {
        terms.push(Selector::OrgUnit(OrgUnitPath::new(path)?));
    }
    for group in &args.select_member_of {
        terms.push(Selector::Group(Email::new(group)?));
    }
    if let Some(t) = &args.select_type {
        terms.push(Selector::EmploymentType(match t.as_str() {
            "employee" => EmploymentType::Employee,
            "contractor" => EmploymentType::Contractor,
            other => bail!("--select-type {other:?}: employee or contractor"),
        }));
    }
    for pair in &args.select_attribute {
        let Some((name, value)) = pair.split_once('=') else {
            bail!("--select-attribute {pair:?}: write NAME=VALUE");
        };
        terms.push(Selector::Attribute {
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
        });
    }
    match terms.len() {
        0 => bail!(
            "say who belongs in the group: --select-org-unit, --select-member-of, --select-type, \
             --select-attribute, or --select JSON (e.g. '\"everyone\"')"
        ),
        1 => Ok(terms.remove(0)),
        _ if args.select_any => Ok(Selector::Any(terms)),
        _ => Ok(Selector::All(terms)),
    }
}

fn run_code(run: &SyncRun) -> Code {
    match run.outcome {
        RunOutcome::Succeeded | RunOutcome::NoChange => Code::Success,
        RunOutcome::Held { .. } => Code::Held,
        RunOutcome::Failed { .. } => Code::Failure,
    }
}

fn run_output(run: &SyncRun) -> Output {
    Output {
        json: render::run(run),
        text: render::run_text(run),
        code: run_code(run),
    }
}

async fn dry(s: &Service, id: IntegrationId, bars: &Bars) -> Result<Output> {
    let plan = s.dry_run(id, bars).await?;
    let changes = s.explain(&plan).await?;
    let mut text = plan.to_string();
    for change in changes.iter().take(200) {
        let _ = write!(text, "\n  {change}");
    }
    if changes.len() > 200 {
        let _ = write!(
            text,
            "\n  … and {} more (--json lists all)",
            changes.len() - 200
        );
    }
    let json = json!({
        "plan_id": plan.id().to_string(),
        "integration": id.to_string(),
        "based_on": plan.based_on().0,
        "held": plan.is_held(),
        "trips": plan.trips().iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        "counts": plan.count_names(),
        "changes": changes,
    });
    Ok(ok(json, text))
}

async fn run_due(s: &Service, now: Option<&str>, bars: &Bars) -> Result<Output> {
    let now = match now {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .with_context(|| format!("--now {t:?} is not an RFC 3339 instant"))?
            .with_timezone(&Utc),
        None => Utc::now(),
    };
    let due = s.run_due(now, bars).await?;
    let mut code = Code::Success;
    let mut rows = Vec::new();
    let mut text = String::new();
    for d in &due {
        match &d.result {
            Ok(run) => {
                code = match (code, run_code(run)) {
                    (Code::Failure, _) | (_, Code::Failure) => Code::Failure,
                    (Code::Held, _) | (_, Code::Held) => Code::Held,
                    _ => Code::Success,
                };
                rows.push(render::run(run));
                let _ = writeln!(
                    text,
                    "rule {} of {}: {}",
                    d.rule,
                    d.integration,
                    render::run_text(run)
                );
            }
            Err(e) => {
                code = Code::Failure;
                rows.push(json!({
                    "integration": d.integration.to_string(),
                    "rule": d.rule.to_string(),
                    "outcome": "error",
                    "failure": e.to_string(),
                }));
                let _ = writeln!(text, "rule {} of {}: ERROR {e}", d.rule, d.integration);
            }
        }
    }
    if due.is_empty() {
        text.push_str("nothing due");
    }
    Ok(Output {
        json: json!({"now": now.to_rfc3339(), "runs": rows}),
        text,
        code,
    })
}

/// The integration whose groups and org units to list: the one named, or the primary.
async fn view_integration(s: &Service, id: Option<&str>) -> Result<IntegrationId> {
    match id {
        Some(id) => integration_id(id),
        None => match s.store().primary().await? {
            Some(p) => Ok(p.id()),
            None => bail!("no primary integration yet (create and activate one)"),
        },
    }
}

/// A stable name for the kind of an error, for `--json` error output.
pub(crate) fn error_kind(e: &anyhow::Error) -> &'static str {
    if let Some(e) = e.downcast_ref::<ServiceError>() {
        return match e {
            ServiceError::MissingScopes { .. } => "missing_scopes",
            ServiceError::Unauthorized { .. } => "unauthorized",
            ServiceError::Key { .. } => "key",
            ServiceError::WrongState { .. } => "wrong_state",
            ServiceError::UnknownRule { .. } => "unknown_rule",
            ServiceError::Store(StoreError::NotFound { .. }) => "not_found",
            ServiceError::Store(StoreError::Leased { .. }) => "busy",
            ServiceError::Store(_) => "store",
            ServiceError::Engine(_) => "run",
            _ => "invalid",
        };
    }
    if e.downcast_ref::<dirsync_core::Error>().is_some() {
        return "invalid";
    }
    "failure"
}
