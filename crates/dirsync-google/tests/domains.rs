//! An integration limited to one of the customer's domains, against the emulator: users and
//! groups are listed with `domain=` (only that domain's), and access validation names the
//! customer's domains when the grant can read them, refusing a domain that is not one of them
//! (with the list), and says nothing of domains when it cannot.

use dirsync_core::{
    AccessCheck, DirectorySource, Email, FetchRequest, NoProgress, ObjectKind, ObjectKinds,
    ScopeFilter,
};
use dirsync_google::{GoogleConnector, ServiceAccountKey, scopes};
use dirsync_google_emulator::{
    Emulator, EmulatorConfig, NewUser, Role, RunningEmulator, TenantSpec,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const EU: &str = "eu.example.com";

/// A tenant with a second domain holding one user and one group.
async fn two_domains() -> Result<RunningEmulator, Box<dyn std::error::Error>> {
    let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(3, 12))).await?;
    google.with_tenant(|t| t.add_domain(EU));
    google.add_user(NewUser::new(&format!("marie@{EU}"), "Marie", "Curie"))?;
    google.add_group(&format!("lab@{EU}"), "Lab")?;
    google.add_member(&format!("lab@{EU}"), &format!("marie@{EU}"), Role::Member)?;
    Ok(google)
}

fn connector(
    google: &RunningEmulator,
    domain: Option<&str>,
) -> Result<GoogleConnector, Box<dyn std::error::Error>> {
    Ok(GoogleConnector::builder()
        .api_base(google.base_url())
        .subject(Email::new(google.admin_subject())?)
        .key_json(ServiceAccountKey::new(google.service_account_key_json()))
        .requests_per_minute(0)
        .domain(domain.map(str::to_owned))
        .build()?)
}

fn everything() -> Result<FetchRequest, dirsync_core::Error> {
    Ok(FetchRequest::new(
        ObjectKinds::new([
            ObjectKind::Users,
            ObjectKind::Groups,
            ObjectKind::Memberships,
        ])?,
        ScopeFilter::everything(),
    ))
}

#[tokio::test]
async fn a_chosen_domain_lists_only_its_users_and_groups() -> TestResult {
    let google = two_domains().await?;
    let all = connector(&google, None)?
        .fetch(&everything()?, &NoProgress)
        .await?;
    let eu = connector(&google, Some(EU))?
        .fetch(&everything()?, &NoProgress)
        .await?;
    let in_eu = |email: &Email| email.to_string().ends_with(&format!("@{EU}"));
    assert!(all.snapshot.users().len() > 1);
    assert!(
        all.snapshot
            .users()
            .iter()
            .any(|u| !in_eu(&u.primary_email))
    );
    assert_eq!(eu.snapshot.users().len(), 1);
    assert!(eu.snapshot.users().iter().all(|u| in_eu(&u.primary_email)));
    assert_eq!(eu.snapshot.groups().len(), 1);
    assert!(eu.snapshot.groups().iter().all(|g| in_eu(&g.email)));
    Ok(())
}

fn named<'a>(checks: &'a [AccessCheck], prefix: &str) -> Option<&'a AccessCheck> {
    checks.iter().find(|c| c.name.starts_with(prefix))
}

#[tokio::test]
async fn activation_names_the_domains_and_refuses_one_that_is_not_the_customers() -> TestResult {
    let google = two_domains().await?;
    let report = connector(&google, Some(EU))?.validate_access().await?;
    let domains = named(&report.checks, "the customer's domains").ok_or("no domains check")?;
    assert_eq!(
        domains.name,
        format!("the customer's domains: example.com, {EU}")
    );
    assert!(named(&report.checks, &format!("domain {EU}")).is_some_and(|c| c.ok));
    assert!(report.all_passed(), "{:?}", report.checks);

    let report = connector(&google, Some("elsewhere.org"))?
        .validate_access()
        .await?;
    let refused = named(&report.checks, "domain elsewhere.org").ok_or("no domain check")?;
    assert!(!refused.ok);
    let remedy = refused.remedy.as_deref().unwrap_or_default();
    assert!(remedy.contains(&format!("example.com, {EU}")), "{remedy}");
    // The scopes themselves are fine: only the domain is named.
    assert!(report.missing().is_empty());
    let err = report
        .into_authorization(chrono::Utc::now())
        .err()
        .ok_or("a wrong domain was accepted")?;
    assert!(err.to_string().contains("elsewhere.org"), "{err}");

    // Without the optional scope the domains are not read, and not mentioned.
    google.deny_scope(scopes::DOMAIN_READONLY);
    let report = connector(&google, Some(EU))?.validate_access().await?;
    assert!(named(&report.checks, "the customer's domains").is_none());
    assert!(report.all_passed(), "{:?}", report.checks);
    Ok(())
}

/// `users.watch` of a domain-limited integration watches that domain (`domain=`, as the users
/// listing): its channel hears only the domain's users; an integration of the whole customer
/// hears every user.
#[tokio::test]
async fn a_chosen_domain_watches_only_its_users() -> TestResult {
    use dirsync_core::{ChannelRequest, ChannelToken, PushSource};
    let google = two_domains().await?;
    for (id, domain) in [("ch-eu", Some(EU)), ("ch-all", None)] {
        let request = ChannelRequest::new(
            id,
            "http://127.0.0.1:9/hooks/google/x",
            ChannelToken::new("t"),
            chrono::Duration::hours(1),
        );
        connector(&google, domain)?.open_channel(&request).await?;
    }
    let channel = |id: &str| google.watch_channels().into_iter().find(|c| c.id == id);
    assert_eq!(channel("ch-eu").and_then(|c| c.domain).as_deref(), Some(EU));
    assert_eq!(channel("ch-all").and_then(|c| c.domain), None);

    google.suspend_user(&format!("marie@{EU}"))?;
    let primary = google.admin_subject();
    let other = google
        .tenant()
        .live_users()
        .find(|u| u.primary_email != primary && !u.primary_email.ends_with(EU))
        .map(|u| u.id.clone())
        .ok_or("no user in the primary domain")?;
    google.suspend_user(&other)?;
    // Messages are numbered when published: the handshake is 1.
    assert_eq!(channel("ch-eu").map(|c| c.messages), Some(2));
    assert_eq!(channel("ch-all").map(|c| c.messages), Some(3));
    Ok(())
}
