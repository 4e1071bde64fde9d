//! Stable, machine-readable codes for the messages the admin UI translates.
//!
//! The API keeps its English text (`msg`, and each reason in `data.fields`);
//! next to it the envelope carries `error: {code, params}` and, on 422,
//! `data.codes: {field: {code, params}}`. A code is found by matching the
//! English text against the templates below (`{name}` matches any text and
//! becomes a param), so every place that writes "is required" gets the code
//! without knowing about it. Text that matches no template has no code, and
//! the UI shows the English text. Codes are stable: add templates, never
//! rename a code.

use serde_json::{Map, Value};

/// Reasons of field errors (`data.fields`): (code, English template).
pub const FIELD_REASONS: &[(&str, &str)] = &[
    ("required", "is required"),
    ("not_an_id", "is not an id"),
    ("unknown_field", "is not a known field"),
    (
        "nul",
        "contains the character U+0000 (NUL), which is not stored",
    ),
    ("one_of", "must be one of {allowed}"),
    (
        "max_bytes",
        "must be at most {max} bytes (UTF-8), is {actual}",
    ),
    ("max_chars", "must be at most {max} characters"),
    ("url", "must be an http:// or https:// URL"),
    ("not_negative", "must not be negative"),
    ("no_account", "no account with id {id}"),
    (
        "app_id",
        "is required: up to 64 letters and digits (e.g. wx…)",
    ),
    ("token", "must be 3–32 letters or digits"),
    (
        "aes_key",
        "must be exactly 43 base64 characters (A–Z, a–z, 0–9, +, /)",
    ),
    (
        "aes_key_required",
        "is required in compatible (1) and AES (2) message modes",
    ),
    ("original_id", "must start with gh_"),
    ("mch_id", "must be the merchant number (digits)"),
    ("api_v3_key", "must be exactly 32 bytes"),
    (
        "private_key",
        "must be the merchant's RSA private key in PEM (-----BEGIN PRIVATE KEY-----): {detail}",
    ),
    ("public_key_id", "must start with PUB_KEY_ID_"),
    (
        "public_key",
        "must be the WeChat Pay public key in PEM (-----BEGIN PUBLIC KEY-----): {detail}",
    ),
    ("file_empty", "is empty"),
    ("account_disabled", "the account is disabled"),
    ("passwords_differ", "does not match the new password"),
    ("confirm_name", "must be the account's name, typed exactly"),
    (
        "regex",
        "line {line} is not a valid regular expression: {detail}",
    ),
    (
        "window_end",
        "is required when the other end of the window is set",
    ),
    ("time_of_day", "must be a time of day as HH:MM (00:00–23:59)"),
    ("window_empty", "must differ from active_from"),
    ("reply_list", "must be a list of replies"),
    ("plugin_exists", "a plugin of this name exists"),
    (
        "folder_plugin",
        "is a folder plugin: remove its folder on the server",
    ),
    ("not_a_reply", "is not a reply: {detail}"),
    ("max_replies", "a rule has at most {max} replies"),
    (
        "archived_stays_disabled",
        "an archived account stays disabled; restore it first",
    ),
    // The menu editor's tree (src/menus/tree.rs).
    (
        "menu_top_limit",
        "WeChat allows {max} top-level buttons, not {actual}",
    ),
    (
        "menu_sub_limit",
        "WeChat allows {max} sub-buttons under a button, not {actual}",
    ),
    ("menu_no_button", "no menu button of this account has id {id}"),
    ("menu_twice", "is in the menu twice"),
    ("menu_reply_click_only", "is only for click buttons"),
    (
        "menu_reply_clash",
        "differs from the reply of another button with the same key",
    ),
    ("menu_two_levels", "must be empty: menus have two levels"),
    // The inbox (src/inbox/).
    ("no_conversation", "has no conversation with this account"),
    (
        "no_assignee",
        "no enabled admin or operator of this account has id {id}",
    ),
    ("not_a_string", "must be a string"),
    // News drafts and article images (src/materials/).
    ("articles_count", "must be 1 to 8 articles"),
    (
        "permanent_image",
        "must be a permanent image of this account (upload_permanent_media)",
    ),
    (
        "unsafe_html",
        "must not contain scripts or event handlers: {part}",
    ),
    ("article_image_type", "must be a jpg or png image"),
    (
        "article_image_size",
        "article images are under 1024 KB; this is {size} KB",
    ),
    // Template message values, by field type (src/templates/fields.rs).
    ("tpl_thing", "must be 1–20 characters (a thing field)"),
    ("tpl_number", "must be a number of up to 32 digits, with decimals allowed (a number field)"),
    ("tpl_letter", "must be 1–32 letters A–Z (a letter field)"),
    ("tpl_symbol", "must be 1–5 symbols (a symbol field)"),
    ("tpl_character_string", "must be 1–32 letters, digits or symbols, no Chinese and no spaces (a character_string field)"),
    ("tpl_time", "must be a 24-hour time such as 15:01, a date may come first (a time field)"),
    ("tpl_date", "must be a date such as 2026-10-01 or 2026年10月1日, a time may follow (a date field)"),
    ("tpl_amount", "must be an amount: a currency sign, up to 10 digits, decimals allowed, 元 at the end allowed (an amount field)"),
    ("tpl_phone_number", "must be a phone number of up to 17 digits and symbols (a phone_number field)"),
    ("tpl_car_number", "must be a plate number of up to 8 characters, letters and digits, Chinese only first and last (a car_number field)"),
    ("tpl_name", "must be a name: up to 10 Chinese characters, or up to 20 letters (a name field)"),
    ("tpl_phrase", "must be 1–5 Chinese characters (a phrase field)"),
];

