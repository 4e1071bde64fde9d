//! Snowflake ids: 41 bits of milliseconds since [`EPOCH_MS`], 10 bits of worker
//! id, 12 bits of sequence. Ids are time-ordered, unique across workers, and
//! travel as JSON strings because they exceed 2^53.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2024-01-01T00:00:00Z. Fixed forever: changing it would break ordering.
pub const EPOCH_MS: i64 = 1_704_067_200_000;
pub const MAX_WORKER_ID: u16 = 1023;
const SEQUENCE_BITS: u32 = 12;
const WORKER_BITS: u32 = 10;
const MAX_SEQUENCE: i64 = (1 << SEQUENCE_BITS) - 1;
/// How far the clock may step back before the generator refuses instead of waiting.
const MAX_BACKWARD_WAIT_MS: i64 = 2_000;
/// 41 bits of milliseconds after the epoch: until 2093.
const MAX_ELAPSED_MS: i64 = (1 << 41) - 1;

#[derive(Debug, thiserror::Error)]
pub enum IdError {
    #[error("the system clock moved back by {0} ms; refusing to generate ids that could repeat")]
    ClockMovedBack(i64),
    /// Before [`EPOCH_MS`] the id would be negative; 2^41 ms after it, its
    /// time would overflow into the sign bit and ids would start over.
    #[error(
        "the system clock reads {0} ms since 1970, outside 2024–2093; refusing to generate ids"
    )]
    ClockOutOfRange(i64),
    /// The worker id's lease ran out unrenewed (database unreachable, or the
    /// process stalled): another instance may hold the id by now.
    #[error("the lease on Snowflake worker id {0} ran out and is not renewed yet; refusing to generate ids another instance may also generate")]
    LeaseLost(u16),
}

/// Where the generator reads the time, and how it waits. The system clock
/// in production; tests give it clocks that jump.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        now_ms()
    }
}

pub struct IdGenerator {
    sequence: Mutex<Sequence>,
    clock: Box<dyn Clock>,
}

struct Sequence {
    worker_id: i64,
    /// Last millisecond used, and the last sequence number used in it.
    last_ms: i64,
    last_seq: i64,
    /// Ids are issued only before this (the worker id's lease runs out then,
    /// and another instance may take it over).
    valid_until_ms: i64,
}

impl std::fmt::Debug for IdGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdGenerator")
            .field("worker_id", &self.worker_id())
            .finish_non_exhaustive()
    }
}

impl IdGenerator {
    /// A generator whose worker id is its own for good (configured).
    pub fn new(worker_id: u16) -> Self {
        Self::with_clock(worker_id, SystemClock)
    }

    /// A generator reading `clock`.
    pub fn with_clock(worker_id: u16, clock: impl Clock + 'static) -> Self {
        assert!(worker_id <= MAX_WORKER_ID, "worker id is checked by config");
        Self {
            sequence: Mutex::new(Sequence {
                worker_id: i64::from(worker_id),
                last_ms: 0,
                last_seq: 0,
                valid_until_ms: i64::MAX,
            }),
            clock: Box::new(clock),
        }
    }

    /// A generator for a leased worker id, issuing ids until `valid_until_ms`.
    pub fn leased(worker_id: u16, valid_until_ms: i64) -> Self {
        let generator = Self::new(worker_id);
        generator.renew(worker_id, valid_until_ms);
        generator
    }

    /// The lease on `worker_id` now runs until `valid_until_ms` (the worker id
    /// may change when the old one was lost: ids stay unique either way).
    pub fn renew(&self, worker_id: u16, valid_until_ms: i64) {
        assert!(worker_id <= MAX_WORKER_ID, "leased ids are in range");
        let mut sequence = self.sequence.lock().unwrap_or_else(|p| p.into_inner());
        sequence.worker_id = i64::from(worker_id);
        sequence.valid_until_ms = valid_until_ms;
    }

    pub fn worker_id(&self) -> u16 {
        self.sequence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .worker_id as u16
    }

    /// Whether ids may be issued now (the worker id's lease holds).
    pub fn issuing(&self) -> bool {
        let valid_until = self
            .sequence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .valid_until_ms;
        self.clock.now_ms() < valid_until
    }

    /// Next id. Blocks for at most a few milliseconds when the sequence of the
    /// current millisecond is spent or the clock stepped back a little.
    pub fn next_id(&self) -> Result<i64, IdError> {
        let mut sequence = self.sequence.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = self.clock.now_ms();
            if !(EPOCH_MS..=EPOCH_MS + MAX_ELAPSED_MS).contains(&now) {
                return Err(IdError::ClockOutOfRange(now));
            }
            if now >= sequence.valid_until_ms {
                return Err(IdError::LeaseLost(sequence.worker_id as u16));
            }
            let (last_ms, last_seq) = (sequence.last_ms, sequence.last_seq);
            if now < last_ms {
                let behind = last_ms - now;
                if behind > MAX_BACKWARD_WAIT_MS {
                    return Err(IdError::ClockMovedBack(behind));
                }
                self.clock.sleep(Duration::from_millis(behind as u64));
                continue;
            }
            let (ms, seq) = if now == last_ms {
                if last_seq == MAX_SEQUENCE {
                    // Sequence spent: wait for the next millisecond.
                    self.clock.sleep(Duration::from_micros(100));
                    continue;
                }
                (now, last_seq + 1)
            } else {
                (now, 0)
            };
            (sequence.last_ms, sequence.last_seq) = (ms, seq);
            return Ok(compose(ms, sequence.worker_id, seq));
        }
    }
}

