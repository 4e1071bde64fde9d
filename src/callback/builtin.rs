//! The built-in handlers: follow, keyword and default replies from the
//! account's rules in `wx_auto_replies` (compiled in [`super::accounts`]).

use std::sync::Arc;

use super::chain::{Context, Handler, HandlerFuture, Outcome};
use crate::wechat::{Event, MessageKind};

/// Priorities of the built-ins, so other handlers can place themselves.
pub const FOLLOW_PRIORITY: i32 = 300;
pub const KEYWORD_PRIORITY: i32 = 200;
pub const DEFAULT_PRIORITY: i32 = -1000;

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
        let outcome = match ctx.message.event() {
            Some(Event::Subscribe { .. }) => match ctx.account.rules.follow.first() {
                Some(rule) => Outcome::Reply(rule.reply.clone()),
                None => Outcome::Continue,
            },
            _ => Outcome::Continue,
        };
        Box::pin(async move { outcome })
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
        let text = match &ctx.message.kind {
            MessageKind::Text { content } => Some(content.as_str()),
            MessageKind::Voice {
                recognition: Some(recognition),
                ..
            } => Some(recognition.as_str()),
            MessageKind::Event(Event::Click { key }) => Some(key.as_str()),
            _ => None,
        };
        let outcome = text
            .and_then(|text| ctx.account.rules.keyword_match(text))
            .map(|rule| Outcome::Reply(rule.reply.clone()))
            .unwrap_or(Outcome::Continue);
        Box::pin(async move { outcome })
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
        let outcome = match (&ctx.message.kind, ctx.account.rules.default.first()) {
            (MessageKind::Text { .. }, Some(rule)) => Outcome::Reply(rule.reply.clone()),
            _ => Outcome::Continue,
        };
        Box::pin(async move { outcome })
    }
}
