//! Where plugins keep their state (the `plugin_state` table, or memory for
//! dry runs from the command line) and their per-account switches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, TransactionTrait,
};

use super::call::{StateChange, StateScope, StateStore, StateValue, StateWrites};
use crate::entity::{plugin_settings, plugin_state};
use crate::ids::IdGenerator;

/// State in the database, shared by every instance.
pub struct DbState {
    db: DatabaseConnection,
    ids: Arc<IdGenerator>,
    runtime: tokio::runtime::Handle,
}

impl DbState {
    /// `runtime` runs the reads scripts make from their blocking threads.
    pub fn new(
        db: DatabaseConnection,
        ids: Arc<IdGenerator>,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        Self { db, ids, runtime }
    }

    /// Read, change and write one value with the row locked. The row is
    /// first created (value NULL, which reads as missing) so that there is
    /// always a row to lock: then the locking UPDATE holds the row in
    /// PostgreSQL and MySQL (no gap locks, no racing inserts) and the write
    /// lock in SQLite until the commit, and concurrent updates queue up.
    /// An expired row counts as missing (the sweep may not have come yet).
    async fn update_locked(
        &self,
        scope: &StateScope,
        key: &str,
        now: DateTime<Utc>,
        expires_if_new: Option<DateTime<Utc>>,
        change: &mut StateChange<'_>,
    ) -> Result<Option<serde_json::Value>, String> {
        let db_error = |e: sea_orm::DbErr| e.to_string();
        for _ in 0..5 {
            let stamp = crate::db::now();
            let placeholder = plugin_state::Model {
                id: self.ids.next_id().map_err(|e| e.to_string())?,
                plugin: scope.plugin.clone(),
                account_id: scope.account_id,
                openid: scope.openid.clone(),
                state_key: key.to_string(),
                value: None,
                expires_at: None,
                created_at: stamp,
                updated_at: stamp,
            };
            plugin_state::Entity::insert(placeholder.into_active_model().reset_all())
                .on_conflict(
                    OnConflict::columns(KEY_COLUMNS)
                        .do_nothing_on([plugin_state::Column::Id])
                        .to_owned(),
                )
                .exec_without_returning(&self.db)
                .await
                .map_err(db_error)?;
            let txn = self.db.begin().await.map_err(db_error)?;
            // MySQL counts only changed rows, so the count says nothing; the
            // read below finds whether the row is there (and locked).
            plugin_state::Entity::update_many()
                .col_expr(plugin_state::Column::UpdatedAt, Expr::value(stamp))
                .filter(plugin_state::Column::Plugin.eq(scope.plugin.as_str()))
                .filter(plugin_state::Column::AccountId.eq(scope.account_id))
                .filter(plugin_state::Column::Openid.eq(scope.openid.as_str()))
                .filter(plugin_state::Column::StateKey.eq(key))
                .exec(&txn)
                .await
                .map_err(db_error)?;
            let Some(row) = scoped(scope, key).one(&txn).await.map_err(db_error)? else {
                // Removed between the insert and the lock: start again.
                txn.rollback().await.map_err(db_error)?;
                continue;
            };
            let live = live_value(&row, now);
            let current = live.as_ref().map(|l| l.value.clone());
            let changed = match change(current.as_ref()) {
                Ok(changed) => changed,
                Err(message) => {
                    txn.rollback().await.map_err(db_error)?;
                    return Err(message);
                }
            };
            let after = changed.clone().or(current);
            match (&changed, &after) {
                (Some(value), _) => {
                    let expires_at = match &live {
                        Some(live) => live.expires_at,
                        None => expires_if_new,
                    };
                    let mut active = row.into_active_model();
                    active.value = Set(Some(value.clone()));
                    active.expires_at = Set(expires_at);
                    active.update(&txn).await.map_err(db_error)?;
                }
                // Unchanged and missing: drop the placeholder (or the
                // expired row) again.
                (None, None) => {
                    plugin_state::Entity::delete_by_id(row.id)
                        .exec(&txn)
                        .await
                        .map_err(db_error)?;
                }
                (None, Some(_)) => {}
            }
            txn.commit().await.map_err(db_error)?;
            return Ok(after);
        }
        Err("the value kept disappearing while being updated; try again".into())
    }
}

