//! The console in 简体中文 and English: the language a Chinese browser gets,
//! every page in both languages (screenshots named per language), the picker
//! and its memory across reloads, and server messages shown in the chosen
//! language by their stable codes.

use serde_json::json;

use super::browser::Browser;
use super::{
    assert_no_page_errors, dialog_removed, discard_form, open, screenshot_path, seed, sign_in,
    wait_loaded, with_fake_wechat, PAGES,
};
use crate::helpers::TestApp;

async fn browser_in(lang: &str) -> Browser {
    Browser::start_in(1280, 900, lang).await
}

/// Visible texts (and labels, titles, placeholders) of the page that read as
/// English prose: three words or more. Code, ids, data and the server's own
/// words (`data-server-text`: notes the server stored in English) are left out.
const ENGLISH_PROSE: &str = r#"
const skip = 'code, pre, .mono, script, style, .plugin-desc, .cell-sub.mono, [hidden], .lang-picker, [data-server-text]';
const prose = /[A-Za-z]{3,} [a-z]{3,} [a-z]{2,}/;
const found = [];
const root = document.querySelector('#app');
const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const el = n.parentElement;
  if (!el || el.closest(skip) || !el.getClientRects().length) continue;
  if (prose.test(n.textContent)) found.push(n.textContent.trim());
}
for (const el of root.querySelectorAll('[title], [aria-label], [placeholder]')) {
  if (el.closest(skip)) continue;
  for (const name of ['title', 'aria-label', 'placeholder']) {
    const value = el.getAttribute(name);
    if (value && prose.test(value)) found.push(`${name}=${value}`);
  }
}
return found;
"#;

async fn english_prose(b: &Browser) -> Vec<String> {
    let found = b.js(ENGLISH_PROSE, vec![]).await;
    serde_json::from_value(found).expect("a list of texts")
}

