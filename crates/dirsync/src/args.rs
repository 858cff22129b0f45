//! The arguments of the larger subcommands, and the option groups they share (a schedule,
//! safeguard thresholds).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use dirsync_core::{Interval, UserStatus};

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// A title for humans.
    #[arg(long)]
    pub(crate) title: String,
    /// The service account's JSON key file (with --subject; or --oauth-client instead).
    #[arg(long, required_unless_present = "oauth_client", requires = "subject")]
    pub(crate) key: Option<PathBuf>,
    /// The Workspace admin the service account acts as (domain-wide delegation).
    #[arg(long, requires = "key")]
    pub(crate) subject: Option<String>,
    /// Authorize by an admin's consent instead of a key: Google's OAuth client file (as the
    /// Cloud console downloads it); then `google-integration:authorize ID`.
    #[arg(long, conflicts_with_all = ["key", "subject", "ownership"])]
    pub(crate) oauth_client: Option<PathBuf>,
    /// Where Google's revoke, JWKS and userinfo endpoints are (an emulator's; plain http only
    /// for 127.0.0.1); the auth and token endpoints come from the client file.
    #[arg(long, requires = "oauth_client")]
    pub(crate) oauth_base: Option<String>,
    /// Inbound reads Google into the directory; outbound manages Google groups. Fixed for life.
    #[arg(long, value_enum, default_value_t = Direction::Inbound)]
    pub(crate) direction: Direction,
    #[command(flatten)]
    pub(crate) schedule: ScheduleArgs,
    /// Google customer id (default: the subject's own account, `my_customer`).
    #[arg(long)]
    pub(crate) customer: Option<String>,
    /// Limit users and groups to one of the customer's domains (default: every domain);
    /// activation checks it is one of them when the grant can read the domains.
    #[arg(long, value_name = "DOMAIN")]
    pub(crate) domain: Option<String>,
    /// Directory API base URL (default Google's; plain http only for 127.0.0.1).
    #[arg(long)]
    pub(crate) api_base: Option<String>,
    /// Client-side pacing, requests a minute (Google's default per-admin quota is 2,400; set
    /// more if the tenant's quota was raised; 0 turns pacing off).
    #[arg(long, default_value_t = 2_400)]
    pub(crate) quota_per_minute: u32,
    /// API requests in flight at once, at most (default 32, the best measured; more helps only
    /// a tenant whose quota was raised; fewer are sent while Google sheds load or rate limits,
    /// and more again as it recovers). Change it later with
    /// `google-integration:update ID --concurrency N`.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) concurrency: Option<u32>,
    /// Who owns the service account (default: the customer).
    #[arg(long, value_enum)]
    pub(crate) ownership: Option<Ownership>,
}

/// How a consent is obtained: a listener on 127.0.0.1 for Google's redirect.
#[derive(Debug, Args)]
pub(crate) struct ConsentArgs {
    /// The port to listen on for Google's redirect (default: any free port).
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
    /// Print the consent URL without opening a browser.
    #[arg(long)]
    pub(crate) no_browser: bool,
    /// The account to suggest on Google's account chooser.
    #[arg(long, value_name = "EMAIL")]
    pub(crate) login_hint: Option<String>,
    /// How long to wait for the consent, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub(crate) timeout: u64,
}

#[derive(Debug, Args)]
pub(crate) struct ScimCreateArgs {
    /// A title for humans.
    #[arg(long)]
    pub(crate) title: String,
    /// `inbound`: an identity provider (Okta, Entra ID, ...) pushes users and groups to our
    /// SCIM endpoints. `outbound`: we provision an application's SCIM endpoint (--base-url,
    /// --token-file), by the outbound rules added to it.
    #[arg(long, value_enum, default_value_t = ScimDirection::Inbound)]
    pub(crate) direction: ScimDirection,
    /// Outbound: the application's SCIM base URL (`/Users` and `/Groups` below it).
    #[arg(long, value_name = "URL", required_if_eq("direction", "outbound"))]
    pub(crate) base_url: Option<String>,
    /// Outbound: a file holding the application's bearer token (kept sealed in the secret
    /// store; the file can be deleted afterwards).
    #[arg(long, value_name = "FILE", required_if_eq("direction", "outbound"))]
    pub(crate) token_file: Option<PathBuf>,
    /// Outbound: at most N requests a minute to the application (0: unpaced; default 6000).
    #[arg(long, value_name = "N")]
    pub(crate) requests_per_minute: Option<u32>,
}

