//! DESIGN §3: only a store makes a primary. The record conversions a store needs
//! (`NewIntegration::into_record`, `AnyIntegration::from_record`) exist only with the crate's
//! `backend` feature, so code built with the default features cannot forge a primary.
//!
//! `trybuild` cannot prove this inside the workspace: store crates enable `backend`, and cargo
//! unifies features, so this crate's tests are built with it. The test therefore builds a small
//! program of its own against this crate with the default features (in its own target folder,
//! with the workspace's lock file, offline) and reads the compiler's errors; the same program
//! with `backend` is the control that it fails for that reason alone.

#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

const FORGER: &str = r#"
use dirsync_core::*;

fn main() -> Result<(), Error> {
    let settings = RemoteSettings::new(System::new("mine")?, serde_json::json!({}))?;
    let new = NewIntegration::new("forged", DirectionKind::Inbound, settings, Schedule::Manual, chrono::Utc::now())?;
    let forged = AnyIntegration::from_record(new.into_record(RoleKind::Primary))?;
    assert!(forged.is_primary());
    Ok(())
}
"#;

fn write_forger(dir: &Path) -> std::io::Result<()> {
    let core = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = core.join("../..");
    let manifest = format!(
        r#"[package]
name = "forger"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
dirsync-core = {{ path = {core:?} }}
chrono = "0.4"
serde_json = "1"

[workspace]
"#,
        core = core.display().to_string()
    );
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(dir.join("Cargo.toml"), manifest)?;
    std::fs::write(dir.join("src/main.rs"), FORGER)?;
    std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    Ok(())
}

fn check(dir: &Path, features: &[&str]) -> (bool, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let target: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("backend-gate");
    let mut command = Command::new(cargo);
    command
        .arg("check")
        .arg("--offline")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS");
    for feature in features {
        command.arg("--features").arg(feature);
    }
    let output = command.output().expect("cargo runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn default_features_cannot_forge_a_primary() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("backend-gate-forger");
    write_forger(&dir).expect("the forger is written");

    let (compiled, errors) = check(&dir, &[]);
    assert!(!compiled, "a primary was forged with the default features");
    assert!(
        errors.contains("no method named `into_record` found"),
        "{errors}"
    );
    assert!(
        errors.contains("associated item named `from_record` found"),
        "{errors}"
    );

    // The control: with the backend feature the same program compiles, so the refusal above
    // is the feature gate and nothing else.
    let (compiled, errors) = check(&dir, &["dirsync-core/backend"]);
    assert!(compiled, "{errors}");
}
