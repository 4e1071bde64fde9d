//! One plugin call's view of state: the store it reads, the writes it keeps
//! until the call succeeded, its logs, and the clock it runs by (the real one,
//! or the time a dry run fixed).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rhai::{Dynamic, EvalAltResult};

pub const MAX_STATE_VALUE: usize = 64 * 1024;
pub const MAX_STATE_WRITES: usize = 200;
/// The longest time to live a key may get: a year.
pub const MAX_TTL_SECONDS: i64 = 366 * 24 * 3600;

thread_local! {
    /// The call running on this thread (for logs, state and the clock).
    pub(super) static CURRENT: RefCell<Option<Arc<CallState>>> = const { RefCell::new(None) };
}

/// Where plugin state lives. Reads happen during a call (on the script's
/// thread); writes are applied after the call succeeded, except atomic
/// updates (`incr`, `cas`), which are applied at once. A value whose time
/// to live has run out at `now` reads as missing.
pub trait StateStore: Send + Sync {
    fn get(
        &self,
        scope: &StateScope,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StateValue>, String>;
    /// Reads the value and writes `change(value)` with no other write in
    /// between, across every instance; `Ok(None)` from `change` leaves the
    /// value as it is. A live value keeps its expiry; a new one (the key was
    /// missing or expired) gets `expires_if_new`. Returns the value after.
    fn update(
        &self,
        scope: &StateScope,
        key: &str,
        now: DateTime<Utc>,
        expires_if_new: Option<DateTime<Utc>>,
        change: &mut StateChange<'_>,
    ) -> Result<Option<serde_json::Value>, String>;
}

/// Whose value: a plugin, in an account, optionally for one fan.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateScope {
    pub plugin: String,
    pub account_id: i64,
    /// Empty for account-wide values.
    pub openid: String,
}

/// A value and when it expires (`None`: never).
#[derive(Clone, Debug, PartialEq)]
pub struct StateValue {
    pub value: serde_json::Value,
    pub expires_at: Option<DateTime<Utc>>,
}

impl StateValue {
    /// Whether the value still reads at `now`.
    pub fn live_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// What an atomic update does to a value (`None` in, `None` out: missing,
/// unchanged); an error leaves the value as it was.
pub type StateChange<'a> =
    dyn FnMut(Option<&serde_json::Value>) -> Result<Option<serde_json::Value>, String> + 'a;

/// One pending write: `None` removes the key.
pub type StateWrites = BTreeMap<(StateScope, String), Option<StateValue>>;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    pub level: String,
    pub message: String,
}

/// Everything one call collects: its state reads and writes, and its logs.
pub struct CallState {
    pub plugin: String,
    pub account_id: i64,
    pub openid: String,
    /// Dry runs keep even atomic updates among the (dropped) pending writes.
    pub dry_run: bool,
    /// The time scripts see; `None`: the real clock.
    pub clock: Option<DateTime<Utc>>,
    store: Arc<dyn StateStore>,
    pub writes: Mutex<StateWrites>,
    /// Atomic updates applied so far (they count towards MAX_STATE_WRITES).
    atomic_ops: std::sync::atomic::AtomicUsize,
    pub logs: Mutex<Vec<LogLine>>,
    /// `http::get`/`post` of a plugin that lists `http_hosts`.
    pub http: Option<super::http_out::HttpCalls>,
    /// Timers `schedule` asked for, saved if the call succeeds.
    pub timers: Mutex<Vec<super::timers::TimerRequest>>,
    /// WeChat actions the call asked for, queued if it succeeds.
    pub actions: Mutex<Vec<super::actions::ActionRequest>>,
    /// Where pending timers and recent actions are counted (none without a database).
    pub timer_store: Option<Arc<super::timers::TimerStore>>,
    /// What `settings()` returns: the account's values, else the defaults.
    pub settings: rhai::Map,
}

/// The time the script on this thread sees: its call's clock, else now.
pub fn script_now() -> DateTime<Utc> {
    CURRENT
        .with(|current| current.borrow().as_ref().and_then(|call| call.clock))
        .unwrap_or_else(Utc::now)
}