/// The directions a SCIM integration can have here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ScimDirection {
    /// The identity provider pushes to us.
    Inbound,
    /// We provision the application's SCIM endpoint.
    Outbound,
}

#[derive(Debug, Args)]
pub(crate) struct FileCreateArgs {
    /// A title for humans.
    #[arg(long)]
    pub(crate) title: String,
    /// The folder the export is written to (users.csv, groups.csv, memberships.csv,
    /// org_units.csv, or .jsonl).
    #[arg(long)]
    pub(crate) path: PathBuf,
    /// The files' format (`--format` is the output's).
    #[arg(long, value_enum, default_value_t = FileFormat::Csv)]
    pub(crate) file_format: FileFormat,
    /// A source column holding one of the documented fields: COLUMN=FIELD (every kind) or
    /// COLUMN=KIND.FIELD (one kind), e.g. "Work Email=email", "Team=groups.name". Repeatable.
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub(crate) map: Vec<String>,
    /// The kinds the folder provides (default all four): users, groups, memberships,
    /// org_units, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(crate) kinds: Vec<String>,
    #[command(flatten)]
    pub(crate) schedule: ScheduleArgs,
}

/// The format of an HR export's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FileFormat {
    /// Comma-separated values with one header row.
    Csv,
    /// One JSON object a line.
    Jsonl,
}

/// When scheduled rules run. On create, unset parts default to daily at 02:00 UTC; on update,
/// to the integration's current schedule (so `--at 03:00` alone moves a daily run).
#[derive(Debug, Args)]
pub(crate) struct ScheduleArgs {
    /// How often scheduled rules run (default on create: daily).
    #[arg(long, value_enum)]
    pub(crate) schedule: Option<ScheduleKind>,
    /// The interval of `--schedule every`: 15m, 2h, 1h30m, 1d (implies --schedule every).
    #[arg(long, value_name = "INTERVAL")]
    pub(crate) every: Option<Interval>,
    /// Time of day (HH:MM) for daily, weekly and monthly schedules (default 02:00).
    #[arg(long, value_name = "HH:MM")]
    pub(crate) at: Option<String>,
    /// Time zone of --at (IANA name; default UTC).
    #[arg(long, value_name = "ZONE")]
    pub(crate) timezone: Option<String>,
    /// Weekday (weekly; default monday) or day of month 1-31 (monthly; default 1).
    #[arg(long)]
    pub(crate) day: Option<String>,
}

impl ScheduleArgs {
    /// Whether any schedule option was given.
    pub(crate) fn is_given(&self) -> bool {
        self.schedule.is_some()
            || self.every.is_some()
            || self.at.is_some()
            || self.timezone.is_some()
            || self.day.is_some()
    }
}

/// Safeguard thresholds: a run that would remove more than these is held for approval.
#[derive(Debug, Args)]
pub(crate) struct SafeguardArgs {
    /// Hold a run that suspends or deprovisions more than N users (accounts, for a secondary).
    #[arg(long, value_name = "N")]
    pub(crate) max_user_removals: Option<u64>,
    /// … or more than P % of them.
    #[arg(long, value_name = "P")]
    pub(crate) max_user_removals_percent: Option<f64>,
    /// Hold a run that removes more than N groups.
    #[arg(long, value_name = "N")]
    pub(crate) max_group_removals: Option<u64>,
    /// … or more than P % of them.
    #[arg(long, value_name = "P")]
    pub(crate) max_group_removals_percent: Option<f64>,
    /// Hold a run that removes more than N memberships.
    #[arg(long, value_name = "N")]
    pub(crate) max_membership_removals: Option<u64>,
    /// … or more than P % of them.
    #[arg(long, value_name = "P")]
    pub(crate) max_membership_removals_percent: Option<f64>,
    /// Outbound: hold a run that removes more than N members from one managed group.
    #[arg(long, value_name = "N")]
    pub(crate) max_member_removals: Option<u64>,
    /// … or more than P % of its members.
    #[arg(long, value_name = "P")]
    pub(crate) max_member_removals_percent: Option<f64>,
    /// Use the default thresholds again (conflicts with the --max-* options).
    #[arg(long, conflicts_with_all = [
        "max_user_removals", "max_user_removals_percent", "max_group_removals",
        "max_group_removals_percent", "max_membership_removals",
        "max_membership_removals_percent", "max_member_removals", "max_member_removals_percent",
    ])]
    pub(crate) default_safeguards: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// The integration's id.
    pub(crate) id: String,
    /// A new title.
    #[arg(long)]
    pub(crate) title: Option<String>,
    #[command(flatten)]
    pub(crate) schedule: ScheduleArgs,
    /// Resume (true) or deactivate (false) scheduled runs.
    #[arg(long, value_name = "BOOL")]
    pub(crate) active: Option<bool>,
    #[command(flatten)]
    pub(crate) safeguards: SafeguardArgs,
}