fn compose(ms: i64, worker: i64, seq: i64) -> i64 {
    ((ms - EPOCH_MS) << (WORKER_BITS + SEQUENCE_BITS)) | (worker << SEQUENCE_BITS) | seq
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(EPOCH_MS)
}

/// Parses an id given as a JSON string or number.
pub fn parse_id(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::String(s) => s.trim().parse().ok(),
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// `#[serde(with = "json_id")]`: an i64 written as a string, read from a string or number.
pub mod json_id {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        super::parse_id(&value)
            .ok_or_else(|| de::Error::custom("expected an id (a string of digits or a number)"))
    }
}

/// `#[serde(with = "json_opt_id")]`: like [`json_id`], with `null` for none.
pub mod json_opt_id {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => s.collect_str(id),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        if value.is_null() || value.as_str() == Some("") {
            return Ok(None);
        }
        super::parse_id(&value)
            .map(Some)
            .ok_or_else(|| de::Error::custom("expected an id (a string of digits or a number)"))
    }
}

/// WeChat's own 64-bit ids (a message's `MsgId`, a template message's
/// `msgid`) are unsigned and documented with no range. They are kept in a
/// BIGINT column as the same 64 bits (values above 2^63 − 1 read back
/// negative from SQL) and always shown as the unsigned decimal string.
pub mod wechat_id {
    /// The columns that hold such ids.
    pub const COLUMNS: [&str; 2] = ["msg_id", "msgid"];

    /// The stored form of a decimal id, any unsigned 64-bit value.
    pub fn parse(text: &str) -> Option<i64> {
        text.trim().parse::<u64>().ok().map(|v| v as i64)
    }

    /// The id as WeChat wrote it.
    pub fn display(stored: i64) -> String {
        (stored as u64).to_string()
    }

    pub fn from_json(value: &serde_json::Value) -> Option<i64> {
        match value {
            serde_json::Value::String(s) => parse(s),
            serde_json::Value::Number(n) => n.as_u64().map(|v| v as i64),
            _ => None,
        }
    }
}

