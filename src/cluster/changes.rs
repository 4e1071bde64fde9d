//! Cached configuration across instances: every change that cached copies
//! depend on moves the configuration epoch (in the change's transaction, see
//! `db::epoch`); each instance polls it and drops its cached accounts, rules
//! and plugin switches when it moved. A change through one instance is
//! answered the new way by all within [`POLL`] plus a database round trip.

use std::time::Duration;

use crate::db::epoch;
use crate::state::AppState;

pub const POLL: Duration = Duration::from_millis(500);

/// Follows the epoch until the task is aborted.
pub async fn follow(state: AppState) {
    let mut seen = epoch::read(&state.db, epoch::CONFIG).await.ok();
    loop {
        tokio::time::sleep(POLL).await;
        match epoch::read(&state.db, epoch::CONFIG).await {
            Ok(now) if Some(now) != seen => {
                forget_cached(&state);
                seen = Some(now);
            }
            Ok(_) => {}
            // Unreachable: the caches expire on their own; the next read
            // that works catches up.
            Err(error) => tracing::debug!(%error, "cannot read the configuration epoch"),
        }
    }
}

fn forget_cached(state: &AppState) {
    state.callback_accounts.clear();
    if let Some(switches) = &state.plugins.runtime().switches {
        switches.forget();
    }
}
