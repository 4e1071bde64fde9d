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

    /// Starts a sign-in attempt: `Err(seconds)` when the client must wait
    /// before trying again. An attempt counts as a failure from the moment it
    /// starts (the password check is slow, and attempts sent together must
    /// not all pass the check before any has failed); [`Self::record_success`]
    /// takes it back.
    pub fn begin_attempt(&self, address: IpAddr, username: &str) -> Result<(), u64> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let keys = Self::keys(address, username);
        let mut wait = Duration::ZERO;
        for (key, free) in &keys {
            if let Some(failures) = entries.get(key) {
                if failures.count >= *free && now.duration_since(failures.last) < FORGET_AFTER {
                    let exponent = (failures.count - free).min(16);
                    let required = Duration::from_secs(1 << exponent).min(MAX_WAIT);
                    let elapsed = now.duration_since(failures.last);
                    if elapsed < required {
                        wait = wait.max(required - elapsed);
                    }
                }
            }
        }
        if !wait.is_zero() {
            return Err(wait.as_secs().max(1));
        }
        if entries.len() > 10_000 {
            entries.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
        }
        for (key, _) in keys {
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
        Ok(())
    }

    /// The attempt succeeded: the user's failures are forgotten, and the
    /// attempt no longer counts against the address.
    pub fn record_success(&self, address: IpAddr, username: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let [(user_key, _), (address_key, _)] = Self::keys(address, username);
        entries.remove(&user_key);
        if let Some(failures) = entries.get_mut(&address_key) {
            failures.count = failures.count.saturating_sub(1);
        }
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
            assert!(throttle.begin_attempt(here, "admin").is_ok());
        }
        assert!(throttle.begin_attempt(here, "Admin").is_err());
        assert!(throttle.begin_attempt(here, "other").is_ok());
        assert!(throttle.begin_attempt(there, "admin").is_ok());
        throttle.record_success(here, "admin");
        assert!(throttle.begin_attempt(here, "admin").is_ok());
    }

    #[test]
    fn many_names_from_one_address_are_held_back() {
        let throttle = LoginThrottle::default();
        let here: IpAddr = "127.0.0.1".parse().unwrap();
        for i in 0..FREE_FAILURES_PER_ADDRESS {
            assert!(throttle.begin_attempt(here, &format!("user{i}")).is_ok());
        }
        assert!(throttle.begin_attempt(here, "fresh-name").is_err());
    }

    #[test]
    fn successful_sign_ins_do_not_count_against_the_address() {
        let throttle = LoginThrottle::default();
        let here: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..FREE_FAILURES_PER_ADDRESS * 2 {
            assert!(throttle.begin_attempt(here, "admin").is_ok());
            throttle.record_success(here, "admin");
        }
    }
}
