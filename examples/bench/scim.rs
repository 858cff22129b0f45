//! `scim`: outbound provisioning of a whole directory into the real `scim2-server` (issue 18):
//! an inbound primary reads an emulated Google tenant; an outbound SCIM integration writes the
//! application, which starts with one empty group per directory group (made as its admin
//! would, with the group's address as `externalId`). One rule provisions every user; one
//! `--manage` rule per group fills it with the members of the directory group of the same
//! address. Then a resync that must write nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use directory_sync::core::*;
use directory_sync::google::{GoogleKind, GoogleSettings, KeyReference};
use directory_sync::scim::{ScimEndpoint, ScimKind};
use directory_sync::service::{CreateGoogle, NewRule, Registry, Service, Silent};
use directory_sync::sqlite::SqliteStore;
use dirsync_google_emulator::{Emulator, EmulatorConfig, MemberType, TenantSpec};
use serde_json::json;

/// Secrets in memory.
#[derive(Default)]
struct Secrets(Mutex<BTreeMap<String, Secret>>);

impl SecretStore for Secrets {
    fn secret(&self, name: &str) -> Result<Secret, Error> {
        let secrets = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        secrets.get(name).cloned().ok_or_else(|| Error::Credential {
            reference: name.to_owned(),
            reason: NO_SUCH_SECRET.to_owned(),
        })
    }

    fn put_secret(&self, name: &str, secret: &Secret) -> Result<(), Error> {
        let mut secrets = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        secrets.insert(name.to_owned(), secret.clone());
        Ok(())
    }
}

/// The child `scim2-server`, stopped when dropped.
struct App(Child);

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the benchmark and prints its figures.
pub(crate) async fn scim(
    users: usize,
    groups: usize,
    memberships: usize,
    server: Option<PathBuf>,
    requests_per_minute: u32,
) -> Result<()> {
    let binary = server
        .or_else(|| std::env::var_os("DIRSYNC_SCIM2_SERVER").map(PathBuf::from))
        .context(
            "give --scim2-server PATH or set DIRSYNC_SCIM2_SERVER (pip install scim2-server)",
        )?;
    let spec = TenantSpec {
        users,
        groups,
        memberships,
        nested_group_ratio: 0.0,
        empty_group_ratio: 0.0,
        suspended_ratio: 0.0,
        ..TenantSpec::sized(7, users)
    };
    let a = Emulator::start(EmulatorConfig::new(spec)).await?;
    let source = a.tenant();

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let token = "bench-token";
    let _app = App(Command::new(&binary)
        .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
        .args(["--bearer-token", token])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?);
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        let answer = http
            .get(format!("{url}/ServiceProviderConfig"))
            .bearer_auth(token)
            .send()
            .await;
        if answer.is_ok_and(|r| r.status().is_success()) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !ready {
        bail!("scim2-server did not answer on {url}");
    }
    for g in source.groups() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": g.name, "externalId": g.email,
        });
        http.post(format!("{url}/Groups"))
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await?
            .error_for_status()?;
    }

    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path().join("directory.db"))?;
    let secrets: Arc<dyn SecretStore> = Arc::new(Secrets::default());
    let registry = Registry::new()
        .with(GoogleKind::new())
        .with(ScimKind::new().with_secrets(Arc::clone(&secrets)));
    let service = Service::new(Arc::new(store), registry).with_secrets(secrets);
    let key = dir.path().join("a.json");
    std::fs::write(&key, a.service_account_key_json())?;
    let settings = GoogleSettings::new(
        Email::new(a.admin_subject())?,
        KeyReference::File(key),
        KeyOwnership::CustomerOwned,
    )
    .with_api_base(a.base_url())
    .with_quota_per_minute(0);
    let primary = service
        .create_google(CreateGoogle::new(
            "A",
            DirectionKind::Inbound,
            settings,
            Schedule::Manual,
        ))
        .await?;
    service.activate(primary.integration.id(), &Silent).await?;
    let endpoint = ScimEndpoint::new(&url, Service::new_scim_token_name())
        .with_requests_per_minute(requests_per_minute);
    let out = service
        .create_scim_outbound("App", endpoint, &Secret::new(token))
        .await?
        .integration
        .id();
    service
        .add_rule(
            out,
            NewRule::provision_users(
                "People",
                UserProvisioning::new(Selector::Everyone),
                Trigger::Manual,
            ),
        )
        .await?;
    for g in source.groups() {
        let email = Email::new(&g.email)?;
        let assignment = GroupAssignment::new(email.clone(), Selector::Group(email));
        service
            .add_rule(
                out,
                NewRule::assign(g.email.clone(), assignment, Trigger::Manual),
            )
            .await?;
    }
    let live = source.live_users().count();
    let member_rows: usize = source
        .groups()
        .iter()
        .flat_map(|g| &g.members)
        .filter(|m| m.member_type == MemberType::User)
        .count();
    println!(
        "directory: {live} users, {} groups, {member_rows} user memberships; scim2-server: {} empty groups; pace {}",
        source.groups().len(),
        source.groups().len(),
        if requests_per_minute == 0 {
            "none".to_owned()
        } else {
            format!("{requests_per_minute}/min")
        },
    );

    let started = Instant::now();
    let run = service.sync(out, &Silent).await?;
    let wall = started.elapsed();
    if run.outcome != RunOutcome::Succeeded {
        bail!("the provisioning run did not succeed: {:?}", run.outcome);
    }
    let stats = run.fetch.unwrap_or_default();
    println!("provisioning into scim2-server:");
    println!("  wall            {:>8.1} s", wall.as_secs_f64());
    println!(
        "  requests        {:>8}  (floor one per object: {})",
        stats.total_requests(),
        live + member_rows
    );
    for (route, n) in &stats.requests {
        println!("    {n:>7}  {route}");
    }
    println!("  retries         {:>8}", stats.retries);
    println!(
        "  per write       {:>8.1} ms",
        wall.as_secs_f64() * 1000.0 / stats.total_requests().max(1) as f64
    );

    let started = Instant::now();
    let again = service.sync(out, &Silent).await?;
    let wall = started.elapsed();
    let stats = again.fetch.unwrap_or_default();
    println!(
        "resync: {:?} in {:.1} s, {} requests",
        again.outcome,
        wall.as_secs_f64(),
        stats.total_requests()
    );
    if again.outcome != RunOutcome::NoChange {
        bail!(
            "a resync with no change had something to do: {:?}",
            again.counts
        );
    }
    drop(dir);
    Ok(())
}
