//! What the Google Workspace super admin must do before an integration can be activated.

use std::fmt;

use dirsync_core::{Email, Scope};
use serde::Serialize;

/// The domain-wide delegation a Workspace super admin must grant: the service account's client
/// id and the exact scope strings. Its `Display` is step-by-step text for the admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AdminInstructions {
    /// The service account's OAuth client id (what the admin console asks for).
    pub client_id: String,
    /// The service account's email, to recognise it by.
    pub client_email: Email,
    /// The admin the service account will act as.
    pub subject: Email,
    /// The exact scopes to grant.
    pub scopes: Vec<Scope>,
}

impl AdminInstructions {
    /// The scopes as the admin console takes them: comma-separated, no spaces.
    pub fn scopes_csv(&self) -> String {
        self.scopes
            .iter()
            .map(Scope::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for AdminInstructions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "A Google Workspace super admin grants domain-wide delegation once:"
        )?;
        writeln!(
            f,
            "  1. admin.google.com → Security → Access and data control → API controls →"
        )?;
        writeln!(f, "     Manage Domain Wide Delegation → Add new")?;
        writeln!(
            f,
            "  2. Client ID: {}   (service account {})",
            self.client_id, self.client_email
        )?;
        writeln!(f, "  3. OAuth scopes (comma-delimited):")?;
        writeln!(f, "     {}", self.scopes_csv())?;
        write!(
            f,
            "  4. Authorize, then activate the integration; it acts as {}.",
            self.subject
        )
    }
}
