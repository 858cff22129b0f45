//! What several cases share: a seeded directory and comparisons of a whole store.

use super::*;

/// What `seed` wrote.
pub(super) struct Seed {
    pub(super) ada: UserId,
    pub(super) bob: UserId,
    pub(super) changes: DirectoryChanges,
}

/// Two users with accounts, two groups (one nested in the other), memberships and org units,
/// written by the primary in one apply.
pub(super) async fn seed(store: &dyn Store, p: &Integration<Inbound, Primary>) -> Seed {
    let id = p.id();
    let (ada, bob) = (UserId::random(), UserId::random());
    let mut changes = DirectoryChanges::new(p, store.version(id).await.unwrap());
    changes.extend([
        create_user(p, ada, "ada@example.com"),
        create_user(p, bob, "bob@example.com"),
        DirectoryOp::UpsertAccount(account(
            id,
            "100",
            "ada@example.com",
            Some((ada, LinkedBy::Provisioned)),
        )),
        DirectoryOp::UpsertAccount(account(
            id,
            "200",
            "bob@example.com",
            Some((bob, LinkedBy::Provisioned)),
        )),
        DirectoryOp::UpsertGroup(group(id, "eng")),
        DirectoryOp::UpsertGroup(group(id, "all")),
        DirectoryOp::UpsertMembership(membership(
            id,
            "eng",
            "100",
            MemberKind::User,
            MemberRole::Owner,
        )),
        DirectoryOp::UpsertMembership(membership(
            id,
            "eng",
            "200",
            MemberKind::User,
            MemberRole::Member,
        )),
        DirectoryOp::UpsertMembership(membership(
            id,
            "all",
            "eng",
            MemberKind::Group,
            MemberRole::Member,
        )),
        DirectoryOp::UpsertOrgUnit(org_unit(id, "ou-root", "/", None)),
        DirectoryOp::UpsertOrgUnit(org_unit(id, "ou-eng", "/Engineering", Some("ou-root"))),
    ]);
    store.apply(&changes).await.unwrap();
    Seed { ada, bob, changes }
}

/// Everything a store shows, for before/after comparisons.
pub(super) async fn everything(store: &dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    for integration in store.integrations().await.unwrap() {
        out.push(format!("{integration:?}"));
        out.push(format!("{:?}", store.view(integration.id()).await.unwrap()));
    }
    out.push(format!("{:?}", store.users().await.unwrap()));
    out
}

pub(super) fn sorted<T: Clone, K: Ord>(items: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort_by_key(|i| key(i));
    items
}