#[derive(Debug, Args)]
pub(crate) struct GoogleUpdateArgs {
    /// The integration's id.
    pub(crate) id: String,
    /// Limit users and groups to this one of the customer's domains.
    #[arg(
        long,
        value_name = "DOMAIN",
        required_unless_present_any = ["all_domains", "concurrency"]
    )]
    pub(crate) domain: Option<String>,
    /// Read every domain of the customer again.
    #[arg(long, conflicts_with = "domain")]
    pub(crate) all_domains: bool,
    /// API requests in flight at once, at most (default 32, the best measured; more helps only
    /// a tenant whose quota was raised; fewer are sent while Google sheds load or rate limits).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) concurrency: Option<u32>,
}

#[derive(Debug, Args)]
pub(crate) struct ReauthorizeArgs {
    /// The integration's id.
    pub(crate) id: String,
    /// Consent again (a consent-based integration; possibly by another admin).
    #[arg(long, conflicts_with_all = ["key", "subject", "ownership", "settings"])]
    pub(crate) oauth: bool,
    #[command(flatten)]
    pub(crate) consent: ConsentArgs,
    /// A new JSON key file.
    #[arg(long)]
    pub(crate) key: Option<PathBuf>,
    /// A new delegated admin.
    #[arg(long)]
    pub(crate) subject: Option<String>,
    /// Who owns the (new) service account.
    #[arg(long, value_enum)]
    pub(crate) ownership: Option<Ownership>,
    /// Any other setting of the integration's system, as `integration:show` prints it:
    /// NAME=VALUE, the value as JSON or else as text (e.g. `--setting path=/srv/hr-new`).
    /// Repeatable.
    #[arg(long = "setting", value_name = "NAME=VALUE")]
    pub(crate) settings: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RuleAddArgs {
    /// The integration's id.
    pub(crate) id: String,
    /// A name for humans.
    #[arg(long)]
    pub(crate) name: String,
    /// What to sync (comma-separated: users, groups, memberships, org_units; default all).
    #[arg(long, value_delimiter = ',')]
    pub(crate) kinds: Vec<String>,
    /// Only this org unit and its subtree.
    #[arg(long)]
    pub(crate) org_unit: Option<String>,
    /// Only these groups (repeat, or comma-separated). Outbound `--provision groups`: the
    /// directory groups to provision.
    #[arg(long = "group", value_delimiter = ',')]
    pub(crate) groups: Vec<String>,
    /// Outbound `--provision groups`: every group of this inbound integration.
    #[arg(long, value_name = "INTEGRATION", conflicts_with = "groups")]
    pub(crate) all_groups_of: Option<String>,
    /// Run only by hand (`rule:run`), never by the schedule.
    #[arg(long)]
    pub(crate) manual: bool,
    /// Outbound: the Google group this rule manages (then say who belongs in it with
    /// --select-* or --select).
    #[arg(long, value_name = "GROUP_EMAIL", conflicts_with = "provision")]
    pub(crate) manage: Option<String>,
    /// Outbound: provision directory users as Google accounts (`users`; say who with
    /// --select-* or --select), or directory groups as Google groups with their members
    /// (`groups`; say which with --group or --all-groups-of).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub(crate) provision: Option<ProvisionArg>,
    /// Outbound provisioning: map directory org units under FROM to Google org units under TO
    /// (repeatable; the longest FROM wins).
    #[arg(long = "org-unit-map", value_name = "FROM=TO", requires = "provision")]
    pub(crate) org_unit_map: Vec<String>,
    /// Outbound provisioning: create missing Google org units (parents first).
    #[arg(long, requires = "provision")]
    pub(crate) create_org_units: bool,
    /// Outbound provisioning: adopt an existing Google account with the same email (default:
    /// it is reported as a conflict and left untouched).
    #[arg(long, requires = "provision")]
    pub(crate) adopt_existing: bool,
    /// Outbound provisioning: delete accounts this integration created DAYS after their user
    /// was deprovisioned (default: never delete, only suspend).
    #[arg(long, value_name = "DAYS", requires = "provision")]
    pub(crate) delete_after: Option<u32>,
    /// Outbound provisioning: accounts sign in only through single sign-on (their random
    /// initial password need not be changed).
    #[arg(long, requires = "provision")]
    pub(crate) sso_only: bool,
    /// Outbound: users in this org unit or below (repeatable).
    #[arg(long, value_name = "PATH")]
    pub(crate) select_org_unit: Vec<String>,
    /// Outbound: members of this directory group, also through nested groups (repeatable).
    #[arg(long, value_name = "GROUP_EMAIL")]
    pub(crate) select_member_of: Vec<String>,
    /// Outbound: users of this employment type (employee or contractor).
    #[arg(long, value_name = "TYPE")]
    pub(crate) select_type: Option<String>,
    /// Outbound: users with this per-vendor attribute, NAME=VALUE (repeatable).
    #[arg(long, value_name = "NAME=VALUE")]
    pub(crate) select_attribute: Vec<String>,
    /// Outbound: combine the --select-* conditions with "or" instead of "and".
    #[arg(long)]
    pub(crate) select_any: bool,
    /// Outbound: the whole selector as JSON instead, e.g.
    /// '{"all":[{"org_unit":"/Eng"},{"not":{"employment_type":"contractor"}}]}' or '"everyone"'.
    #[arg(long, value_name = "JSON")]
    pub(crate) select: Option<String>,
    /// Outbound: the role members get.
    #[arg(long, value_enum, default_value_t = MemberRoleArg::Member)]
    pub(crate) role: MemberRoleArg,
    /// Outbound: also select suspended and deprovisioned users.
    #[arg(long)]
    pub(crate) include_inactive: bool,
    /// Outbound: the rule owns the whole group: members nobody selected are removed even if
    /// added by hand (default: only members this integration added are ever removed). With
    /// `--provision groups`: an existing Google group with the email of a provisioned one is
    /// adopted and kept in step (default: it is reported as a conflict and left untouched).
    #[arg(long)]
    pub(crate) fully_managed: bool,
    /// Outbound: set the rule's role back (members.patch) on members this integration added
    /// (or of a fully managed group) whose role was changed by hand.
    #[arg(long, requires = "manage")]
    pub(crate) keep_roles: bool,
}

/// What an outbound rule provisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProvisionArg {
    /// Directory users, as Google accounts.
    Users,
    /// Directory groups, as Google groups with their members.
    Groups,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum MemberRoleArg {
    Member,
    Manager,
    Owner,
}

#[derive(Debug, Args)]
pub(crate) struct ViewArgs {
    /// Which integration's groups or org units (default: the primary).
    #[arg(long)]
    pub(crate) integration: Option<String>,
    #[command(flatten)]
    pub(crate) filter: FilterArgs,
}

/// A text filter for lists.
#[derive(Debug, Args)]
pub(crate) struct FilterArgs {
    /// Only rows whose names, emails or ids contain this text (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    pub(crate) query: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct UsersListArgs {
    /// Only users with this status.
    #[arg(long, value_enum)]
    pub(crate) status: Option<StatusArg>,
    /// Only users in this org unit or below.
    #[arg(long, value_name = "PATH")]
    pub(crate) org_unit: Option<String>,
    #[command(flatten)]
    pub(crate) filter: FilterArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PlanListArgs {
    /// Only this integration's plans (default: every integration's).
    #[arg(long)]
    pub(crate) integration: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusArg {
    Active,
    Suspended,
    Deprovisioned,
}

impl From<StatusArg> for UserStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Active => Self::Active,
            StatusArg::Suspended => Self::Suspended,
            StatusArg::Deprovisioned => Self::Deprovisioned,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Direction {
    Inbound,
    Outbound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScheduleKind {
    Manual,
    Every,
    Daily,
    Weekly,
    Monthly,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Ownership {
    /// The customer's own service account and key.
    Customer,
    /// A service account the embedding provider manages.
    Managed,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (default: `listen` in the config file, else 127.0.0.1:8080).
    #[arg(long, env = "DIRSYNC_LISTEN", value_name = "ADDR:PORT")]
    pub(crate) listen: Option<std::net::SocketAddr>,
    /// The URL browsers and Google reach this server at (default: `http://` and the address
    /// it listens on; https makes the console's cookies Secure). Consents come back to
    /// URL/oauth/google/callback, which must be a redirect URI of the OAuth client.
    #[arg(long, env = "DIRSYNC_PUBLIC_URL", value_name = "URL", value_parser = public_url)]
    pub(crate) public_url: Option<reqwest::Url>,
    /// How long an API request may take before it is stopped and answered 503 `timeout`, in
    /// seconds (default: `request_timeout` in the config file, else 30). Not applied to a run's
    /// event stream nor to the routes that run a sync before answering.
    #[arg(long, env = "DIRSYNC_REQUEST_TIMEOUT", value_name = "SECONDS")]
    pub(crate) request_timeout: Option<u64>,
    /// How often the scheduler looks for due rules, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub(crate) tick_seconds: u64,
    /// Serve the API only; run no scheduled rules.
    #[arg(long)]
    pub(crate) no_scheduler: bool,
    /// On SIGTERM or SIGINT, how long runs under way may take to finish, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub(crate) shutdown_timeout_seconds: u64,
    #[command(flatten)]
    pub(crate) console: ConsoleArgs,
}

/// The web console (`/console`): where browsers reach it, and who may sign in.
#[derive(Debug, Args)]
pub(crate) struct ConsoleArgs {
    /// Operators sign in to the console with Google, as this OAuth client (Google's client
    /// file, a web client whose redirect URIs include {public-url}/console/signin/callback);
    /// Google integrations added in the console are authorized by consent to it too
    /// ({public-url}/oauth/google/callback).
    #[arg(long, env = "DIRSYNC_CONSOLE_OIDC_CLIENT", value_name = "FILE")]
    pub(crate) console_oidc_client: Option<PathBuf>,
    /// Google's OAuth endpoints at this base instead (the emulator's, for demos and tests).
    #[arg(long, hide = true, value_name = "URL")]
    pub(crate) console_oidc_base: Option<String>,
    /// Google integrations added in the console may be authorized by domain-wide delegation
    /// to this provider-managed service account's key.
    #[arg(long, env = "DIRSYNC_CONSOLE_GOOGLE_KEY", value_name = "FILE")]
    pub(crate) console_google_key: Option<PathBuf>,
    /// Google integrations added in the console use the Directory API at this base (the
    /// emulator's, for demos and tests).
    #[arg(long, hide = true, value_name = "URL")]
    pub(crate) console_google_api_base: Option<String>,
    /// Who may sign in to the console and change things: an email or @domain (repeatable).
    #[arg(long, value_name = "EMAIL|@DOMAIN")]
    pub(crate) console_allow: Vec<String>,
    /// Who may sign in to the console and only see: an email or @domain (repeatable).
    #[arg(long, value_name = "EMAIL|@DOMAIN")]
    pub(crate) console_read_only: Vec<String>,
}

/// An http(s) URL without a query or fragment.
fn public_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("an http:// or https:// URL with a host is needed".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the URL takes no query or fragment".to_owned());
    }
    Ok(url)
}

#[derive(Debug, Args)]
pub(crate) struct WorkArgs {
    /// Run the scheduled rules of every tenant of the PostgreSQL database (tenants created
    /// later are picked up at the next tick) instead of one directory.
    #[arg(long)]
    pub(crate) all_tenants: bool,
    /// How often the worker looks for due rules, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub(crate) tick_seconds: u64,
    /// On SIGTERM or SIGINT, how long a run under way may take to finish, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub(crate) shutdown_timeout_seconds: u64,
}
