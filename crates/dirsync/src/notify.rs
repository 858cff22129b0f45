//! `--notify-url`: every notification of the service (a failed run, a held plan, a recovery)
//! is POSTed there as JSON (`{"event": "failed" | "held" | "recovered", ...}`, the service's
//! `Notification`), for operators to wire to chat or paging. A delivery that fails is reported
//! on stderr and never fails the command. The URL is never printed (webhook URLs often carry a
//! secret).

use std::time::Duration;

use anyhow::{Result, bail};
use async_trait::async_trait;
use dirsync_service::{Notification, Notifier};

/// Posts notifications to one URL.
pub(crate) struct Webhook {
    http: reqwest::Client,
    url: reqwest::Url,
}

impl Webhook {
    /// A notifier posting to `url` (http or https), giving up on a delivery after 10 s.
    pub(crate) fn new(url: &str) -> Result<Self> {
        let Ok(url) = reqwest::Url::parse(url) else {
            bail!("--notify-url is not a URL");
        };
        if !matches!(url.scheme(), "http" | "https") {
            bail!("--notify-url must be an http or https URL");
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { http, url })
    }
}

#[async_trait]
impl Notifier for Webhook {
    async fn notify(&self, event: &Notification) {
        let sent = self.http.post(self.url.clone()).json(event).send().await;
        match sent.map(|r| r.status()) {
            Ok(status) if status.is_success() => {}
            Ok(status) => eprintln!("warning: the notification webhook answered {status}"),
            Err(e) => eprintln!(
                "warning: the notification webhook failed: {}",
                e.without_url()
            ),
        }
    }
}
