//! The integration state machine.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Error;

/// Where an integration is in its life.
///
/// ```text
///   Staged ──activate──> Active <──reactivate── Inactive
///                          │  └────deactivate────^  ^
///                         fail                      │
///                          v                        │
///                 Failed{reason} ──deactivate───────┘
///                          └──reauthorize──> Active
/// ```
/// Staged integrations never sync; neither do inactive or failed ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum IntegrationState {
    /// Created, waiting for the admin to grant access and for activation.
    Staged,
    /// Authorized and syncing on its schedule.
    Active,
    /// Turned off by an admin; keeps its data and authorization.
    Inactive,
    /// Stopped by a configuration error (e.g. the authorization was revoked) until reauthorized.
    Failed {
        /// What went wrong, for the admin.
        reason: String,
    },
}

/// A change of [`IntegrationState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// `Staged → Active`, once access is verified.
    Activate,
    /// `Active | Failed → Inactive`.
    Deactivate,
    /// `Inactive → Active`.
    Reactivate,
    /// `Active → Failed`.
    Fail,
    /// New credentials or subject: `Failed → Active`; `Active` and `Inactive` keep their state.
    Reauthorize,
}

impl IntegrationState {
    /// The state after `transition`, or the typed refusal. `reason` is used only by
    /// [`Transition::Fail`].
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] for any transition not drawn in the diagram above.
    pub fn after(&self, transition: Transition, reason: &str) -> Result<IntegrationState, Error> {
        use IntegrationState as S;
        use Transition as T;
        let next = match (self, transition) {
            (S::Staged, T::Activate) => S::Active,
            (S::Active | S::Failed { .. }, T::Deactivate) => S::Inactive,
            (S::Inactive, T::Reactivate) => S::Active,
            (S::Active, T::Fail) => S::Failed {
                reason: reason.to_owned(),
            },
            (S::Active | S::Failed { .. }, T::Reauthorize) => S::Active,
            (S::Inactive, T::Reauthorize) => S::Inactive,
            (from, transition) => {
                return Err(Error::IllegalTransition {
                    from: from.clone(),
                    transition,
                });
            }
        };
        Ok(next)
    }

    /// Whether an integration in this state may run syncs.
    pub fn can_sync(&self) -> bool {
        matches!(self, Self::Active)
    }

    /// A short lowercase name (`staged`, `active`, `inactive`, `failed`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Staged => "staged",
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Failed { .. } => "failed",
        }
    }
}

impl fmt::Display for IntegrationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed { reason } => write!(f, "failed ({reason})"),
            other => f.write_str(other.name()),
        }
    }
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Activate => "activate",
            Self::Deactivate => "deactivate",
            Self::Reactivate => "reactivate",
            Self::Fail => "fail",
            Self::Reauthorize => "reauthorize",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> IntegrationState {
        IntegrationState::Failed {
            reason: "revoked".to_owned(),
        }
    }

    /// Every (state, transition) pair, with the expected result (`None` = refused).
    #[test]
    fn transition_table_is_exhaustive() {
        use IntegrationState as S;
        use Transition as T;
        let states = [S::Staged, S::Active, S::Inactive, failed()];
        let transitions = [
            T::Activate,
            T::Deactivate,
            T::Reactivate,
            T::Fail,
            T::Reauthorize,
        ];
        let expected = |s: &S, t: T| -> Option<S> {
            match (s.name(), t) {
                ("staged", T::Activate) => Some(S::Active),
                ("active", T::Deactivate) | ("failed", T::Deactivate) => Some(S::Inactive),
                ("inactive", T::Reactivate) => Some(S::Active),
                ("active", T::Fail) => Some(S::Failed {
                    reason: "boom".to_owned(),
                }),
                ("active", T::Reauthorize) | ("failed", T::Reauthorize) => Some(S::Active),
                ("inactive", T::Reauthorize) => Some(S::Inactive),
                _ => None,
            }
        };
        let mut legal = 0;
        for s in &states {
            for t in transitions {
                match (s.after(t, "boom"), expected(s, t)) {
                    (Ok(got), Some(want)) => {
                        assert_eq!(got, want, "{s} by {t}");
                        legal += 1;
                    }
                    (Err(Error::IllegalTransition { from, transition }), None) => {
                        assert_eq!((&from, transition), (s, t));
                    }
                    (got, want) => panic!("{s} by {t}: got {got:?}, want {want:?}"),
                }
            }
        }
        assert_eq!(legal, 8);
    }

    #[test]
    fn only_active_syncs() {
        assert!(IntegrationState::Active.can_sync());
        for s in [
            IntegrationState::Staged,
            IntegrationState::Inactive,
            failed(),
        ] {
            assert!(!s.can_sync());
        }
    }

    #[test]
    fn failed_state_keeps_its_reason_in_json() {
        let json = serde_json::to_string(&failed()).unwrap_or_default();
        assert_eq!(json, r#"{"state":"failed","reason":"revoked"}"#);
        assert_eq!(
            serde_json::from_str::<IntegrationState>(&json).ok(),
            Some(failed())
        );
    }
}