/// `#[serde(with = "json_opt_wechat_id")]`: a [`wechat_id`] as its unsigned
/// decimal string, `null` for none; read from a string or a number.
pub mod json_opt_wechat_id {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => s.serialize_str(&super::wechat_id::display(*id)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        if value.is_null() || value.as_str() == Some("") {
            return Ok(None);
        }
        super::wechat_id::from_json(&value)
            .map(Some)
            .ok_or_else(|| de::Error::custom("expected an unsigned 64-bit number (digits)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;
    use std::sync::Arc;

    #[test]
    fn wechat_ids_keep_every_unsigned_64_bit_value() {
        for text in [
            "0",
            "1234567890123456789",
            "9223372036854775808",
            "18446744073709551615",
        ] {
            let stored = wechat_id::parse(text).unwrap();
            assert_eq!(wechat_id::display(stored), text);
        }
        assert_eq!(wechat_id::parse("18446744073709551616"), None);
        assert_eq!(wechat_id::parse("-1"), None);
        assert_eq!(
            wechat_id::from_json(&serde_json::json!(18446744073709551615u64)),
            Some(-1)
        );
    }

    #[test]
    fn ids_are_unique_and_increasing_across_threads() {
        let generator = Arc::new(IdGenerator::new(7));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let generator = generator.clone();
                std::thread::spawn(move || {
                    let ids: Vec<i64> = (0..20_000).map(|_| generator.next_id().unwrap()).collect();
                    assert!(ids.windows(2).all(|w| w[0] < w[1]));
                    ids
                })
            })
            .collect();
        let mut all = HashSet::new();
        for handle in handles {
            for id in handle.join().unwrap() {
                assert!(all.insert(id), "duplicate id {id}");
            }
        }
        assert_eq!(all.len(), 80_000);
    }

    #[test]
    fn id_layout_holds_worker_and_exceeds_2_pow_53() {
        let id = IdGenerator::new(1023).next_id().unwrap();
        assert_eq!((id >> SEQUENCE_BITS) & 1023, 1023);
        assert!(id > 1 << 53);
        let ms = (id >> (WORKER_BITS + SEQUENCE_BITS)) + EPOCH_MS;
        assert!((now_ms() - ms).abs() < 5_000);
    }

    #[test]
    fn clock_far_behind_is_refused_not_reused() {
        let generator = IdGenerator::new(1);
        generator.sequence.lock().unwrap().last_ms = now_ms() + 60_000;
        assert!(matches!(
            generator.next_id(),
            Err(IdError::ClockMovedBack(_))
        ));
    }

    #[test]
    fn ids_stop_when_the_worker_lease_runs_out_and_resume_when_renewed() {
        let generator = IdGenerator::leased(5, 0);
        assert!(matches!(generator.next_id(), Err(IdError::LeaseLost(5))));
        generator.renew(9, now_ms() + 60_000);
        let id = generator.next_id().unwrap();
        assert_eq!((id >> SEQUENCE_BITS) & 1023, 9);
        generator.renew(9, now_ms() - 1);
        assert!(matches!(generator.next_id(), Err(IdError::LeaseLost(9))));
    }

    /// A clock that reads a script of times, then stands still; sleeping
    /// moves it forward (so a spent millisecond always ends).
    struct ScriptedClock {
        /// (readings still to come, reversed; the time once they are spent)
        state: Mutex<(Vec<i64>, i64)>,
    }

    impl ScriptedClock {
        fn new(mut readings: Vec<i64>) -> Self {
            let end = readings.last().copied().unwrap_or(EPOCH_MS);
            readings.reverse();
            Self {
                state: Mutex::new((readings, end)),
            }
        }
    }

    impl Clock for ScriptedClock {
        fn now_ms(&self) -> i64 {
            let mut state = self.state.lock().unwrap();
            match state.0.pop() {
                Some(reading) => reading,
                None => state.1,
            }
        }

        fn sleep(&self, duration: Duration) {
            let mut state = self.state.lock().unwrap();
            state.1 = state.1.saturating_add((duration.as_millis() as i64).max(1));
        }
    }

    /// Clock readings: mostly steady, with repeats, small and large steps
    /// back, leaps forward, and now and then any time at all.
    fn clock_readings() -> impl Strategy<Value = Vec<i64>> {
        let step = prop_oneof![
            4 => 0i64..=1,
            2 => -5i64..=5,
            1 => -3_000i64..=0,
            1 => 0i64..=10_000_000,
        ];
        let reading = prop_oneof![
            8 => step.prop_map(Step::By),
            1 => (-(1i64 << 44)..(1i64 << 44)).prop_map(|t| Step::To(EPOCH_MS + t)),
        ];
        (0i64..(1 << 40), proptest::collection::vec(reading, 1..200)).prop_map(|(start, steps)| {
            let mut now = EPOCH_MS + start;
            steps
                .into_iter()
                .map(|step| {
                    now = match step {
                        Step::By(delta) => now + delta,
                        Step::To(time) => time,
                    };
                    now
                })
                .collect()
        })
    }

    #[derive(Debug, Clone)]
    enum Step {
        By(i64),
        To(i64),
    }

    proptest! {
        #[test]
        fn ids_stay_unique_and_increasing_whatever_the_clock_does(
            readings in clock_readings(),
            worker in 0u16..=MAX_WORKER_ID,
        ) {
            let calls = readings.len();
            let generator = IdGenerator::with_clock(worker, ScriptedClock::new(readings));
            let mut previous: Option<i64> = None;
            for _ in 0..calls {
                // A refusal is allowed (the clock went far back); a repeat is not.
                if let Ok(id) = generator.next_id() {
                    prop_assert!(id > 0, "id {id} is not positive");
                    prop_assert_eq!((id >> SEQUENCE_BITS) & 1023, i64::from(worker));
                    if let Some(previous) = previous {
                        prop_assert!(id > previous, "{id} after {previous}");
                    }
                    previous = Some(id);
                }
            }
        }
    }

    #[test]
    fn a_clock_before_the_epoch_or_past_41_bits_is_refused() {
        // Found by the property test below: before the fix, a clock one
        // millisecond before the epoch gave the id -4194304, and one past
        // 2^41 ms wrapped into negative ids.
        for reading in [EPOCH_MS - 1, EPOCH_MS + MAX_ELAPSED_MS + 1, 0, i64::MAX] {
            let generator = IdGenerator::with_clock(0, ScriptedClock::new(vec![reading]));
            assert!(
                matches!(generator.next_id(), Err(IdError::ClockOutOfRange(r)) if r == reading),
                "{reading}"
            );
        }
        let last =
            IdGenerator::with_clock(1023, ScriptedClock::new(vec![EPOCH_MS + MAX_ELAPSED_MS]));
        assert!(last.next_id().unwrap() > 0);
    }

    #[test]
    fn ids_parse_from_strings_and_numbers() {
        assert_eq!(parse_id(&serde_json::json!("123")), Some(123));
        assert_eq!(parse_id(&serde_json::json!(123)), Some(123));
        assert_eq!(parse_id(&serde_json::json!("12a")), None);
        assert_eq!(parse_id(&serde_json::json!(1.5)), None);
    }
}
