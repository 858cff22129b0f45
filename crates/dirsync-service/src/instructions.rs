//! What an admin must do before an integration can be activated, as its connector says.

use std::fmt;

use dirsync_core::{Grant, Scope};
use serde::Serialize;

/// What an admin must grant for one integration: the system's name and its connector's
/// [`Grant`] (Google: the service account's client id and the exact scope strings, by
/// domain-wide delegation). Its `Display` is step-by-step text for the admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AdminInstructions {
    /// The system, for people (`Google Workspace`).
    pub system: String,
    /// What to grant.
    pub grant: Grant,
}

impl AdminInstructions {
    /// Instructions to grant `grant` in `system`.
    pub fn new(system: impl Into<String>, grant: Grant) -> Self {
        Self {
            system: system.into(),
            grant,
        }
    }

    /// The scopes to grant (none for systems without scopes).
    pub fn scopes(&self) -> Vec<Scope> {
        match &self.grant {
            Grant::Scopes { scopes, .. } => scopes.iter().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The scopes as admin consoles take them: comma-separated, no spaces.
    pub fn scopes_csv(&self) -> String {
        self.scopes()
            .iter()
            .map(Scope::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for AdminInstructions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.grant {
            Grant::Scopes {
                client_id,
                client_email,
                subject,
                console,
                ..
            } => {
                writeln!(f, "A {} super admin grants the scopes once:", self.system)?;
                match console {
                    Some(console) => writeln!(f, "  1. {console}")?,
                    None => writeln!(f, "  1. In the admin console, grant access to the client")?,
                }
                let client_id = client_id.as_deref().unwrap_or("(the integration's client)");
                match client_email {
                    Some(email) => {
                        writeln!(f, "  2. Client ID: {client_id}   (service account {email})")?
                    }
                    None => writeln!(f, "  2. Client ID: {client_id}")?,
                }
                writeln!(f, "  3. OAuth scopes (comma-delimited):")?;
                writeln!(f, "     {}", self.scopes_csv())?;
                match subject {
                    Some(subject) => write!(
                        f,
                        "  4. Authorize, then activate the integration; it acts as {subject}."
                    ),
                    None => write!(f, "  4. Authorize, then activate the integration."),
                }
            }
            Grant::Token { secret } => write!(
                f,
                "Create an access token in {} and store it under the secret {secret}; then \
                 activate the integration.",
                self.system
            ),
            _ => write!(
                f,
                "Nothing to grant in {}: activate the integration (its access checks run then).",
                self.system
            ),
        }
    }
}