async fn lang_of_page(b: &Browser) -> String {
    b.js("return document.documentElement.lang", vec![])
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_chinese_browser_gets_every_page_in_chinese() {
    let app = TestApp::spawn().await;
    let account = seed(&app).await;
    let b = browser_in("zh-CN").await;
    b.goto(&app.url("/login")).await;
    b.wait_for(".login-form").await;
    assert_eq!(lang_of_page(&b).await, "zh-CN");
    assert_eq!(b.text(".login-form button[type=submit]").await, "登录");
    b.screenshot(&screenshot_path("zh-CN-login")).await;
    sign_in(&b, &app).await;
    b.js(
        "localStorage.setItem('wxmp.account', arguments[0])",
        vec![json!(account)],
    )
    .await;
    for (path, name, content) in PAGES {
        open(&b, &app, path).await;
        b.wait_for(content).await;
        wait_loaded(&b).await;
        let english = english_prose(&b).await;
        assert!(english.is_empty(), "{path} has English text: {english:?}");
        b.screenshot(&screenshot_path(&format!("zh-CN-{name}")))
            .await;
        assert_no_page_errors(&b, path).await;
    }
    let nav = b.text(".sidebar").await;
    for word in [
        "概览",
        "公众号管理",
        "自动回复",
        "自定义菜单",
        "素材库",
        "用户管理",
    ] {
        assert!(nav.contains(word), "the navigation lacks {word}: {nav}");
    }
    // Dates read YYYY-MM-DD HH:mm, 24 h, as in English.
    open(&b, &app, "/wechat/wxmessages").await;
    b.wait_for(".table tbody tr time").await;
    let shown = b.text(".table tbody tr time").await;
    assert!(
        regex_like_datetime(&shown),
        "a time reads {shown:?}, not YYYY-MM-DD HH:mm"
    );
    // The account form, its dialogs and a confirmation.
    open(&b, &app, "/wechat/wxaccounts").await;
    b.click_css("[data-action=add]").await;
    b.wait_for("dialog[open] form").await;
    let english = english_prose(&b).await;
    assert!(
        english.is_empty(),
        "the account form has English: {english:?}"
    );
    assert!(b.text("dialog[open]").await.contains("开发者ID(AppID)"));
    b.screenshot(&screenshot_path("zh-CN-account-form")).await;
    b.click_css("dialog[open] .modal-footer .btn-secondary")
        .await;
    dialog_removed(&b).await;
    assert_no_page_errors(&b, "the account form").await;
    b.quit().await;
}

fn regex_like_datetime(text: &str) -> bool {
    let bytes = text.as_bytes();
    text.len() == 16
        && bytes.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

#[tokio::test]
async fn an_english_browser_gets_every_page_in_english() {
    let app = TestApp::spawn().await;
    let account = seed(&app).await;
    let b = browser_in("en-US").await;
    sign_in(&b, &app).await;
    assert_eq!(lang_of_page(&b).await, "en");
    b.js(
        "localStorage.setItem('wxmp.account', arguments[0])",
        vec![json!(account)],
    )
    .await;
    for (path, name, content) in PAGES {
        open(&b, &app, path).await;
        b.wait_for(content).await;
        wait_loaded(&b).await;
        b.screenshot(&screenshot_path(&format!("en-{name}"))).await;
        assert_no_page_errors(&b, path).await;
    }
    assert!(b.text(".sidebar").await.contains("Dashboard"));
    b.quit().await;
}

#[tokio::test]
async fn switching_language_changes_the_labels_and_is_remembered() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let b = browser_in("en-US").await;
    sign_in(&b, &app).await;
    let link = ".sidebar .nav-link[data-path='/dashboard']";
    assert_eq!(b.text(link).await, "Dashboard");
    b.set_value("#lang-picker", "zh-CN").await;
    b.wait_until(
        "document.documentElement.lang === 'zh-CN' && document.querySelector(\".sidebar .nav-link[data-path='/dashboard']\")",
        "the page in Chinese",
    )
    .await;
    wait_loaded(&b).await;
    assert_eq!(b.text(link).await, "概览");
    assert_eq!(b.text(".page-title h1").await, "概览");
    assert_eq!(
        b.js("return localStorage.getItem('wxmp.lang')", vec![])
            .await,
        "zh-CN"
    );
    // Kept across a reload, on another page, and on the sign-in page.
    open(&b, &app, "/wechat/wxusers").await;
    assert_eq!(b.text(".page-title h1").await, "用户管理");
    assert_eq!(lang_of_page(&b).await, "zh-CN");
    b.click_css(".user-menu summary").await;
    b.click_css("[data-action=sign-out]").await;
    b.wait_for(".login-form").await;
    assert_eq!(b.text(".login-form button[type=submit]").await, "登录");
    b.screenshot(&screenshot_path("zh-CN-switched")).await;

    // And back: the picker on the sign-in page switches too.
    b.set_value("#lang-picker", "en").await;
    b.wait_until(
        "document.documentElement.lang === 'en' && document.querySelector('.login-form')",
        "the sign-in page in English",
    )
    .await;
    assert_eq!(b.text(".login-form button[type=submit]").await, "Sign in");
    sign_in(&b, &app).await;
    assert_eq!(b.text(link).await, "Dashboard");
    assert_no_page_errors(&b, "switching languages").await;
    b.quit().await;

    // A Chinese browser that chose English stays English.
    let b = browser_in("zh-CN").await;
    b.goto(&app.url("/login")).await;
    b.wait_for(".login-form").await;
    assert_eq!(lang_of_page(&b).await, "zh-CN");
    b.set_value("#lang-picker", "en").await;
    b.wait_until(
        "document.documentElement.lang === 'en'",
        "the page in English",
    )
    .await;
    b.goto(&app.url("/login")).await;
    b.wait_for(".login-form").await;
    assert_eq!(b.text(".login-form button[type=submit]").await, "Sign in");
    b.quit().await;
}

#[tokio::test]
async fn server_errors_show_in_the_chosen_language_by_their_codes() {
    let (app, fake) = with_fake_wechat(&["wxui000000000008"]).await;
    let account = app.add_account("wxui000000000008").await;
    let b = browser_in("zh-CN").await;
    sign_in(&b, &app).await;

    // A field error of the server (422) in Chinese next to its field.
    open(&b, &app, "/wechat/wxaccounts").await;
    b.click_css(".table tbody [data-action=edit]").await;
    b.wait_for("dialog[open] form").await;
    b.set_value("dialog [data-field=token] input", "no").await;
    b.click_css("dialog [type=submit]").await;
    b.wait_for("dialog [data-field=token].has-error .field-error")
        .await;
    let message = b.text("dialog [data-field=token] .field-error").await;
    assert_eq!(message, "令牌(Token)：必须是 3–32 位字母或数字");
    b.screenshot(&screenshot_path("zh-CN-field-error")).await;
    discard_form(&b).await;

    // WeChat's 40164 with the IP-whitelist hint in Chinese.
    b.js(
        "localStorage.setItem('wxmp.account', arguments[0])",
        vec![json!(account)],
    )
    .await;
    fake.fail_next("/cgi-bin/menu/delete", &[40164]);
    open(&b, &app, "/wechat/wxmenus").await;
    b.click_css("[data-action=delete-remote-menu]").await;
    // Not `confirm`: the error dialog may open before the confirmation is gone.
    b.click_css("dialog[open] [data-confirm=yes]").await;
    let shown = super::action_error(&b).await;
    assert!(
        shown.contains("微信接口错误 40164") && shown.contains("IP白名单"),
        "{shown}"
    );
    b.screenshot(&screenshot_path("zh-CN-wechat-error")).await;
    super::close_dialog(&b).await;
    assert_no_page_errors(&b, "errors in Chinese").await;
    b.quit().await;
}
