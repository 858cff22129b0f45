//! Integration commands: create, activate, list, show, update, reauthorize, remove.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::Weekday;
use dirsync_core::{
    AnyIntegration, DayOfMonth, DirectionKind, Email, KeyOwnership, Safeguards, Schedule,
    Threshold, TimeOfDay,
};
use dirsync_core::{ObjectKind, ObjectKinds, RemoteSettings};
use dirsync_file::{ColumnMapping, FileSettings, Format};
use dirsync_google::{GoogleSettings, KeyReference, OAuthSettings};
use dirsync_service::views::CreatedView;
use dirsync_service::{
    CreateGoogle, CreateIntegration, Error as ServiceError, IntegrationUpdate, Reauthorize,
    Service, TerminalProgress as Bars,
};
use serde_json::json;

use super::{integration_id, matches, runs::run_code};
use crate::args::{
    CreateArgs, Direction, FileCreateArgs, FileFormat, GoogleUpdateArgs, Ownership,
    ReauthorizeArgs, SafeguardArgs, ScheduleArgs, ScheduleKind, UpdateArgs,
};
use crate::output::Output;
use crate::render;

pub(super) async fn create(s: &Service, args: CreateArgs) -> Result<Output> {
    let mut settings = match (&args.oauth_client, &args.key, &args.subject) {
        (Some(client), _, _) => {
            let mut oauth = OAuthSettings::new(key_reference(client)?);
            oauth.oauth_base.clone_from(&args.oauth_base);
            GoogleSettings::oauth(oauth)
        }
        (None, Some(key), Some(subject)) => GoogleSettings::new(
            Email::new(subject)?,
            key_reference(key)?,
            ownership(args.ownership.unwrap_or(Ownership::Customer)),
        ),
        _ => bail!("give --key and --subject (a service account) or --oauth-client (consent)"),
    };
    if let Some(customer) = &args.customer {
        settings.customer.clone_from(customer);
    }
    settings = settings.with_domain(args.domain.as_deref());
    settings.api_base.clone_from(&args.api_base);
    settings.quota_per_minute = args.quota_per_minute;
    settings.concurrency = args.concurrency;
    let created = s
        .create_google(CreateGoogle::new(
            args.title.clone(),
            match args.direction {
                Direction::Inbound => DirectionKind::Inbound,
                Direction::Outbound => DirectionKind::Outbound,
            },
            settings,
            match schedule(&args.schedule, None)? {
                Some(schedule) => schedule,
                None => Schedule::daily(TimeOfDay::utc(2, 0)?),
            },
        ))
        .await?;
    let any = &created.integration;
    // The admin's instructions (client id, client email, subject, scopes) and the integration.
    let json = render::json(CreatedView::from(&created));
    let then = if args.oauth_client.is_some() {
        format!(
            "dirsync google-integration:authorize {0}, then dirsync google-integration:activate {0}",
            any.id()
        )
    } else {
        format!("dirsync google-integration:activate {}", any.id())
    };
    let text = format!(
        "created integration {} ({}, {}{})\n\n{}\n\nthen: {then}",
        any.id(),
        any.state(),
        any.direction(),
        if any.is_primary() { ", primary" } else { "" },
        created.instructions,
    );
    Ok(Output::new(json, text))
}

pub(super) async fn create_file(s: &Service, args: FileCreateArgs) -> Result<Output> {
    // Stored absolute, so the scheduler finds the folder whatever its working directory.
    let path = std::path::absolute(&args.path)
        .with_context(|| format!("{} is not a usable path", args.path.display()))?;
    let mut settings = FileSettings::new(path)?.with_format(match args.file_format {
        FileFormat::Csv => Format::Csv,
        FileFormat::Jsonl => Format::Jsonl,
    });
    for map in &args.map {
        settings = settings.with_mapping(map.parse::<ColumnMapping>()?)?;
    }
    if !args.kinds.is_empty() {
        let kinds = args
            .kinds
            .iter()
            .map(|k| k.trim().parse::<ObjectKind>())
            .collect::<Result<Vec<_>, _>>()?;
        settings = settings.with_kinds(ObjectKinds::new(kinds)?)?;
    }
    let created = s
        .create(CreateIntegration::new(
            args.title,
            DirectionKind::Inbound,
            RemoteSettings::from_typed(&settings)?,
            match schedule(&args.schedule, None)? {
                Some(schedule) => schedule,
                None => Schedule::daily(TimeOfDay::utc(2, 0)?),
            },
        ))
        .await?;
    let any = &created.integration;
    let json = render::json(CreatedView::from(&created));
    let text = format!(
        "created integration {} ({}, {}{})\n\n{}\n\nthen: dirsync integration:activate {}",
        any.id(),
        any.state(),
        any.direction(),
        if any.is_primary() { ", primary" } else { "" },
        created.instructions,
        any.id()
    );
    Ok(Output::new(json, text))
}

