//! Rules in words, and an outbound integration's form that adds one —
//! provision users (who, by a selector builder), provision groups (listed, or every group of
//! an inbound integration), or manage one remote group's members — as `dirsync rule:add` takes
//! them. `POST /console/integrations/{id}/outbound-rules` builds the service's [`NewRule`].

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use dirsync_core::{
    Email, EmploymentType, GroupAssignment, GroupProvisioning, GroupSource, MemberRole,
    OrgUnitMapping, OrgUnitPath, Selector, Trigger, UserProvisioning,
};
use dirsync_service::NewRule;
use dirsync_service::views::RuleView;
use maud::{Markup, html};
use serde::Deserialize;

use super::integration_id;
use crate::layout::{csrf, shown};
use crate::session::Session;
use crate::{Console, Error};

/// What a rule does, in words (an inbound rule: the kinds it syncs).
pub(crate) fn what(rule: &RuleView) -> String {
    match (
        &rule.assignment,
        &rule.provision_users,
        &rule.provision_groups,
    ) {
        (Some(a), _, _) => format!("manages {} ({}): {}", a.group, a.role, a.select),
        (None, Some(p), _) => format!("provisions users: {}", p.select),
        (None, None, Some(g)) => match &g.source {
            GroupSource::AllOf(of) => format!("provisions every group of {of}"),
            GroupSource::Groups(emails) => format!(
                "provisions groups: {}",
                emails
                    .iter()
                    .map(Email::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => "provisions groups".to_owned(),
        },
        (None, None, None) => rule.kinds.to_string(),
    }
}

/// The "Add a rule" form of an outbound integration; `inbound` are the integrations groups
/// may be taken from (id, title).
pub(crate) fn form(base: &str, session: &Session, inbound: &[(String, String)]) -> Markup {
    html! {
        details {
            summary { "Add a rule" }
            form.stack method="post" action={ (base) "/outbound-rules" } {
                (csrf(session))
                div {
                    label for="out-name" { "Rule name" }
                    input type="text" id="out-name" name="name" required maxlength="100";
                }
                fieldset {
                    legend { "What it does" }
                    label { input type="radio" name="purpose" value="users" checked; " Provision users as accounts" }
                    label { input type="radio" name="purpose" value="groups"; " Provision groups, with their members" }
                    label { input type="radio" name="purpose" value="manage"; " Manage the members of one group" }
                }
                fieldset {
                    legend { "Who (provisioning users, or a managed group's members)" }
                    div {
                        label for="out-select" { "Users" }
                        select id="out-select" name="select" {
                            option value="everyone" selected { "Everyone in the directory" }
                            option value="org_unit" { "In an org unit (and below)" }
                            option value="member_of" { "Members of a directory group" }
                            option value="employment_type" { "Of an employment type" }
                            option value="attribute" { "With an attribute value" }
                            option value="json" { "A selector written as JSON" }
                        }
                    }
                    div {
                        label for="out-select-value" { "Org unit path, group email, employee or contractor, NAME=VALUE, or JSON" }
                        input type="text" id="out-select-value" name="select_value" placeholder="e.g. /Engineering";
                    }
                    label { input type="checkbox" name="include_inactive" value="on"; " Also suspended and deprovisioned users (managed group)" }
                }
                fieldset {
                    legend { "Provisioning users" }
                    label { input type="checkbox" name="create_org_units" value="on"; " Create missing org units" }
                    label { input type="checkbox" name="adopt_existing" value="on"; " Adopt an existing account with the same email" }
                    label { input type="checkbox" name="sso_only" value="on"; " Accounts sign in by single sign-on only" }
                    div {
                        label for="out-delete-after" { "Delete accounts this many days after deprovisioning (empty: only suspend)" }
                        input type="number" id="out-delete-after" name="delete_after" min="0" max="3650" inputmode="numeric";
                    }
                    div {
                        label for="out-ou-map" { "Org unit map, one FROM=TO a line (e.g. /Staff=/Imported/Staff)" }
                        textarea id="out-ou-map" name="org_unit_map" rows="2" {}
                    }
                }
                fieldset {
                    legend { "Provisioning groups" }
                    div {
                        label for="out-groups-of" { "Which groups" }
                        select id="out-groups-of" name="groups_of" {
                            option value="" { "The groups listed below" }
                            @for (id, title) in inbound {
                                option value=(id) { "Every group of " (shown(title)) }
                            }
                        }
                    }
                    div {
                        label for="out-groups" { "Group emails, one a line or comma-separated" }
                        textarea id="out-groups" name="groups" rows="2" {}
                    }
                }
                fieldset {
                    legend { "Managing a group" }
                    div {
                        label for="out-group" { "The group's email" }
                        input type="text" id="out-group" name="group" inputmode="email";
                    }
                    div {
                        label for="out-role" { "Members' role" }
                        select id="out-role" name="role" {
                            option value="member" selected { "Member" }
                            option value="manager" { "Manager" }
                            option value="owner" { "Owner" }
                        }
                    }
                    label { input type="checkbox" name="keep_roles" value="on"; " Set the role back when changed by hand" }
                }
                label { input type="checkbox" name="fully_managed" value="on"; " Fully managed: the rule owns the whole group (remove members nobody selected; adopt same-email groups)" }
                div {
                    label for="out-trigger" { "Runs" }
                    select id="out-trigger" name="trigger" {
                        option value="scheduled" selected { "On the sync interval" }
                        option value="manual" { "Only when run by hand" }
                    }
                }
                div { button type="submit" { "Add rule" } }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct OutboundRuleForm {
    name: String,
    purpose: String,
    #[serde(default)]
    select: String,
    #[serde(default)]
    select_value: String,
    include_inactive: Option<String>,
    create_org_units: Option<String>,
    adopt_existing: Option<String>,
    sso_only: Option<String>,
    #[serde(default)]
    delete_after: String,
    #[serde(default)]
    org_unit_map: String,
    #[serde(default)]
    groups_of: String,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    role: String,
    keep_roles: Option<String>,
    fully_managed: Option<String>,
    #[serde(default)]
    trigger: String,
}

fn bad(message: impl Into<String>) -> Error {
    Error::BadRequest(message.into())
}

/// Who the form selects.
fn selector(kind: &str, value: &str) -> Result<Selector, Error> {
    let value = value.trim();
    let needs = |what: &str| {
        if value.is_empty() {
            Err(bad(format!("give {what}")))
        } else {
            Ok(value)
        }
    };
    Ok(match kind {
        "everyone" | "" => Selector::Everyone,
        "org_unit" => Selector::OrgUnit(OrgUnitPath::new(needs("the org unit's path")?)?),
        "member_of" => Selector::Group(Email::new(needs("the group's email")?)?),
        "employment_type" => Selector::EmploymentType(match needs("employee or contractor")? {
            "employee" => EmploymentType::Employee,
            "contractor" => EmploymentType::Contractor,
            other => {
                return Err(bad(format!(
                    "{:?}: the employment type is employee or contractor",
                    shown(other)
                )));
            }
        }),
        "attribute" => {
            let (name, wanted) = needs("NAME=VALUE")?
                .split_once('=')
                .ok_or_else(|| bad("write the attribute as NAME=VALUE"))?;
            Selector::Attribute {
                name: name.trim().to_owned(),
                value: wanted.trim().to_owned(),
            }
        }
        "json" => Selector::from_json(needs("the selector's JSON")?)?,
        other => return Err(bad(format!("{:?} is no selector", shown(other)))),
    })
}

fn emails(text: &str) -> Result<std::collections::BTreeSet<Email>, Error> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| Email::new(e).map_err(Error::from))
        .collect()
}

impl OutboundRuleForm {
    fn rule(&self) -> Result<NewRule, Error> {
        let trigger = match self.trigger.as_str() {
            "manual" => Trigger::Manual,
            _ => Trigger::Scheduled,
        };
        let name = self.name.trim();
        Ok(match self.purpose.as_str() {
            "users" => {
                let mut p = UserProvisioning::new(selector(&self.select, &self.select_value)?)
                    .creating_org_units(self.create_org_units.is_some())
                    .adopting_existing(self.adopt_existing.is_some())
                    .sso_only(self.sso_only.is_some());
                for line in self.org_unit_map.lines().filter(|l| !l.trim().is_empty()) {
                    let (from, to) = line.split_once('=').ok_or_else(|| {
                        bad(format!("org unit map {:?}: write FROM=TO", shown(line)))
                    })?;
                    p = p.with_org_unit_map(OrgUnitMapping::new(
                        OrgUnitPath::new(from.trim())?,
                        OrgUnitPath::new(to.trim())?,
                    ));
                }
                if !self.delete_after.trim().is_empty() {
                    let days = self
                        .delete_after
                        .trim()
                        .parse::<u32>()
                        .map_err(|_| bad("the days before deleting are a whole number"))?;
                    p = p.deleting_after_days(days);
                }
                NewRule::provision_users(name, p, trigger)
            }
            "groups" => {
                let source = if self.groups_of.is_empty() {
                    let listed = emails(&self.groups)?;
                    if listed.is_empty() {
                        return Err(bad(
                            "say which groups: list their emails, or choose an integration's groups",
                        ));
                    }
                    GroupSource::Groups(listed)
                } else {
                    GroupSource::AllOf(integration_id(&self.groups_of)?)
                };
                let p = GroupProvisioning::new(source).fully_managing(self.fully_managed.is_some());
                NewRule::provision_groups(name, p, trigger)
            }
            "manage" => {
                let group = Email::new(self.group.trim())
                    .map_err(|_| bad("give the email of the group the rule manages"))?;
                NewRule::assign(
                    name,
                    GroupAssignment {
                        group,
                        select: selector(&self.select, &self.select_value)?,
                        role: match self.role.as_str() {
                            "manager" => MemberRole::Manager,
                            "owner" => MemberRole::Owner,
                            _ => MemberRole::Member,
                        },
                        include_inactive: self.include_inactive.is_some(),
                        fully_managed: self.fully_managed.is_some(),
                        keep_roles: self.keep_roles.is_some(),
                    },
                    trigger,
                )
            }
            _ => return Err(bad("choose what the rule does")),
        })
    }
}

/// `POST /console/integrations/{id}/outbound-rules`.
pub(crate) async fn add(
    State(console): State<Console>,
    Path(id): Path<String>,
    Form(form): Form<OutboundRuleForm>,
) -> Result<Redirect, Error> {
    let id = integration_id(&id)?;
    console.service.add_rule(id, form.rule()?).await?;
    Ok(Redirect::to(&format!(
        "/console/integrations/{id}?rule_added=1#rules"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_selector_is_read_as_the_command_line_reads_it() -> Result<(), Error> {
        assert_eq!(selector("everyone", "")?, Selector::Everyone);
        assert_eq!(
            selector("org_unit", " /Eng ")?,
            Selector::OrgUnit(OrgUnitPath::new("/Eng")?)
        );
        assert_eq!(
            selector("member_of", "team@example.com")?,
            Selector::Group(Email::new("team@example.com")?)
        );
        assert_eq!(
            selector("employment_type", "contractor")?,
            Selector::EmploymentType(EmploymentType::Contractor)
        );
        assert_eq!(
            selector("attribute", "cost_center = 42")?,
            Selector::Attribute {
                name: "cost_center".to_owned(),
                value: "42".to_owned()
            }
        );
        assert_eq!(selector("json", r#""everyone""#)?, Selector::Everyone);
        for (kind, value) in [
            ("org_unit", ""),
            ("employment_type", "intern"),
            ("attribute", "no-equals"),
            ("json", "{"),
            ("nobody", "x"),
        ] {
            assert!(selector(kind, value).is_err(), "{kind} {value}");
        }
        Ok(())
    }
}
