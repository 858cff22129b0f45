//! The command line: global options and one subcommand per operation. The arguments of the
//! larger subcommands are in `args.rs`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::args::{
    ConsentArgs, CreateArgs, FileCreateArgs, FilterArgs, GoogleUpdateArgs, PlanListArgs,
    ReauthorizeArgs, RuleAddArgs, ScimCreateArgs, ServeArgs, UpdateArgs, UsersListArgs, ViewArgs,
    WorkArgs,
};

/// dirsync — sync a Google Workspace directory into a local SQLite directory, and manage
/// Google group memberships from it.
///
/// Options come from the command line, then the environment (DIRSYNC_DB, DIRSYNC_FORMAT,
/// DIRSYNC_CONFIG, DIRSYNC_NOTIFY_URL, RUST_LOG, ...), then the config file (default
/// ~/.config/dirsync/config.toml), then the defaults; the directory file defaults to
/// ~/.local/share/dirsync/directory-sync.db (the platform's data directory), not the working
/// directory.
///
/// Exit codes: 0 success; 1 failure (for `status` and `scheduler:run-due`: an integration is
/// failing); 3 a safeguard held the run, or a plan is held (approve it with
/// `plan:approve PLAN_ID`).
#[derive(Debug, Parser)]
#[command(name = "dirsync", version, about, long_about)]
pub(crate) struct Cli {
    /// The directory: a SQLite file (created if missing), or a PostgreSQL database as
    /// postgres://user:password@host:port/database (migrated on connect). Default: `db` in the
    /// config file, else dirsync/directory-sync.db in the platform's data directory.
    #[arg(long, global = true, env = "DIRSYNC_DB", value_name = "PATH|URL")]
    pub(crate) db: Option<PathBuf>,
    /// The config file (TOML: db, format, log, listen, request_timeout, notify_url, `[attributes]`). Default: dirsync/config.toml in the platform's
    /// config directory, if it exists.
    #[arg(long, global = true, env = "DIRSYNC_CONFIG", value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
    /// Output format: table (for people), json (stable; errors as JSON on stderr) or csv.
    #[arg(long, global = true, env = "DIRSYNC_FORMAT", value_enum)]
    pub(crate) format: Option<Format>,
    /// Short for --format json.
    #[arg(long, global = true, conflicts_with = "format")]
    pub(crate) json: bool,
    /// One customer's directory in a PostgreSQL database that keeps many (`--db postgres://…`
    /// only; a SQLite file is one directory). Default: `tenant` in the config file, else the
    /// database's default directory.
    #[arg(long, global = true, env = "DIRSYNC_TENANT", value_name = "NAME")]
    pub(crate) tenant: Option<String>,
    /// Only these fields of each row, in this order (comma-separated; the names of the JSON
    /// output). For table, csv and json.
    #[arg(long, global = true, value_delimiter = ',', value_name = "FIELDS")]
    pub(crate) fields: Vec<String>,
    /// More log lines on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Log lines as text or as JSON objects (one a line, for log collectors).
    #[arg(long, global = true, env = "DIRSYNC_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
    /// POST every failed run, held plan and recovery as JSON to this URL (chat, paging).
    /// Default: `notify_url` in the config file.
    #[arg(long, global = true, env = "DIRSYNC_NOTIFY_URL", value_name = "URL")]
    pub(crate) notify_url: Option<String>,
    /// The server's public base URL (`https://sync.example.com`): push channels send to
    /// `{URL}/hooks/google/{integration}` (`serve`, `scheduler:work`). Default: `public_url`
    /// in the config file; none: no push channels.
    #[arg(long, global = true, env = "DIRSYNC_PUBLIC_URL", value_name = "URL")]
    pub(crate) public_url: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// For people.
    Text,
    /// One JSON object a line.
    Json,
}

