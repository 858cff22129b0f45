//! The command line: global options and one subcommand per operation.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// dirsync — sync a Google Workspace directory into a local SQLite directory, and manage
/// Google group memberships from it.
///
/// Exit codes: 0 success; 1 failure (for `status` and `scheduler:run-due`: an integration is
/// failing); 3 a safeguard held the run, or a plan is held (approve it with
/// `plan:approve PLAN_ID`).
#[derive(Debug, Parser)]
#[command(name = "dirsync", version, about, long_about)]
pub(crate) struct Cli {
    /// The SQLite directory file (created if missing).
    #[arg(long, global = true, default_value = "directory-sync.db")]
    pub(crate) db: PathBuf,
    /// Machine-readable JSON on stdout (errors as JSON on stderr); no progress bars.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// POST every failed run, held plan and recovery as JSON to this URL (chat, paging).
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) notify_url: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a Google Workspace integration (staged) and print what the admin must grant.
    #[command(name = "google-integration:create")]
    GoogleCreate(CreateArgs),
    /// Verify every scope, record the authorization, activate, and run the initial sync.
    #[command(name = "google-integration:activate")]
    GoogleActivate {
        /// The integration's id.
        id: String,
    },
    /// List integrations.
    #[command(name = "integration:list")]
    IntegrationList,
    /// Show an integration: state, schedule, rules, who authorized it and when.
    #[command(name = "integration:show")]
    IntegrationShow {
        /// The integration's id.
        id: String,
    },
    /// Deactivate an integration (scheduled rules stop; nothing is deleted).
    #[command(name = "integration:deactivate")]
    IntegrationDeactivate {
        /// The integration's id.
        id: String,
    },
    /// Reactivate an inactive integration.
    #[command(name = "integration:reactivate")]
    IntegrationReactivate {
        /// The integration's id.
        id: String,
    },
    /// New key or subject (verified before it is stored); brings a failed integration back.
    #[command(name = "integration:reauthorize")]
    IntegrationReauthorize(ReauthorizeArgs),
    /// Remove an integration and the data it owns (the primary is refused while it owns data).
    #[command(name = "integration:remove")]
    IntegrationRemove {
        /// The integration's id.
        id: String,
    },
    /// Add a rule: what to sync, in which scope, scheduled or manual.
    #[command(name = "rule:add")]
    RuleAdd(RuleAddArgs),
    /// List an integration's rules.
    #[command(name = "rule:list")]
    RuleList {
        /// The integration's id.
        id: String,
    },
    /// Remove a rule.
    #[command(name = "rule:remove")]
    RuleRemove {
        /// The integration's id.
        id: String,
        /// The rule's id.
        rule: String,
    },
    /// Run one rule now (manual or scheduled).
    #[command(name = "rule:run")]
    RuleRun {
        /// The integration's id.
        id: String,
        /// The rule's id.
        rule: String,
    },
    /// Sync an integration's whole directory now, or show what it would do.
    Sync {
        /// The integration's id.
        id: String,
        /// Plan only: show what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// An integration's recent runs, newest first.
    Runs {
        /// The integration's id.
        id: String,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Apply a plan a safeguard held, exactly as it was held.
    #[command(name = "plan:approve")]
    PlanApprove {
        /// The plan's id (from `sync` or `runs`).
        plan: String,
    },
    /// Per integration: state, last success and failure, held plans, next run. Exit code 1
    /// while any integration is failing, 3 while any plan is held.
    Status,
    /// Run every scheduled rule that is due (never a manual one), then report failing
    /// integrations and held plans (exit code as `status`). For cron.
    #[command(name = "scheduler:run-due")]
    SchedulerRunDue {
        /// The instant to evaluate schedules at (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
    },
    /// The directory's users.
    #[command(name = "users:list")]
    UsersList,
    /// Groups with their members (of the primary integration unless --integration).
    #[command(name = "groups:list")]
    GroupsList(ViewArgs),
    /// Org units (of the primary integration unless --integration).
    #[command(name = "orgunits:list")]
    OrgUnitsList(ViewArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// A title for humans.
    #[arg(long)]
    pub(crate) title: String,
    /// The service account's JSON key file.
    #[arg(long)]
    pub(crate) key: PathBuf,
    /// The Workspace admin the service account acts as (domain-wide delegation).
    #[arg(long)]
    pub(crate) subject: String,
    /// Inbound reads Google into the directory; outbound manages Google groups. Fixed for life.
    #[arg(long, value_enum, default_value_t = Direction::Inbound)]
    pub(crate) direction: Direction,
    /// When scheduled rules run.
    #[arg(long, value_enum, default_value_t = ScheduleKind::Daily)]
    pub(crate) schedule: ScheduleKind,
    /// Time of day (HH:MM) for daily, weekly and monthly schedules.
    #[arg(long, default_value = "02:00")]
    pub(crate) at: String,
    /// Time zone of --at (IANA name).
    #[arg(long, default_value = "UTC")]
    pub(crate) timezone: String,
    /// Weekday (weekly; default monday) or day of month 1-31 (monthly; default 1).
    #[arg(long)]
    pub(crate) day: Option<String>,
    /// Google customer id (default: the subject's own account, `my_customer`).
    #[arg(long)]
    pub(crate) customer: Option<String>,
    /// Directory API base URL (default Google's; plain http only for 127.0.0.1).
    #[arg(long)]
    pub(crate) api_base: Option<String>,
    /// Client-side pacing, requests a minute (Google's default per-admin quota is 2,400; set
    /// more if the tenant's quota was raised; 0 turns pacing off).
    #[arg(long, default_value_t = 2_400)]
    pub(crate) quota_per_minute: u32,
    /// Who owns the service account.
    #[arg(long, value_enum, default_value_t = Ownership::Customer)]
    pub(crate) ownership: Ownership,
}

#[derive(Debug, Args)]
pub(crate) struct ReauthorizeArgs {
    /// The integration's id.
    pub(crate) id: String,
    /// A new JSON key file.
    #[arg(long)]
    pub(crate) key: Option<PathBuf>,
    /// A new delegated admin.
    #[arg(long)]
    pub(crate) subject: Option<String>,
    /// Who owns the (new) service account.
    #[arg(long, value_enum)]
    pub(crate) ownership: Option<Ownership>,
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
    /// Only these groups (repeat, or comma-separated).
    #[arg(long = "group", value_delimiter = ',')]
    pub(crate) groups: Vec<String>,
    /// Run only by hand (`rule:run`), never by the schedule.
    #[arg(long)]
    pub(crate) manual: bool,
    /// Outbound: the Google group this rule manages (then say who belongs in it with
    /// --select-* or --select).
    #[arg(long, value_name = "GROUP_EMAIL")]
    pub(crate) manage: Option<String>,
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
    /// added by hand (default: only members this integration added are ever removed).
    #[arg(long)]
    pub(crate) fully_managed: bool,
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
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Direction {
    Inbound,
    Outbound,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ScheduleKind {
    Manual,
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
