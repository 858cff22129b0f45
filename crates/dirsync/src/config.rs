//! Where dirsync's settings come from: the command line and the environment (clap reads both),
//! then the config file, then the defaults. The directory file never defaults to the working
//! directory, so a cron job finds the same file as the admin who set it up.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use dirsync_core::AttributeMapping;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cli::{Cli, Format};

/// The config file: every key is optional.
///
/// ```toml
/// db = "/var/lib/dirsync/directory.db"   # relative paths are relative to this file
/// format = "table"                       # table, json or csv
/// log = "info"                           # a RUST_LOG filter
/// listen = "127.0.0.1:8080"              # dirsync serve
/// request_timeout = 30                   # dirsync serve: seconds an API request may take
/// public_url = "https://sync.example.com" # dirsync serve, scheduler:work: push channels' callbacks
/// tenant = "acme"                        # one directory of a PostgreSQL database
/// notify_url = "https://…"               # failed runs, held plans, recoveries as JSON
///
/// [attributes]                           # directory attributes enriched by integrations:
/// department = ["INTEGRATION:dept", "INTEGRATION:department"]   # first source wins
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    db: Option<PathBuf>,
    format: Option<Format>,
    log: Option<String>,
    listen: Option<String>,
    request_timeout: Option<u64>,
    public_url: Option<String>,
    notify_url: Option<String>,
    tenant: Option<String>,
    #[serde(default)]
    attributes: AttributeMapping,
}

/// Where a setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// `--db` or `DIRSYNC_DB`.
    CommandLine,
    /// The config file.
    ConfigFile,
    /// The built-in default.
    Default,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Self::CommandLine => "command line or environment",
            Self::ConfigFile => "config file",
            Self::Default => "default",
        }
    }
}

/// The settings a command runs with.
#[derive(Debug)]
pub(crate) struct Settings {
    /// The directory file.
    pub(crate) db: PathBuf,
    /// Where `db` came from.
    pub(crate) db_source: Source,
    /// The config file read, if any.
    pub(crate) config: Option<PathBuf>,
    /// The output format.
    pub(crate) format: Format,
    /// The log filter of the config file (RUST_LOG and -v/-q win over it).
    pub(crate) log: Option<String>,
    /// Where `serve` listens, from the config file.
    listen: Option<String>,
    /// How long `serve` lets an API request take, in seconds, from the config file.
    pub(crate) request_timeout: Option<u64>,
    /// The server's public base URL, where push channels send (`--public-url`,
    /// `DIRSYNC_PUBLIC_URL`, `public_url`); none: no push channels.
    pub(crate) public_url: Option<String>,
    /// Where notifications are POSTed (`--notify-url`, `DIRSYNC_NOTIFY_URL`, `notify_url`).
    pub(crate) notify_url: Option<String>,
    /// One directory of a PostgreSQL database (`--tenant`, `DIRSYNC_TENANT`, `tenant`).
    pub(crate) tenant: Option<String>,
    /// The directory attributes and their sources (`[attributes]`).
    pub(crate) attributes: AttributeMapping,
}

impl Settings {
    /// The settings of `cli`, completed from the config file and the defaults.
    ///
    /// # Errors
    /// A config file given explicitly that cannot be read; a config file that is not valid
    /// (unknown keys, wrong types); no data directory to put the default directory file in.
    pub(crate) fn resolve(cli: &Cli) -> Result<Self> {
        let (config, file) = match &cli.config {
            Some(path) => (Some(path.clone()), read(path)?),
            None => match default_config_path().filter(|p| p.is_file()) {
                Some(path) => {
                    let file = read(&path)?;
                    (Some(path), file)
                }
                None => (None, ConfigFile::default()),
            },
        };
        let (db, db_source) = match (&cli.db, &file.db, &config) {
            (Some(db), _, _) => (db.clone(), Source::CommandLine),
            (None, Some(db), Some(_)) if is_postgres(db) => (db.clone(), Source::ConfigFile),
            (None, Some(db), Some(config)) => (
                config.parent().unwrap_or(Path::new(".")).join(db),
                Source::ConfigFile,
            ),
            _ => (default_db_path()?, Source::Default),
        };
        let format = if cli.json {
            Format::Json
        } else {
            cli.format.or(file.format).unwrap_or(Format::Table)
        };
        Ok(Self {
            db,
            db_source,
            config,
            format,
            log: file.log,
            listen: file.listen,
            request_timeout: file.request_timeout,
            public_url: cli.public_url.clone().or(file.public_url),
            notify_url: cli.notify_url.clone().or(file.notify_url),
            tenant: cli.tenant.clone().or(file.tenant),
            attributes: file.attributes,
        })
    }

