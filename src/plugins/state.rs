//! Where plugins keep their state (the `plugin_state` table, or memory for
//! dry runs from the command line) and their per-account switches.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionTrait,
};

use super::engine::{StateScope, StateStore, StateWrites};
use crate::entity::{plugin_settings, plugin_state};
use crate::ids::IdGenerator;

/// State in the database, shared by every instance.
pub struct DbState {
    db: DatabaseConnection,
    runtime: tokio::runtime::Handle,
}

impl DbState {
    /// `runtime` runs the reads scripts make from their blocking threads.
    pub fn new(db: DatabaseConnection, runtime: tokio::runtime::Handle) -> Self {
        Self { db, runtime }
    }
}

fn scoped(scope: &StateScope, key: &str) -> sea_orm::Select<plugin_state::Entity> {
    plugin_state::Entity::find()
        .filter(plugin_state::Column::Plugin.eq(scope.plugin.as_str()))
        .filter(plugin_state::Column::AccountId.eq(scope.account_id))
        .filter(plugin_state::Column::Openid.eq(scope.openid.as_str()))
        .filter(plugin_state::Column::StateKey.eq(key))
}

impl StateStore for DbState {
    fn get(&self, scope: &StateScope, key: &str) -> Result<Option<serde_json::Value>, String> {
        // Called from a blocking thread (never from the async workers).
        let row = self
            .runtime
            .block_on(scoped(scope, key).one(&self.db))
            .map_err(|e| e.to_string())?;
        Ok(row.and_then(|r| r.value))
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
            Some(value) => {
                let row = plugin_state::Model {
                    id: ids.next_id()?,
                    plugin: scope.plugin.clone(),
                    account_id: scope.account_id,
                    openid: scope.openid.clone(),
                    state_key: key,
                    value: Some(value),
                    created_at: now,
                    updated_at: now,
                };
                plugin_state::Entity::insert(row.into_active_model().reset_all())
                    .on_conflict(
                        OnConflict::columns([
                            plugin_state::Column::Plugin,
                            plugin_state::Column::AccountId,
                            plugin_state::Column::Openid,
                            plugin_state::Column::StateKey,
                        ])
                        .update_columns([
                            plugin_state::Column::Value,
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

/// State in memory: for `wxmp plugin test`, which has no database.
#[derive(Default)]
pub struct MemoryState(pub Mutex<HashMap<(StateScope, String), serde_json::Value>>);

impl StateStore for MemoryState {
    fn get(&self, scope: &StateScope, key: &str) -> Result<Option<serde_json::Value>, String> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map.get(&(scope.clone(), key.to_string())).cloned())
    }
}

const SWITCH_TTL: Duration = Duration::from_secs(30);

/// (plugin, account id) → enabled.
type SwitchMap = HashMap<(String, i64), bool>;

/// Per-account switches, read through a short-lived cache.
pub struct Switches {
    db: DatabaseConnection,
    cache: RwLock<Option<(Instant, SwitchMap)>>,
}

impl Switches {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            cache: RwLock::new(None),
        }
    }

    /// Whether `plugin` runs for `account_id` (on unless switched off).
    pub async fn enabled(&self, plugin: &str, account_id: i64) -> Result<bool, sea_orm::DbErr> {
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
                    .unwrap_or(true));
            }
        }
        let rows = plugin_settings::Entity::find().all(&self.db).await?;
        let map: SwitchMap = rows
            .into_iter()
            .map(|r| ((r.plugin, r.account_id), r.enabled == 1))
            .collect();
        let enabled = map
            .get(&(plugin.to_string(), account_id))
            .copied()
            .unwrap_or(true);
        *self.cache.write().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), map));
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
        *self.cache.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Accounts where `plugin` is switched off.
    pub async fn disabled_accounts(&self, plugin: &str) -> Result<Vec<i64>, sea_orm::DbErr> {
        Ok(plugin_settings::Entity::find()
            .filter(plugin_settings::Column::Plugin.eq(plugin))
            .filter(plugin_settings::Column::Enabled.eq(0))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| r.account_id)
            .collect())
    }
}