/// The row's value if it reads at `now`: not a placeholder, not expired.
pub(super) fn live_value(row: &plugin_state::Model, now: DateTime<Utc>) -> Option<StateValue> {
    let value = row.value.clone().filter(|v| !v.is_null())?;
    let stored = StateValue {
        value,
        expires_at: row.expires_at,
    };
    stored.live_at(now).then_some(stored)
}

const KEY_COLUMNS: [plugin_state::Column; 4] = [
    plugin_state::Column::Plugin,
    plugin_state::Column::AccountId,
    plugin_state::Column::Openid,
    plugin_state::Column::StateKey,
];

fn scoped(scope: &StateScope, key: &str) -> sea_orm::Select<plugin_state::Entity> {
    plugin_state::Entity::find()
        .filter(plugin_state::Column::Plugin.eq(scope.plugin.as_str()))
        .filter(plugin_state::Column::AccountId.eq(scope.account_id))
        .filter(plugin_state::Column::Openid.eq(scope.openid.as_str()))
        .filter(plugin_state::Column::StateKey.eq(key))
}

impl StateStore for DbState {
    fn get(
        &self,
        scope: &StateScope,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StateValue>, String> {
        let row = super::engine::wait_for(&self.runtime, scoped(scope, key).one(&self.db))?
            .map_err(|e| e.to_string())?;
        Ok(row.and_then(|r| live_value(&r, now)))
    }

    fn update(
        &self,
        scope: &StateScope,
        key: &str,
        now: DateTime<Utc>,
        expires_if_new: Option<DateTime<Utc>>,
        change: &mut StateChange<'_>,
    ) -> Result<Option<serde_json::Value>, String> {
        super::engine::wait_for(
            &self.runtime,
            self.update_locked(scope, key, now, expires_if_new, change),
        )?
    }
}

/// How often expired values are deleted.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Deletes the values whose time to live has run out; how many. Safe on
/// every instance at once: a row a script is updating is locked, and the
/// delete then sees the row as the update left it.
pub async fn sweep_expired(db: &DatabaseConnection) -> Result<u64, sea_orm::DbErr> {
    let swept = plugin_state::Entity::delete_many()
        .filter(plugin_state::Column::ExpiresAt.lte(crate::db::now()))
        .exec(db)
        .await?;
    Ok(swept.rows_affected)
}

/// Sweeps at start and every [`SWEEP_EVERY`] until the task is dropped.
pub async fn sweep_forever(db: DatabaseConnection) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match sweep_expired(&db).await {
            Ok(0) => {}
            Ok(swept) => tracing::debug!(swept, "expired plugin state deleted"),
            Err(error) => tracing::warn!(%error, "expired plugin state not swept; next time"),
        }
    }
}

/// Why a plugin's state or switch was not written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Ids(#[from] crate::ids::IdError),
}

/// Applies a call's writes in one transaction, after the call succeeded.
pub async fn apply_writes(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    writes: StateWrites,
) -> Result<(), StateError> {
    if writes.is_empty() {
        return Ok(());
    }
    let txn = db.begin().await?;
    let now = crate::db::now();
    for ((scope, key), value) in writes {
        match value {
            Some(StateValue { value, expires_at }) => {
                let row = plugin_state::Model {
                    id: ids.next_id()?,
                    plugin: scope.plugin.clone(),
                    account_id: scope.account_id,
                    openid: scope.openid.clone(),
                    state_key: key,
                    value: Some(value),
                    expires_at,
                    created_at: now,
                    updated_at: now,
                };
                plugin_state::Entity::insert(row.into_active_model().reset_all())
                    .on_conflict(
                        OnConflict::columns(KEY_COLUMNS)
                            .update_columns([
                                plugin_state::Column::Value,
                                plugin_state::Column::ExpiresAt,
                                plugin_state::Column::UpdatedAt,
                            ])
                            .to_owned(),
                    )
                    .exec_without_returning(&txn)
                    .await?;
            }
            None => {
                plugin_state::Entity::delete_many()
                    .filter(plugin_state::Column::Plugin.eq(scope.plugin.as_str()))
                    .filter(plugin_state::Column::AccountId.eq(scope.account_id))
                    .filter(plugin_state::Column::Openid.eq(scope.openid.as_str()))
                    .filter(plugin_state::Column::StateKey.eq(key.as_str()))
                    .exec(&txn)
                    .await?;
            }
        }
    }
    Ok(txn.commit().await?)
}

