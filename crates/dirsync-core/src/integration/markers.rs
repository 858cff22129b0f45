//! Sealed, uninhabited type-level markers for an integration's direction and role.

use serde::{Deserialize, Serialize};
use std::fmt;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Inbound {}
    impl Sealed for super::Outbound {}
    impl Sealed for super::Primary {}
    impl Sealed for super::Secondary {}
}

/// Which way data flows. Implemented only by [`Inbound`] and [`Outbound`]; fixed at creation.
pub trait Direction: sealed::Sealed + Send + Sync + 'static {
    /// The runtime value of this direction.
    const KIND: DirectionKind;
}

/// The role an integration of direction `D` plays. [`Secondary`] is a role of both directions;
/// [`Primary`] is a role of [`Inbound`] only, so `Integration<Outbound, Primary>` is not a type.
pub trait Role<D: Direction>: sealed::Sealed + Send + Sync + 'static {
    /// The runtime value of this role.
    const KIND: RoleKind;
}

/// From the remote system into the directory (e.g. Google Workspace → our store).
#[derive(Debug)]
pub enum Inbound {}
/// From the directory out to the remote system (e.g. our store → Google group memberships).
#[derive(Debug)]
pub enum Outbound {}
/// The first inbound integration: owns the unified profile and lifecycle. Only the store makes one.
#[derive(Debug)]
pub enum Primary {}
/// Every other integration: links accounts and contributes per-vendor attributes.
#[derive(Debug)]
pub enum Secondary {}

impl Direction for Inbound {
    const KIND: DirectionKind = DirectionKind::Inbound;
}
impl Direction for Outbound {
    const KIND: DirectionKind = DirectionKind::Outbound;
}
impl Role<Inbound> for Primary {
    const KIND: RoleKind = RoleKind::Primary;
}
impl Role<Inbound> for Secondary {
    const KIND: RoleKind = RoleKind::Secondary;
}
impl Role<Outbound> for Secondary {
    const KIND: RoleKind = RoleKind::Secondary;
}

/// A direction known only at runtime (as stored, or as typed on a command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectionKind {
    /// See [`Inbound`].
    Inbound,
    /// See [`Outbound`].
    Outbound,
}

/// A role known only at runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleKind {
    /// See [`Primary`].
    Primary,
    /// See [`Secondary`].
    Secondary,
}

impl fmt::Display for DirectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        })
    }
}

impl fmt::Display for RoleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Primary => "primary",
            Self::Secondary => "secondary",
        })
    }
}

impl std::str::FromStr for DirectionKind {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, crate::Error> {
        match s {
            "inbound" => Ok(Self::Inbound),
            "outbound" => Ok(Self::Outbound),
            other => Err(crate::Error::InvalidValue {
                kind: "direction",
                value: crate::error::clip(other),
                reason: "expected `inbound` or `outbound`".to_owned(),
            }),
        }
    }
}
