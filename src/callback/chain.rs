//! Dispatch: a chain of handlers sharing one trait, run by priority (highest
//! first). Each answers with a reply, passes on, or stops with no reply. The
//! built-ins are the follow, keyword and default rules of `wx_auto_replies`;
//! Rhai plugins and Rust handlers of an embedding program join the same chain.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

use super::accounts::CallbackAccount;
use super::builtin::{DefaultReply, FollowReply, KeywordReply};
use crate::entity::users;
use crate::messages::service::Outgoing;
use crate::state::AppState;
use crate::wechat::{InboundMessage, Reply};

/// What a handler decided.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Reply(Reply),
    /// The reply of the account's rule `rule_id` (what the built-ins answer
    /// with): the reply row and a dry run name the rule.
    RuleReply {
        rule_id: i64,
        reply: Reply,
        /// The rule's other replies, sent after the answer (回复全部).
        followups: Vec<Reply>,
    },
    /// Not mine: ask the next handler.
    Continue,
    /// Answer nothing (`success`) and stop the chain.
    NoReply,
}

/// Who answered a message, with what.
pub struct Answer {
    pub handler: String,
    pub reply: Reply,
    /// The account's rule the reply came from (the built-ins' answers).
    pub rule_id: Option<i64>,
    /// What follows the reply as customer-service messages (a rule's other replies).
    pub followups: Vec<Reply>,
}

/// What a handler gets: the account, the parsed message and its stored id.
pub struct Context {
    pub state: AppState,
    pub account: Arc<CallbackAccount>,
    pub message: Arc<InboundMessage>,
    /// Id of the stored received message (0 in dry runs).
    pub message_id: i64,
    /// The sender as stored, read once per message for every handler that asks.
    fan: tokio::sync::OnceCell<Option<users::Model>>,
}

impl Context {
    pub fn new(
        state: AppState,
        account: Arc<CallbackAccount>,
        message: Arc<InboundMessage>,
        message_id: i64,
    ) -> Self {
        Self {
            state,
            account,
            message,
            message_id,
            fan: tokio::sync::OnceCell::new(),
        }
    }

    /// The fan who sent the message, if stored (a failed read counts as unknown).
    pub async fn fan(&self) -> Option<&users::Model> {
        self.fan
            .get_or_init(|| {
                crate::fans::service::load_fan(
                    &self.state.db,
                    self.account.model.id,
                    &self.message.from_user,
                )
            })
            .await
            .as_ref()
    }
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

pub trait Handler: Send + Sync + 'static {
    /// Shown in logs.
    fn name(&self) -> &str;
    /// Place in the chain: higher runs first.
    fn priority(&self) -> i32;
    /// Among equal priorities: handlers without a sort name run first, in
    /// the order they were registered; then those with one, by that name
    /// (plugins give theirs, so reloads never reorder them).
    fn sort_name(&self) -> Option<&str> {
        None
    }
    fn handle(&self, ctx: Arc<Context>) -> HandlerFuture;
}

pub use super::builtin::{DEFAULT_PRIORITY, FOLLOW_PRIORITY, KEYWORD_PRIORITY};

/// Time kept back from handlers for storing and sending the reply.
const REPLY_RESERVE: Duration = Duration::from_millis(250);

/// The registered handlers, ordered by priority.
pub struct Chain {
    handlers: RwLock<Arc<Vec<Arc<dyn Handler>>>>,
}

impl Default for Chain {
    fn default() -> Self {
        let chain = Chain {
            handlers: RwLock::new(Arc::new(Vec::new())),
        };
        chain.register(Arc::new(FollowReply));
        chain.register(Arc::new(KeywordReply));
        chain.register(Arc::new(DefaultReply));
        chain
    }
}

impl Chain {
    /// Adds a handler in its place: by priority, then as `sort_name` says.
    pub fn register(&self, handler: Arc<dyn Handler>) {
        let mut guard = self.handlers.write().unwrap_or_else(|p| p.into_inner());
        let mut handlers: Vec<_> = guard.as_ref().clone();
        let key = |h: &dyn Handler| {
            (
                std::cmp::Reverse(h.priority()),
                h.sort_name().map(str::to_string),
            )
        };
        let new = key(handler.as_ref());
        let position = handlers
            .iter()
            .position(|h| key(h.as_ref()) > new)
            .unwrap_or(handlers.len());
        handlers.insert(position, handler);
        *guard = Arc::new(handlers);
    }

