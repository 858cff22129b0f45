//! `dirsync serve`: the HTTP API and the scheduler loop, until SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use dirsync_console::{Access, ConsoleConfig, NewGoogle};
use dirsync_google::oauth::{OAuthClient, OAuthEndpoints};
use dirsync_server::{AppState, router};
use dirsync_service::{Service, Silent};
use metrics_exporter_prometheus::PrometheusBuilder;
use serde_json::json;
use tokio::sync::watch;

use crate::args::ServeArgs;
use crate::output::Output;

pub(super) async fn serve(
    service: Service,
    args: &ServeArgs,
    listen: SocketAddr,
    request_timeout: Duration,
) -> Result<Output> {
    let service = Arc::new(service);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let local = listener.local_addr()?;
    // Said on stderr whatever the log level: scripts and tests read the port from it.
    eprintln!("dirsync: listening on http://{local}");
    let public_url = args
        .public_url
        .as_ref()
        .map_or_else(|| format!("http://{local}"), ToString::to_string);
    tracing::info!(%local, %public_url, "serving the API");

    let (stop, stopped) = watch::channel(false);
    let signal = tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: no new requests or runs");
        let _ = stop.send(true);
    });
    let wait = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let scheduler = (!args.no_scheduler).then(|| {
        let service = Arc::clone(&service);
        let tick = Duration::from_secs(args.tick_seconds.max(1));
        let until = wait(stopped.clone());
        tokio::spawn(async move { service.run_scheduler(tick, until, &Silent).await })
    });
    let mut state = AppState::new(Arc::clone(&service))
        .with_request_timeout(request_timeout)
        .with_public_url(public_url.clone());
    match PrometheusBuilder::new().install_recorder() {
        Ok(handle) => state = state.with_metrics(handle),
        Err(e) => tracing::warn!(error = %e, "no /metrics: the recorder could not be installed"),
    }
    let console = console_router(Arc::clone(&service), args, &public_url)?;
    axum::serve(listener, router(state).merge(console))
        .with_graceful_shutdown(wait(stopped.clone()))
        .await
        .context("serving")?;
    let mut clean = true;
    if let Some(scheduler) = scheduler {
        let deadline = Duration::from_secs(args.shutdown_timeout_seconds);
        match tokio::time::timeout(deadline, scheduler).await {
            Ok(_) => {}
            Err(_) => {
                clean = false;
                tracing::warn!(
                    ?deadline,
                    "scheduled runs did not finish in time; they were stopped"
                );
            }
        }
    }
    signal.abort();
    Ok(Output::new(
        json!({"listened_on": local.to_string(), "stopped": true, "runs_finished": clean}),
        format!("stopped serving on http://{local}"),
    ))
}

/// The web console under `/console`, for the operators `args` allow.
fn console_router(
    service: Arc<Service>,
    args: &ServeArgs,
    public_url: &str,
) -> Result<axum::Router> {
    let c = &args.console;
    let public_url = public_url.trim_end_matches('/');
    let mut access = Access::default();
    for pattern in &c.console_allow {
        access = access.allow(pattern)?;
    }
    for pattern in &c.console_read_only {
        access = access.allow_read_only(pattern)?;
    }
    let mut new_google = NewGoogle::new();
    if let Some(file) = &c.console_oidc_client {
        new_google = new_google.with_consent(file.clone(), c.console_oidc_base.clone());
    }
    if let Some(key) = &c.console_google_key {
        new_google = new_google.with_managed_key(key.clone());
    }
    if let Some(base) = &c.console_google_api_base {
        new_google = new_google.with_api_base(base.clone());
    }
    let mut config = ConsoleConfig::new(public_url, access)?.with_new_google(new_google);
    if let Some(file) = &c.console_oidc_client {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the console's OAuth client {}", file.display()))?;
        let client = OAuthClient::parse(&text)?;
        let endpoints = OAuthEndpoints::at(c.console_oidc_base.as_deref())?;
        config = config.with_google_sign_in(client, endpoints);
    } else if !c.console_allow.is_empty() || !c.console_read_only.is_empty() {
        tracing::warn!(
            "--console-allow and --console-read-only need --console-oidc-client to sign in with Google"
        );
    }
    tracing::info!(url = %format!("{public_url}/console"), "serving the console");
    Ok(dirsync_console::router(service, config)?)
}

/// SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub(super) async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
