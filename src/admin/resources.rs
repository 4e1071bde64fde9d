//! The ten `wx_*` resources of the admin API: what each validates, filters
//! and hides.

use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

use super::Resource;
use crate::entity::enums::{Direction, MessageMode};
use crate::entity::*;
use crate::error::check::{max_bytes, max_chars, not_negative, one_of, required, url};
use crate::error::{AppError, FieldErrors};
use crate::state::AppState;

fn flag(errors: &mut FieldErrors, field: &str, value: i16) {
    one_of(errors, field, &value, &[0, 1]);
}

pub struct Accounts;

pub fn valid_token(token: &str) -> bool {
    (3..=32).contains(&token.len()) && token.chars().all(|c| c.is_ascii_alphanumeric())
}

pub fn valid_encoding_aes_key(key: &str) -> bool {
    key.len() == 43
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
}

impl Resource for Accounts {
    type Entity = accounts::Entity;
    type Model = accounts::Model;
    type ActiveModel = accounts::ActiveModel;
    const NOUN: &'static str = "account";
    const AFFECTS_CALLBACK: bool = true;
    const SECRETS: &'static [&'static str] = &[
        "app_secret",
        "token",
        "encoding_aes_key",
        "access_token",
        "pay_api_v3_key",
        "pay_private_key",
    ];
    const READ_ONLY: &'static [&'static str] = &[
        "access_token",
        "token_expires_at",
        "pay_platform_certs",
        "archived_at",
    ];
    const FILTERS: &'static [&'static str] = &[
        "status",
        "message_mode",
        "account_type",
        "app_id",
        "original_id",
    ];
    const SEARCH: &'static [&'static str] = &["account_name", "app_id", "original_id", "wechat_id"];

    fn defaults() -> Value {
        json!({ "status": 1, "message_mode": 0, "account_type": 2, "late_reply_enabled": 1 })
    }

    fn validate(m: &accounts::Model, errors: &mut FieldErrors) {
        if m.app_id.is_empty()
            || m.app_id.len() > 64
            || !m
                .app_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            errors.insert(
                "app_id".into(),
                "is required: up to 64 letters and digits (e.g. wx…)".into(),
            );
        }
        required(errors, "account_name", &m.account_name);
        max_chars(errors, "account_name", &m.account_name, 255);
        max_bytes(errors, "app_secret", &m.app_secret, 255);
        one_of(errors, "account_type", &m.account_type, &[0, 1, 2, 3]);
        flag(errors, "status", m.status);
        if m.archived_at.is_some() && m.status == 1 {
            errors.insert(
                "status".into(),
                "an archived account stays disabled; restore it first".into(),
            );
        }
        flag(errors, "late_reply_enabled", m.late_reply_enabled);
        one_of(errors, "message_mode", &m.message_mode, MessageMode::CODES);
        if !valid_token(&m.token) {
            errors.insert("token".into(), "must be 3–32 letters or digits".into());
        }
        if !m.encoding_aes_key.is_empty() && !valid_encoding_aes_key(&m.encoding_aes_key) {
            errors.insert(
                "encoding_aes_key".into(),
                "must be exactly 43 base64 characters (A–Z, a–z, 0–9, +, /)".into(),
            );
        } else if m.encoding_aes_key.is_empty() && m.message_mode != MessageMode::Plaintext.code() {
            errors.insert(
                "encoding_aes_key".into(),
                "is required in compatible (1) and AES (2) message modes".into(),
            );
        }
        if !m.original_id.is_empty() && !m.original_id.starts_with("gh_") {
            errors.insert("original_id".into(), "must start with gh_".into());
        }
        max_bytes(errors, "original_id", &m.original_id, 64);
        max_bytes(errors, "wechat_id", &m.wechat_id, 64);
        url(errors, "server_url", &m.server_url);
        if !m.mch_id.is_empty()
            && (m.mch_id.len() > 32 || !m.mch_id.chars().all(|c| c.is_ascii_digit()))
        {
            errors.insert(
                "mch_id".into(),
                "must be the merchant number (digits)".into(),
            );
        }
        if !m.pay_api_v3_key.is_empty() && m.pay_api_v3_key.len() != 32 {
            errors.insert("pay_api_v3_key".into(), "must be exactly 32 bytes".into());
        }
        max_bytes(errors, "pay_cert_serial", &m.pay_cert_serial, 64);
        // Keys are parsed for real: a bad one is refused here, not at the first payment.
        if !m.pay_private_key.is_empty() {
            if let Err(e) = crate::pay::crypto::parse_private_key(&m.pay_private_key) {
                errors.insert(
                    "pay_private_key".into(),
                    format!("must be the merchant's RSA private key in PEM (-----BEGIN PRIVATE KEY-----): {e}"),
                );
            }
        }
        if !m.pay_public_key_id.is_empty() && !m.pay_public_key_id.starts_with("PUB_KEY_ID_") {
            errors.insert(
                "pay_public_key_id".into(),
                "must start with PUB_KEY_ID_".into(),
            );
        }
        if !m.pay_public_key.is_empty() {
            if let Err(e) = crate::pay::crypto::parse_public_key(&m.pay_public_key) {
                errors.insert(
                    "pay_public_key".into(),
                    format!("must be the WeChat Pay public key in PEM (-----BEGIN PUBLIC KEY-----): {e}"),
                );
            }
        }
        if m.pay_public_key.is_empty() != m.pay_public_key_id.is_empty() {
            let field = if m.pay_public_key.is_empty() {
                "pay_public_key"
            } else {
                "pay_public_key_id"
            };
            errors
                .entry(field.into())
                .or_insert_with(|| "pay_public_key and pay_public_key_id go together".into());
        }
    }

    /// An account is deleted only once nothing refers to it: messages, fans
    /// and above all payments are never removed as a side effect (the
    /// typed-name purge in `accounts` removes them on purpose).
    async fn before_delete(db: &DatabaseTransaction, ids: &[i64]) -> Result<(), AppError> {
        let held = crate::accounts::service::holdings(db, ids).await?;
        if held.is_empty() {
            crate::accounts::service::delete_own_rows(db, ids).await
        } else {
            let held: Vec<String> = held.iter().map(|(what, n)| format!("{n} {what}")).collect();
            Err(AppError::Conflict(format!(
                "the account still has {}; delete those first",
                held.join(", ")
            )))
        }
    }
}