/// State in memory: for `wxmp plugin test`, which has no database, and
/// for the seeded values of a dry run.
#[derive(Default)]
pub struct MemoryState(pub Mutex<HashMap<(StateScope, String), StateValue>>);

impl StateStore for MemoryState {
    fn get(
        &self,
        scope: &StateScope,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StateValue>, String> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map
            .get(&(scope.clone(), key.to_string()))
            .filter(|v| v.live_at(now))
            .cloned())
    }

    fn update(
        &self,
        scope: &StateScope,
        key: &str,
        now: DateTime<Utc>,
        expires_if_new: Option<DateTime<Utc>>,
        change: &mut StateChange<'_>,
    ) -> Result<Option<serde_json::Value>, String> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let slot = (scope.clone(), key.to_string());
        let live = map.get(&slot).filter(|v| v.live_at(now)).cloned();
        match change(live.as_ref().map(|l| &l.value))? {
            Some(value) => {
                let expires_at = live.map_or(expires_if_new, |l| l.expires_at);
                map.insert(
                    slot,
                    StateValue {
                        value: value.clone(),
                        expires_at,
                    },
                );
                Ok(Some(value))
            }
            None => Ok(live.map(|l| l.value)),
        }
    }
}

const SWITCH_TTL: Duration = Duration::from_secs(30);

/// (plugin, account id) → enabled.
type SwitchMap = HashMap<(String, i64), bool>;

/// Per-account switches, read through a short-lived cache.
pub struct Switches {
    db: DatabaseConnection,
    cache: RwLock<Option<(Instant, SwitchMap)>>,
    /// Moves on every `forget`: a load that started before one is not kept.
    generation: std::sync::atomic::AtomicU64,
}

impl Switches {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            cache: RwLock::new(None),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Whether `plugin` runs for `account_id`: as switched there, else
    /// `default` (on, or off for an opt-in plugin).
    pub async fn enabled(
        &self,
        plugin: &str,
        account_id: i64,
        default: bool,
    ) -> Result<bool, sea_orm::DbErr> {
        if let Some((loaded, map)) = self
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            if loaded.elapsed() < SWITCH_TTL {
                return Ok(map
                    .get(&(plugin.to_string(), account_id))
                    .copied()
                    .unwrap_or(default));
            }
        }
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        let rows = plugin_settings::Entity::find().all(&self.db).await?;
        let map: SwitchMap = rows
            .into_iter()
            .map(|r| ((r.plugin, r.account_id), r.enabled == 1))
            .collect();
        let enabled = map
            .get(&(plugin.to_string(), account_id))
            .copied()
            .unwrap_or(default);
        if self.generation.load(std::sync::atomic::Ordering::SeqCst) == generation {
            *self.cache.write().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), map));
        }
        Ok(enabled)
    }

    pub async fn set(
        &self,
        ids: &IdGenerator,
        plugin: &str,
        account_id: i64,
        enabled: bool,
    ) -> Result<(), StateError> {
        let now = crate::db::now();
        let row = plugin_settings::Model {
            id: ids.next_id()?,
            plugin: plugin.to_string(),
            account_id,
            enabled: i16::from(enabled),
            created_at: now,
            updated_at: now,
        };
        plugin_settings::Entity::insert(row.into_active_model().reset_all())
            .on_conflict(
                OnConflict::columns([
                    plugin_settings::Column::Plugin,
                    plugin_settings::Column::AccountId,
                ])
                .update_columns([
                    plugin_settings::Column::Enabled,
                    plugin_settings::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        self.forget();
        // Other instances drop their copies when they see the epoch move.
        crate::db::epoch::bump(&self.db, crate::db::epoch::CONFIG).await?;
        Ok(())
    }

    /// Drops the cached switches (another instance changed one).
    pub fn forget(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        *self.cache.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Accounts where `plugin` is switched on (`enabled`) or off.
    pub async fn switched_accounts(
        &self,
        plugin: &str,
        enabled: bool,
    ) -> Result<Vec<i64>, sea_orm::DbErr> {
        Ok(plugin_settings::Entity::find()
            .filter(plugin_settings::Column::Plugin.eq(plugin))
            .filter(plugin_settings::Column::Enabled.eq(i16::from(enabled)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| r.account_id)
            .collect())
    }
}