impl CallState {
    pub fn new(
        plugin: &str,
        account_id: i64,
        openid: &str,
        dry_run: bool,
        store: Arc<dyn StateStore>,
    ) -> Self {
        Self {
            plugin: plugin.to_string(),
            account_id,
            openid: openid.to_string(),
            dry_run,
            clock: None,
            store,
            writes: Mutex::new(BTreeMap::new()),
            atomic_ops: Default::default(),
            logs: Mutex::new(Vec::new()),
            http: None,
            timers: Mutex::new(Vec::new()),
            actions: Mutex::new(Vec::new()),
            timer_store: None,
            settings: rhai::Map::new(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.unwrap_or_else(Utc::now)
    }

    fn scope(&self, per_fan: bool) -> StateScope {
        StateScope {
            plugin: self.plugin.clone(),
            account_id: self.account_id,
            openid: if per_fan {
                self.openid.clone()
            } else {
                String::new()
            },
        }
    }

    pub(super) fn log(&self, level: &str, message: &str) {
        match level {
            "error" => tracing::error!(plugin = %self.plugin, "{message}"),
            "warn" => tracing::warn!(plugin = %self.plugin, "{message}"),
            _ => tracing::info!(plugin = %self.plugin, "{message}"),
        }
        let mut logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
        if logs.len() < 100 {
            logs.push(LogLine {
                level: level.into(),
                message: message.chars().take(2000).collect(),
            });
        }
    }

    /// The live value at `slot`: this call's `pending` write, else the store's.
    fn current(
        &self,
        pending: Option<&Option<StateValue>>,
        slot: &(StateScope, String),
    ) -> Result<Option<StateValue>, Box<EvalAltResult>> {
        let now = self.now();
        let value = match pending {
            Some(pending) => pending.clone(),
            None => self
                .store
                .get(&slot.0, &slot.1, now)
                .map_err(|e| format!("state: {e}"))?,
        };
        Ok(value.filter(|v| v.live_at(now)))
    }

    pub(super) fn get(&self, per_fan: bool, key: &str) -> Result<Dynamic, Box<EvalAltResult>> {
        let slot = (self.scope(per_fan), key.to_string());
        let pending = self
            .writes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&slot)
            .cloned();
        match self.current(pending.as_ref(), &slot)? {
            Some(stored) => rhai::serde::to_dynamic(stored.value),
            None => Ok(Dynamic::UNIT),
        }
    }

    /// `set`, `remove` (`value` None) and `set` with a time to live.
    pub(super) fn set(
        &self,
        per_fan: bool,
        key: &str,
        value: Option<Dynamic>,
        ttl: Option<&Dynamic>,
    ) -> Result<(), Box<EvalAltResult>> {
        check_key(key)?;
        let expires_at = ttl.map(|ttl| self.expiry("set", ttl)).transpose()?;
        let value = value
            .map(|v| state_value(key, &v))
            .transpose()?
            .map(|value| StateValue { value, expires_at });
        let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        if writes.len() >= MAX_STATE_WRITES {
            return Err(format!("more than {MAX_STATE_WRITES} state writes in one call").into());
        }
        writes.insert((self.scope(per_fan), key.to_string()), value);
        Ok(())
    }

    /// When a key given `ttl` seconds now expires; `ttl` must be a whole
    /// number from 1 to MAX_TTL_SECONDS.
    fn expiry(&self, function: &str, ttl: &Dynamic) -> Result<DateTime<Utc>, Box<EvalAltResult>> {
        let seconds = ttl
            .as_int()
            .ok()
            .filter(|s| (1..=MAX_TTL_SECONDS).contains(s))
            .ok_or_else(|| {
                format!(
                    "{function}: ttl_seconds must be a whole number of seconds from 1 to \
                     {MAX_TTL_SECONDS}, not {}",
                    describe(ttl)
                )
            })?;
        Ok(self.now() + chrono::Duration::seconds(seconds))
    }

    /// Reads `key` and writes `change(value)` as one step no other call can
    /// come between (`incr`, `cas`). Applied at once in the database; in a
    /// dry run, or after a `set` of the same key in this call, it works on
    /// the pending value instead (and is saved, or dropped, with the others).
    fn atomic(
        &self,
        per_fan: bool,
        key: &str,
        expires_if_new: Option<DateTime<Utc>>,
        change: &mut StateChange<'_>,
    ) -> Result<Option<serde_json::Value>, Box<EvalAltResult>> {
        check_key(key)?;
        let scope = self.scope(per_fan);
        let slot = (scope.clone(), key.to_string());
        let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        let ops = self
            .atomic_ops
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if writes.len() + ops >= MAX_STATE_WRITES {
            return Err(format!("more than {MAX_STATE_WRITES} state writes in one call").into());
        }
        if self.dry_run || writes.contains_key(&slot) {
            let current = self.current(writes.get(&slot), &slot)?;
            return match change(current.as_ref().map(|c| &c.value))? {
                Some(new) => {
                    let expires_at = match &current {
                        Some(live) => live.expires_at,
                        None => expires_if_new,
                    };
                    let stored = StateValue {
                        value: new.clone(),
                        expires_at,
                    };
                    writes.insert(slot, Some(stored));
                    Ok(Some(new))
                }
                None => Ok(current.map(|c| c.value)),
            };
        }
        drop(writes);
        Ok(self
            .store
            .update(&scope, key, self.now(), expires_if_new, change)
            .map_err(|e| format!("state: {e}"))?)
    }

    /// `ctx.incr(key, by[, ttl_seconds])`: the whole number at `key` (missing
    /// or expired: 0) plus `by`; a key it creates expires after `ttl_seconds`.
    pub(super) fn incr(
        &self,
        per_fan: bool,
        key: &str,
        by: i64,
        ttl: Option<&Dynamic>,
    ) -> Result<i64, Box<EvalAltResult>> {
        let expires_if_new = ttl.map(|ttl| self.expiry("incr", ttl)).transpose()?;
        let mut sum = 0;
        self.atomic(per_fan, key, expires_if_new, &mut |current| {
            let base = match current {
                None | Some(serde_json::Value::Null) => 0,
                Some(value) => value.as_i64().ok_or_else(|| {
                    format!("incr({key:?}): the value is {value}, not a whole number")
                })?,
            };
            sum = base
                .checked_add(by)
                .ok_or_else(|| format!("incr({key:?}): {base} + {by} is out of range"))?;
            Ok(Some(sum.into()))
        })?;
        Ok(sum)
    }

    /// `ctx.cas(key, expected, new)`: writes `new` only if the value is
    /// `expected` (`()` for a missing or expired key); whether it did.
    pub(super) fn cas(
        &self,
        per_fan: bool,
        key: &str,
        expected: &Dynamic,
        new: &Dynamic,
    ) -> Result<bool, Box<EvalAltResult>> {
        let expected: Option<serde_json::Value> = if expected.is_unit() {
            None
        } else {
            Some(rhai::serde::from_dynamic(expected)?)
        };
        let new = state_value(key, new)?;
        let mut swapped = false;
        self.atomic(per_fan, key, None, &mut |current| {
            let current = current.filter(|v| !v.is_null());
            swapped = current == expected.as_ref();
            Ok(swapped.then(|| new.clone()))
        })?;
        Ok(swapped)
    }
}

/// A script value in an error message: its text and its type.
fn describe(value: &Dynamic) -> String {
    let type_name = super::engine::plain_types(value.type_name());
    if value.is_string() {
        format!("{:?} (a string)", super::engine::text_of(value))
    } else {
        format!("{value} ({type_name})")
    }
}

/// Whether `key` may name a value: 1–191 bytes, no NUL.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 191 {
        return Err("state keys are 1–191 bytes".into());
    }
    if crate::text::has_nul(key) {
        return Err(format!("state key {key:?} {}", crate::text::NUL_REFUSED));
    }
    Ok(())
}