pub struct AutoReplies;

impl Resource for AutoReplies {
    type Entity = auto_replies::Entity;
    type Model = auto_replies::Model;
    type ActiveModel = auto_replies::ActiveModel;
    const NOUN: &'static str = "auto reply";
    const AFFECTS_CALLBACK: bool = true;
    // `id`: the console links to one rule (e.g. the one a dry run names).
    const FILTERS: &'static [&'static str] =
        &["id", "reply_type", "match_type", "message_type", "status"];
    const SEARCH: &'static [&'static str] = &["keyword", "content", "title"];
    const ORDER: &'static [(&'static str, bool)] = &[("priority", false), ("id", false)];

    fn defaults() -> Value {
        json!({ "reply_type": 2, "match_type": 1, "message_type": "text", "status": 1, "priority": 0 })
    }

    fn validate(m: &auto_replies::Model, errors: &mut FieldErrors) {
        crate::callback::rule_check::rule_errors(m, errors);
    }
}

pub struct Materials;

pub const MEDIA_TYPES: [&str; 5] = ["image", "voice", "video", "thumb", "news"];

impl Resource for Materials {
    type Entity = materials::Entity;
    type Model = materials::Model;
    type ActiveModel = materials::ActiveModel;
    const NOUN: &'static str = "material";
    const FILTERS: &'static [&'static str] =
        &["media_type", "is_permanent", "sync_status", "media_id"];
    const SEARCH: &'static [&'static str] = &["name", "title"];

    fn defaults() -> Value {
        json!({ "media_type": "image", "is_permanent": 1, "sync_status": 0 })
    }

    fn validate(m: &materials::Model, errors: &mut FieldErrors) {
        if !MEDIA_TYPES.contains(&m.media_type.as_str()) {
            errors.insert(
                "media_type".into(),
                format!("must be one of {MEDIA_TYPES:?}"),
            );
        }
        max_chars(errors, "name", &m.name, 255);
        max_chars(errors, "title", &m.title, 255);
        url(errors, "url", &m.url);
        flag(errors, "is_permanent", m.is_permanent);
        one_of(errors, "sync_status", &m.sync_status, &[0, 1, 2]);
        not_negative(errors, "file_size", m.file_size);
        not_negative(errors, "width", m.width.into());
        not_negative(errors, "height", m.height.into());
        if m.local_path.contains("..") || m.local_path.starts_with('/') {
            errors.insert(
                "local_path".into(),
                "must be a relative path inside the data dir".into(),
            );
        }
        if let Some(items) = &m.news_items {
            if !items.is_array() && !items.is_null() {
                errors.insert("news_items".into(), "must be a list of articles".into());
            }
        }
    }
}

