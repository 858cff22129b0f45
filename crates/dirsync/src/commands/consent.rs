//! `google-integration:authorize` and `integration:reauthorize --oauth`: an admin's consent
//! through a browser, with Google's redirect caught on 127.0.0.1.

use std::io::Write as _;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dirsync_core::Email;
use dirsync_google::oauth::CallbackParams;
use dirsync_service::Service;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use super::integration_id;
use crate::args::ConsentArgs;
use crate::output::Output;
use crate::render;

/// The path Google's redirect comes back to.
const CALLBACK: &str = "/callback";

/// Runs a consent for integration `id`: prints the URL (as `{"authorize_url": …}` first when
/// `json`), opens a browser unless told not to, waits for the redirect, completes it.
pub(super) async fn authorize(
    s: &Service,
    id: &str,
    args: &ConsentArgs,
    json: bool,
) -> Result<Output> {
    let id = integration_id(id)?;
    let hint = args.login_hint.as_deref().map(Email::new).transpose()?;
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("listening on 127.0.0.1:{}", args.port))?;
    let redirect = format!(
        "http://127.0.0.1:{}{CALLBACK}",
        listener.local_addr()?.port()
    );
    let start = s.start_consent(id, &redirect, hint.as_ref()).await?;
    {
        let mut out = std::io::stdout().lock();
        if json {
            writeln!(out, "{}", json!({"authorize_url": start.url}))?;
        } else {
            writeln!(
                out,
                "Open this URL, choose your company's admin account and click Allow:\n\n  {}\n\nwaiting for Google's redirect to {redirect} …",
                start.url
            )?;
        }
        out.flush()?;
    }
    if !args.no_browser {
        open_browser(&start.url);
    }
    let query = tokio::time::timeout(Duration::from_secs(args.timeout), callback(&listener))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "timed out after {} s waiting for Google's redirect (nothing was stored)",
                args.timeout
            )
        })??;
    let params = CallbackParams::from_query(&query);
    let any = s.finish_consent(start, &params).await?;
    let who = any
        .record()
        .authorization
        .as_ref()
        .and_then(|a| a.subject.as_ref())
        .map_or_else(|| "-".to_owned(), ToString::to_string);
    Ok(Output::new(
        render::integration(&any, s),
        format!(
            "integration {} authorized by {who} ({})",
            any.id(),
            any.state()
        ),
    ))
}

/// Opens `url` in the desktop's browser, if there is one (failures are ignored: the URL was
/// printed).
fn open_browser(url: &str) {
    let command = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let _ = std::process::Command::new(command)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// Waits for the browser's `GET /callback?…` and answers it; other requests (a favicon) get
/// 404. Returns the query string.
async fn callback(listener: &TcpListener) -> Result<String> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let mut request = Vec::new();
        let mut buffer = [0u8; 2048];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
            let n = stream.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buffer[..n]);
        }
        let line = String::from_utf8_lossy(&request);
        let target = line
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_default()
            .to_owned();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        if path != CALLBACK {
            let _ = stream
                .write_all(
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
            continue;
        }
        let body = "<!DOCTYPE html><title>directory-sync</title><p>Google's answer was received; the command line checks it. You can close this window.</p>";
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        if query.is_empty() {
            bail!("Google's redirect carried no answer");
        }
        return Ok(query.to_owned());
    }
}
