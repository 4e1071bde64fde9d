//! The WeChat callback: verify → decrypt → parse → dedupe → store → dispatch
//! → reply, for plaintext, compatible and AES accounts.
//!
//! - [`routes`]: the HTTP endpoints (URL check and messages, with or without the AppID);
//! - [`flow`]: one message's way from request to reply;
//! - [`record`]: the received message as rows (message, fan bookkeeping, jobs);
//! - [`store`]: the writer task that commits those rows (group commit), and
//!   `batch`: the statements of one commit;
//! - [`inflight`]: retries that arrive while the first attempt runs;
//! - [`accounts`]: accounts and their compiled rules, cached;
//! - [`chain`] and [`builtin`]: the handlers that answer, by priority;
//! - [`rule_match`] and [`rule_check`]: what a rule matches, and the checks of a rule row.

pub mod accounts;
mod batch;
pub mod builtin;
pub mod chain;
pub mod flow;
pub mod followups;
pub mod inflight;
pub mod record;
pub mod routes;
pub mod rule_check;
pub mod rule_match;
pub mod store;

/// WeChat's messages are small; anything larger is not from WeChat.
pub const MAX_CALLBACK_BODY: usize = 64 * 1024;
