//! What the command-line tests share: the binary under test, a way to run it, an emulated
//! tenant, and store-file copies.

#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use dirsync_google_emulator::{Emulator, EmulatorConfig, RunningEmulator, TenantSpec};
use serde_json::Value;

/// The `dirsync` binary cargo built for this test run.
pub(crate) fn dirsync_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dirsync"))
}

/// Copies a closed store file (and its WAL, if any) to `to`.
pub(crate) fn copy_store(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    for ext in ["-wal", "-shm"] {
        let src = PathBuf::from(format!("{}{ext}", from.display()));
        if src.exists() {
            std::fs::copy(&src, format!("{}{ext}", to.display())).unwrap();
        }
    }
}

/// What a run of the binary gave.
pub(crate) struct Outcome {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Outcome {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
    pub(crate) fn error(&self) -> Value {
        serde_json::from_str(self.stderr.trim())
            .unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {}", self.stderr))
    }
}

/// The binary with `--db` set.
pub(crate) struct Cli {
    pub(crate) binary: PathBuf,
    pub(crate) db: PathBuf,
}

impl Cli {
    pub(crate) async fn run(&self, args: &[&str]) -> Outcome {
        let mut command = Command::new(&self.binary);
        command.arg("--db").arg(&self.db).args(args);
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .unwrap();
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs with `--json`, expects `code`, returns stdout as JSON.
    pub(crate) async fn json(&self, args: &[&str], code: i32) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all).await;
        assert_eq!(
            out.code, code,
            "dirsync {args:?}: stdout {} stderr {}",
            out.stdout, out.stderr
        );
        out.json()
    }
}

pub(crate) fn is_rfc3339_or_null(v: &Value) -> bool {
    v.is_null()
        || v.as_str()
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

/// An emulated tenant, the binary over a directory file in `dir`, and the key file.
pub(crate) async fn setup(dir: &Path) -> (RunningEmulator, Cli, PathBuf) {
    let google = Emulator::start(EmulatorConfig::new(TenantSpec::sized(5, 80)))
        .await
        .unwrap();
    let key = dir.join("key.json");
    std::fs::write(&key, google.service_account_key_json()).unwrap();
    let cli = Cli {
        binary: dirsync_binary(),
        db: dir.join("directory.db"),
    };
    (google, cli, key)
}

impl Cli {
    /// `google-integration:create` of an integration titled "Acme" on the emulated tenant
    /// (no pacing), with `extra` arguments; its id.
    pub(crate) async fn create(
        &self,
        google: &RunningEmulator,
        key: &Path,
        extra: &[&str],
    ) -> String {
        let subject = google.admin_subject();
        let base = google.base_url();
        let mut args = vec![
            "google-integration:create",
            "--title",
            "Acme",
            "--key",
            key.to_str().unwrap(),
            "--subject",
            &subject,
            "--api-base",
            &base,
            "--quota-per-minute",
            "0",
        ];
        args.extend_from_slice(extra);
        let created = self.json(&args, 0).await;
        created["id"].as_str().unwrap().to_owned()
    }
}