pub struct Menus;

impl Resource for Menus {
    type Entity = menus::Entity;
    type Model = menus::Model;
    type ActiveModel = menus::ActiveModel;
    const NOUN: &'static str = "menu";
    const FILTERS: &'static [&'static str] = &["parent_id", "menu_type"];
    const SEARCH: &'static [&'static str] = &["menu_name", "menu_key"];
    const ORDER: &'static [(&'static str, bool)] =
        &[("parent_id", true), ("sort_order", true), ("id", true)];

    fn defaults() -> Value {
        json!({ "parent_id": "0", "sort_order": 0 })
    }

    fn validate(m: &menus::Model, errors: &mut FieldErrors) {
        crate::menus::rules::button_errors(m, errors);
    }

    /// A sub-button's parent must be a top-level button of the same account,
    /// and WeChat allows 3 top-level buttons and 5 under each.
    async fn validate_in_db(
        state: &AppState,
        m: &menus::Model,
        errors: &mut FieldErrors,
    ) -> Result<(), AppError> {
        let siblings = menus::Entity::find()
            .filter(menus::Column::AccountId.eq(m.account_id))
            .filter(menus::Column::ParentId.eq(m.parent_id))
            .filter(menus::Column::Id.ne(m.id))
            .count(&state.db)
            .await?;
        if m.parent_id == 0 {
            if siblings >= 3 {
                errors.insert(
                    "parent_id".into(),
                    "the account already has 3 top-level buttons".into(),
                );
            }
            return Ok(());
        }
        match menus::Entity::find_by_id(m.parent_id)
            .one(&state.db)
            .await?
        {
            Some(parent) if parent.account_id == m.account_id && parent.parent_id == 0 => {
                if siblings >= 5 {
                    errors.insert(
                        "parent_id".into(),
                        "that button already has 5 sub-buttons".into(),
                    );
                }
            }
            Some(_) => {
                errors.insert(
                    "parent_id".into(),
                    "must be a top-level button of the same account (menus have two levels)".into(),
                );
            }
            None => {
                errors.insert(
                    "parent_id".into(),
                    format!("no menu with id {}", m.parent_id),
                );
            }
        }
        Ok(())
    }

    /// Deleting a top-level button deletes its sub-buttons with it.
    async fn before_delete(db: &DatabaseTransaction, ids: &[i64]) -> Result<(), AppError> {
        menus::Entity::delete_many()
            .filter(menus::Column::ParentId.is_in(ids.to_vec()))
            .exec(db)
            .await?;
        Ok(())
    }
}

pub struct Messages;

impl Resource for Messages {
    type Entity = messages::Entity;
    type Model = messages::Model;
    type ActiveModel = messages::ActiveModel;
    const NOUN: &'static str = "message";
    const READ_ONLY: &'static [&'static str] = &["dedupe_key", "handled", "rule_id"];
    const FILTERS: &'static [&'static str] = &[
        "openid",
        "msg_type",
        "direction",
        "event_type",
        "is_auto_reply",
        "msg_id",
    ];
    const SEARCH: &'static [&'static str] = &["content", "event_key", "label", "link_title"];

    fn defaults() -> Value {
        json!({ "msg_type": "text", "direction": 0, "is_auto_reply": 0, "handled": 1 })
    }

    fn validate(m: &messages::Model, errors: &mut FieldErrors) {
        required(errors, "openid", &m.openid);
        max_bytes(errors, "openid", &m.openid, 128);
        required(errors, "msg_type", &m.msg_type);
        max_bytes(errors, "msg_type", &m.msg_type, 32);
        flag(errors, "direction", m.direction);
        flag(errors, "is_auto_reply", m.is_auto_reply);
        max_bytes(errors, "event_type", &m.event_type, 64);
        max_bytes(errors, "event_key", &m.event_key, 1024);
        url(errors, "pic_url", &m.pic_url);
        url(errors, "link_url", &m.link_url);
        if m.msg_type == "text" && m.direction == Direction::Sent.code() {
            required(errors, "content", &m.content);
        }
    }
}