/// How output is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    /// Aligned columns and readable text.
    Table,
    /// The stable JSON documented in the README.
    Json,
    /// Comma-separated values with a header row.
    Csv,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a Google Workspace integration (staged) and print what the admin must grant.
    #[command(name = "google-integration:create")]
    GoogleCreate(CreateArgs),
    /// Change which of the customer's domains a Google integration reads, or how many requests
    /// it keeps in flight. A staged integration takes it as is (activation checks it); another
    /// is checked first (the domain must be one of the customer's), and nothing changes if the
    /// check fails. Users and groups outside the new domain are no longer read: the next sync
    /// treats them as gone from Google (safeguards hold a large change for review).
    #[command(name = "google-integration:update")]
    GoogleUpdate(GoogleUpdateArgs),
    /// Authorize a consent-based integration: print the consent URL (with --json, the first
    /// line is {"authorize_url": …}), open a browser, wait for Google's redirect on 127.0.0.1,
    /// verify it and record who authorized.
    #[command(name = "google-integration:authorize")]
    GoogleAuthorize {
        /// The integration's id.
        id: String,
        #[command(flatten)]
        consent: ConsentArgs,
    },
    /// Verify every scope, record the authorization, activate, and run the initial sync.
    #[command(name = "google-integration:activate")]
    GoogleActivate {
        /// The integration's id.
        id: String,
    },
    /// Create an integration reading an HR export (CSV or JSON Lines files in a folder).
    #[command(name = "file-integration:create")]
    FileCreate(FileCreateArgs),
    /// Create an inbound SCIM 2.0 integration (active at once) and print its SCIM base path
    /// and bearer token (shown once: only its hash is kept).
    #[command(name = "scim-integration:create")]
    ScimCreate(ScimCreateArgs),
    /// Give a SCIM integration a new bearer token (shown once); the old one is refused at once.
    #[command(name = "integration:rotate-token")]
    IntegrationRotateToken {
        /// The integration's id.
        id: String,
    },
    /// Run the access checks, record the authorization, activate, and run the initial sync
    /// (any system; the same as google-integration:activate for Google).
    #[command(name = "integration:activate")]
    IntegrationActivate {
        /// The integration's id.
        id: String,
    },
    /// List integrations.
    #[command(name = "integration:list")]
    IntegrationList(FilterArgs),
    /// Show an integration: state, schedule, safeguards, rules, who authorized it and when.
    #[command(name = "integration:show")]
    IntegrationShow {
        /// The integration's id.
        id: String,
    },
    /// Change an integration's title, schedule, activation or safeguards (no new authorization).
    #[command(name = "integration:update")]
    IntegrationUpdate(UpdateArgs),
    /// Deactivate an integration (scheduled rules stop; nothing is deleted).
    #[command(name = "integration:deactivate")]
    IntegrationDeactivate {
        /// The integration's id.
        id: String,
    },
    /// Turn pushed changes on (a push channel is opened; needs `--public-url`) or off (it is
    /// stopped). Scheduled rules stay the backstop.
    #[command(name = "integration:push")]
    IntegrationPush {
        /// The integration's id.
        id: String,
        /// `on` or `off`.
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Reactivate an inactive integration.
    #[command(name = "integration:reactivate")]
    IntegrationReactivate {
        /// The integration's id.
        id: String,
    },
    /// New settings for the authorization (a key, a subject, or any setting of the system),
    /// verified before they are stored; brings a failed integration back.
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
    /// Plans held by a safeguard, waiting for approval.
    #[command(name = "plan:list")]
    PlanList(PlanListArgs),
    /// A held plan explained, operation by operation (nothing is fetched).
    #[command(name = "plan:show")]
    PlanShow {
        /// The plan's id (from `sync`, `runs` or `plan:list`).
        plan: String,
    },
    /// Apply a plan a safeguard held, exactly as it was held.
    #[command(name = "plan:approve")]
    PlanApprove {
        /// The plan's id (from `sync`, `runs` or `plan:list`).
        plan: String,
    },
    /// Discard a held plan: it is never applied; the next sync plans afresh.
    #[command(name = "plan:discard")]
    PlanDiscard {
        /// The plan's id.
        plan: String,
    },
    /// Per integration: state, last success and failure, held plans, next run. Exit code 1
    /// while any integration is failing, 3 while any plan is held.
    Status,
    /// Run every scheduled rule that is due (never a manual one), then report failing
    /// integrations and held plans (exit code as `status`). For cron or a systemd timer.
    #[command(name = "scheduler:run-due")]
    SchedulerRunDue {
        /// The instant to evaluate schedules at (RFC 3339); default now.
        #[arg(long)]
        now: Option<String>,
    },
    /// A worker: run scheduled rules as they fall due, until SIGTERM or SIGINT, for one
    /// directory or (--all-tenants) every tenant of a PostgreSQL database, one run at a time.
    /// Several workers on one database share the work: each due rule runs once, and a rule
    /// whose worker died runs on another once the dead run's lease expires.
    #[command(name = "scheduler:work")]
    SchedulerWork(WorkArgs),
    /// The directory's users.
    #[command(name = "users:list")]
    UsersList(UsersListArgs),
    /// Groups with their members (of the primary integration unless --integration).
    #[command(name = "groups:list")]
    GroupsList(ViewArgs),
    /// Org units (of the primary integration unless --integration).
    #[command(name = "orgunits:list")]
    OrgUnitsList(ViewArgs),
    /// Create an API token for `dirsync serve`; it is printed this once (only its hash is kept).
    #[command(name = "api-token:create")]
    ApiTokenCreate {
        /// A unique name (letters, digits, '.', '_', '-').
        #[arg(long)]
        name: String,
        /// The token can read but change nothing.
        #[arg(long)]
        read_only: bool,
    },
    /// List API tokens (names, never the tokens).
    #[command(name = "api-token:list")]
    ApiTokenList,
    /// Revoke an API token: requests presenting it are refused from now on.
    #[command(name = "api-token:revoke")]
    ApiTokenRevoke {
        /// The token's name.
        name: String,
    },
    /// Serve the HTTP API (under /api/v1, with API tokens) and the web console (under
    /// /console), and run scheduled rules, until SIGTERM or SIGINT.
    Serve(ServeArgs),
    /// Print a one-time link that signs a browser in to the web console as a full operator
    /// (for the first setup): it works once, within 15 minutes.
    #[command(name = "console:login")]
    ConsoleLogin {
        /// The server's URL as browsers reach it. Default: http:// and `listen` in the config
        /// file, else http://127.0.0.1:8080.
        #[arg(long, env = "DIRSYNC_PUBLIC_URL", value_name = "URL")]
        public_url: Option<String>,
    },
    /// Where dirsync reads its settings from, and what they resolve to.
    #[command(name = "config:show")]
    ConfigShow,
    /// Print a shell completion script (e.g. `dirsync completions bash > /etc/bash_completion.d/dirsync`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff; e.g. `dirsync man > /usr/local/share/man/man1/dirsync.1`).
    Man,
}
