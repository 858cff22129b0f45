//! API token records (only their hashes), by name.

use dirsync_core::ApiToken;

use super::State;
use crate::{Error, Result};

pub(super) fn create(state: &mut State, token: &ApiToken) -> Result<()> {
    if state.api_tokens.contains_key(&token.name) {
        return Err(Error::AlreadyExists {
            kind: "API token",
            id: token.name.clone(),
        });
    }
    state.api_tokens.insert(token.name.clone(), token.clone());
    Ok(())
}

pub(super) fn by_hash(state: &State, hash: &str) -> Option<ApiToken> {
    state.api_tokens.values().find(|t| t.hash == hash).cloned()
}

pub(super) fn revoke(state: &mut State, name: &str) -> Result<ApiToken> {
    state
        .api_tokens
        .remove(name)
        .ok_or_else(|| Error::NotFound {
            kind: "API token",
            id: name.to_owned(),
        })
}