pub struct Users;

impl Resource for Users {
    type Entity = users::Entity;
    type Model = users::Model;
    type ActiveModel = users::ActiveModel;
    const NOUN: &'static str = "fan";
    const FILTERS: &'static [&'static str] = &[
        "openid",
        "unionid",
        "subscribe_status",
        "subscribe_scene",
        "is_staff",
    ];
    const SEARCH: &'static [&'static str] = &["nickname", "remark", "openid"];

    fn defaults() -> Value {
        json!({ "subscribe_status": 1, "message_count": 0 })
    }

    fn validate(m: &users::Model, errors: &mut FieldErrors) {
        required(errors, "openid", &m.openid);
        max_bytes(errors, "openid", &m.openid, 128);
        max_bytes(errors, "unionid", &m.unionid, 128);
        max_chars(errors, "nickname", &m.nickname, 255);
        max_chars(errors, "remark", &m.remark, 30);
        url(errors, "headimgurl", &m.headimgurl);
        flag(errors, "subscribe_status", m.subscribe_status);
        flag(errors, "is_staff", m.is_staff);
        not_negative(errors, "message_count", m.message_count.into());
        if let Some(tags) = &m.tags {
            if !(tags.is_null() || tags.as_array().is_some_and(|t| t.iter().all(Value::is_i64))) {
                errors.insert("tags".into(), "must be a list of tag ids (numbers)".into());
            }
        }
    }
}

pub struct Templates;

impl Resource for Templates {
    type Entity = templates::Entity;
    type Model = templates::Model;
    type ActiveModel = templates::ActiveModel;
    const NOUN: &'static str = "template";
    const FILTERS: &'static [&'static str] = &["template_id", "status"];
    const SEARCH: &'static [&'static str] = &["title", "content"];

    fn defaults() -> Value {
        json!({ "status": 1 })
    }

    fn validate(m: &templates::Model, errors: &mut FieldErrors) {
        required(errors, "template_id", &m.template_id);
        max_bytes(errors, "template_id", &m.template_id, 128);
        max_chars(errors, "title", &m.title, 255);
        flag(errors, "status", m.status);
    }
}

/// Written by the template sender; listed here.
pub struct TemplateLogs;

impl Resource for TemplateLogs {
    type Entity = template_logs::Entity;
    type Model = template_logs::Model;
    type ActiveModel = template_logs::ActiveModel;
    const NOUN: &'static str = "template send";
    const FILTERS: &'static [&'static str] = &["template_id", "openid", "status", "msgid"];
}

/// Written by the pay service; listed here.
pub struct PayOrders;

impl Resource for PayOrders {
    type Entity = pay_orders::Entity;
    type Model = pay_orders::Model;
    type ActiveModel = pay_orders::ActiveModel;
    const NOUN: &'static str = "pay order";
    const FILTERS: &'static [&'static str] = &[
        "trade_state",
        "trade_type",
        "openid",
        "out_trade_no",
        "transaction_id",
    ];
    const SEARCH: &'static [&'static str] = &["description", "out_trade_no"];
}

pub struct PayRefunds;

impl Resource for PayRefunds {
    type Entity = pay_refunds::Entity;
    type Model = pay_refunds::Model;
    type ActiveModel = pay_refunds::ActiveModel;
    const NOUN: &'static str = "refund";
    const FILTERS: &'static [&'static str] =
        &["status", "order_id", "out_trade_no", "out_refund_no"];
}

/// The journal of received WeChat Pay notifications, listed read-only.
pub struct PayNotifications;

impl Resource for PayNotifications {
    type Entity = pay_notifications::Entity;
    type Model = pay_notifications::Model;
    type ActiveModel = pay_notifications::ActiveModel;
    const NOUN: &'static str = "pay notification";
    const FILTERS: &'static [&'static str] = &[
        "event_id",
        "event_type",
        "out_trade_no",
        "out_refund_no",
        "result",
    ];
}
