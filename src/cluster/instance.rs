//! This instance among those sharing the database. Its Snowflake worker id
//! is leased from the database (`worker:<id>`): unique among live
//! instances, renewed by a heartbeat, and taken over by another instance
//! only after it has run out. Ids are issued only while the lease holds, so
//! an instance that cannot renew (database unreachable, process stalled)
//! stops issuing ids instead of sharing an id with the one that takes over.
//! The lease also carries what the instance says about itself (host,
//! process, version, the plugins it runs), which `GET /wechat/cluster/instances`
//! shows.

use std::time::Duration;

use serde_json::{json, Value};

use crate::db::lease;
use crate::ids::MAX_WORKER_ID;
use crate::state::AppState;

/// How long a worker id stays ours without a heartbeat.
pub const LEASE_TTL: Duration = Duration::from_secs(30);
/// How often the lease is renewed: a third of its life, so two renewals
/// may fail before ids stop.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
pub const LEASE_PREFIX: &str = "worker:";

/// A name for this process, unique among instances: host, process id and a
/// random part (a restarted process on the same host is a new instance).
pub fn new_instance_id() -> String {
    format!(
        "{}-{}-{:08x}",
        host_name(),
        std::process::id(),
        rand::random::<u32>()
    )
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn lease_name(worker_id: u16) -> String {
    format!("{LEASE_PREFIX}{worker_id}")
}

/// What the others read about this instance.
fn describe(state: &AppState) -> String {
    let plugins: serde_json::Map<String, Value> = state
        .plugins
        .infos()
        .into_iter()
        .map(|p| (p.name, json!(p.source_hash)))
        .collect();
    json!({
        "instance": state.instance,
        "host": host_name(),
        "pid": std::process::id(),
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": state.started_at,
        "plugins": plugins,
    })
    .to_string()
}

/// The millisecond until which ids may be issued after a lease asked for at
/// `asked_ms` (the database's expiry is later than this by the round trip).
fn valid_until(asked_ms: i64) -> i64 {
    asked_ms + LEASE_TTL.as_millis() as i64
}

/// Leases a worker id (or registers the configured one) and lets the
/// generator issue ids. Tries the ids from a random one on, so instances
/// starting together rarely contend for the same row.
pub async fn join(state: &AppState) -> anyhow::Result<()> {
    let info = describe(state);
    if let Some(configured) = state.config.worker_id {
        let name = lease_name(configured);
        if !lease::try_acquire(&state.db, &name, &state.instance, LEASE_TTL, Some(info)).await? {
            tracing::warn!(
                worker_id = configured,
                "WXMP_WORKER_ID is leased by another live instance: ids may repeat; leave it unset to lease a free one"
            );
        }
        return Ok(());
    }
    let ids = u32::from(MAX_WORKER_ID) + 1;
    let start = rand::random::<u32>() % ids;
    for offset in 0..ids {
        let worker_id = ((start + offset) % ids) as u16;
        let asked = crate::ids::now_ms();
        let name = lease_name(worker_id);
        if lease::try_acquire(
            &state.db,
            &name,
            &state.instance,
            LEASE_TTL,
            Some(info.clone()),
        )
        .await?
        {
            state.ids.renew(worker_id, valid_until(asked));
            tracing::info!(worker_id, instance = %state.instance, "leased a Snowflake worker id");
            return Ok(());
        }
    }
    anyhow::bail!("all {ids} Snowflake worker ids are leased by live instances")
}

/// Renews the lease every [`HEARTBEAT`] until the task is aborted.
pub async fn heartbeat(state: AppState) {
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        renew(&state).await;
    }
}

/// One renewal. When another instance took the id over (this one stalled
/// past the lease), ids stop at once and a free id is leased.
pub async fn renew(state: &AppState) {
    let worker_id = state.ids.worker_id();
    let asked = crate::ids::now_ms();
    let name = lease_name(worker_id);
    match lease::try_acquire(
        &state.db,
        &name,
        &state.instance,
        LEASE_TTL,
        Some(describe(state)),
    )
    .await
    {
        Ok(true) if state.config.worker_id.is_none() => {
            state.ids.renew(worker_id, valid_until(asked));
        }
        Ok(true) => {}
        Ok(false) if state.config.worker_id.is_some() => {
            tracing::warn!(
                worker_id,
                "WXMP_WORKER_ID is leased by another live instance"
            );
        }
        Ok(false) => {
            tracing::warn!(
                worker_id,
                "the worker id lease was taken over; leasing another"
            );
            state.ids.renew(worker_id, 0);
            if let Err(error) = join(state).await {
                tracing::error!(%error, "no Snowflake worker id: new rows are refused until one is leased");
            }
        }
        Err(error) => {
            tracing::warn!(%error, worker_id, "cannot renew the worker id lease; ids stop when it runs out");
        }
    }
}

/// Gives the worker id back (on shutdown), for another instance to take at once.
pub async fn leave(state: &AppState) {
    let name = lease_name(state.ids.worker_id());
    if let Err(error) = lease::release(&state.db, &name, &state.instance).await {
        tracing::warn!(%error, "cannot release the worker id lease; it expires on its own");
    }
    if state.config.worker_id.is_none() {
        state.ids.renew(state.ids.worker_id(), 0);
    }
}

/// The live instances, as they describe themselves, with their worker ids
/// and lease expiry.
pub async fn live(state: &AppState) -> Result<Vec<Value>, sea_orm::DbErr> {
    let mut leases = lease::live(&state.db, LEASE_PREFIX).await?;
    leases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(leases
        .into_iter()
        .map(|row| {
            let mut about: Value = row
                .info
                .as_deref()
                .and_then(|i| serde_json::from_str(i).ok())
                .unwrap_or_else(|| json!({}));
            about["instance"] = json!(row.holder);
            about["worker_id"] = json!(row
                .name
                .trim_start_matches(LEASE_PREFIX)
                .parse::<u16>()
                .ok());
            about["lease_expires_at"] = json!(row.expires_at);
            about["this"] = json!(row.holder == state.instance);
            about
        })
        .collect())
}

/// For each plugin any live instance runs: which version (source hash) each
/// live instance runs, `None` where an instance does not have it. Shows a
/// deployment that reached only some instances.
pub async fn plugin_versions(
    state: &AppState,
) -> Result<std::collections::BTreeMap<String, Vec<Value>>, sea_orm::DbErr> {
    let instances = live(state).await?;
    let mut names: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for instance in &instances {
        if let Some(plugins) = instance["plugins"].as_object() {
            names.extend(plugins.keys().cloned());
        }
    }
    Ok(names
        .into_iter()
        .map(|name| {
            let versions = instances
                .iter()
                .map(|i| {
                    json!({
                        "instance": i["instance"],
                        "this": i["this"],
                        "source_hash": i["plugins"].get(&name).cloned().unwrap_or(Value::Null),
                    })
                })
                .collect();
            (name, versions)
        })
        .collect())
}
