//! Tenants: one directory per customer in one database. One tenant never reads or writes
//! another's rows, through every `Store` method, and a tenant handle passes the whole
//! conformance suite beside a filled tenant that it leaves untouched.

use std::sync::Arc;

use dirsync_core::{
    AnyIntegration, ApiToken, DirectionKind, DirectoryChanges, DirectoryOp, Email, IntegrationId,
    LinkedBy, MemberKind, MemberRole, OwnedMembership, OwnershipChange, PlanId, SyncRun, UserId,
};
use dirsync_postgres::PostgresStore;
use dirsync_postgres::testing as cluster;
use dirsync_store::conformance::fixtures::{
    account, create, create_user, email, group, held_plan, membership, org_unit, primary, run,
    secondary, t, xid,
};
use dirsync_store::{Error, Lease, Store};

/// What tenant A holds, to aim B's reads and writes at.
struct Filled {
    primary: AnyIntegration,
    outbound: IntegrationId,
    ada: UserId,
    ada_email: Email,
    changes: DirectoryChanges,
    run: SyncRun,
    plan: PlanId,
    lease: Lease,
    token: ApiToken,
}

/// Fills a store with a row of every table: a primary's users, accounts, groups,
/// memberships and org units, a secondary, an outbound integration's ownership records, a
/// run, a held plan, a lease and an API token.
async fn fill(store: &dyn Store) -> Filled {
    let p = primary(store).await;
    let id = p.id();
    secondary(store).await;
    let ada = UserId::random();
    let mut changes = DirectoryChanges::new(&p, store.version(id).await.unwrap());
    changes.extend([
        create_user(&p, ada, "ada@example.com"),
        DirectoryOp::UpsertAccount(account(
            id,
            "100",
            "ada@example.com",
            Some((ada, LinkedBy::Provisioned)),
        )),
        DirectoryOp::UpsertGroup(group(id, "eng")),
        DirectoryOp::UpsertMembership(membership(
            id,
            "eng",
            "100",
            MemberKind::User,
            MemberRole::Owner,
        )),
        DirectoryOp::UpsertOrgUnit(org_unit(id, "ou-root", "/", None)),
    ]);
    store.apply(&changes).await.unwrap();
    let outbound = create(store, "out", DirectionKind::Outbound).await.id();
    store
        .record_ownership(
            outbound,
            store.version(outbound).await.unwrap(),
            &[OwnershipChange::Claim(owned(outbound))],
        )
        .await
        .unwrap();
    let run = run(id, t(3));
    store.record_run(&run).await.unwrap();
    let plan = held_plan(id, b"a's plan", t(3));
    store.hold_plan(&plan).await.unwrap();
    let lease = store
        .acquire_lease(id, "a-worker", t(100), t(3))
        .await
        .unwrap();
    let token = ApiToken::new("deploy", false, t(1), "a".repeat(64)).unwrap();
    store.create_api_token(&token).await.unwrap();
    Filled {
        primary: store.integration(id).await.unwrap(),
        outbound,
        ada,
        ada_email: email("ada@example.com"),
        changes,
        run,
        plan: plan.id,
        lease,
        token,
    }
}

fn owned(outbound: IntegrationId) -> OwnedMembership {
    OwnedMembership {
        integration: outbound,
        group: xid("eng"),
        member: email("ada@example.com"),
        role: MemberRole::Member,
        created_at: t(1),
    }
}

/// Everything a store shows through its read methods.
async fn dump(store: &dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    for integration in store.integrations().await.unwrap() {
        let id = integration.id();
        out.push(format!("{integration:?}"));
        out.push(format!("{:?}", store.view(id).await.unwrap()));
        out.push(format!("{:?}", store.runs(id, 100).await.unwrap()));
        out.push(format!("{:?}", store.held_plans(id).await.unwrap()));
        out.push(format!("{:?}", store.owned_memberships(id).await));
    }
    out.push(format!("{:?}", store.users().await.unwrap()));
    out.push(format!("{:?}", store.api_tokens().await.unwrap()));
    out
}

