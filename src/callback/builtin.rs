//! The built-in handlers: follow, keyword and default replies from the
//! account's rules in `wx_auto_replies` (compiled in [`super::accounts`]).

use std::sync::Arc;

use super::accounts::{Rule, Rules};
use super::chain::{Context, Handler, HandlerFuture, Outcome};
use crate::wechat::{Event, InboundMessage, MessageKind};

/// Priorities of the built-ins, so other handlers can place themselves.
pub const FOLLOW_PRIORITY: i32 = 300;
pub const KEYWORD_PRIORITY: i32 = 200;
pub const DEFAULT_PRIORITY: i32 = -1000;

/// The rule the built-in handler `name` answers `message` with, if any.
fn answering_rule<'a>(
    name: &str,
    rules: &'a Rules,
    message: &InboundMessage,
    at: chrono::DateTime<chrono::Utc>,
) -> Option<&'a Rule> {
    match name {
        "builtin:follow" => match message.event() {
            Some(Event::Subscribe { .. }) => Rules::first_at(&rules.follow, at),
            _ => None,
        },
        "builtin:keyword" => {
            let text = match &message.kind {
                MessageKind::Text { content } => Some(content.as_str()),
                MessageKind::Voice {
                    recognition: Some(recognition),
                    ..
                } => Some(recognition.as_str()),
                MessageKind::Event(Event::Click { key }) => Some(key.as_str()),
                _ => None,
            };
            text.and_then(|text| rules.keyword_match(text, at))
        }
        // Texts only: a menu click, an image or a voice message gets no default reply.
        "builtin:default" => match message.kind {
            MessageKind::Text { .. } => Rules::first_at(&rules.default, at),
            _ => None,
        },
        _ => None,
    }
}

fn reply_with_rule(name: &str, ctx: Arc<Context>) -> HandlerFuture {
    let outcome = answering_rule(name, &ctx.account.rules, &ctx.message, chrono::Utc::now())
        .map(|rule| Outcome::RuleReply {
            rule_id: rule.id,
            reply: rule.answer().clone(),
            followups: rule.followups().to_vec(),
        })
        .unwrap_or(Outcome::Continue);
    Box::pin(async move { outcome })
}

/// Follow replies (reply_type 1) on subscribe, also through a QR code.
pub struct FollowReply;

impl Handler for FollowReply {
    fn name(&self) -> &str {
        "builtin:follow"
    }
    fn priority(&self) -> i32 {
        FOLLOW_PRIORITY
    }
    fn handle(&self, ctx: Arc<Context>) -> HandlerFuture {
        reply_with_rule(self.name(), ctx)
    }
}

/// Keyword replies (reply_type 2) for text, and for menu clicks by their key.
pub struct KeywordReply;

impl Handler for KeywordReply {
    fn name(&self) -> &str {
        "builtin:keyword"
    }
    fn priority(&self) -> i32 {
        KEYWORD_PRIORITY
    }
    fn handle(&self, ctx: Arc<Context>) -> HandlerFuture {
        reply_with_rule(self.name(), ctx)
    }
}

/// The default reply (reply_type 3) to a text nothing else answered.
pub struct DefaultReply;

impl Handler for DefaultReply {
    fn name(&self) -> &str {
        "builtin:default"
    }
    fn priority(&self) -> i32 {
        DEFAULT_PRIORITY
    }
    fn handle(&self, ctx: Arc<Context>) -> HandlerFuture {
        reply_with_rule(self.name(), ctx)
    }
}
