//! Messages being handled right now, so a retry that arrives meanwhile waits
//! for the first attempt's reply instead of handling the message again. (Across
//! processes the database's unique dedupe key does the same job.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// (account id, dedupe key)
pub type Key = (i64, String);
/// `Some(reply)` once the first attempt finished; the reply XML or none.
type Slot = Option<Option<String>>;

#[derive(Default)]
pub struct Inflight {
    map: Arc<Mutex<HashMap<Key, watch::Receiver<Slot>>>>,
}

pub enum Claim {
    /// First attempt: handle the message, then [`Owner::finish`].
    Owner(Owner),
    /// A retry of a message being handled.
    Waiter(Waiter),
}

pub struct Owner {
    map: Arc<Mutex<HashMap<Key, watch::Receiver<Slot>>>>,
    key: Key,
    sender: watch::Sender<Slot>,
}

pub struct Waiter {
    receiver: watch::Receiver<Slot>,
}

/// The first attempt ended without a reply to share (it failed).
#[derive(Debug)]
pub struct Abandoned;

impl Inflight {
    pub fn claim(&self, key: Key) -> Claim {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(receiver) = map.get(&key) {
            return Claim::Waiter(Waiter {
                receiver: receiver.clone(),
            });
        }
        let (sender, receiver) = watch::channel(None);
        map.insert(key.clone(), receiver);
        Claim::Owner(Owner {
            map: self.map.clone(),
            key,
            sender,
        })
    }
}

impl Owner {
    /// Shares the reply with waiting retries and releases the key.
    pub fn finish(self, reply: Option<String>) {
        self.publish(reply);
        // Drop releases the key.
    }

    /// Shares the reply with retries, waiting or still to come, and keeps
    /// the key until dropped: while the reply's row is not committed yet,
    /// retries are answered from here.
    pub fn publish(&self, reply: Option<String>) {
        self.sender.send_replace(Some(reply));
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&self.key);
    }
}

impl Waiter {
    /// The first attempt's reply, or [`Abandoned`] when it failed.
    pub async fn wait(&mut self) -> Result<Option<String>, Abandoned> {
        loop {
            if let Some(reply) = self.receiver.borrow_and_update().clone() {
                return Ok(reply);
            }
            if self.receiver.changed().await.is_err() {
                return self.receiver.borrow().clone().ok_or(Abandoned);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retries_get_the_first_reply_or_learn_it_failed() {
        let inflight = Inflight::default();
        let key = (1, "msg:1".to_string());
        let Claim::Owner(owner) = inflight.claim(key.clone()) else {
            panic!("first is owner")
        };
        let Claim::Waiter(mut waiter) = inflight.claim(key.clone()) else {
            panic!("second waits")
        };
        owner.finish(Some("<xml/>".into()));
        assert_eq!(waiter.wait().await.unwrap(), Some("<xml/>".into()));
        assert!(
            matches!(inflight.claim(key.clone()), Claim::Owner(_)),
            "key released"
        );

        let Claim::Owner(owner) = inflight.claim(key.clone()) else {
            panic!()
        };
        let Claim::Waiter(mut waiter) = inflight.claim(key.clone()) else {
            panic!()
        };
        drop(owner);
        assert!(waiter.wait().await.is_err());

        let Claim::Owner(owner) = inflight.claim(key.clone()) else {
            panic!()
        };
        owner.publish(Some("<xml>published</xml>".into()));
        let Claim::Waiter(mut late) = inflight.claim(key.clone()) else {
            panic!("a published reply keeps the key until the owner is dropped")
        };
        assert_eq!(
            late.wait().await.unwrap(),
            Some("<xml>published</xml>".into())
        );
        drop(owner);
        assert!(matches!(inflight.claim(key), Claim::Owner(_)));
    }
}
