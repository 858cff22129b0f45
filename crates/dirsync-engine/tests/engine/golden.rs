//! Stable plan ids (issue 12, point 6): the id of a fixed plan is pinned, so an upgrade that
//! changed how plans are written or hashed — which would turn every held plan into "altered"
//! at approval — fails here first. If this test fails on purpose (a deliberate format change),
//! held plans of the old format must be migrated or re-planned: say so in the release notes.

use dirsync_core::*;
use dirsync_engine::plan_inbound;
use dirsync_store::LocalView;

use crate::common::*;

/// The pinned id.
const GOLDEN: &str = "42d5f0437bcb0234cdff4ce980db96d66c21a0e1989bd5f513fea207ee42af48";

fn fixed_integration() -> AnyIntegration {
    let new = NewIntegration::new(
        "golden",
        DirectionKind::Inbound,
        settings(),
        Schedule::Manual,
        t(0),
    )
    .unwrap();
    let mut record = new.into_record(RoleKind::Primary);
    record.id = "0b7a1d6e-6c1f-4a5e-9a57-5d1c0c2a9f01".parse().unwrap();
    AnyIntegration::from_record(record).unwrap()
}

fn fixed_tenant() -> Tenant {
    let mut tenant = Tenant::default();
    tenant.users = vec![user("1", "ada"), user("2", "bob"), user("3", "cy")];
    tenant.groups = vec![group("g1")];
    tenant.members = vec![
        member("g1", "1", MemberRole::Owner),
        member("g1", "2", MemberRole::Member),
    ];
    tenant
}

#[test]
fn the_id_of_a_fixed_plan_is_pinned() {
    let any = fixed_integration();
    let view = LocalView {
        integration: any.id(),
        version: Version::ZERO,
        accounts: Vec::new(),
        groups: Vec::new(),
        memberships: Vec::new(),
        org_units: Vec::new(),
        users: Vec::new(),
    };
    let plan = plan_inbound(&any, &fixed_tenant().snapshot(), &view, &lenient(), t(1)).unwrap();
    assert!(!plan.is_empty());
    assert_eq!(plan.id().to_string(), GOLDEN, "{}", plan.to_json().unwrap());
    // The id is of the content: the same plan planned again has it, and its JSON round trip
    // verifies against it (what approval checks).
    let again = plan_inbound(&any, &fixed_tenant().snapshot(), &view, &lenient(), t(1)).unwrap();
    assert_eq!(again.id(), plan.id());
    let back: dirsync_engine::Plan<dirsync_engine::ToDirectory> =
        serde_json::from_value(plan.to_json().unwrap()).unwrap();
    assert!(back.verify());
    assert_eq!(back.id(), plan.id());
}