/// A script value as stored: JSON, no NUL, at most MAX_STATE_VALUE bytes.
fn state_value(key: &str, value: &Dynamic) -> Result<serde_json::Value, Box<EvalAltResult>> {
    let json: serde_json::Value = rhai::serde::from_dynamic(value)?;
    check_value(key, &json)?;
    Ok(json)
}

/// Whether `json` may be stored at `key`: no NUL, at most MAX_STATE_VALUE
/// bytes (also for values seeded into a dry run).
pub fn check_value(key: &str, json: &serde_json::Value) -> Result<(), String> {
    if crate::text::json_path_with_nul(json).is_some() {
        return Err(format!(
            "state value for {key:?} {}",
            crate::text::NUL_REFUSED
        ));
    }
    if json.to_string().len() > MAX_STATE_VALUE {
        return Err(format!(
            "state value for {key:?} is over {MAX_STATE_VALUE} bytes"
        ));
    }
    Ok(())
}

pub(super) fn with_call<T>(
    f: impl FnOnce(&CallState) -> Result<T, Box<EvalAltResult>>,
) -> Result<T, Box<EvalAltResult>> {
    CURRENT.with(|current| match current.borrow().as_ref() {
        Some(call) => f(call),
        None => Err("plugin state and logs are only available while a plugin runs".into()),
    })
}
