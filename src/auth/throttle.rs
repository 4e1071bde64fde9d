//! Slows down password guessing: after a few failed logins for one client
//! address and user name, each further attempt must wait twice as long as the
//! last; an address that fails across many names is held back as a whole.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed for one (address, user) before waits begin.
const FREE_FAILURES_PER_USER: u32 = 5;
/// Failures allowed for one address across all user names.
const FREE_FAILURES_PER_ADDRESS: u32 = 20;
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// A key with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(30 * 60);

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

#[derive(Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<(IpAddr, String), Failures>>,
}

impl LoginThrottle {
    fn keys(address: IpAddr, username: &str) -> [((IpAddr, String), u32); 2] {
        [
            ((address, username.to_lowercase()), FREE_FAILURES_PER_USER),
            // The empty name stands for "any name from this address".
            ((address, String::new()), FREE_FAILURES_PER_ADDRESS),
        ]
    }

    /// `Err(seconds)` when the client must wait before trying again.
    pub fn check(&self, address: IpAddr, username: &str) -> Result<(), u64> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let mut wait = Duration::ZERO;
        for (key, free) in Self::keys(address, username) {
            if let Some(failures) = entries.get(&key) {
                if failures.count >= free {
                    let exponent = (failures.count - free).min(16);
                    let required = Duration::from_secs(1 << exponent).min(MAX_WAIT);
                    let elapsed = now.duration_since(failures.last);
                    if elapsed < required {
                        wait = wait.max(required - elapsed);
                    }
                }
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait.as_secs().max(1))
        }
    }

    pub fn record_failure(&self, address: IpAddr, username: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if entries.len() > 10_000 {
            entries.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
        }
        for (key, _) in Self::keys(address, username) {
            let entry = entries.entry(key).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.duration_since(entry.last) >= FORGET_AFTER {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
        }
    }

    pub fn record_success(&self, address: IpAddr, username: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&(address, username.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_begin_after_free_failures_and_are_per_user_and_address() {
        let throttle = LoginThrottle::default();
        let here: IpAddr = "127.0.0.1".parse().unwrap();
        let there: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..FREE_FAILURES_PER_USER {
            assert!(throttle.check(here, "admin").is_ok());
            throttle.record_failure(here, "admin");
        }
        assert!(throttle.check(here, "Admin").is_err());
        assert!(throttle.check(here, "other").is_ok());
        assert!(throttle.check(there, "admin").is_ok());
        throttle.record_success(here, "admin");
        assert!(throttle.check(here, "admin").is_ok());
    }

    #[test]
    fn many_names_from_one_address_are_held_back() {
        let throttle = LoginThrottle::default();
        let here: IpAddr = "127.0.0.1".parse().unwrap();
        for i in 0..FREE_FAILURES_PER_ADDRESS {
            throttle.record_failure(here, &format!("user{i}"));
        }
        assert!(throttle.check(here, "fresh-name").is_err());
    }
}
