//! The inbox: the message log seen as conversations, one per fan and
//! account, with what operators need to work them.
//!
//! - **Conversation**: the messages of one fan with one account, fan events
//!   (`msg_type` = `event`: follows, menu clicks, location and delivery
//!   reports) left out. A conversation exists once the fan wrote.
//! - **Unread**: the fan wrote a message newer than the conversation's read
//!   mark. An operator opening the conversation sets the mark to the newest
//!   message on screen (`POST /wechat/inbox/read`); the mark is shared by all
//!   operators. `unread_count` counts the fan's messages past the mark.
//! - **Unanswered**: no reply followed the fan's latest message other than
//!   the default reply (`answered_by` = `builtin:default`): it got nothing,
//!   or only the catch-all text. Keyword rules, plugins and operators'
//!   customer-service messages are answers.
//!
//! The list is computed from `wx_messages` when asked (grouped per fan), so
//! the callback path writes nothing more than it did; `wx_conversations`
//! holds only what operators did (read mark, assignment).
//!
//! Layers: `events` (the broadcast channel, no I/O), `service`, `notes` and
//! `canned` (database), `stream` (the SSE response), `routes` on top.

pub mod canned;
pub mod events;
pub mod notes;
pub mod routes;
pub mod service;
pub mod stream;
