//! The two UI languages stay complete: both files have the same keys with
//! the same `{placeholders}`, every `t("key")` of the app is in them, and
//! every stable code the server sends has its text in both; and those codes
//! over HTTP, with the callback base the accounts page shows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::json;
use wxmp::error::codes::{FIELD_REASONS, MESSAGES};

use crate::helpers::TestApp;

const LANGUAGES: [&str; 2] = ["zh-CN", "en"];

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/js")
}

/// The `"key": "text",` lines of a language file, as JSON strings.
fn strings(lang: &str) -> BTreeMap<String, String> {
    let path = ui_dir().join("i18n").join(format!("{lang}.js"));
    let source = std::fs::read_to_string(&path).expect("the language file");
    let mut out = BTreeMap::new();
    for line in source.lines().map(str::trim) {
        if !line.starts_with('"') {
            continue;
        }
        let entry: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&format!("{{{}}}", line.trim_end_matches(',')))
                .unwrap_or_else(|e| panic!("{lang}.js: cannot read {line:?}: {e}"));
        for (key, text) in entry {
            let text = text.as_str().expect("a string").to_string();
            assert!(
                out.insert(key.clone(), text).is_none(),
                "{lang}.js has {key} twice"
            );
        }
    }
    assert!(out.len() > 100, "{lang}.js looks empty");
    out
}

fn placeholders(text: &str) -> BTreeSet<String> {
    text.split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}'))
        .map(|(name, _)| name.to_string())
        .filter(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect()
}

fn js_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("ui/js") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            js_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "js") {
            out.push(path);
        }
    }
}

/// Keys of every `t("…")` (and `t('…')`) with a literal key in the app.
fn used_keys() -> BTreeMap<String, PathBuf> {
    let mut files = Vec::new();
    js_files(&ui_dir(), &mut files);
    let mut used = BTreeMap::new();
    for file in files {
        let source = std::fs::read_to_string(&file).expect("a script");
        for quote in ['"', '\''] {
            let opening = format!("t({quote}");
            for (at, _) in source.match_indices(&opening) {
                // `t(` on its own, not the end of a longer name (`split(`).
                let before = source[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                    continue;
                }
                let rest = &source[at + opening.len()..];
                let key = &rest[..rest.find(quote).expect("a closing quote")];
                used.insert(key.to_string(), file.clone());
            }
        }
    }
    used
}

#[test]
fn both_languages_have_the_same_keys_and_placeholders() {
    let zh = strings("zh-CN");
    let en = strings("en");
    let only_zh: Vec<_> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
    let only_en: Vec<_> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
    assert!(only_zh.is_empty(), "missing in en.js: {only_zh:?}");
    assert!(only_en.is_empty(), "missing in zh-CN.js: {only_en:?}");
    for (key, text) in &en {
        assert_eq!(
            placeholders(text),
            placeholders(&zh[key]),
            "{key}: the placeholders differ between en.js and zh-CN.js"
        );
        assert!(!zh[key].trim().is_empty(), "{key} is empty in zh-CN.js");
    }
}

#[test]
fn every_key_the_app_uses_is_in_both_languages() {
    let used = used_keys();
    assert!(used.len() > 100, "found only {} t() calls", used.len());
    for lang in LANGUAGES {
        let known = strings(lang);
        let missing: Vec<_> = used
            .iter()
            .filter(|(key, _)| !known.contains_key(*key))
            .map(|(key, file)| format!("{key} ({})", file.display()))
            .collect();
        assert!(missing.is_empty(), "not in {lang}.js: {missing:?}");
    }
}

#[test]
fn every_code_the_server_sends_has_its_text_in_both_languages() {
    for lang in LANGUAGES {
        let known = strings(lang);
        for (code, _) in FIELD_REASONS {
            assert!(
                known.contains_key(&format!("reason.{code}")),
                "{lang}.js lacks reason.{code}"
            );
        }
        for (code, _) in MESSAGES {
            assert!(
                known.contains_key(&format!("err.{code}")),
                "{lang}.js lacks err.{code}"
            );
        }
    }
}

// ---- the stable codes over HTTP ------------------------------------------------

#[tokio::test]
async fn field_errors_and_messages_carry_stable_codes_beside_the_english_text() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/wechat/wxaccounts/add",
            json!({"account_name": "", "app_id": "wxcodes0000000001", "token": "no"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // The English text stays as it was, for API clients.
    assert_eq!(body["code"], 422);
    assert_eq!(
        body["data"]["fields"]["token"],
        "must be 3–32 letters or digits"
    );
    assert_eq!(body["data"]["fields"]["account_name"], "is required");
    assert_eq!(
        body["data"]["codes"]["token"],
        json!({"code": "token", "params": {}})
    );
    assert_eq!(
        body["data"]["codes"]["account_name"],
        json!({"code": "required", "params": {}})
    );
    assert_eq!(body["error"]["code"], "validation");

    let (status, body) = app.get("/wechat/wxusers/list?account_id=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "bad_request");

    let (status, body) = app
        .put(
            "/wechat/wxautoreplies/edit",
            json!({"id": "123", "content": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(
        body["error"],
        json!({"code": "not_found", "params": {"noun": "auto reply", "id": "123"}})
    );
}

#[tokio::test]
async fn the_callback_base_is_the_configured_public_url_and_says_whether_wechat_takes_it() {
    // Not configured: derived from the request, and a random port WeChat refuses.
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/wechat/callback/base").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let base = app.url("");
    assert_eq!(body["data"]["base_url"], base.trim_end_matches('/'));
    assert_eq!(
        body["data"]["callback_url"],
        format!(
            "{}/wechat/official_account/callback",
            base.trim_end_matches('/')
        )
    );
    assert_eq!(body["data"]["configured"], false);
    assert_eq!(body["data"]["accepted_by_wechat"], false);

    // Configured: used as it is, whatever address the admin browses from.
    let app = TestApp::spawn_with(|c| c.public_url = Some("https://wx.example.com".into())).await;
    let (_, body) = app.get("/wechat/callback/base").await;
    assert_eq!(
        body["data"],
        json!({
            "base_url": "https://wx.example.com",
            "callback_url": "https://wx.example.com/wechat/official_account/callback",
            "configured": true,
            "accepted_by_wechat": true,
        })
    );
    let app =
        TestApp::spawn_with(|c| c.public_url = Some("https://wx.example.com:8443".into())).await;
    let (_, body) = app.get("/wechat/callback/base").await;
    assert_eq!(body["data"]["accepted_by_wechat"], false);
}