pub(super) async fn activate(s: &Service, id: &str, bars: &Bars) -> Result<Output> {
    let id = integration_id(id)?;
    let activated = match s.activate(id, bars).await {
        Ok(a) => a,
        Err(e @ ServiceError::Access(dirsync_core::AccessDenied::MissingScopes { .. })) => {
            let instructions = s.instructions(id).await?;
            return Err(anyhow::Error::new(e).context(format!(
                "activation refused; the integration stays staged\n\n{instructions}"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let mut json = render::integration(&activated.integration, s);
    let mut text = format!("integration {id} is {}", activated.integration.state());
    let mut out_code = crate::output::Code::Success;
    if let Some(run) = &activated.initial_run {
        json["initial_run"] = render::run(run);
        text.push_str("\ninitial sync: ");
        text.push_str(&render::run_text(run));
        out_code = run_code(run);
    }
    Ok(Output::new(json, text).with_code(out_code))
}

pub(super) async fn list(s: &Service, filter: &crate::args::FilterArgs) -> Result<Output> {
    let query = filter.query.as_deref().map(str::to_lowercase);
    let rows = s
        .integrations()
        .await?
        .iter()
        .filter(|a| {
            query.as_deref().is_none_or(|q| {
                matches(
                    q,
                    &[
                        &a.id().to_string(),
                        a.title(),
                        &a.settings().system().to_string(),
                    ],
                )
            })
        })
        .map(|a| render::integration(a, s))
        .collect();
    Ok(Output::list(
        rows,
        &[
            "id",
            "title",
            "direction",
            "primary",
            "state_name",
            "schedule_text",
        ],
    ))
}

pub(super) async fn show(s: &Service, id: &str) -> Result<Output> {
    let any = s.integration(integration_id(id)?).await?;
    let r = any.record();
    let mut text = format!(
        "{} — {}\n  system     {}\n  direction  {}{}\n  state      {}\n  schedule   {}\n  created    {}\n",
        r.id,
        r.title,
        s.registry().name(r.settings.system()),
        r.direction,
        if any.is_primary() { " (primary)" } else { "" },
        r.state,
        r.schedule,
        r.created_at.to_rfc3339()
    );
    match &r.authorization {
        Some(a) => {
            let who = a
                .subject
                .as_ref()
                .map_or_else(|| "-".to_owned(), ToString::to_string);
            let _ = writeln!(
                text,
                "  authorized by {who} at {}",
                a.verified_at.to_rfc3339()
            );
            if let (Some(email), Some(id)) = (&a.client_email, &a.client_id) {
                let owner = a.ownership.map(|o| format!(", {o}")).unwrap_or_default();
                let _ = writeln!(text, "    service account {email} (client id {id}{owner})");
            }
            for check in &a.checks {
                let _ = writeln!(text, "    {check}");
            }
            for scope in &a.scopes {
                let _ = writeln!(text, "    {}", scope.as_str());
            }
        }
        None => text.push_str("  not authorized yet (activate it)\n"),
    }
    let safeguards = s.policy().safeguards_for(r);
    let _ = writeln!(
        text,
        "  safeguards ({}): hold a run removing more than",
        if r.safeguards.is_some() {
            "this integration's"
        } else {
            "default"
        }
    );
    for (kind, t) in [
        ("users", safeguards.users),
        ("groups", safeguards.groups),
        ("memberships", safeguards.memberships),
        ("members of one managed group", safeguards.remote_members),
    ] {
        let _ = writeln!(
            text,
            "    {kind}: {} or {} % (from {} on)",
            t.max_count, t.max_percent, t.min_count
        );
    }
    let _ = writeln!(text, "  push       {}", if r.push { "on" } else { "off" });
    for c in s.store().push_channels(r.id).await? {
        let _ = writeln!(
            text,
            "    channel {} expires {}, last notification {}",
            c.id,
            c.expires_at.to_rfc3339(),
            c.last_notification
                .map_or_else(|| "none yet".to_owned(), |t| t.to_rfc3339())
        );
    }
    let push = s.push_summary(&any).await?;
    if let Some(p) = &push {
        let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map_or_else(|| "none yet".to_owned(), |t| t.to_rfc3339())
        };
        let _ = match &p.note {
            Some(note) => writeln!(text, "    {note}"),
            None => writeln!(
                text,
                "    groups polled: activity cursor at {}, last poll {}, {} activities applied",
                at(p.polled_until),
                at(p.last_poll),
                p.activities
            ),
        };
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
    let mut json = render::integration(&any, s);
    if let Some(p) = push {
        // The channel and the activity cursor, as `status` shows them.
        json["push_status"] = serde_json::to_value(p)?;
    }
    Ok(Output::new(json, text))
}

pub(super) async fn update(s: &Service, args: UpdateArgs) -> Result<Output> {
    let id = integration_id(&args.id)?;
    let current = s.integration(id).await?;
    let mut update = IntegrationUpdate::new();
    if let Some(title) = args.title {
        update = update.title(title);
    }
    if let Some(schedule) = schedule(&args.schedule, Some(&current.record().schedule))? {
        update = update.schedule(schedule);
    }
    if let Some(active) = args.active {
        update = update.active(active);
    }
    if args.safeguards.default_safeguards {
        update = update.safeguards(None);
    } else {
        let base = *s.policy().safeguards_for(current.record());
        if let Some(safeguards) = safeguards(&args.safeguards, base)? {
            update = update.safeguards(Some(safeguards));
        }
    }
    if update.is_empty() {
        bail!(
            "nothing to change: give --title, --schedule (--every, --at, --timezone, --day), \
             --active, --max-*-removals[-percent] or --default-safeguards"
        );
    }
    let any = s.update(id, update).await?;
    Ok(state_change(&any, s, "updated"))
}

pub(super) async fn reauthorize(s: &Service, args: ReauthorizeArgs) -> Result<Output> {
    let mut change = Reauthorize::default();
    if let Some(subject) = args.subject.as_deref() {
        change = change.with_subject(Email::new(subject)?);
    }
    if let Some(key) = args.key.as_deref() {
        change = change.with_key(key_reference(key)?);
    }
    if let Some(o) = args.ownership {
        change = change.with_ownership(ownership(o));
    }
    for setting in &args.settings {
        let (name, value) = setting
            .split_once('=')
            .with_context(|| format!("--setting {setting:?}: write NAME=VALUE"))?;
        let value = serde_json::from_str(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
        change = change.with_setting(name.trim(), value);
    }
    let any = s.reauthorize(integration_id(&args.id)?, change).await?;
    Ok(state_change(&any, s, "reauthorized"))
}

/// `google-integration:update`: the domain and the concurrency, through reauthorization
/// (checked unless staged).
pub(super) async fn update_google(s: &Service, args: &GoogleUpdateArgs) -> Result<Output> {
    let mut change = Reauthorize::default();
    if args.domain.is_some() || args.all_domains {
        let domain = args
            .domain
            .as_deref()
            .map_or(serde_json::Value::Null, |d| json!(d.to_ascii_lowercase()));
        change = change.with_setting("domain", domain);
    }
    if let Some(n) = args.concurrency {
        change = change.with_setting("concurrency", json!(n));
    }
    let any = s.reauthorize(integration_id(&args.id)?, change).await?;
    Ok(state_change(&any, s, "updated"))
}

pub(super) async fn remove(s: &Service, id: &str) -> Result<Output> {
    let removed = s.remove(integration_id(id)?).await?;
    let json = serde_json::to_value(removed)?;
    Ok(Output::new(
        json!({"id": id, "removed": json}),
        format!("removed integration {id} and what it owned: {json}"),
    ))
}

/// An integration after a command changed it.
pub(super) fn state_change(any: &AnyIntegration, s: &Service, what: &str) -> Output {
    Output::new(
        render::integration(any, s),
        format!(
            "integration {} {what}: {}, {}",
            any.id(),
            any.state(),
            any.record().schedule
        ),
    )
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

/// The schedule the options describe, with what they leave out taken from `current` (or the
/// defaults: daily at 02:00 UTC, Mondays, the 1st); `None` when no schedule option was given.
fn schedule(args: &ScheduleArgs, current: Option<&Schedule>) -> Result<Option<Schedule>> {
    if !args.is_given() {
        return Ok(None);
    }
    let kind = match (args.schedule, args.every, current) {
        (Some(kind), _, _) => kind,
        (None, Some(_), _) => ScheduleKind::Every,
        (None, None, Some(Schedule::Every { .. })) => ScheduleKind::Every,
        (None, None, Some(Schedule::Manual)) => ScheduleKind::Manual,
        (None, None, Some(Schedule::Weekly { .. })) => ScheduleKind::Weekly,
        (None, None, Some(Schedule::Monthly { .. })) => ScheduleKind::Monthly,
        (None, None, _) => ScheduleKind::Daily,
    };
    let misplaced = |option: &str| -> Result<Option<Schedule>> {
        bail!(
            "{option} does not apply to a {kind:?} schedule",
            kind = kind
        )
    };
    let current_at = current.and_then(Schedule::at);
    let at = || -> Result<TimeOfDay> {
        let hhmm = match (&args.at, current_at) {
            (Some(at), _) => at.clone(),
            (None, Some(at)) => at.hh_mm(),
            (None, None) => "02:00".to_owned(),
        };
        let zone = match (&args.timezone, current_at) {
            (Some(zone), _) => zone.clone(),
            (None, Some(at)) => at.zone().name().to_owned(),
            (None, None) => "UTC".to_owned(),
        };
        Ok(TimeOfDay::parse(&hhmm, &zone)?)
    };
    let timed = args.at.is_some() || args.timezone.is_some();
    Ok(Some(match kind {
        ScheduleKind::Manual | ScheduleKind::Every if timed => {
            return misplaced("--at or --timezone");
        }
        _ if args.every.is_some() && kind != ScheduleKind::Every => return misplaced("--every"),
        ScheduleKind::Manual | ScheduleKind::Every | ScheduleKind::Daily if args.day.is_some() => {
            return misplaced("--day");
        }
        ScheduleKind::Manual => Schedule::Manual,
        ScheduleKind::Every => match (args.every, current) {
            (Some(every), _) => Schedule::every(every),
            (None, Some(Schedule::Every { interval })) => Schedule::every(*interval),
            (None, _) => bail!("--schedule every needs --every, e.g. --every 15m"),
        },
        ScheduleKind::Daily => Schedule::daily(at()?),
        ScheduleKind::Weekly => {
            let day = match (&args.day, current) {
                (Some(d), _) => d
                    .parse::<Weekday>()
                    .map_err(|_| anyhow::anyhow!("--day {d:?} is not a weekday"))?,
                (None, Some(Schedule::Weekly { day, .. })) => *day,
                (None, _) => Weekday::Mon,
            };
            Schedule::weekly(day, at()?)
        }
        ScheduleKind::Monthly => {
            let day = match (&args.day, current) {
                (Some(d), _) => DayOfMonth::new(
                    d.parse::<u8>()
                        .with_context(|| format!("--day {d:?} is not a day of the month"))?,
                )?,
                (None, Some(Schedule::Monthly { day, .. })) => *day,
                (None, _) => DayOfMonth::FIRST,
            };
            Schedule::monthly(day, at()?)
        }
    }))
}

/// `base` with the thresholds the options set; `None` when none was given.
fn safeguards(args: &SafeguardArgs, base: Safeguards) -> Result<Option<Safeguards>> {
    let mut out = base;
    let mut changed = false;
    let mut set = |t: &mut Threshold, count: Option<u64>, percent: Option<f64>, name: &str| {
        if let Some(count) = count {
            t.max_count = count;
            changed = true;
        }
        if let Some(percent) = percent {
            if !(0.0..=100.0).contains(&percent) {
                bail!("--max-{name}-removals-percent {percent}: give a percentage from 0 to 100");
            }
            t.max_percent = percent;
            changed = true;
        }
        Ok(())
    };
    set(
        &mut out.users,
        args.max_user_removals,
        args.max_user_removals_percent,
        "user",
    )?;
    set(
        &mut out.groups,
        args.max_group_removals,
        args.max_group_removals_percent,
        "group",
    )?;
    set(
        &mut out.memberships,
        args.max_membership_removals,
        args.max_membership_removals_percent,
        "membership",
    )?;
    set(
        &mut out.remote_members,
        args.max_member_removals,
        args.max_member_removals_percent,
        "member",
    )?;
    Ok(changed.then_some(out))
}
