//! Secrets: values that must never reach a log line, an error message or a `Debug` print.
//!
//! A secret type prints `[redacted]` under `Debug`, has no `Display`, does not implement
//! `Serialize`, and hands out its content only through an explicit `expose_secret()`.

use std::fmt;

use serde::Deserialize;

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret itself. Call this only where the value is sent to its one legitimate
            /// consumer (a signer, an `Authorization` header, an encrypted column).
            pub fn expose_secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }
    };
}

secret_type!(
    /// An OAuth access token.
    AccessToken
);
secret_type!(
    /// The token a push-notification channel carries to prove its origin.
    ChannelToken
);
secret_type!(
    /// An API token as its holder presents it (`Authorization: Bearer …`); stores keep only
    /// its hash ([`ApiToken`](crate::ApiToken)).
    ApiTokenSecret
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let key = AccessToken::new("-----BEGIN PRIVATE KEY-----abc");
        let printed = format!(
            "{key:?} {:?} {:?}",
            ApiTokenSecret::new("dsk_x"),
            ChannelToken::new("tok")
        );
        assert_eq!(
            printed,
            "AccessToken([redacted]) ApiTokenSecret([redacted]) ChannelToken([redacted])"
        );
        assert!(!printed.contains("PRIVATE"));
        assert_eq!(key.expose_secret(), "-----BEGIN PRIVATE KEY-----abc");
    }
}
