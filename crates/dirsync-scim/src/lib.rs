//! # dirsync-scim
//!
//! SCIM 2.0 (RFC 7643/7644) for directory-sync, without IO:
//!
//! - [`schema`]: the User (with the enterprise extension) and Group schemas served, as data, and
//!   the discovery documents (`/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`);
//! - [`normalize`]: a resource a client sent, checked and spelled as the schemas spell it;
//! - [`Filter`]: a recursive-descent filter parser with typed errors and limits, evaluated over
//!   resources as JSON;
//! - [`patch`]: PATCH parsing and application, with Okta's and Entra's deviations, all or nothing;
//! - [`mapping`]: resources to the directory's `RemoteUser`/`RemoteGroup` and back;
//! - [`outbound`]: the SCIM client an outbound integration provisions an application with
//!   (complete paged snapshots, PATCH writes, retries honouring `Retry-After`, a pacer);
//! - [`Error`]: every refusal, with its status and RFC 7644 §3.12 body;
//! - [`ScimKind`]: the connector kind of the system `scim` (inbound: the identity provider
//!   pushes through the server's routes).
//!
//! ```
//! use dirsync_scim::{Filter, ResourceType, normalize, patch};
//! use serde_json::json;
//!
//! let user = normalize(ResourceType::User, &json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "userName": "ada@example.com", "active": "True",
//! }))?;
//! assert!(Filter::parse(r#"userName eq "ADA@example.com" and active eq true"#)?.matches(&user));
//!
//! let ops = patch::parse(&json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "Replace", "value": {"active": false}}],
//! }))?;
//! let after = patch::apply(ResourceType::User, &user, &ops)?;
//! assert_eq!(after["active"], false);
//! # Ok::<(), dirsync_scim::Error>(())
//! ```

#![warn(missing_docs)]

mod error;
mod filter;
mod kind;
pub mod mapping;
pub mod outbound;
pub mod patch;
mod resource;
pub mod schema;

pub use error::{ERROR_SCHEMA, Error};
pub use filter::{AttrPath, CompareOp, Filter, MAX_DEPTH, MAX_FILTER_LEN};
pub use kind::{SYSTEM, ScimEndpoint, ScimKind, ScimSettings, token_hash};
pub use outbound::{ClientConfig, ScimClient};
pub use resource::normalize;
pub use schema::ResourceType;

/// The README's example, compiled as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
