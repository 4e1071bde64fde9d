//! Live inbox events: what the callback's writer and the admin routes
//! publish, and what open consoles receive over Server-Sent Events.
//!
//! One `tokio::sync::broadcast` channel per instance. Publishing never waits:
//! with no console open it costs a check of the receiver count; with some it
//! is one small allocation and a push into a ring buffer. A console that
//! falls more than [`BUFFER`] events behind loses the oldest ones (it is told,
//! and reloads) — the publisher is never slowed down by it.
//!
//! Events cover this instance only: in a cluster a console sees the messages
//! that reached the instance it is connected to (see the README).

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::entity::messages;

/// Events a console may lag behind before it loses some.
pub const BUFFER: usize = 256;
/// Characters of a message's text an event carries.
const PREVIEW_CHARS: usize = 80;

/// One change a console shows live.
#[derive(Clone, Debug, Serialize)]
pub struct InboxEvent {
    /// `message` (received or sent), `read`, `assigned` or `note`.
    pub kind: &'static str,
    #[serde(with = "crate::ids::json_id")]
    pub account_id: i64,
    pub openid: String,
    #[serde(with = "crate::ids::json_opt_id")]
    pub message_id: Option<i64>,
    /// 1 received from the fan, 0 sent (messages only).
    pub direction: Option<i16>,
    pub msg_type: String,
    /// The start of the text (messages), or of the note.
    pub preview: String,
    /// Who answered (sent messages), who read, assigned or wrote the note.
    pub by: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl InboxEvent {
    fn of_message(message: &messages::Model) -> Self {
        Self {
            kind: "message",
            account_id: message.account_id,
            openid: message.openid.clone(),
            message_id: Some(message.id),
            direction: Some(message.direction),
            msg_type: message.msg_type.clone(),
            preview: message.content.chars().take(PREVIEW_CHARS).collect(),
            by: message.answered_by.clone(),
            at: message.created_at,
        }
    }

    /// A change operators made to a conversation (not a message).
    pub fn conversation(
        kind: &'static str,
        account_id: i64,
        openid: &str,
        by: &str,
        preview: &str,
    ) -> Self {
        Self {
            kind,
            account_id,
            openid: openid.to_string(),
            message_id: None,
            direction: None,
            msg_type: String::new(),
            preview: preview.chars().take(PREVIEW_CHARS).collect(),
            by: by.to_string(),
            at: chrono::Utc::now(),
        }
    }
}

/// The instance's event channel; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    sender: broadcast::Sender<Arc<InboxEvent>>,
    /// Turns true when the server stops: open streams end, so the graceful
    /// shutdown does not wait for them.
    closing: Arc<watch::Sender<bool>>,
}

impl Default for Hub {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(BUFFER);
        let (closing, _) = watch::channel(false);
        Self {
            sender,
            closing: Arc::new(closing),
        }
    }
}

impl Hub {
    /// Publishes a stored message; fan events (`msg_type` event: follows,
    /// menu clicks, location reports, delivery reports) are not
    /// conversation messages and are left out.
    pub fn message_stored(&self, message: &messages::Model) {
        if message.msg_type == "event" || self.sender.receiver_count() == 0 {
            return;
        }
        let _ = self.sender.send(Arc::new(InboxEvent::of_message(message)));
    }

    pub fn publish(&self, event: InboxEvent) {
        if self.sender.receiver_count() > 0 {
            let _ = self.sender.send(Arc::new(event));
        }
    }

    /// A new console's view of the channel, and the server's closing flag.
    pub fn subscribe(&self) -> (broadcast::Receiver<Arc<InboxEvent>>, watch::Receiver<bool>) {
        (self.sender.subscribe(), self.closing.subscribe())
    }

    /// Ends every open stream (at shutdown).
    pub fn close(&self) {
        let _ = self.closing.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: i64) -> messages::Model {
        messages::Model {
            id: n,
            account_id: 7,
            openid: "o_fan".into(),
            msg_type: "text".into(),
            direction: 1,
            content: "你好".repeat(100),
            ..Default::default()
        }
    }

    #[test]
    fn a_slow_console_loses_the_oldest_events_and_the_publisher_never_waits() {
        let hub = Hub::default();
        let (mut slow, _) = hub.subscribe();
        for n in 0..(BUFFER as i64 + 10) {
            hub.message_stored(&text(n));
        }
        match slow.try_recv() {
            Err(broadcast::error::TryRecvError::Lagged(lost)) => assert_eq!(lost, 10),
            other => panic!("expected a lag, got {other:?}"),
        }
        let next = slow.try_recv().expect("the newest events are kept");
        assert_eq!(next.message_id, Some(10));
        assert_eq!(next.preview.chars().count(), PREVIEW_CHARS);
    }

    #[test]
    fn fan_events_are_not_published() {
        let hub = Hub::default();
        let (mut rx, _) = hub.subscribe();
        hub.message_stored(&messages::Model {
            msg_type: "event".into(),
            ..text(1)
        });
        assert!(rx.try_recv().is_err());
    }
}