    /// Removes every handler named `name`.
    pub fn unregister(&self, name: &str) {
        let mut guard = self.handlers.write().unwrap_or_else(|p| p.into_inner());
        let handlers: Vec<_> = guard.iter().filter(|h| h.name() != name).cloned().collect();
        *guard = Arc::new(handlers);
    }

    pub fn handlers(&self) -> Arc<Vec<Arc<dyn Handler>>> {
        self.handlers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs the chain until a handler answers or the deadline comes. A handler
    /// still running at its deadline is abandoned (left to finish in the
    /// background, where its late reply is logged) and the next one asked.
    /// Returns the reply and the name of the handler that gave it.
    pub async fn dispatch(&self, ctx: Arc<Context>, deadline: Instant) -> Option<Answer> {
        for handler in self.handlers().iter() {
            let budget = deadline
                .saturating_duration_since(Instant::now())
                .saturating_sub(REPLY_RESERVE);
            let name = handler.name().to_string();
            let mut future = handler.handle(ctx.clone());
            // Awaited here (no task per handler: most answer at once); a panic
            // in a handler is caught at every poll and counts as a failure.
            let guarded = std::future::poll_fn(|cx| {
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    future.as_mut().poll(cx)
                })) {
                    Ok(Poll::Ready(outcome)) => Poll::Ready(Ok(outcome)),
                    Ok(Poll::Pending) => Poll::Pending,
                    Err(_) => Poll::Ready(Err("the handler panicked".to_string())),
                }
            });
            let outcome = match tokio::time::timeout(budget, guarded).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    tracing::warn!(
                        handler = %name,
                        budget_ms = budget.as_millis() as u64,
                        "handler overran the callback deadline; abandoned"
                    );
                    // Left to finish in the background; its reply then goes out
                    // as a customer-service message (unless the account says no).
                    let ctx = ctx.clone();
                    tokio::spawn(async move {
                        if let Outcome::Reply(reply) | Outcome::RuleReply { reply, .. } =
                            future.await
                        {
                            deliver_late_reply(&ctx, &name, &reply).await;
                        }
                    });
                    continue;
                }
            };
            match outcome {
                Ok(Outcome::Reply(reply)) => {
                    return Some(Answer {
                        handler: name,
                        reply,
                        rule_id: None,
                        followups: Vec::new(),
                    })
                }
                Ok(Outcome::RuleReply {
                    rule_id,
                    reply,
                    followups,
                }) => {
                    return Some(Answer {
                        handler: name,
                        reply,
                        rule_id: Some(rule_id),
                        followups,
                    })
                }
                Ok(Outcome::NoReply) => return None,
                Ok(Outcome::Continue) => {}
                Err(error) => {
                    tracing::error!(handler = %name, %error, "handler failed; asking the next one");
                }
            }
        }
        None
    }
}

/// Sends a reply that missed the callback deadline as a customer-service message.
async fn deliver_late_reply(ctx: &Context, handler: &str, reply: &Reply) {
    let account = &ctx.account.model;
    if account.late_reply_enabled != 1 {
        tracing::warn!(handler, app_id = %account.app_id, "late reply dropped: late replies are off for this account");
        return;
    }
    let sent = crate::messages::service::send_and_store(
        &ctx.state.db,
        &ctx.state.ids,
        &ctx.state.wxapi,
        account,
        Outgoing {
            openid: &ctx.message.from_user,
            reply,
            reply_to: Some(ctx.message_id),
            answered_by: handler,
        },
    )
    .await;
    match sent {
        Ok(_) => {
            tracing::info!(handler, app_id = %account.app_id, "late reply delivered as a customer-service message")
        }
        Err(error) => {
            tracing::warn!(handler, app_id = %account.app_id, %error, "late reply could not be delivered")
        }
    }
}