/// Every read of `b` aimed at `a`'s rows finds nothing.
async fn sees_nothing_of(b: &dyn Store, a: &Filled) {
    let p = a.primary.id();
    assert!(b.integrations().await.unwrap().is_empty());
    assert!(b.primary().await.unwrap().is_none());
    for id in [p, a.outbound] {
        assert!(matches!(
            b.integration(id).await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(b.view(id).await, Err(Error::NotFound { .. })));
        assert!(matches!(b.version(id).await, Err(Error::NotFound { .. })));
        assert!(b.runs(id, 100).await.unwrap().is_empty());
        assert!(b.held_plans(id).await.unwrap_or_default().is_empty());
    }
    assert!(matches!(
        b.owned_memberships(a.outbound).await,
        Err(Error::NotFound { .. })
    ));
    assert!(b.users().await.unwrap().is_empty());
    assert!(b.user(a.ada).await.unwrap().is_none());
    assert!(b.user_by_email(&a.ada_email).await.unwrap().is_none());
    assert!(b.accounts_of(a.ada).await.unwrap().is_empty());
    assert!(b.held_plan(&a.plan).await.unwrap().is_none());
    assert!(b.api_tokens().await.unwrap().is_empty());
    assert!(b.api_token_by_hash(&a.token.hash).await.unwrap().is_none());
}

/// Every write of `b` aimed at `a`'s rows is refused or lands in `b`.
async fn writes_miss(b: &dyn Store, a: &Filled) {
    let p = a.primary.id();
    assert!(b.save_integration(&a.primary).await.is_err());
    assert!(matches!(
        b.remove_integration(p).await,
        Err(Error::NotFound { .. })
    ));
    assert!(b.apply(&a.changes).await.is_err());
    assert!(b.apply_fenced(&a.changes, &a.lease).await.is_err());
    assert!(b.acquire_lease(p, "b-worker", t(200), t(4)).await.is_err());
    assert!(b.renew_lease(&a.lease, t(300)).await.is_err());
    // Releasing A's lease from B must not free A's integration (checked after).
    let _ = b.release_lease(&a.lease).await;
    let claim = [OwnershipChange::Claim(owned(a.outbound))];
    let base = dirsync_core::Version::ZERO;
    assert!(b.record_ownership(a.outbound, base, &claim).await.is_err());
    assert!(
        b.record_ownership_fenced(base, &claim, &a.lease)
            .await
            .is_err()
    );
    assert!(matches!(
        b.hold_plan(&held_plan(p, b"b's plan", t(4))).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        b.release_plan(&a.plan).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        b.revoke_api_token(&a.token.name).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(b.prune_runs(p, 1, t(10_000)).await.unwrap(), 0);
    // What lands in B: a run with A's run's id, a token with A's token's name and hash, a
    // primary of its own (A has one), a user with A's user's id and email.
    b.record_run(&a.run).await.unwrap();
    b.create_api_token(&a.token).await.unwrap();
    let b_primary = primary(b).await;
    let mut changes = DirectoryChanges::new(&b_primary, dirsync_core::Version::ZERO);
    changes.push(create_user(&b_primary, a.ada, "ada@example.com"));
    b.apply(&changes).await.unwrap();
    b.revoke_api_token(&a.token.name).await.unwrap();
}

/// Tenant B sees nothing of tenant A and its writes leave A's dump unchanged; so do the
/// default directory's; A's lease still holds; and every conformance case, each on a fresh
/// tenant of the same database, leaves A untouched too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_never_reads_or_writes_another_tenants_rows() {
    let Some(url) = cluster::fresh_url().await else {
        return;
    };
    let base = PostgresStore::connect(&url).await.unwrap();
    let (name_a, name_b) = (cluster::fresh_tenant_name(), cluster::fresh_tenant_name());
    let a: Arc<dyn Store> = Arc::new(base.tenant(&name_a).await.unwrap());
    let b: Arc<dyn Store> = Arc::new(base.tenant(&name_b).await.unwrap());
    let default: Arc<dyn Store> = Arc::new(base.clone());
    let filled = fill(&*a).await;
    let before = dump(&*a).await;

    sees_nothing_of(&*b, &filled).await;
    sees_nothing_of(&*default, &filled).await;
    writes_miss(&*b, &filled).await;
    writes_miss(&*default, &filled).await;
    assert_eq!(dump(&*a).await, before);
    assert!(matches!(
        a.acquire_lease(filled.primary.id(), "other", t(200), t(5))
            .await,
        Err(Error::Leased { .. })
    ));
    // B's and the default's rows are their own: B still sees its primary and user.
    assert_eq!(b.users().await.unwrap().len(), 1);
    assert_eq!(default.users().await.unwrap().len(), 1);

    let tenants = base.tenants().await.unwrap();
    assert!(tenants.contains(&name_a) && tenants.contains(&name_b));
    let again = PostgresStore::connect(&url).await.unwrap();
    let a_again = again.tenant(&name_a).await.unwrap();
    assert_eq!(a_again.tenant_name(), Some(name_a.as_str()));
    assert_eq!(dump(&a_again).await, before, "a tenant outlives its handle");

    let pool = base.clone();
    dirsync_store::conformance::run_all(move || {
        let pool = pool.clone();
        async move {
            let tenant = pool.tenant(&cluster::fresh_tenant_name()).await.unwrap();
            Arc::new(tenant) as Arc<dyn Store>
        }
    })
    .await;
    assert_eq!(dump(&*a).await, before);
}

/// Tenant names are lowercase ASCII letters, digits and `_`, starting with a letter, 1 to 48
/// long: anything else is refused before it reaches SQL.
#[tokio::test]
async fn tenant_names_are_checked() {
    let Some(url) = cluster::fresh_url().await else {
        return;
    };
    let base = PostgresStore::connect(&url).await.unwrap();
    for bad in [
        "",
        "Acme",
        "1acme",
        "ac-me",
        "ac\"me",
        "_a",
        &"a".repeat(49),
    ] {
        assert!(
            matches!(base.tenant(bad).await, Err(Error::Domain(_))),
            "{bad:?}"
        );
    }
    assert!(base.tenant(&"a".repeat(48)).await.is_ok());
    assert_eq!(base.tenant_name(), None);
}