    /// Where `serve` listens when `--listen` and `DIRSYNC_LISTEN` are not given: the config
    /// file's `listen`, else 127.0.0.1:8080.
    ///
    /// # Errors
    /// A `listen` that is not an address and port.
    pub(crate) fn listen(&self) -> Result<std::net::SocketAddr> {
        let text = self.listen.as_deref().unwrap_or("127.0.0.1:8080");
        text.parse()
            .with_context(|| format!("listen = {text:?} in the config file is not ADDR:PORT"))
    }

    /// `config:show`: the resolved settings.
    pub(crate) fn describe(&self) -> (Value, String) {
        let json = json!({
            "db": shown_db(&self.db),
            "db_source": self.db_source.name(),
            "config": self.config.as_ref().map(|p| p.display().to_string()),
            "default_config": default_config_path().map(|p| p.display().to_string()),
            "format": format!("{:?}", self.format).to_lowercase(),
            "log": self.log,
            "listen": self.listen().map(|a| a.to_string()).ok(),
            "request_timeout": self.request_timeout,
            // Webhook URLs often carry a secret: only whether one is set.
            "notify_url_set": self.notify_url.is_some(),
            "tenant": self.tenant,
            "attributes": self.attributes,
        });
        let text = format!(
            "db      {} ({})\nconfig  {}\nformat  {}\nlog     {}",
            shown_db(&self.db),
            self.db_source.name(),
            self.config.as_ref().map_or_else(
                || match default_config_path() {
                    Some(p) => format!("none ({} does not exist)", p.display()),
                    None => "none".to_owned(),
                },
                |p| p.display().to_string()
            ),
            json["format"].as_str().unwrap_or_default(),
            self.log
                .as_deref()
                .unwrap_or("(RUST_LOG, -v, -q; default warn)"),
        );
        (json, text)
    }
}

fn read(path: &Path) -> Result<ConfigFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("the config file {}", path.display()))
}

/// `dirsync/config.toml` in the platform's config directory (`~/.config` on Linux).
fn default_config_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("dirsync").join("config.toml"))
}

/// Whether `--db` names a PostgreSQL database (`postgres://` or `postgresql://`) rather than a
/// SQLite file.
pub(crate) fn is_postgres(db: &Path) -> bool {
    db.to_str()
        .is_some_and(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// `--db` as it may be shown: a PostgreSQL URL without its password.
pub(crate) fn shown_db(db: &Path) -> String {
    let text = db.display().to_string();
    if !is_postgres(db) {
        return text;
    }
    let (scheme, rest) = text.split_once("://").unwrap_or(("postgres", &text));
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _password)) => format!("{name}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once("password=") {
        Some((before, after)) => {
            let rest = after.find('&').map_or("", |i| &after[i..]);
            format!("{before}password=***{rest}")
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// `dirsync/directory-sync.db` in the platform's data directory (`~/.local/share` on Linux).
fn default_db_path() -> Result<PathBuf> {
    match dirs::data_dir() {
        Some(dir) => Ok(dir.join("dirsync").join("directory-sync.db")),
        None => bail!("no data directory for the directory file: give --db PATH or DIRSYNC_DB"),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{ConfigFile, is_postgres, shown_db};

    #[test]
    fn the_request_timeout_reads_from_the_config_file() -> Result<(), toml::de::Error> {
        let file: ConfigFile = toml::from_str("listen = \"127.0.0.1:9000\"\nrequest_timeout = 5")?;
        assert_eq!(file.request_timeout, Some(5));
        let none: ConfigFile = toml::from_str("")?;
        assert_eq!(none.request_timeout, None);
        Ok(())
    }

    #[test]
    fn a_postgres_url_is_shown_without_its_password() {
        let shown = |db: &str| shown_db(Path::new(db));
        assert_eq!(
            shown("postgres://dirsync:s3cret@db.internal:5432/dirsync"),
            "postgres://dirsync:***@db.internal:5432/dirsync"
        );
        assert_eq!(
            shown("postgresql://db/dirsync?user=u&password=s3cret&sslmode=disable"),
            "postgresql://db/dirsync?user=u&password=***&sslmode=disable"
        );
        assert_eq!(shown("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(
            shown("/var/lib/dirsync/p:w@x.db"),
            "/var/lib/dirsync/p:w@x.db"
        );
        assert!(is_postgres(Path::new("postgres://db/x")));
        assert!(!is_postgres(Path::new("directory.db")));
    }
}
