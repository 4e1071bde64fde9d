//! The checks on a rule's replies: the first in the row's own columns, up to
//! four more in `more_replies`, whose errors are named
//! `more_replies.<index>.<field>` so a form can put them next to their field.

use super::check::{max_bytes, one_of, required, url};
use crate::entity::auto_replies::{self, RuleReply, MAX_REPLIES};
use crate::entity::enums::ReplyMode;
use crate::error::FieldErrors;

/// The kinds of reply a rule can send.
pub const REPLY_MESSAGE_TYPES: [&str; 6] = ["text", "image", "voice", "video", "news", "music"];

pub fn check_replies(m: &auto_replies::Model, errors: &mut FieldErrors) {
    one_of(errors, "reply_mode", &m.reply_mode, ReplyMode::CODES);
    check_reply(errors, "", &m.first_reply());
    match m.more_replies() {
        Err(None) => {
            errors.insert("more_replies".into(), "must be a list of replies".into());
        }
        Err(Some((index, why))) => {
            errors.insert(
                format!("more_replies.{index}"),
                format!("is not a reply: {why}"),
            );
        }
        Ok(more) => {
            if more.len() + 1 > MAX_REPLIES {
                errors.insert(
                    "more_replies".into(),
                    format!("a rule has at most {MAX_REPLIES} replies"),
                );
            }
            for (index, reply) in more.iter().enumerate() {
                check_reply(errors, &format!("more_replies.{index}."), reply);
            }
        }
    }
}

/// One reply's fields, named `prefix` + the field.
fn check_reply(errors: &mut FieldErrors, prefix: &str, r: &RuleReply) {
    let name = |field: &str| format!("{prefix}{field}");
    if !REPLY_MESSAGE_TYPES.contains(&r.message_type.as_str()) {
        errors.insert(
            name("message_type"),
            format!("must be one of {REPLY_MESSAGE_TYPES:?}"),
        );
    }
    match r.message_type.as_str() {
        "text" => required(errors, &name("content"), &r.content),
        "image" | "voice" | "video" => required(errors, &name("media_id"), &r.media_id),
        "news" => {
            required(errors, &name("title"), &r.title);
            required(errors, &name("url"), &r.url);
        }
        "music" => {
            required(errors, &name("music_url"), &r.music_url);
            required(errors, &name("thumb_media_id"), &r.thumb_media_id);
        }
        _ => {}
    }
    // A passive reply is one packet; WeChat drops text over 2048 bytes.
    max_bytes(errors, &name("content"), &r.content, 2048);
    for (field, value) in [
        ("pic_url", &r.pic_url),
        ("url", &r.url),
        ("music_url", &r.music_url),
        ("hq_music_url", &r.hq_music_url),
    ] {
        url(errors, &name(field), value);
    }
}
