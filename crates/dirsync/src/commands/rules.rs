//! Rule commands: add (inbound scopes, outbound group assignments or user provisioning), list,
//! remove.

use anyhow::{Result, bail};
use dirsync_core::{
    Email, EmploymentType, GroupAssignment, GroupProvisioning, GroupSource, MemberRole, ObjectKind,
    ObjectKinds, OrgUnitMapping, OrgUnitPath, ScopeFilter, Selector, Trigger, UserProvisioning,
};
use dirsync_service::{NewRule, Service};

use super::{integration_id, rule_id};
use crate::args::{MemberRoleArg, ProvisionArg, RuleAddArgs};
use crate::output::Output;
use crate::render;

pub(super) async fn add(s: &Service, args: RuleAddArgs) -> Result<Output> {
    let trigger = if args.manual {
        Trigger::Manual
    } else {
        Trigger::Scheduled
    };
    let rule = match &args.manage {
        None if args.provision == Some(ProvisionArg::Users) => {
            let mut provisioning = UserProvisioning::new(selector(&args)?)
                .creating_org_units(args.create_org_units)
                .adopting_existing(args.adopt_existing)
                .sso_only(args.sso_only);
            for pair in &args.org_unit_map {
                let Some((from, to)) = pair.split_once('=') else {
                    bail!("--org-unit-map {pair:?}: write FROM=TO");
                };
                provisioning = provisioning.with_org_unit_map(OrgUnitMapping::new(
                    OrgUnitPath::new(from.trim())?,
                    OrgUnitPath::new(to.trim())?,
                ));
            }
            if let Some(days) = args.delete_after {
                provisioning = provisioning.deleting_after_days(days);
            }
            NewRule::provision_users(args.name, provisioning, trigger)
        }
        None if args.provision == Some(ProvisionArg::Groups) => {
            let source = match &args.all_groups_of {
                Some(of) => GroupSource::AllOf(integration_id(of)?),
                None if args.groups.is_empty() => {
                    bail!("--provision groups: say which with --group EMAIL or --all-groups-of ID")
                }
                None => GroupSource::Groups(
                    args.groups
                        .iter()
                        .map(|g| Email::new(g.trim()))
                        .collect::<Result<_, _>>()?,
                ),
            };
            let provisioning = GroupProvisioning::new(source).fully_managing(args.fully_managed);
            NewRule::provision_groups(args.name, provisioning, trigger)
        }
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
                keep_roles: args.keep_roles,
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
            let mut scope = ScopeFilter::everything();
            scope.org_unit = args.org_unit.as_deref().map(OrgUnitPath::new).transpose()?;
            scope.groups = if args.groups.is_empty() {
                None
            } else {
                Some(
                    args.groups
                        .iter()
                        .map(|g| Email::new(g.trim()))
                        .collect::<Result<_, _>>()?,
                )
            };
            NewRule::sync(args.name, kinds, scope, trigger)
        }
    };
    let rule = s.add_rule(integration_id(&args.id)?, rule).await?;
    let what = match (
        &rule.assignment,
        &rule.provision_users,
        &rule.provision_groups,
    ) {
        (Some(a), _, _) => format!("manages {}: {}", a.group, a.select),
        (None, Some(p), _) => format!("provisions users: {}", p.select),
        (None, None, Some(g)) => match &g.source {
            GroupSource::AllOf(of) => format!("provisions every group of {of}"),
            GroupSource::Groups(emails) => format!("provisions {} group(s)", emails.len()),
            _ => "provisions groups".to_owned(),
        },
        (None, None, None) => rule.kinds.to_string(),
    };
    Ok(Output::new(
        render::rule(&rule),
        format!(
            "added rule {} ({}, {}): {what}",
            rule.id, rule.name, rule.trigger
        ),
    ))
}

pub(super) async fn list(s: &Service, id: &str) -> Result<Output> {
    let rules = s.rules(integration_id(id)?).await?;
    Ok(Output::list(
        rules.iter().map(render::rule).collect(),
        &["id", "name", "kinds", "scope", "trigger", "last_run_at"],
    ))
}

pub(super) async fn remove(s: &Service, id: &str, rule: &str) -> Result<Output> {
    let removed = s.remove_rule(integration_id(id)?, rule_id(rule)?).await?;
    Ok(Output::new(
        render::rule(&removed),
        format!("removed rule {} ({})", removed.id, removed.name),
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
            "say who belongs in the group (or gets an account): --select-org-unit, --select-member-of, --select-type, \
             --select-attribute, or --select JSON (e.g. '\"everyone\"')"
        ),
        1 => Ok(terms.remove(0)),
        _ if args.select_any => Ok(Selector::Any(terms)),
        _ => Ok(Selector::All(terms)),
    }
}
