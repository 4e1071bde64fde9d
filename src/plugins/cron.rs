//! Schedules a plugin declares: `schedules: [#{ name: "morning", cron:
//! "0 9 * * *" }]` in `PLUGIN` calls `on_timer(name, data, ctx)` at every
//! time the five-field cron pattern (minute hour day month weekday, Beijing
//! time, as operators read the clock) matches, once for each account the
//! plugin runs for, with no fan (`ctx.fan.openid` is empty) and `data` =
//! `#{ scheduled_at: "…" }`.
//!
//! Every instance looks for due times every few seconds and queues a
//! `plugin_timer` job for each; the job's id is derived from the plugin,
//! account, schedule and time, so when several instances queue the same
//! firing only the first insert lands: it runs once. A firing missed while
//! no instance ran (longer than [`CATCH_UP`]) is skipped, not made up.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use rhai::{Array, Dynamic, Map};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::json;
use sha1::{Digest, Sha1};

use super::timers::PluginTimer;
use crate::entity::{accounts, jobs};
use crate::jobs::{new_job, Job};
use crate::state::AppState;

/// Schedules one plugin may declare.
pub const MAX_SCHEDULES: usize = 10;
/// How often instances look for due firings.
const TICK: Duration = Duration::from_secs(5);
/// How far back a firing is still queued (an instance that just started,
/// a tick that came late).
const CATCH_UP: chrono::Duration = chrono::Duration::minutes(2);
/// The keys of one declared schedule.
const SCHEDULE_KEYS: &[&str] = &["name", "cron"];

/// One declared schedule.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Schedule {
    pub name: String,
    /// The pattern as written.
    pub cron: String,
    #[serde(skip)]
    parsed: croner::Cron,
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

impl Schedule {
    /// The times it fires after `after`, up to and including `until`.
    pub fn firings(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        self.parsed
            .iter_after(after.with_timezone(&beijing()))
            .map(|t| t.with_timezone(&Utc))
            .take_while(|t| *t <= until)
            .take(10)
            .collect()
    }
}

/// `PLUGIN.schedules`, checked: names unique, 1–64 letters, digits or `_`;
/// patterns of five fields.
pub fn declared(value: Option<&Dynamic>) -> Result<Vec<Schedule>, String> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let shape =
        "PLUGIN.schedules is a list of #{ name: \"…\", cron: \"minute hour day month weekday\" }";
    let items = value.clone().try_cast::<Array>().ok_or(shape)?;
    if items.len() > MAX_SCHEDULES {
        return Err(format!(
            "PLUGIN.schedules: at most {MAX_SCHEDULES} schedules"
        ));
    }
    let parser = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .year(croner::parser::Year::Disallowed)
        .build();
    let mut schedules: Vec<Schedule> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let map = item.try_cast::<Map>().ok_or(shape)?;
        if let Some(unknown) = map.keys().find(|k| !SCHEDULE_KEYS.contains(&k.as_str())) {
            return Err(format!(
                "PLUGIN.schedules[{i}]: no key {unknown:?}; a schedule has name and cron"
            ));
        }
        let text = |key: &str| map.get(key).map(super::engine::text_of).unwrap_or_default();
        let (name, cron) = (text("name"), text("cron"));
        if name.is_empty()
            || name.len() > 64
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "PLUGIN.schedules[{i}]: name {name:?}: use 1–64 letters, digits or '_'"
            ));
        }
        if schedules.iter().any(|s| s.name == name) {
            return Err(format!("PLUGIN.schedules: {name:?} is declared twice"));
        }
        let parsed = parser.parse(&cron).map_err(|e| {
            format!(
                "PLUGIN.schedules {name:?}: {cron:?} is not a cron pattern of five fields \
                 (minute hour day month weekday, e.g. \"0 9 * * 1-5\"): {e}"
            )
        })?;
        schedules.push(Schedule { name, cron, parsed });
    }
    Ok(schedules)
}

/// The job id of one firing: the same on every instance, negative so it
/// never meets a Snowflake id.
fn firing_id(plugin: &str, account_id: i64, schedule: &str, at: DateTime<Utc>) -> i64 {
    let digest = Sha1::digest(format!(
        "{plugin}\0{account_id}\0{schedule}\0{}",
        at.timestamp()
    ));
    let bits = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) >> 1;
    -(bits as i64) - 1
}

/// Queues the firings of every plugin's schedules, every [`TICK`], until
/// the task is dropped.
pub async fn fire_forever(state: AppState) {
    let mut checked = Utc::now() - CATCH_UP;
    let mut tick = tokio::time::interval(TICK);
    loop {
        tick.tick().await;
        let now = Utc::now();
        match queue_due(&state, checked, now).await {
            Ok(()) => checked = now,
            Err(error) => tracing::warn!(%error, "plugin schedules not queued; trying again"),
        }
    }
}

/// Queues the firings in `(after, until]`.
pub async fn queue_due(
    state: &AppState,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let after = after.max(until - CATCH_UP);
    // Most ticks see no firing: the database is asked only when one is due.
    let due: Vec<_> = state
        .plugins
        .all()
        .into_iter()
        .flat_map(|plugin| {
            let firings: Vec<_> = plugin
                .script
                .declaration
                .schedules
                .iter()
                .flat_map(|s| {
                    s.firings(after, until)
                        .into_iter()
                        .map(move |at| (s.name.clone(), at))
                })
                .collect();
            (!firings.is_empty()).then_some((plugin, firings))
        })
        .collect();
    if due.is_empty() {
        return Ok(());
    }
    let accounts = accounts::Entity::find()
        .filter(accounts::Column::Status.eq(1))
        .all(&state.db)
        .await?;
    let mut rows = Vec::new();
    for (plugin, firings) in &due {
        for account in &accounts {
            if !plugin.runs_for_account(account).await {
                continue;
            }
            for (schedule, at) in firings {
                let payload = json!({
                    "plugin": plugin.name(),
                    "account_id": account.id.to_string(),
                    "openid": "",
                    "name": schedule,
                    "data": { "scheduled_at": at.with_timezone(&beijing()).to_rfc3339() },
                });
                let id = firing_id(plugin.name(), account.id, schedule, *at);
                let mut job = new_job(id, PluginTimer::NAME, payload, crate::db::now());
                job.run_at = *at;
                job.owner = format!("plugin-schedule:{}:{}", plugin.name(), account.id);
                rows.push(job.into_active_model());
            }
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    // Another instance may have queued the same firings: theirs stand.
    let inserted = jobs::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(jobs::Column::Id)
                .do_nothing_on([jobs::Column::Id])
                .to_owned(),
        )
        .exec_without_returning(&state.db)
        .await;
    match inserted {
        Ok(_) | Err(sea_orm::DbErr::RecordNotInserted) => {
            state.jobs.notify();
            Ok(())
        }
        Err(error) => Err(error),
    }
}
