//! The state a dry run sees: the stored values (read, never written) under
//! the values seeded for the run and those its messages wrote, so that a
//! conversation carries state from one message to the next in memory only.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::call::{StateChange, StateScope, StateStore, StateValue, StateWrites};

/// One write a dry run would make: the value before and after it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StateWriteView {
    pub plugin: String,
    /// `account` (account-wide) or `fan`.
    pub scope: &'static str,
    /// The fan's openid; empty for account-wide values.
    pub openid: String,
    pub key: String,
    /// The live value before (`null`: missing or expired).
    pub old: Option<serde_json::Value>,
    /// The value after (`null`: removed).
    pub new: Option<serde_json::Value>,
    /// When the new value would expire (RFC 3339), if it has a time to live.
    pub expires_at: Option<String>,
}

/// Values over the stored ones; `None` marks a key the run removed.
pub struct Overlay {
    base: Arc<dyn StateStore>,
    values: Mutex<BTreeMap<(StateScope, String), Option<StateValue>>>,
}

impl Overlay {
    pub fn new(base: Arc<dyn StateStore>) -> Self {
        Self {
            base,
            values: Mutex::new(BTreeMap::new()),
        }
    }

    /// Sets a value before the run (a seed).
    pub fn seed(&self, scope: StateScope, key: String, value: StateValue) {
        self.lock().insert((scope, key), Some(value));
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<(StateScope, String), Option<StateValue>>> {
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a successful call's writes in, as the callback would save them,
    /// and says what each changed (the live value before `now`, and after).
    pub fn apply(
        &self,
        writes: StateWrites,
        now: DateTime<Utc>,
    ) -> Result<Vec<StateWriteView>, String> {
        let mut views = Vec::with_capacity(writes.len());
        for ((scope, key), new) in writes {
            let old = self.get(&scope, &key, now)?;
            views.push(StateWriteView {
                plugin: scope.plugin.clone(),
                scope: if scope.openid.is_empty() {
                    "account"
                } else {
                    "fan"
                },
                openid: scope.openid.clone(),
                key: key.clone(),
                old: old.map(|o| o.value),
                new: new.as_ref().map(|n| n.value.clone()),
                expires_at: new
                    .as_ref()
                    .and_then(|n| n.expires_at)
                    .map(|t| t.to_rfc3339()),
            });
            self.lock().insert((scope, key), new);
        }
        Ok(views)
    }
}

impl StateStore for Overlay {
    fn get(
        &self,
        scope: &StateScope,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StateValue>, String> {
        let own = self.lock().get(&(scope.clone(), key.to_string())).cloned();
        match own {
            Some(value) => Ok(value.filter(|v| v.live_at(now))),
            None => self.base.get(scope, key, now),
        }
    }

    /// Dry runs keep atomic updates among the call's pending writes, so this
    /// is only reached by a store used outside one; it works on the overlay.
    fn update(
        &self,
        scope: &StateScope,
        key: &str,
        now: DateTime<Utc>,
        expires_if_new: Option<DateTime<Utc>>,
        change: &mut StateChange<'_>,
    ) -> Result<Option<serde_json::Value>, String> {
        let live = self.get(scope, key, now)?;
        match change(live.as_ref().map(|l| &l.value))? {
            Some(value) => {
                let expires_at = live.map_or(expires_if_new, |l| l.expires_at);
                let stored = StateValue {
                    value: value.clone(),
                    expires_at,
                };
                self.lock()
                    .insert((scope.clone(), key.to_string()), Some(stored));
                Ok(Some(value))
            }
            None => Ok(live.map(|l| l.value)),
        }
    }
}
