//! Directory attributes: every user's attributes settled from the integrations' accounts by
//! the policy's [`AttributeMapping`](dirsync_core::AttributeMapping).

use std::collections::HashMap;

use dirsync_core::{Account, DirectoryAttributes, UserId};

use crate::{Error, Service};

impl Service {
    /// Every user's directory attributes (department, cost center, ...), each from the first
    /// integration in the policy's mapping whose account of the user has it, with where it came
    /// from and since when. Users without any are left out; an integration the mapping names
    /// that no longer exists contributes nothing.
    ///
    /// # Errors
    /// A store error.
    pub async fn directory_attributes(
        &self,
    ) -> Result<HashMap<UserId, DirectoryAttributes>, Error> {
        let mapping = &self.policy.attributes;
        let mut accounts: HashMap<UserId, Vec<Account>> = HashMap::new();
        for integration in mapping.integrations() {
            let view = match self.store.view(integration).await {
                Ok(view) => view,
                Err(dirsync_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            for account in view.accounts {
                if let Some(link) = account.link {
                    accounts.entry(link.user).or_default().push(account);
                }
            }
        }
        Ok(accounts
            .into_iter()
            .map(|(user, accounts)| (user, mapping.merge(&accounts)))
            .filter(|(_, merged)| !merged.is_empty())
            .collect())
    }
}