/// Whole messages (`msg`): (code, English template).
pub const MESSAGES: &[(&str, &str)] = &[
    ("internal", "internal server error"),
    ("db_unavailable", "the database is unavailable; retry"),
    ("wrong_password", "wrong user name or password"),
    (
        "too_many_sign_ins",
        "too many failed sign-ins; try again in {seconds} s",
    ),
    (
        "admin_only",
        "this needs the admin role; operators manage only their accounts' content",
    ),
    (
        "account_not_assigned",
        "account {account_id} is not assigned to operator {username}",
    ),
    ("not_found", "{noun} {id} not found"),
    (
        "account_has_data",
        "the account still has {what}; delete those first",
    ),
    ("delete_yourself", "you cannot delete yourself"),
    (
        "note_author_only",
        "only the note's author or an admin may delete it",
    ),
    ("name_taken", "user name {name} is taken"),
    (
        "body_too_large",
        "request body is larger than the server accepts",
    ),
    ("wechat_error", "WeChat API error {errcode}: {errmsg}"),
    ("wechat_unreachable", "cannot reach WeChat: {detail}"),
];

/// `{"code": …, "params": {…}}` for `text` when a template matches it whole.
pub fn lookup(table: &[(&str, &str)], text: &str) -> Option<Value> {
    table.iter().find_map(|(code, template)| {
        let params = matches(template, text)?;
        Some(serde_json::json!({ "code": code, "params": params }))
    })
}

/// The params of `template` in `text`, when `text` is the template with its
/// `{name}`s filled in by non-empty values. Earlier placeholders take as much
/// as they can ("auto reply 7 not found" is noun "auto reply", id "7").
fn matches(template: &str, text: &str) -> Option<Map<String, Value>> {
    let mut params = Map::new();
    fill(template, text, &mut params).then_some(params)
}

fn fill(pattern: &str, text: &str, params: &mut Map<String, Value>) -> bool {
    let Some(open) = pattern.find('{') else {
        return pattern == text;
    };
    let Some(rest) = text.strip_prefix(&pattern[..open]) else {
        return false;
    };
    let Some(close) = pattern[open..].find('}').map(|i| open + i) else {
        return false;
    };
    let name = &pattern[open + 1..close];
    let after = &pattern[close + 1..];
    let literal = &after[..after.find('{').unwrap_or(after.len())];
    // Where the value may end: before an occurrence of the literal after it
    // (anywhere when there is none), longest first.
    let ends: Vec<usize> = if literal.is_empty() {
        (1..=rest.len())
            .rev()
            .filter(|&i| rest.is_char_boundary(i))
            .collect()
    } else {
        let mut ends: Vec<usize> = rest.match_indices(literal).map(|(i, _)| i).collect();
        ends.reverse();
        ends
    };
    for end in ends.into_iter().filter(|&end| end > 0) {
        if fill(after, &rest[end..], params) {
            params.insert(name.to_string(), Value::String(rest[..end].to_string()));
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_template_filled_in_gives_its_code_and_params() {
        assert_eq!(
            lookup(FIELD_REASONS, "must be at most 600 bytes (UTF-8), is 612"),
            Some(json!({"code": "max_bytes", "params": {"max": "600", "actual": "612"}}))
        );
        assert_eq!(
            lookup(
                MESSAGES,
                "WeChat API error 40164: invalid ip 1.2.3.4, not in whitelist"
            ),
            Some(json!({"code": "wechat_error", "params": {
                "errcode": "40164", "errmsg": "invalid ip 1.2.3.4, not in whitelist"}}))
        );
        assert_eq!(
            lookup(MESSAGES, "account 7 not found"),
            Some(json!({"code": "not_found", "params": {"noun": "account", "id": "7"}}))
        );
        assert_eq!(
            lookup(MESSAGES, "auto reply 7 not found"),
            Some(json!({"code": "not_found", "params": {"noun": "auto reply", "id": "7"}}))
        );
        assert_eq!(
            lookup(FIELD_REASONS, "is required"),
            Some(json!({"code": "required", "params": {}}))
        );
    }

    #[test]
    fn other_text_has_no_code() {
        assert_eq!(lookup(FIELD_REASONS, "is required by law"), None);
        assert_eq!(lookup(FIELD_REASONS, "must be at most  characters"), None);
        assert_eq!(lookup(MESSAGES, "something else"), None);
    }

    #[test]
    fn codes_are_unique_and_every_template_matches_itself_filled_in() {
        for table in [FIELD_REASONS, MESSAGES] {
            let mut codes: Vec<_> = table.iter().map(|(code, _)| *code).collect();
            codes.sort();
            codes.dedup();
            assert_eq!(codes.len(), table.len(), "duplicate codes");
            for (code, template) in table {
                let filled = template.replace('{', "<").replace('}', ">");
                let found = lookup(table, &filled).expect(template);
                assert_eq!(found["code"], *code, "{template} is shadowed");
            }
        }
    }
}
