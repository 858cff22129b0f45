//! Tests of the typed integration rules.

use super::*;
use crate::{Email, GroupAssignment, ObjectKinds, ScopeFilter, Selector, Trigger};

fn integration(direction: DirectionKind) -> AnyIntegration {
    let settings = RemoteSettings::new(
        System::new("toy").unwrap(),
        serde_json::json!({"folder": "/srv/hr"}),
    )
    .unwrap();
    let new = NewIntegration::new("t", direction, settings, Schedule::Manual, Utc::now()).unwrap();
    AnyIntegration::from_record(new.into_record(RoleKind::Secondary)).unwrap()
}

fn assigning(group: &str) -> SyncRule {
    let a = GroupAssignment::new(Email::new(group).unwrap(), Selector::Everyone);
    SyncRule::assigning("managed", a, Trigger::Scheduled, Utc::now())
}

#[test]
fn outbound_rules_manage_one_group_each_and_inbound_rules_none() {
    let plain = || {
        SyncRule::new(
            "all",
            ObjectKinds::all(),
            ScopeFilter::everything(),
            Trigger::Scheduled,
            Utc::now(),
        )
    };
    let mut outbound = integration(DirectionKind::Outbound);
    assert!(outbound.add_rule(plain()).is_err());
    outbound.add_rule(assigning("eng@example.com")).unwrap();
    let again = outbound.add_rule(assigning("ENG@example.com"));
    assert!(
        matches!(&again, Err(Error::InvalidValue { reason, .. }) if reason.contains("already managed")),
        "{again:?}"
    );
    outbound.add_rule(assigning("sales@example.com")).unwrap();
    assert_eq!(outbound.record().rules.len(), 2);
    let rule = &outbound.record().rules[0];
    assert_eq!(
        rule.kinds,
        ObjectKinds::only(crate::ObjectKind::Memberships)
    );
    assert!(
        rule.scope
            .includes_group(&Email::new("eng@example.com").unwrap())
    );
    assert!(
        !rule
            .scope
            .includes_group(&Email::new("sales@example.com").unwrap())
    );

    let mut inbound = integration(DirectionKind::Inbound);
    assert!(inbound.add_rule(assigning("eng@example.com")).is_err());
    inbound.add_rule(plain()).unwrap();
}
