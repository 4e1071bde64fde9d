//! The admin web UI: how the binary serves it, and the app itself driven in
//! headless Chromium through chromedriver (see `common/webdriver.rs`).
//!
//! Screenshots of every page land in `<target dir>/ui-screenshots/`.

mod common;
#[path = "common/fake_pay.rs"]
mod fake_pay;
#[path = "common/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;

use common::{TestApp, ADMIN_PASSWORD, ADMIN_USER};
use reqwest::header;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use serde_json::{json, Value};
use webdriver::Browser;

/// Every page of the app: (path, screenshot name, CSS that shows it loaded).
const PAGES: &[(&str, &str, &str)] = &[
    ("/dashboard", "dashboard", ".stats .stat"),
    ("/wechat/wxaccounts", "accounts", ".table tbody tr"),
    ("/wechat/wxautoreplies", "autoreplies", ".table tbody tr"),
    ("/wechat/wxmaterials", "materials", ".material"),
    ("/wechat/wxmenus", "menus", ".phone-bar .phone-btn"),
    ("/wechat/wxmessages", "messages", ".table tbody tr"),
    (
        "/wechat/wxmessages?openid=o_fan_ui_1",
        "conversation",
        ".chat .bubble",
    ),
    ("/wechat/wxusers", "fans", ".table tbody tr"),
    ("/wechat/wxtemplates", "templates", ".table tbody tr"),
    (
        "/wechat/wxtemplates?tab=logs",
        "template-logs",
        ".table tbody tr",
    ),
    ("/wechat/wxpay", "pay-orders", ".table tbody tr"),
    (
        "/wechat/wxpay?tab=refunds",
        "pay-refunds",
        ".table tbody tr",
    ),
    (
        "/wechat/wxpay?tab=notifications",
        "pay-notifications",
        ".table tbody tr",
    ),
    ("/wechat/plugins", "plugins", ".plugin-card"),
    ("/wechat/admins", "admins", ".table tbody tr"),
];

fn screenshot_path(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let target = if target.is_relative() {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(target)
    } else {
        target
    };
    target.join("ui-screenshots").join(format!("{name}.png"))
}

// ---- serving -----------------------------------------------------------------

/// The asset URLs `index.html` refers to.
fn asset_urls(html: &str) -> Vec<String> {
    html.split(['"', '\''])
        .filter(|part| part.starts_with("/ui/"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn pages_serve_the_app_and_assets_are_cached_by_etag() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let mut index = String::new();
    for path in [
        "/",
        "/login",
        "/dashboard",
        "/wechat/wxaccounts",
        "/wechat/wxautoreplies",
        "/wechat/wxmaterials",
        "/wechat/wxmenus",
        "/wechat/wxmessages",
        "/wechat/wxusers",
        "/wechat/wxtemplates",
        "/wechat/wxpay",
        "/wechat/plugins",
        "/wechat/admins",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "text/html; charset=utf-8",
            "{path}"
        );
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache", "{path}");
        assert!(headers.contains_key(header::CONTENT_SECURITY_POLICY));
        let etag = headers[header::ETAG].to_str().unwrap().to_string();
        index = response.text().await.unwrap();
        assert!(index.contains("<div id=\"app\">"), "{path}: {index}");
        let again = client
            .get(app.url(path))
            .header(header::IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(again.headers()[header::ETAG].to_str().unwrap(), etag);
    }

    // The page paths are GET only, and the API next to them is untouched.
    let post = client.post(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    let api = client
        .get(app.url("/wechat/wxaccounts/list"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = app.get("/wechat/wxaccounts/list").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["code"], 0);
    for path in [
        "/wechat",
        "/wechat/wxaccounts/",
        "/dashboard/x",
        "/wechat/other",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }

    // Versioned assets are immutable; the same file unversioned revalidates.
    let assets = asset_urls(&index);
    assert!(
        assets.iter().any(|a| a.ends_with("/js/main.js"))
            && assets.iter().any(|a| a.ends_with("/css/app.css")),
        "index.html loads the app: {assets:?}"
    );
    for url in &assets {
        assert!(url.starts_with("/ui/v-"), "{url} is not versioned");
        let response = client.get(app.url(url)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let expected_type = match url.rsplit('.').next() {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("unexpected asset type {other:?} in {url}"),
        };
        assert_eq!(response.headers()[header::CONTENT_TYPE], expected_type);
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        let etag = response.headers()[header::ETAG].clone();
        let cached = client
            .get(app.url(url))
            .header(header::IF_NONE_MATCH, etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED, "{url}");
        assert!(cached.bytes().await.unwrap().is_empty());

        let plain = url.splitn(4, '/').nth(3).unwrap();
        let unversioned = client
            .get(app.url(&format!("/ui/{plain}")))
            .send()
            .await
            .unwrap();
        assert_eq!(unversioned.status(), StatusCode::OK, "/ui/{plain}");
        assert_eq!(unversioned.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(unversioned.headers()[header::ETAG], etag);
    }
    // A stale version still answers, but is not cached for good.
    let stale = client
        .get(app.url("/ui/v-0000000000000000/js/main.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(stale.headers()[header::CACHE_CONTROL], "no-cache");

    for path in [
        "/ui/nope.js",
        "/ui/index.html",
        "/ui/js/../index.html",
        "/ui/%2e%2e/Cargo.toml",
        "/ui/js//main.js",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

// ---- in the browser ----------------------------------------------------------------

async fn browser() -> Browser {
    Browser::start(1280, 900).await
}

/// Signs in through the login page and waits for the dashboard.
async fn sign_in(b: &Browser, app: &TestApp) {
    b.goto(&app.url("/login")).await;
    b.type_into("#login-username", ADMIN_USER).await;
    b.type_into("#login-password", ADMIN_PASSWORD).await;
    b.click_css(".login-form button[type=submit]").await;
    b.wait_for(".shell .nav-link.active").await;
}

/// Opens `path` and waits until the page finished loading.
async fn open(b: &Browser, app: &TestApp, path: &str) {
    b.goto(&app.url(path)).await;
    wait_loaded(b).await;
}

async fn wait_loaded(b: &Browser) {
    b.wait_until(
        "document.querySelector('#main') && document.querySelector('#main').children.length > 0 \
         && !document.querySelector('#main .state-loading') && !document.querySelector('[aria-busy=true]')",
        "the page to finish loading",
    )
    .await;
}

async fn assert_no_page_errors(b: &Browser, page: &str) {
    let errors = b.js("return window.__wxmpErrors", vec![]).await;
    assert_eq!(errors, json!([]), "{page} recorded errors");
}

/// Picks the account in the top bar's account picker.
async fn pick_account(b: &Browser, account: &str) {
    b.set_value("#account-picker", account).await;
    wait_loaded(b).await;
}

/// Clicks the confirming button of the open dialog.
async fn confirm(b: &Browser) {
    b.click_css("dialog[open] [data-confirm=yes]").await;
    dialog_removed(b).await;
}

/// Waits until the dialog is closed and removed: the page acts on its result
/// (and may redraw) in the `close` event, which comes after `open` is gone.
async fn dialog_removed(b: &Browser) {
    b.wait_until(
        "!document.querySelector('dialog')",
        "the dialog to be removed",
    )
    .await;
}

async fn list(app: &TestApp, path: &str) -> Vec<Value> {
    let (status, body) = app.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body["data"]["list"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn signing_in_and_out_and_expired_sessions() {
    let app = TestApp::spawn().await;
    let b = browser().await;

    // Not signed in: any page sends you to the login page, remembering where.
    b.goto(&app.url("/wechat/wxusers")).await;
    b.wait_for("#login-username").await;
    assert!(b
        .current_url()
        .await
        .ends_with("/login?next=%2Fwechat%2Fwxusers"));
    b.screenshot(&screenshot_path("login")).await;

    b.type_into("#login-username", ADMIN_USER).await;
    b.type_into("#login-password", "not-the-password").await;
    b.click_css(".login-form button[type=submit]").await;
    b.wait_for(".login-form .alert-error").await;
    assert!(b
        .text(".login-form .alert-error")
        .await
        .contains("Wrong user name or password"));

    b.type_into("#login-password", ADMIN_PASSWORD).await;
    b.click_css(".login-form button[type=submit]").await;
    b.wait_for(".nav-link.active[data-path='/wechat/wxusers']")
        .await;
    wait_loaded(&b).await;
    assert_no_page_errors(&b, "fans after sign-in").await;

    // A token the server no longer accepts: the next request (401) signs out.
    b.js(
        "sessionStorage.setItem('wxmp.token', 'expired.or.forged')",
        vec![],
    )
    .await;
    b.goto(&app.url("/wechat/wxautoreplies")).await;
    b.wait_for("#login-username").await;
    assert!(b.current_url().await.contains("/login?next="));
    assert_eq!(
        b.js("return sessionStorage.getItem('wxmp.token')", vec![])
            .await,
        Value::Null
    );

    sign_in(&b, &app).await;
    b.click_css(".user-menu summary").await;
    b.click_css("[data-action=sign-out]").await;
    b.wait_for("#login-username").await;
    assert_no_page_errors(&b, "sign-out").await;
    b.quit().await;
}

#[tokio::test]
async fn adds_an_account_through_the_form_and_keeps_masked_secrets() {
    let app = TestApp::spawn().await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxaccounts").await;
    b.wait_for(".state-empty").await;
    b.click_css("[data-action=add]").await;
    b.wait_for("dialog[open] form").await;

    b.type_into("dialog [data-field=account_name] input", "星巴克咖啡")
        .await;
    b.type_into("dialog [data-field=app_id] input", "wxui000000000001")
        .await;
    b.type_into(
        "dialog [data-field=app_secret] input",
        "0123456789abcdef0123456789abcdef",
    )
    .await;
    b.type_into("dialog [data-field=original_id] input", "gh_ui0001")
        .await;
    // The callback URL follows the AppID as it is typed.
    let callback = b.text("#callback-url").await;
    assert_eq!(
        callback,
        format!(
            "{}/wechat/official_account/callback/wxui000000000001",
            app.url("")
        )
    );
    b.set_value("dialog [data-field=message_mode] select", "0")
        .await;
    b.type_into("dialog [data-field=token] input", "no").await;
    b.click_css("dialog [type=submit]").await;

    // The server's 422 shows next to the field it names.
    b.wait_for("dialog [data-field=token].has-error .field-error")
        .await;
    let message = b.text("dialog [data-field=token] .field-error").await;
    assert!(message.contains("3–32 letters or digits"), "{message}");
    assert_eq!(
        b.js("return document.querySelector('dialog [data-field=token] input').getAttribute('aria-invalid')", vec![]).await,
        json!("true")
    );
    b.screenshot(&screenshot_path("account-form-error")).await;
    assert!(list(&app, "/wechat/wxaccounts/list").await.is_empty());

    b.type_into("dialog [data-field=token] input", "callbacktoken1")
        .await;
    b.click_css("dialog [type=submit]").await;
    b.wait_gone("dialog[open]").await;
    b.wait_for(".table tbody tr").await;
    assert!(b.text(".table tbody").await.contains("wxui000000000001"));
    let accounts = list(&app, "/wechat/wxaccounts/list").await;
    assert_eq!(accounts.len(), 1);
    let account = &accounts[0];
    assert_eq!(account["account_name"], "星巴克咖啡");
    assert_eq!(account["token"], "****ken1");
    assert!(account["id"].is_string());
    // The picker knows the new account.
    b.wait_until(
        &format!(
            "document.querySelector('#account-picker option[value=\"{}\"]')",
            account["id"].as_str().unwrap()
        ),
        "the account in the picker",
    )
    .await;

    // Editing shows secrets masked; saving the mask back keeps them.
    b.click_css(".table tbody [data-action=edit]").await;
    b.wait_for("dialog[open] form").await;
    let shown = b
        .js(
            "return document.querySelector('dialog [data-field=app_secret] input').value",
            vec![],
        )
        .await;
    assert_eq!(shown, "****cdef");
    b.set_value("dialog [data-field=account_name] input", "星巴克咖啡 ☕")
        .await;
    b.click_css("dialog [type=submit]").await;
    b.wait_gone("dialog[open]").await;
    let row = stored_account(&app, account["id"].as_str().unwrap()).await;
    assert_eq!(row.account_name, "星巴克咖啡 ☕");
    assert_eq!(row.app_secret, "0123456789abcdef0123456789abcdef");
    assert_eq!(row.token, "callbacktoken1");
    b.wait_until(
        "document.querySelector('.table tbody').textContent.includes('星巴克咖啡 ☕')",
        "the edited name in the list",
    )
    .await;
    b.screenshot(&screenshot_path("accounts-added")).await;
    assert_no_page_errors(&b, "accounts").await;
    b.quit().await;
}

async fn stored_account(app: &TestApp, id: &str) -> wxmp::entity::accounts::Model {
    use sea_orm::EntityTrait;
    wxmp::entity::accounts::Entity::find_by_id(id.parse::<i64>().unwrap())
        .one(&app.server.state.db)
        .await
        .unwrap()
        .expect("the account is stored")
}

#[tokio::test]
async fn adds_toggles_and_deletes_a_keyword_rule() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxui000000000002").await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxautoreplies").await;
    pick_account(&b, &account).await;
    b.click_css("[data-action=add]").await;
    b.wait_for("dialog[open] form").await;
    // A keyword rule is the default; match "contains", reply with text.
    b.type_into("dialog [data-field=keyword] input", "你好")
        .await;
    b.set_value("dialog [data-field=match_type] select", "2")
        .await;
    b.type_into("dialog [data-field=priority] input", "7").await;
    b.set_value(
        "dialog [data-field=content] textarea",
        "欢迎光临 🎉 有什么可以帮您？",
    )
    .await;
    assert!(b
        .text("dialog [data-field=content] .counter")
        .await
        .ends_with("/ 2048 bytes"));
    b.click_css("dialog [type=submit]").await;
    b.wait_gone("dialog[open]").await;
    b.wait_until(
        "document.querySelector('.table tbody') && document.querySelector('.table tbody').textContent.includes('你好')",
        "the new rule in the list",
    )
    .await;

    let rules = list(
        &app,
        &format!("/wechat/wxautoreplies/list?account_id={account}"),
    )
    .await;
    assert_eq!(rules.len(), 1);
    let rule = &rules[0];
    assert_eq!(rule["reply_type"], 2);
    assert_eq!(rule["keyword"], "你好");
    assert_eq!(rule["match_type"], 2);
    assert_eq!(rule["priority"], 7);
    assert_eq!(rule["content"], "欢迎光临 🎉 有什么可以帮您？");
    assert_eq!(rule["status"], 1);

    // The switch in the row disables the rule at once.
    b.click_css(".table tbody .switch").await;
    let id = rule["id"].as_str().unwrap().to_string();
    for _ in 0..50 {
        if list(
            &app,
            &format!("/wechat/wxautoreplies/list?account_id={account}"),
        )
        .await[0]["status"]
            == 0
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        list(
            &app,
            &format!("/wechat/wxautoreplies/list?account_id={account}")
        )
        .await[0]["status"],
        0
    );

    // Deleting asks first; cancelling keeps the rule.
    b.click_css(".table tbody [data-action=delete]").await;
    b.wait_for("dialog[open] [data-confirm=yes]").await;
    b.screenshot(&screenshot_path("confirm-delete")).await;
    b.click_css("dialog[open] .modal-footer .btn-secondary")
        .await;
    b.wait_gone("dialog[open]").await;
    assert_eq!(list(&app, "/wechat/wxautoreplies/list").await.len(), 1);
    b.click_css(".table tbody [data-action=delete]").await;
    confirm(&b).await;
    b.wait_for(".state-empty").await;
    let remaining = list(&app, "/wechat/wxautoreplies/list").await;
    assert!(remaining.iter().all(|r| r["id"] != json!(id)));
    assert_no_page_errors(&b, "auto replies").await;
    b.quit().await;
}

#[tokio::test]
async fn builds_a_menu_with_a_sub_button_in_the_editor() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxui000000000003").await;
    app.add_account("wxui000000000013").await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxmenus").await;
    // Menus belong to one account: with several, the page asks which.
    b.click_css(&format!(".account-choice button[data-account='{account}']"))
        .await;
    wait_loaded(&b).await;

    b.click_css("[data-role=add-top]").await;
    b.type_into("#menu-name", "会员服务").await;
    assert_eq!(b.text("#menu-name ~ .counter").await, "12 / 16 bytes");
    b.type_into("#menu-name", "会员服务中心啊").await;
    assert_eq!(b.text("#menu-name ~ .counter").await, "21 / 16 bytes");
    assert!(b
        .js(
            "return document.querySelector('#menu-name ~ .counter').classList.contains('over')",
            vec![]
        )
        .await
        .as_bool()
        .unwrap());
    b.type_into("#menu-name", "会员").await;

    b.click_css("[data-role=add-sub]").await;
    b.type_into("#menu-name", "领取优惠券").await;
    assert_eq!(b.text("#menu-name ~ .counter").await, "15 / 60 bytes");
    b.set_value("#menu-type", "view").await;
    b.type_into("#menu-url", "https://example.com/coupon").await;

    // A second sub-button, a click with a key, then moved above the first.
    b.click_css("[data-role=add-sub]").await;
    b.type_into("#menu-name", "签到").await;
    b.set_value("#menu-type", "click").await;
    b.type_into("#menu-key", "SIGN_IN").await;
    assert_eq!(b.text("#menu-key ~ .counter").await, "7 / 128 bytes");
    b.click_css("[data-move=back]").await;

    b.click_css("[data-role=add-top]").await;
    b.type_into("#menu-name", "联系我们").await;
    b.set_value("#menu-type", "click").await;
    b.type_into("#menu-key", "CONTACT").await;
    b.screenshot(&screenshot_path("menu-editor")).await;

    b.click_css("[data-role=save-menu]").await;
    b.wait_until(
        "document.querySelector('.menu-status') && document.querySelector('.menu-status').textContent === 'Saved' && !document.querySelector('.state-loading')",
        "the menu to be saved",
    )
    .await;

    let rows = list(&app, &format!("/wechat/wxmenus/list?account_id={account}")).await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    let tops: Vec<&Value> = rows.iter().filter(|r| r["parent_id"] == "0").collect();
    assert_eq!(tops.len(), 2);
    let group = tops
        .iter()
        .find(|r| r["menu_name"] == "会员")
        .expect("the group");
    assert_eq!(
        group["menu_type"], "",
        "a button with sub-buttons has no type"
    );
    assert_eq!(group["sort_order"], 0);
    let contact = tops.iter().find(|r| r["menu_name"] == "联系我们").unwrap();
    assert_eq!(contact["menu_type"], "click");
    assert_eq!(contact["menu_key"], "CONTACT");
    assert_eq!(contact["sort_order"], 1);
    let mut subs: Vec<&Value> = rows
        .iter()
        .filter(|r| r["parent_id"] == group["id"])
        .collect();
    subs.sort_by_key(|r| r["sort_order"].as_i64());
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0]["menu_name"], "签到");
    assert_eq!(subs[0]["menu_key"], "SIGN_IN");
    assert_eq!(subs[1]["menu_name"], "领取优惠券");
    assert_eq!(subs[1]["menu_type"], "view");
    assert_eq!(subs[1]["url"], "https://example.com/coupon");

    // Deleting the group (after confirming) removes its sub-buttons on save.
    b.click_css(".phone-bar > .phone-col > [data-level=top]")
        .await;
    b.click_css("[data-action=delete-button]").await;
    confirm(&b).await;
    b.click_css("[data-role=save-menu]").await;
    b.wait_until(
        "document.querySelector('.menu-status') && document.querySelector('.menu-status').textContent === 'Saved' && document.querySelectorAll('.phone-bar [data-level=top]').length === 1",
        "the deletion to be saved",
    )
    .await;
    let rows = list(&app, &format!("/wechat/wxmenus/list?account_id={account}")).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["menu_name"], "联系我们");
    assert_no_page_errors(&b, "menus").await;
    b.quit().await;
}

/// Rows on every page, including those only the server writes (payments,
/// template sends), so each page shows real content.
async fn seed(app: &TestApp) -> String {
    let account = app.add_account("wxui000000000004").await;
    app.add_account("wxui000000000005").await;
    let add = |path: &'static str, body: Value| async move { app.add(path, body).await };
    add("/wechat/wxautoreplies/add", json!({"account_id": account, "reply_type": 1, "message_type": "text", "content": "欢迎关注 🎉"})).await;
    add("/wechat/wxautoreplies/add", json!({"account_id": account, "reply_type": 2, "keyword": "门店", "message_type": "news", "title": "附近门店", "url": "https://example.com/stores"})).await;
    add("/wechat/wxmaterials/add", json!({"account_id": account, "media_type": "image", "media_id": "M_IMG_1", "name": "海报.png", "file_size": 204800, "width": 900, "height": 500})).await;
    add("/wechat/wxmaterials/add", json!({"account_id": account, "media_type": "voice", "media_id": "M_VOICE_1", "name": "语音.mp3", "sync_status": 1})).await;
    let top = add(
        "/wechat/wxmenus/add",
        json!({"account_id": account, "menu_name": "活动", "menu_type": ""}),
    )
    .await;
    add("/wechat/wxmenus/add", json!({"account_id": account, "parent_id": top["id"], "menu_name": "优惠", "menu_type": "view", "url": "https://example.com"})).await;
    for (direction, msg_type, content, extra) in [
        (1, "event", "", json!({"event_type": "subscribe"})),
        (0, "text", "欢迎关注 🎉", json!({"is_auto_reply": 1})),
        (1, "text", "你好，请问附近有门店吗？😀", json!({})),
        (
            1,
            "location",
            "",
            json!({"label": "上海市静安区", "location_x": 31.2, "location_y": 121.4}),
        ),
        (0, "text", "最近的门店在南京西路。", json!({})),
    ] {
        let mut body = json!({"account_id": account, "openid": "o_fan_ui_1", "direction": direction, "msg_type": msg_type, "content": content});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        add("/wechat/wxmessages/add", body).await;
    }
    add("/wechat/wxusers/add", json!({"account_id": account, "openid": "o_fan_ui_1", "nickname": "小明🙂", "remark": "老客户", "tags": [2], "message_count": 3})).await;
    add("/wechat/wxtemplates/add", json!({"account_id": account, "template_id": "TPL_UI_1", "title": "订单发货通知", "content": "{{first.DATA}}\n订单号：{{keyword1.DATA}}"})).await;

    let db = &app.server.state.db;
    let ids = &app.server.state.ids;
    let account_id: i64 = account.parse().unwrap();
    let now = chrono::Utc::now();
    let order_id = ids.next_id().unwrap();
    wxmp::entity::pay_orders::Model {
        id: order_id,
        account_id,
        out_trade_no: "UIORDER0001".into(),
        openid: "o_fan_ui_1".into(),
        total_fee: 3800,
        trade_state: "SUCCESS".into(),
        description: "大杯拿铁 ×1".into(),
        trade_type: "JSAPI".into(),
        transaction_id: "4200000001".into(),
        paid_at: Some(now),
        refunded_total: 1000,
        created_at: now,
        updated_at: now,
        ..Default::default()
    }
    .into_active_model()
    .reset_all()
    .insert(db)
    .await
    .unwrap();
    wxmp::entity::pay_refunds::Model {
        id: ids.next_id().unwrap(),
        account_id,
        order_id,
        out_trade_no: "UIORDER0001".into(),
        out_refund_no: "UIREFUND0001".into(),
        refund_fee: 1000,
        total_fee: 3800,
        reason: "少送了一份糖浆".into(),
        status: "SUCCESS".into(),
        success_time: Some(now),
        created_at: now,
        updated_at: now,
        ..Default::default()
    }
    .into_active_model()
    .reset_all()
    .insert(db)
    .await
    .unwrap();
    // Notified with another amount than the order's: flagged, not paid.
    wxmp::entity::pay_orders::Model {
        id: ids.next_id().unwrap(),
        account_id,
        out_trade_no: "UIORDER0002".into(),
        total_fee: 4200,
        trade_state: "NOTPAY".into(),
        description: "蛋糕礼盒".into(),
        trade_type: "NATIVE".into(),
        flagged: 1,
        note: "notified amount 1 fen differs from the order's 4200 fen".into(),
        created_at: now + chrono::Duration::seconds(1),
        updated_at: now,
        ..Default::default()
    }
    .into_active_model()
    .reset_all()
    .insert(db)
    .await
    .unwrap();
    wxmp::entity::pay_notifications::Model {
        id: ids.next_id().unwrap(),
        account_id,
        event_id: "EV-UI-0001".into(),
        event_type: "TRANSACTION.SUCCESS".into(),
        out_trade_no: "UIORDER0001".into(),
        summary: "{}".into(),
        result: "paid".into(),
        detail: "order UIORDER0001 paid 3800 fen".into(),
        created_at: now,
        updated_at: now,
        ..Default::default()
    }
    .into_active_model()
    .reset_all()
    .insert(db)
    .await
    .unwrap();
    wxmp::entity::template_logs::Model {
        id: ids.next_id().unwrap(),
        account_id,
        template_id: "TPL_UI_1".into(),
        openid: "o_fan_ui_1".into(),
        status: "success".into(),
        errmsg: "ok".into(),
        sent_at: Some(now),
        delivered_at: Some(now),
        created_at: now,
        updated_at: now,
        ..Default::default()
    }
    .into_active_model()
    .reset_all()
    .insert(db)
    .await
    .unwrap();
    write_plugin(app, "echo.rhai", ECHO_PLUGIN).await;
    account
}

/// A plugin that answers texts starting with "echo".
const ECHO_PLUGIN: &str = r#"
const PLUGIN = #{
    name: "echo",
    description: "Says back what the fan wrote after “echo”.",
    priority: 250,
    messages: ["text"],
};

fn on_message(msg, ctx) {
    ctx.log(`echo saw: ${msg.content}`);
    if msg.content.starts_with("echo") {
        return reply::text("你说：" + msg.content);
    }
    ()
}
"#;

/// Writes a plugin file into the server's plugins folder and reloads it.
async fn write_plugin(app: &TestApp, file: &str, source: &str) {
    let dir = &app.server.state.config.plugins_dir;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(file), source).unwrap();
    let (status, body) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn every_page_loads_without_errors() {
    let app = TestApp::spawn().await;
    let account = seed(&app).await;
    let b = browser().await;
    sign_in(&b, &app).await;
    assert_no_page_errors(&b, "sign-in").await;
    b.js(
        "localStorage.setItem('wxmp.account', arguments[0])",
        vec![json!(account)],
    )
    .await;
    for (path, name, content) in PAGES {
        open(&b, &app, path).await;
        b.wait_for(content).await;
        wait_loaded(&b).await;
        // Chinese text and emoji from the database arrive intact.
        if *name == "conversation" {
            assert!(b.text(".chat").await.contains("你好，请问附近有门店吗？😀"));
        }
        b.screenshot(&screenshot_path(name)).await;
        assert_no_page_errors(&b, path).await;
    }
    // All accounts at once, and a page that does not exist.
    b.set_value("#account-picker", "").await;
    open(&b, &app, "/dashboard").await;
    b.wait_for(".dash-grid .table tbody tr").await;
    b.screenshot(&screenshot_path("dashboard-all-accounts"))
        .await;
    b.js(
        "history.pushState(null, '', '/nowhere'); dispatchEvent(new PopStateEvent('popstate'))",
        vec![],
    )
    .await;
    b.wait_until(
        "document.querySelector('#main').textContent.includes('There is no page here')",
        "the not-found page",
    )
    .await;
    assert_no_page_errors(&b, "not found").await;

    // Searching filters the list as you type, and the field keeps the focus.
    open(&b, &app, "/wechat/wxmessages").await;
    b.wait_for(".table tbody tr").await;
    b.type_into(".filter-search input", "门店").await;
    b.wait_until(
        "document.querySelectorAll('.table tbody tr').length === 2 && location.search.includes('keyword=')",
        "the search to filter the messages",
    )
    .await;
    let focused = b
        .js(
            "return document.activeElement.matches('.filter-search input')",
            vec![],
        )
        .await;
    assert_eq!(focused, true, "the search field kept the focus");
    b.click_css("[data-role=reset-filters]").await;
    b.wait_until(
        "document.querySelectorAll('.table tbody tr').length === 5",
        "all messages after a reset",
    )
    .await;

    // Paging: 25 fans make two pages of 20; the page is kept in the URL.
    for n in 0..24 {
        app.add(
            "/wechat/wxusers/add",
            json!({"account_id": account, "openid": format!("o_fan_page_{n:02}"), "nickname": format!("粉丝 {n}")}),
        )
        .await;
    }
    open(&b, &app, "/wechat/wxusers").await;
    b.wait_for(".table tbody tr").await;
    assert_eq!(b.text(".list-count").await, "1–20 of 25");
    b.click_css(".pager button[aria-label='Next page']").await;
    b.wait_until(
        "document.querySelector('.list-count').textContent === '21–25 of 25'",
        "the second page",
    )
    .await;
    assert_eq!(b.find_all(".table tbody tr").await.len(), 5);
    assert!(b.current_url().await.ends_with("/wechat/wxusers?page=2"));
    b.goto(&b.current_url().await).await;
    b.wait_until(
        "document.querySelector('.list-count') && document.querySelector('.list-count').textContent === '21–25 of 25'",
        "the second page after a reload",
    )
    .await;

    // Keyboard: the account form opens from the keyboard and Escape closes it.
    open(&b, &app, "/wechat/wxaccounts").await;
    let focused = b
        .js("document.querySelector('[data-action=add]').focus(); return document.activeElement.tagName", vec![])
        .await;
    assert_eq!(focused, "BUTTON");
    b.press(webdriver::ENTER).await;
    b.wait_for("dialog[open] form").await;
    let in_dialog = b
        .js(
            "return !!document.activeElement.closest('dialog[open]')",
            vec![],
        )
        .await;
    assert_eq!(in_dialog, true, "the dialog takes the focus");
    b.screenshot(&screenshot_path("account-form")).await;
    b.press(webdriver::ESCAPE).await;
    b.wait_gone("dialog[open]").await;
    assert_no_page_errors(&b, "account form").await;
    b.quit().await;
}

#[tokio::test]
async fn an_operator_sees_only_their_accounts_and_no_admin_pages() {
    let app = TestApp::spawn().await;
    let account = seed(&app).await;
    app.add(
        "/wechat/admins/add",
        json!({"username": "operator1", "password": "operator-password-1", "role": "operator", "account_ids": [account]}),
    )
    .await;
    let b = browser().await;
    b.goto(&app.url("/login")).await;
    b.type_into("#login-username", "operator1").await;
    b.type_into("#login-password", "operator-password-1").await;
    b.click_css(".login-form button[type=submit]").await;
    b.wait_for(".shell .nav-link.active").await;
    wait_loaded(&b).await;
    // One account in the picker (plus "All accounts"), no admin navigation.
    let options = b
        .js(
            "return [...document.querySelectorAll('#account-picker option')].map((o) => o.value)",
            vec![],
        )
        .await;
    assert_eq!(options, json!(["", account]));
    assert_eq!(
        b.js(
            "return document.querySelectorAll('.nav-link[data-path=\"/wechat/admins\"]').length",
            vec![]
        )
        .await,
        0
    );
    open(&b, &app, "/wechat/admins").await;
    assert!(b.text("#main").await.contains("Admins only"));
    // Accounts are read-only for operators, and secrets stay hidden.
    open(&b, &app, "/wechat/wxaccounts").await;
    b.wait_for(".table tbody tr").await;
    assert_eq!(
        b.find_all("[data-action=add], .table [data-action=edit]")
            .await
            .len(),
        0
    );
    for (path, _, content) in PAGES
        .iter()
        .filter(|(path, _, _)| *path != "/wechat/admins")
    {
        open(&b, &app, path).await;
        b.wait_for(content).await;
        wait_loaded(&b).await;
        assert_no_page_errors(&b, path).await;
    }
    b.screenshot(&screenshot_path("operator-pay")).await;
    b.quit().await;
}

#[tokio::test]
async fn phone_width_layout_has_no_horizontal_overflow() {
    let app = TestApp::spawn().await;
    let account = seed(&app).await;
    let b = browser().await;
    b.emulate_width(375, 812).await;
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
        let widths = b
            .js(
                "return [window.innerWidth, document.body.scrollWidth, document.documentElement.scrollWidth]",
                vec![],
            )
            .await;
        assert_eq!(widths[0], 375, "the viewport is a phone's");
        assert!(
            widths[1].as_i64() <= widths[0].as_i64() && widths[2].as_i64() <= widths[0].as_i64(),
            "{path} overflows sideways at 375 px: {widths}"
        );
        b.screenshot(&screenshot_path(&format!("phone-{name}")))
            .await;
        assert_no_page_errors(&b, path).await;
    }
    // The new views fit a phone too: the dashboard charts and the order detail.
    open(&b, &app, "/dashboard").await;
    b.wait_for("[data-role=messages-chart] svg rect").await;
    b.wait_for("[data-role=fans-chart] svg rect").await;
    assert_fits_phone(&b, "dashboard charts").await;
    b.js(
        "document.querySelector('[data-role=charts]').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot(&screenshot_path("phone-dashboard-charts"))
        .await;
    open(&b, &app, "/wechat/wxpay").await;
    b.click_css(".table tbody [data-action=details]").await;
    b.wait_for("dialog[open] [data-role=order-detail]").await;
    b.wait_gone("dialog[open] .state-loading").await;
    // The newest order is the flagged one: its note shows as a warning.
    let warning = b.text("dialog[open] [data-role=flagged]").await;
    assert!(
        warning.contains("differs from the order's 4200 fen"),
        "{warning}"
    );
    let dialog_fits = b
        .js("const d = document.querySelector('dialog[open] .modal-body'); return d.scrollWidth <= d.clientWidth", vec![])
        .await;
    assert_eq!(dialog_fits, true, "the order detail fits 375 px");
    b.screenshot(&screenshot_path("phone-pay-order-detail"))
        .await;
    b.press(webdriver::ESCAPE).await;
    dialog_removed(&b).await;
    b.click_css(".table tbody [data-action=refund]").await;
    b.wait_for("dialog[open] [data-field=refund_yuan] input")
        .await;
    assert!(b
        .text("dialog[open] [data-role=refundable]")
        .await
        .contains("up to ¥28.00"));
    b.screenshot(&screenshot_path("phone-pay-refund")).await;
    b.press(webdriver::ESCAPE).await;
    dialog_removed(&b).await;
    // No seeded account has pay settings: a new order says what is missing.
    b.click_css("[data-action=new-order]").await;
    b.wait_for("dialog[open].modal-confirm").await;
    assert!(b
        .text("dialog[open]")
        .await
        .contains("No account takes payments yet"));
    close_dialog(&b).await;
    assert_no_page_errors(&b, "phone dialogs").await;

    // The navigation is a drawer behind the menu button.
    b.click_css(".nav-toggle").await;
    b.wait_until(
        "document.body.classList.contains('nav-open') && document.querySelector('.sidebar').getBoundingClientRect().left >= 0",
        "the navigation drawer to open",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    b.screenshot(&screenshot_path("phone-navigation")).await;
    b.click_css(".sidebar .nav-link[data-path='/wechat/wxusers']")
        .await;
    b.wait_until(
        "!document.body.classList.contains('nav-open')",
        "the drawer to close",
    )
    .await;
    wait_loaded(&b).await;
    assert_no_page_errors(&b, "navigation drawer").await;
    b.quit().await;
}

/// Asserts the page does not scroll sideways at phone width.
async fn assert_fits_phone(b: &Browser, what: &str) {
    let widths = b
        .js(
            "return [window.innerWidth, document.body.scrollWidth, document.documentElement.scrollWidth]",
            vec![],
        )
        .await;
    assert!(
        widths[1].as_i64() <= widths[0].as_i64() && widths[2].as_i64() <= widths[0].as_i64(),
        "{what} overflows sideways: {widths}"
    );
}

// ---- against a fake WeChat ---------------------------------------------------------

/// The secret `TestApp::add_account` stores.
const SECRET: &str = "0123456789abcdef0123456789abcdef";

/// A server whose WeChat API is a fake knowing `app_ids`.
async fn with_fake_wechat(app_ids: &[&str]) -> (TestApp, wxmp::dev::fake_wechat::FakeWeChat) {
    let pairs: Vec<(&str, &str)> = app_ids.iter().map(|a| (*a, SECRET)).collect();
    let fake = wxmp::dev::fake_wechat::FakeWeChat::new(&pairs);
    let addr = fake.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let app = TestApp::spawn_with(|config| config.wechat_api_base = format!("http://{addr}")).await;
    (app, fake)
}

/// Waits for the error dialog of a failed action and returns its text.
async fn action_error(b: &Browser) -> String {
    b.wait_for("dialog[open].action-error").await;
    b.text("dialog[open].action-error .modal-body").await
}

async fn close_dialog(b: &Browser) {
    b.click_css("dialog[open] .modal-footer .btn-primary").await;
    dialog_removed(b).await;
}

#[tokio::test]
async fn publishes_a_menu_with_sub_buttons_and_manages_it_on_wechat() {
    const APP_ID: &str = "wxuimenu00000001";
    let (app, fake) = with_fake_wechat(&[APP_ID]).await;
    let account = app.add_account(APP_ID).await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxmenus").await;
    b.wait_for("[data-role=add-top]").await;

    // An empty menu breaks WeChat's rules: the server lists the problems.
    b.click_css("[data-action=publish-menu]").await;
    b.click_css("dialog[open] [data-confirm=yes]").await;
    let message = action_error(&b).await;
    assert!(message.contains("the menu is empty"), "{message}");
    b.screenshot(&screenshot_path("menu-publish-refused")).await;
    close_dialog(&b).await;
    assert!(fake.menu(APP_ID).is_none());

    b.click_css("[data-role=add-top]").await;
    b.type_into("#menu-name", "会员").await;
    b.click_css("[data-role=add-sub]").await;
    b.type_into("#menu-name", "签到").await;
    b.set_value("#menu-type", "click").await;
    b.type_into("#menu-key", "SIGN_IN").await;
    b.click_css("[data-role=add-sub]").await;
    b.type_into("#menu-name", "官网").await;
    b.set_value("#menu-type", "view").await;
    b.type_into("#menu-url", "https://example.com/").await;
    b.click_css("[data-role=add-top]").await;
    b.type_into("#menu-name", "联系我们").await;
    b.set_value("#menu-type", "click").await;
    b.type_into("#menu-key", "CONTACT").await;

    // Unsaved changes are saved first, then published.
    b.click_css("[data-action=publish-menu]").await;
    b.wait_for("dialog[open] [data-confirm=yes]").await;
    assert!(b.text("dialog[open]").await.contains("unsaved changes"));
    confirm(&b).await;
    b.wait_until(
        "document.querySelector('.remote-note') && document.querySelector('.remote-note').textContent.startsWith('Published')",
        "the menu to be published",
    )
    .await;
    b.screenshot(&screenshot_path("menu-published")).await;
    let menu = fake.menu(APP_ID).expect("WeChat got the menu");
    let buttons = menu["button"].as_array().expect("buttons");
    assert_eq!(buttons.len(), 2, "{menu}");
    assert_eq!(buttons[0]["name"], "会员");
    let subs = buttons[0]["sub_button"].as_array().expect("sub-buttons");
    assert_eq!(subs.len(), 2, "{menu}");
    assert_eq!(subs[0]["name"], "签到");
    assert_eq!(subs[0]["type"], "click");
    assert_eq!(subs[0]["key"], "SIGN_IN");
    assert_eq!(subs[1]["type"], "view");
    assert_eq!(subs[1]["url"], "https://example.com/");
    assert_eq!(buttons[1]["name"], "联系我们");
    assert_eq!(buttons[1]["key"], "CONTACT");
    assert_eq!(
        list(&app, &format!("/wechat/wxmenus/list?account_id={account}"))
            .await
            .len(),
        4
    );

    // Sync from WeChat replaces the stored menu with the live one.
    fake.set_menu(
        APP_ID,
        json!({"button": [{"type": "click", "name": "今日推荐", "key": "TODAY"}]}),
    );
    b.click_css("[data-action=sync-menu]").await;
    confirm(&b).await;
    b.wait_until(
        "[...document.querySelectorAll('.phone-bar [data-level=top]')].map((e) => e.textContent).join() === '今日推荐'",
        "the menu from WeChat",
    )
    .await;
    let rows = list(&app, &format!("/wechat/wxmenus/list?account_id={account}")).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["menu_key"], "TODAY");

    // Delete on WeChat asks first, and leaves the stored menu alone.
    b.click_css("[data-action=delete-remote-menu]").await;
    confirm(&b).await;
    b.wait_until(
        "document.querySelector('.remote-note') && document.querySelector('.remote-note').textContent.startsWith('Deleted')",
        "the menu to be deleted on WeChat",
    )
    .await;
    assert!(fake.menu(APP_ID).is_none());
    assert_eq!(
        list(&app, &format!("/wechat/wxmenus/list?account_id={account}"))
            .await
            .len(),
        1
    );
    assert_no_page_errors(&b, "menu publishing").await;
    b.quit().await;
}

/// Drops a PNG drawn on a canvas (480×300) onto the upload dialog's drop zone,
/// as dragging a file from the desktop would.
const DROP_PNG: &str = "
    const canvas = document.createElement('canvas');
    canvas.width = 480; canvas.height = 300;
    const g = canvas.getContext('2d');
    const fill = g.createLinearGradient(0, 0, 480, 300);
    fill.addColorStop(0, '#07c160'); fill.addColorStop(1, '#2563eb');
    g.fillStyle = fill; g.fillRect(0, 0, 480, 300);
    g.fillStyle = '#fff'; g.font = 'bold 54px sans-serif'; g.fillText('SPRING SALE', 52, 170);
    return new Promise((resolve) => canvas.toBlob((blob) => {
      const file = new File([blob], arguments[0], { type: 'image/png' });
      const data = new DataTransfer();
      data.items.add(file);
      const zone = document.querySelector('dialog[open] [data-role=drop-zone]');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
      }
      resolve(blob.size);
    }, 'image/png'));
";

#[tokio::test]
async fn uploads_an_image_material_by_drag_and_drop_and_previews_it() {
    const APP_ID: &str = "wxuimedia0000001";
    let (app, fake) = with_fake_wechat(&[APP_ID]).await;
    let account = app.add_account(APP_ID).await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxmaterials").await;
    b.wait_for(".state-empty").await;
    b.click_css("[data-action=upload]").await;
    b.wait_for("dialog[open] [data-role=drop-zone]").await;

    // A file of the wrong kind is refused before anything is sent.
    b.js(
        "const data = new DataTransfer();
         data.items.add(new File(['hello'], 'notes.txt', { type: 'text/plain' }));
         document.querySelector('dialog[open] [data-role=drop-zone]').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));",
        vec![],
    )
    .await;
    let refused = b.text("#upload-file-error").await;
    assert!(refused.contains("notes.txt must be a jpg"), "{refused}");

    let size = b.js(DROP_PNG, vec![json!("春节海报.png")]).await;
    assert!(size.as_i64().unwrap() > 1000, "{size}");
    // The chosen file shows before it is uploaded.
    b.wait_until(
        "document.querySelector('dialog[open] img.drop-preview') && document.querySelector('dialog[open] img.drop-preview').naturalWidth === 480",
        "the local preview of the dropped file",
    )
    .await;
    assert!(b
        .text("dialog[open] .drop-name")
        .await
        .contains("春节海报.png"));
    b.wait_gone("#upload-file-error").await;
    b.screenshot(&screenshot_path("material-upload")).await;
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_gone("dialog[open]").await;

    // The new material's preview is the copy this server keeps.
    b.wait_until(
        "(() => { const img = document.querySelector('.material .file-preview[data-state=local] img'); return img && img.complete && img.naturalWidth === 480; })()",
        "the uploaded material's preview",
    )
    .await;
    let card = b.text(".material").await;
    assert!(
        card.contains("春节海报.png") && card.contains("480×300") && card.contains("On WeChat"),
        "{card}"
    );
    b.screenshot(&screenshot_path("materials-uploaded")).await;
    assert!(fake
        .recorded()
        .iter()
        .any(|r| r.path == "/cgi-bin/material/add_material"));
    let rows = list(
        &app,
        &format!("/wechat/wxmaterials/list?account_id={account}"),
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["is_permanent"], 1);
    assert!(rows[0]["media_id"]
        .as_str()
        .unwrap()
        .starts_with("MEDIA_IMAGE_"));
    assert!(rows[0]["local_path"]
        .as_str()
        .unwrap()
        .starts_with("uploads/"));

    // Deleting it on WeChat asks first, then marks the record.
    b.click_css(".material [data-action=delete-remote]").await;
    confirm(&b).await;
    b.wait_until(
        "document.querySelector('.material') && document.querySelector('.material').textContent.includes('Deleted on WeChat')",
        "the material marked as deleted on WeChat",
    )
    .await;
    assert!(fake
        .recorded()
        .iter()
        .any(|r| r.path == "/cgi-bin/material/del_material"));
    assert_no_page_errors(&b, "materials upload").await;
    b.quit().await;
}

#[tokio::test]
async fn replies_in_the_conversation_after_a_fan_writes() {
    use common::wechat::Peer;
    const APP_ID: &str = "wxuiconvo0000001";
    const FAN: &str = "o_fan_convo_1";
    let (app, fake) = with_fake_wechat(&[APP_ID]).await;
    let peer = Peer::create(&app, APP_ID, 2).await;
    app.put(
        "/wechat/wxaccounts/edit",
        json!({"id": peer.account_id, "app_secret": SECRET}),
    )
    .await;
    app.add(
        "/wechat/wxmaterials/add",
        json!({"account_id": peer.account_id, "media_type": "image", "media_id": "MEDIA_PERM_1", "name": "门店照片.png", "is_permanent": 1, "sync_status": 1}),
    )
    .await;
    // The fan writes, as WeChat delivers it: signed and encrypted.
    let answer = peer
        .send(&app, &peer.text(FAN, "你好，请问今天营业吗？", 880001))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    let b = browser().await;
    sign_in(&b, &app).await;
    open(
        &b,
        &app,
        &format!(
            "/wechat/wxmessages?openid={FAN}&account_id={}",
            peer.account_id
        ),
    )
    .await;
    b.wait_until(
        "document.querySelector('.chat') && document.querySelector('.chat').textContent.includes('今天营业吗')",
        "the fan's message",
    )
    .await;
    assert_eq!(
        b.js(
            "return document.querySelector('.window-note').hidden",
            vec![]
        )
        .await,
        true,
        "the 48-hour window is open"
    );

    b.type_into("#reply-text", "营业到晚上九点，欢迎光临！")
        .await;
    b.click_css("[data-action=send-reply]").await;
    b.wait_until(
        "[...document.querySelectorAll('.chat .msg.out .bubble')].some((e) => e.textContent === '营业到晚上九点，欢迎光临！')",
        "the reply in the conversation",
    )
    .await;
    assert_eq!(
        b.js("return document.querySelector('#reply-text').value", vec![])
            .await,
        ""
    );
    let sent = fake.sent();
    let text = sent.last().expect("a customer-service message");
    assert_eq!(text["touser"], FAN);
    assert_eq!(text["msgtype"], "text");
    assert_eq!(text["text"]["content"], "营业到晚上九点，欢迎光临！");

    // An image: picked from the permanent materials.
    b.click_css("[data-action=send-image]").await;
    b.click_css("dialog[open] .picker-item[data-media-id=MEDIA_PERM_1]")
        .await;
    b.wait_gone("dialog[open]").await;
    b.wait_until(
        "document.querySelectorAll('.chat .msg.out').length === 2",
        "the image in the conversation",
    )
    .await;
    let image = fake.sent().last().cloned().unwrap();
    assert_eq!(image["msgtype"], "image");
    assert_eq!(image["image"]["media_id"], "MEDIA_PERM_1");
    b.screenshot(&screenshot_path("conversation-replied")).await;

    // WeChat refuses once the window is closed: the page says why.
    fake.close_window(FAN);
    b.type_into("#reply-text", "还在吗？").await;
    b.click_css("[data-action=send-reply]").await;
    let message = action_error(&b).await;
    assert!(
        message.contains("45015") && message.contains("48-hour"),
        "{message}"
    );
    b.screenshot(&screenshot_path("conversation-window-closed"))
        .await;
    close_dialog(&b).await;
    b.wait_for(".window-note").await;
    assert!(b
        .text(".window-note")
        .await
        .contains("48-hour window is closed"));
    assert_eq!(
        b.js(
            "return document.querySelector('#reply-text').disabled",
            vec![]
        )
        .await,
        true
    );
    let rows = list(
        &app,
        &format!(
            "/wechat/wxmessages/list?account_id={}&openid={FAN}&direction=0",
            peer.account_id
        ),
    )
    .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_no_page_errors(&b, "conversation").await;
    b.quit().await;
}

#[tokio::test]
async fn the_plugins_page_switches_plugins_and_dry_runs_a_message() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxuiplugin000001").await;
    write_plugin(&app, "echo.rhai", ECHO_PLUGIN).await;
    write_plugin(
        &app,
        "broken.rhai",
        "const PLUGIN = #{ name: \"broken\" };\n\nfn on_message(msg, ctx) {\n    let x = ;\n}\n",
    )
    .await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/plugins").await;
    b.wait_for(".plugin-card[data-plugin=echo]").await;
    assert!(b
        .text(".plugin-card[data-plugin=echo]")
        .await
        .contains("Says back what the fan wrote"));
    // A file that does not compile shows where.
    let error = b.text(".plugin-card [data-role=compile-error]").await;
    assert!(error.contains("broken.rhai:4:"), "{error}");

    // Off and on again for the account.
    b.click_css(".plugin-card[data-plugin=echo] .switch").await;
    b.wait_until(
        "!document.querySelector('.plugin-card[data-plugin=echo] input[role=switch]').checked && !document.querySelector('.plugin-card[data-plugin=echo] input[role=switch]').disabled",
        "the switch to turn off",
    )
    .await;
    let plugins = list(&app, "/wechat/plugins/list").await;
    let echo = plugins.iter().find(|p| p["name"] == "echo").unwrap();
    assert_eq!(echo["disabled_accounts"], json!([account]));
    b.click_css(".plugin-card[data-plugin=echo] .switch").await;
    b.wait_until(
        "document.querySelector('.plugin-card[data-plugin=echo] input[role=switch]').checked && !document.querySelector('.plugin-card[data-plugin=echo] input[role=switch]').disabled",
        "the switch to turn on",
    )
    .await;
    let plugins = list(&app, "/wechat/plugins/list").await;
    let echo = plugins.iter().find(|p| p["name"] == "echo").unwrap();
    assert_eq!(echo["disabled_accounts"], json!([]));

    // A dry run through the whole chain.
    b.type_into("#dry-run-form textarea", "echo 你好").await;
    b.click_css("[data-action=dry-run]").await;
    b.wait_for("[data-role=dry-reply]").await;
    assert_eq!(b.text("[data-role=dry-reply]").await, "你说：echo 你好");
    assert!(b.text(".dry-summary").await.contains("plugin:echo"));
    assert!(b
        .text("[data-role=dry-logs]")
        .await
        .contains("echo saw: echo 你好"));
    b.screenshot(&screenshot_path("plugins-dry-run")).await;

    // The reload button rescans the folder.
    std::fs::remove_file(app.server.state.config.plugins_dir.join("broken.rhai")).unwrap();
    b.js("window.scrollTo(0, 0)", vec![]).await;
    b.click_css("[data-action=reload-plugins]").await;
    b.wait_gone(".plugin-card[data-plugin=broken]").await;
    assert_no_page_errors(&b, "plugins").await;
    b.quit().await;
}

#[tokio::test]
async fn syncs_and_sends_templates_and_syncs_fans_with_progress() {
    const APP_ID: &str = "wxuitpl000000001";
    let (app, fake) = with_fake_wechat(&[APP_ID]).await;
    let account = app.add_account(APP_ID).await;
    fake.set_templates(
        APP_ID,
        vec![json!({"template_id": "TPL_SHIP", "title": "订单发货通知", "content": "{{first.DATA}}\n订单号：{{order.DATA}}\n{{remark.DATA}}",
                    "example": "", "primary_industry": "IT科技", "deputy_industry": "互联网"})],
    );
    let fans: Vec<Value> = (0..120)
        .map(|n| json!({"subscribe": 1, "openid": format!("o_sync_{n:03}"), "nickname": format!("粉丝{n}"), "subscribe_time": 1_700_000_000 + n,
                        "remark": "", "tagid_list": [], "subscribe_scene": "ADD_SCENE_SEARCH"}))
        .collect();
    fake.add_fans(APP_ID, fans);
    fake.set_user_page(50);

    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxtemplates").await;
    b.click_css("[data-action=sync-templates]").await;
    b.wait_for(".table tbody tr[data-id]").await;
    assert!(b.text(".table tbody").await.contains("订单发货通知"));

    // The send form has a field per {{key.DATA}} placeholder.
    b.click_css(".table tbody [data-action=send]").await;
    b.wait_for("dialog[open] form").await;
    let keys = b
        .js(
            "return [...document.querySelectorAll('dialog[open] [data-field^=v_]')].map((f) => f.dataset.field)",
            vec![],
        )
        .await;
    assert_eq!(keys, json!(["v_first", "v_order", "v_remark"]));
    b.type_into("dialog[open] [data-field=openid] input", "o_sync_001")
        .await;
    b.type_into("dialog[open] [data-field=v_first] input", "您的订单已发货")
        .await;
    b.type_into("dialog[open] [data-field=v_order] input", "UI-0001")
        .await;
    b.type_into("dialog[open] [data-field=c_order] input", "#173177")
        .await;
    b.type_into("dialog[open] [data-field=v_remark] input", "感谢惠顾")
        .await;
    assert!(b
        .text("dialog[open] .tpl-preview")
        .await
        .contains("订单号：UI-0001"));
    b.screenshot(&screenshot_path("template-send")).await;
    b.click_css("dialog[open] [type=submit]").await;
    dialog_removed(&b).await;
    let sent = fake.sent();
    let message = sent.last().expect("a template message");
    assert_eq!(message["template_id"], "TPL_SHIP");
    assert_eq!(message["touser"], "o_sync_001");
    assert_eq!(message["data"]["order"]["value"], "UI-0001");
    assert_eq!(message["data"]["order"]["color"], "#173177");
    open(&b, &app, "/wechat/wxtemplates?tab=logs").await;
    b.wait_for(".table tbody [data-status=sent]").await;
    assert!(b
        .text(".table tbody")
        .await
        .contains("Sent, awaiting delivery"));

    // Fans: the sync runs as a job; the page follows it to the end.
    open(&b, &app, "/wechat/wxusers").await;
    b.click_css("[data-action=sync-fans]").await;
    b.wait_for("[data-role=fan-sync]").await;
    b.wait_until(
        "document.querySelector('[data-role=fan-sync]').dataset.status === 'done'",
        "the fan sync to finish",
    )
    .await;
    assert!(b
        .text("[data-role=fan-sync] .progress-label")
        .await
        .contains("120 fans stored"));
    assert_eq!(
        b.js(
            "return document.querySelector('[data-role=fan-sync] [role=progressbar]').getAttribute('aria-valuenow')",
            vec![]
        )
        .await,
        "100"
    );
    b.wait_until(
        "document.querySelector('.list-count') && document.querySelector('.list-count').textContent === '1–20 of 120'",
        "the synced fans in the list",
    )
    .await;
    b.screenshot(&screenshot_path("fans-synced")).await;
    let (_, body) = app
        .get(&format!("/wechat/wxusers/list?account_id={account}"))
        .await;
    assert_eq!(body["data"]["total"], 120);
    assert_no_page_errors(&b, "templates and fans").await;
    b.quit().await;
}

// ---- WeChat Pay, dashboard charts, news drafts ----------------------------------------

/// Fills a field of the open dialog by its `data-field` name.
async fn fill(b: &Browser, field: &str, value: &str) {
    b.set_value(
        &format!("dialog[open] [data-field={field}] input, dialog[open] [data-field={field}] textarea, dialog[open] [data-field={field}] select"),
        value,
    )
    .await;
}

#[tokio::test]
async fn pays_a_native_order_and_refunds_part_of_it_in_the_browser() {
    use fake_pay::{FakePay, SignWith};
    let fake = FakePay::start(SignWith::PublicKey).await;
    let base = fake.base_url();
    let app = TestApp::spawn_with(|config| config.pay_api_base = base).await;
    let account = app.add_account(fake_pay::APP_ID).await;
    let b = browser().await;
    sign_in(&b, &app).await;

    // The pay settings, through the account form: a bad key is named at its
    // field; secrets come back masked and the mask keeps them.
    open(&b, &app, "/wechat/wxaccounts").await;
    b.click_css(".table tbody [data-action=edit]").await;
    b.wait_for("dialog[open] form").await;
    b.js(
        "document.querySelector('dialog[open] details.form-section').open = true",
        vec![],
    )
    .await;
    fill(&b, "mch_id", fake_pay::MCH_ID).await;
    fill(&b, "pay_api_v3_key", "too-short").await;
    fill(&b, "pay_cert_serial", fake_pay::MERCHANT_SERIAL).await;
    fill(
        &b,
        "pay_private_key",
        &fake_pay::private_pem(&fake_pay::keys().merchant),
    )
    .await;
    fill(&b, "pay_public_key_id", fake_pay::PUB_KEY_ID).await;
    fill(
        &b,
        "pay_public_key",
        &fake_pay::public_pem(&fake_pay::keys().wechat),
    )
    .await;
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_for("dialog[open] [data-field=pay_api_v3_key].has-error .field-error")
        .await;
    b.screenshot(&screenshot_path("account-pay-error")).await;
    fill(&b, "pay_api_v3_key", fake_pay::API_V3_KEY).await;
    b.click_css("dialog[open] [type=submit]").await;
    dialog_removed(&b).await;
    let stored = stored_account(&app, &account).await;
    assert_eq!(stored.mch_id, fake_pay::MCH_ID);
    assert_eq!(stored.pay_api_v3_key, fake_pay::API_V3_KEY);
    b.wait_until(
        "document.querySelector('.table tbody') && document.querySelector('.table tbody').textContent.includes('商户')",
        "the account listed with its merchant",
    )
    .await;
    b.click_css(".table tbody [data-action=edit]").await;
    b.wait_for("dialog[open] form").await;
    let masked = b
        .js(
            "return document.querySelector('dialog[open] [data-field=pay_api_v3_key] input').value",
            vec![],
        )
        .await;
    assert!(masked.as_str().unwrap().starts_with("****"), "{masked}");
    b.click_css("dialog[open] [type=submit]").await;
    dialog_removed(&b).await;
    let stored = stored_account(&app, &account).await;
    assert_eq!(stored.pay_api_v3_key, fake_pay::API_V3_KEY);
    assert!(stored.pay_private_key.contains("PRIVATE KEY"));

    // A Native order from the dialog shows its QR code and code_url.
    open(&b, &app, "/wechat/wxpay").await;
    b.wait_for(".state-empty").await;
    b.click_css("[data-action=new-order]").await;
    b.wait_for("dialog[open] [data-field=total_yuan] input")
        .await;
    fill(&b, "description", "大杯拿铁 ×1").await;
    fill(&b, "total_yuan", "12.3x").await;
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_for("dialog[open] [data-field=total_yuan].has-error")
        .await;
    fill(&b, "total_yuan", "12.34").await;
    fill(&b, "expire_minutes", "30").await;
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_until(
        "(() => { const img = document.querySelector('dialog.qr-dialog[open] img.qr-code'); return img && img.complete && img.naturalWidth > 100; })()",
        "the QR code image",
    )
    .await;
    let code_url = b.text("dialog[open] [data-role=code-url]").await;
    assert!(
        code_url.starts_with("weixin://wxpay/bizpayurl"),
        "{code_url}"
    );
    assert!(b
        .text("dialog[open] .modal-header")
        .await
        .contains("¥12.34"));
    b.screenshot(&screenshot_path("pay-native-qr")).await;
    b.click_css("dialog[open] [data-action=check-payment]")
        .await;
    b.wait_until(
        "document.querySelector('dialog[open] .qr-status').textContent.includes('Not paid yet')",
        "the payment check",
    )
    .await;
    b.click_css("dialog[open] .modal-footer .btn-primary").await;
    dialog_removed(&b).await;
    b.wait_for(".table tbody tr").await;
    let orders = list(&app, "/wechat/wxpay/orders").await;
    assert_eq!(orders.len(), 1);
    let order = &orders[0];
    assert_eq!(order["total_fee"], 1234);
    assert_eq!(order["trade_type"], "NATIVE");
    assert_eq!(order["code_url"], code_url.as_str());
    let order_id = order["id"].as_str().unwrap().to_string();
    let out_trade_no = order["out_trade_no"].as_str().unwrap().to_string();

    // The payer pays; WeChat Pay notifies.
    let resource = fake.pay(&out_trade_no);
    let (headers, body) = fake.notification("TRANSACTION.SUCCESS", &resource, SignWith::PublicKey);
    let mut request = app
        .client
        .post(app.url(&format!("/wechat/wxpay/notify/{account}")))
        .header("Content-Type", "application/json")
        .body(body);
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    let delivered = request.send().await.unwrap();
    assert!(delivered.status().is_success(), "{}", delivered.status());

    // The detail shows the payment.
    open(&b, &app, "/wechat/wxpay").await;
    b.wait_until(
        "document.querySelector('.table tbody') && document.querySelector('.table tbody').textContent.includes('Paid')",
        "the order shown as paid",
    )
    .await;
    b.click_css(".table tbody [data-action=details]").await;
    b.wait_for("dialog[open] [data-role=transaction-id]").await;
    b.wait_gone("dialog[open] .state-loading").await;
    let detail = b.text("dialog[open] [data-role=order-detail]").await;
    assert!(
        detail.contains("Paid") && detail.contains("¥12.34") && detail.contains(&out_trade_no),
        "{detail}"
    );
    assert!(
        b.find_all("dialog[open] [data-action=close-order]")
            .await
            .is_empty(),
        "no closing a paid order"
    );
    b.screenshot(&screenshot_path("pay-order-detail")).await;
    b.press(webdriver::ESCAPE).await;
    dialog_removed(&b).await;

    // Refund: the dialog says what is refundable. Meanwhile ¥10 is refunded
    // elsewhere, so ¥5 is too much: the 409 is explained at the field.
    b.click_css(".table tbody [data-action=refund]").await;
    b.wait_for("dialog[open] [data-role=refundable]").await;
    let refundable = b.text("dialog[open] [data-role=refundable]").await;
    assert!(refundable.contains("up to ¥12.34"), "{refundable}");
    let (status, body) = app
        .post(
            "/wechat/wxpay/refund",
            json!({"order_id": order_id, "refund_fee": 1000, "reason": "少送了一份"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    fill(&b, "refund_yuan", "5").await;
    fill(&b, "reason", "退差价").await;
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_for("dialog[open] [data-field=refund_yuan].has-error .field-error")
        .await;
    let error = b
        .text("dialog[open] [data-field=refund_yuan] .field-error")
        .await;
    assert!(error.contains("at most ¥2.34"), "{error}");
    assert!(b
        .text("dialog[open] [data-role=refundable]")
        .await
        .contains("up to ¥2.34"));
    b.screenshot(&screenshot_path("pay-refund-too-much")).await;
    fill(&b, "refund_yuan", "2.00").await;
    b.click_css("dialog[open] [type=submit]").await;
    dialog_removed(&b).await;
    b.wait_until(
        "document.querySelector('.table tbody [data-role=refunded]') && document.querySelector('.table tbody [data-role=refunded]').textContent === 'refunded ¥12.00'",
        "the refunded total in the list",
    )
    .await;
    let orders = list(&app, "/wechat/wxpay/orders").await;
    assert_eq!(orders[0]["refunded_total"], 1200);
    let refunds = list(&app, "/wechat/wxpay/refunds").await;
    assert_eq!(refunds.len(), 2);
    assert!(refunds
        .iter()
        .any(|r| r["refund_fee"] == 200 && r["reason"] == "退差价"));
    b.screenshot(&screenshot_path("pay-refunded")).await;

    // The refund's status is asked of WeChat Pay from the refunds list.
    open(&b, &app, "/wechat/wxpay?tab=refunds").await;
    b.wait_for(".table tbody [data-action=query-refund]").await;
    b.click_css(".table tbody [data-action=query-refund]").await;
    b.wait_until(
        "[...document.querySelectorAll('.toast')].some((t) => t.textContent.startsWith('Refund RF'))",
        "the refund status",
    )
    .await;
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.method == "GET"
                && r.path_and_query.starts_with("/v3/refund/domestic/refunds/"))
    );

    // The notification is in the journal.
    open(&b, &app, "/wechat/wxpay?tab=notifications").await;
    b.wait_for(".table tbody tr").await;
    let journal = b.text(".table tbody").await;
    assert!(
        journal.contains("TRANSACTION.SUCCESS") && journal.contains(&out_trade_no),
        "{journal}"
    );
    b.screenshot(&screenshot_path("pay-notifications-journal"))
        .await;

    // An unpaid order can be closed from its detail, after a question.
    let created = app
        .add(
            "/wechat/wxpay/create_order",
            json!({"account_id": account, "trade_type": "NATIVE", "total_fee": 500, "description": "待关闭订单"}),
        )
        .await;
    let second = created["order"]["out_trade_no"]
        .as_str()
        .unwrap()
        .to_string();
    open(&b, &app, "/wechat/wxpay").await;
    b.wait_for(&format!(
        ".table tbody tr[data-id='{}'] [data-action=details]",
        created["order"]["id"].as_str().unwrap()
    ))
    .await;
    b.click_css(&format!(
        ".table tbody tr[data-id='{}'] [data-action=details]",
        created["order"]["id"].as_str().unwrap()
    ))
    .await;
    b.click_css("dialog[open] [data-action=close-order]").await;
    b.wait_for("dialog.modal-confirm[open] [data-confirm=yes]")
        .await;
    b.click_css("dialog.modal-confirm[open] [data-confirm=yes]")
        .await;
    b.wait_until(
        "!document.querySelector('dialog.modal-confirm') && document.querySelector('dialog[open] [data-role=order-detail]').textContent.includes('Closed')",
        "the order closed",
    )
    .await;
    assert_eq!(fake.order(&second).unwrap().trade_state, "CLOSED");
    b.press(webdriver::ESCAPE).await;
    dialog_removed(&b).await;
    assert_no_page_errors(&b, "pay").await;
    b.quit().await;
}

#[tokio::test]
async fn dashboard_charts_show_an_accounts_messages_follows_and_who_answered() {
    use common::wechat::{add_rule, Peer};
    const APP_ID: &str = "wxuicharts000001";
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, APP_ID, 2).await;
    add_rule(
        &app,
        &peer.account_id,
        json!({"reply_type": 1, "content": "感谢关注"}),
    )
    .await;
    add_rule(
        &app,
        &peer.account_id,
        json!({"keyword": "营业时间", "match_type": 1, "content": "每天 9:00–21:00"}),
    )
    .await;
    let now = chrono::Utc::now().timestamp();
    for (n, fan) in ["o_chart_1", "o_chart_2", "o_chart_3"].iter().enumerate() {
        let answer = peer
            .send(&app, &peer.event(fan, "subscribe", "", now - 10 + n as i64))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let answer = peer
        .send(&app, &peer.event("o_chart_3", "unsubscribe", "", now))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    for (n, text) in ["营业时间", "营业时间", "你好"].iter().enumerate() {
        let answer = peer
            .send(&app, &peer.text("o_chart_1", text, 990_000 + n as i64))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let other = app.add_account("wxuicharts000002").await;

    let b = browser().await;
    sign_in(&b, &app).await;
    // All accounts: the overview, and a request to pick one for charts.
    open(&b, &app, "/dashboard").await;
    b.wait_for("[data-role=pick-account]").await;
    assert!(b.find_all("[data-role=messages-chart]").await.is_empty());
    pick_account(&b, &peer.account_id).await;
    b.wait_for("[data-role=messages-chart] svg rect").await;
    // 14 days of received and sent bars, today's being 3 received (texts;
    // events count too) and the replies sent.
    let bars = b
        .js(
            "return document.querySelectorAll('[data-role=messages-chart] svg rect').length",
            vec![],
        )
        .await;
    assert_eq!(bars, 28);
    let today = b
        .js(
            "const rects = [...document.querySelectorAll('[data-role=messages-chart] svg rect')].slice(-2);
             return rects.map((r) => [r.dataset.series, Number(r.dataset.value)]);",
            vec![],
        )
        .await;
    assert_eq!(today, json!([["received", 7], ["sent", 5]]), "{today}");
    let title = b
        .js(
            "return document.querySelector('[data-role=messages-chart] svg title').textContent",
            vec![],
        )
        .await;
    let title = title.as_str().unwrap();
    assert!(title.contains("Messages per day"), "{title}");
    assert_eq!(
        b.js(
            "return document.querySelector('[data-role=messages-chart] svg').getAttribute('role')",
            vec![]
        )
        .await,
        "img"
    );
    let fans = b
        .js(
            "return [...document.querySelectorAll('[data-role=fans-chart] svg rect')].slice(-2).map((r) => [r.dataset.series, Number(r.dataset.value)])",
            vec![],
        )
        .await;
    assert_eq!(fans, json!([["followed", 3], ["unfollowed", 1]]));
    let keywords = b.text("[data-role=top-keywords]").await;
    assert!(
        keywords.contains("营业时间") && keywords.contains("2×"),
        "{keywords}"
    );
    let answered = b.text("[data-role=answered-by]").await;
    assert!(
        answered.contains("keyword rule") && answered.contains("follow reply"),
        "{answered}"
    );
    assert!(b
        .text("[data-role=plugin-errors]")
        .await
        .contains("No plugin failed"));
    b.screenshot(&screenshot_path("dashboard-charts")).await;

    // Who answered shows in the conversation too.
    open(
        &b,
        &app,
        &format!(
            "/wechat/wxmessages?openid=o_chart_1&account_id={}",
            peer.account_id
        ),
    )
    .await;
    b.wait_for(".chat .answered-by").await;
    let who = b
        .js(
            "return [...document.querySelectorAll('.chat .answered-by')].map((e) => e.textContent)",
            vec![],
        )
        .await;
    assert!(
        who.as_array().unwrap().iter().any(|w| w == "keyword rule"),
        "{who}"
    );
    assert!(
        who.as_array().unwrap().iter().any(|w| w == "follow reply"),
        "{who}"
    );
    b.screenshot(&screenshot_path("conversation-answered-by"))
        .await;

    // An account without messages draws empty charts, without errors.
    pick_account(&b, &other).await;
    open(&b, &app, "/dashboard").await;
    b.wait_for("[data-role=messages-chart] svg").await;
    b.wait_for("[data-role=fans-chart] svg").await;
    assert!(b.text(".dash-charts").await.contains("No keyword rule"));

    // At phone width the charts are redrawn to fit.
    pick_account(&b, &peer.account_id).await;
    b.emulate_width(375, 812).await;
    open(&b, &app, "/dashboard").await;
    b.wait_for("[data-role=fans-chart] svg rect").await;
    assert_fits_phone(&b, "dashboard charts").await;
    let chart_width = b
        .js("return document.querySelector('[data-role=messages-chart] svg').getBoundingClientRect().width", vec![])
        .await;
    assert!(chart_width.as_f64().unwrap() <= 375.0, "{chart_width}");
    assert_no_page_errors(&b, "dashboard charts").await;
    b.quit().await;
}

#[tokio::test]
async fn creates_a_news_draft_from_the_dialog() {
    const APP_ID: &str = "wxuinews00000001";
    let (app, fake) = with_fake_wechat(&[APP_ID]).await;
    let account = app.add_account(APP_ID).await;
    app.add(
        "/wechat/wxmaterials/add",
        json!({"account_id": account, "media_type": "image", "media_id": "MEDIA_COVER_1", "name": "封面.jpg", "is_permanent": 1, "sync_status": 1}),
    )
    .await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxmaterials").await;
    b.click_css("[data-action=new-news]").await;
    b.wait_for("dialog[open] [data-thumb=MEDIA_COVER_1]").await;

    // Nothing filled in: the fields say what is missing.
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_for("dialog[open] [data-field=thumb_media_id].has-error .field-error")
        .await;
    assert!(
        b.find_all("dialog[open] [data-field=title].has-error")
            .await
            .len()
            == 1
    );

    fill(&b, "title", "春季新品上市").await;
    fill(&b, "author", "小编").await;
    fill(&b, "digest", "三款新品，限时尝鲜。").await;
    fill(&b, "content", "<p>春天来了 🌸</p>").await;
    fill(&b, "content_source_url", "https://example.com/spring").await;
    b.js(
        "document.querySelector('dialog[open] [data-thumb=MEDIA_COVER_1]').scrollIntoView({ block: 'center' })",
        vec![],
    )
    .await;
    b.click_css("dialog[open] [data-thumb=MEDIA_COVER_1]").await;
    b.screenshot(&screenshot_path("news-draft-dialog")).await;
    b.click_css("dialog[open] [type=submit]").await;
    dialog_removed(&b).await;
    b.wait_until(
        "[...document.querySelectorAll('.material')].some((m) => m.textContent.includes('春季新品上市'))",
        "the draft in the materials",
    )
    .await;
    let drafts: Vec<_> = fake
        .recorded()
        .into_iter()
        .filter(|r| r.path == "/cgi-bin/draft/add")
        .collect();
    assert_eq!(drafts.len(), 1);
    let rows = list(
        &app,
        &format!("/wechat/wxmaterials/list?account_id={account}&media_type=news"),
    )
    .await;
    assert_eq!(rows.len(), 1);
    let article = &rows[0]["news_items"][0];
    assert_eq!(article["title"], "春季新品上市");
    assert_eq!(article["author"], "小编");
    assert_eq!(article["thumb_media_id"], "MEDIA_COVER_1");
    assert_eq!(article["content_source_url"], "https://example.com/spring");
    b.screenshot(&screenshot_path("news-draft-created")).await;
    assert_no_page_errors(&b, "news draft").await;
    b.quit().await;
}

// ---- auto replies: try it, media pickers; playable materials ----------------------

/// Stores a file on the server from the page (`POST /wechat/wxmaterials/upload_file`
/// with the signed-in admin's token) and resolves with its `local_path`: a
/// 480×300 PNG for `image`, half a second of a 440 Hz tone as WAV for `voice`.
const STORE_FILE: &str = "
    const [name, mediaType] = arguments;
    const made = new Promise((resolve) => {
      if (mediaType === 'voice') {
        const rate = 8000, n = 4000;
        const buf = new ArrayBuffer(44 + n), v = new DataView(buf);
        const str = (at, s) => [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
        str(0, 'RIFF'); v.setUint32(4, 36 + n, true); str(8, 'WAVE'); str(12, 'fmt ');
        v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
        v.setUint32(24, rate, true); v.setUint32(28, rate, true); v.setUint16(32, 1, true); v.setUint16(34, 8, true);
        str(36, 'data'); v.setUint32(40, n, true);
        for (let i = 0; i < n; i++) v.setUint8(44 + i, 128 + Math.round(60 * Math.sin(2 * Math.PI * 440 * i / rate)));
        resolve(new Blob([buf], { type: 'audio/wav' }));
      } else {
        const canvas = document.createElement('canvas');
        canvas.width = 480; canvas.height = 300;
        const g = canvas.getContext('2d');
        g.fillStyle = '#c2410c'; g.fillRect(0, 0, 480, 300);
        g.fillStyle = '#fff'; g.font = 'bold 60px sans-serif'; g.fillText('MENU', 150, 170);
        canvas.toBlob(resolve, 'image/png');
      }
    });
    return made.then((blob) => {
      const form = new FormData();
      form.append('media_type', mediaType);
      form.append('file', blob, name);
      return fetch('/wechat/wxmaterials/upload_file', { method: 'POST', headers: { Authorization: 'Bearer ' + sessionStorage.getItem('wxmp.token') }, body: form });
    }).then((r) => r.json()).then((body) => body.data.local_path);
";

/// Runs the try-it box with a text and waits for its answer.
async fn try_text(b: &Browser, text: &str) {
    b.js(
        "const r = document.querySelector('[data-role=try-result]'); if (r) r.replaceChildren();",
        vec![],
    )
    .await;
    b.type_into("#try-form [data-field=text] input", text).await;
    b.click_css("[data-action=try]").await;
    b.wait_for("[data-role=try-result] .dry-result").await;
}

#[tokio::test]
async fn tries_messages_against_the_rules_and_picks_reply_media() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxuitry000000001").await;
    app.add_account("wxuitry000000002").await;
    app.add(
        "/wechat/wxautoreplies/add",
        json!({"account_id": account, "reply_type": 2, "keyword": "营业时间", "match_type": 1, "message_type": "text", "content": "每天 8:00–22:00 营业 ☕"}),
    )
    .await;
    let b = browser().await;
    sign_in(&b, &app).await;
    let image_path = b
        .js(STORE_FILE, vec![json!("菜单.png"), json!("image")])
        .await;
    let voice_path = b
        .js(STORE_FILE, vec![json!("欢迎.wav"), json!("voice")])
        .await;
    assert!(
        image_path.as_str().unwrap().starts_with("uploads/"),
        "{image_path}"
    );
    app.add(
        "/wechat/wxmaterials/add",
        json!({"account_id": account, "media_type": "image", "media_id": "MEDIA_X", "name": "菜单.png", "local_path": image_path, "is_permanent": 1, "sync_status": 1}),
    )
    .await;
    app.add(
        "/wechat/wxmaterials/add",
        json!({"account_id": account, "media_type": "voice", "media_id": "MEDIA_V", "name": "欢迎.wav", "local_path": voice_path, "is_permanent": 1, "sync_status": 1}),
    )
    .await;

    // All accounts: the box asks for one first.
    open(&b, &app, "/wechat/wxautoreplies").await;
    b.wait_for("[data-role=try-it] #try-account").await;
    b.set_value("#try-account", &account).await;
    b.wait_for("#try-form").await;
    wait_loaded(&b).await;
    assert_eq!(
        b.js(
            "return document.querySelector('#account-picker').value",
            vec![]
        )
        .await,
        json!(account)
    );

    // A keyword rule's text: its reply, and who answered.
    try_text(&b, "营业时间").await;
    assert_eq!(
        b.text("[data-role=try-result] [data-role=dry-reply]").await,
        "每天 8:00–22:00 营业 ☕"
    );
    let summary = b.text("[data-role=try-result] .dry-summary").await;
    assert!(
        summary.contains("Answered") && summary.contains("keyword rule"),
        "{summary}"
    );
    b.screenshot(&screenshot_path("autoreplies-try")).await;

    // Nothing matches and there is no default rule: no reply.
    try_text(&b, "随便问问").await;
    b.wait_for("[data-role=try-result] .dry-result[data-outcome=continue]")
        .await;
    assert!(b
        .text("[data-role=try-result] .dry-summary")
        .await
        .contains("No reply"));
    assert!(b
        .text("[data-role=try-result] [data-role=try-none]")
        .await
        .contains("no default reply"));
    assert_eq!(
        b.find_all("[data-role=try-result] [data-role=dry-reply]")
            .await
            .len(),
        0
    );

    // An image reply picks its media from the account's permanent images.
    b.click_css("[data-action=add]").await;
    b.wait_for("dialog[open] form").await;
    b.type_into("dialog [data-field=keyword] input", "菜单")
        .await;
    b.click_css("dialog [data-field=message_type] input[value=image] + label")
        .await;
    b.wait_until(
        "(() => { const img = document.querySelector('dialog[open] [data-thumb=MEDIA_X] .file-preview[data-state=local] img'); return img && img.complete && img.naturalWidth === 480; })()",
        "the image material's thumbnail in the picker",
    )
    .await;
    // Voice materials are not offered for an image reply.
    assert_eq!(
        b.find_all("dialog[open] [data-thumb=MEDIA_V]").await.len(),
        0
    );
    b.js(
        "document.querySelector('dialog[open] [data-thumb=MEDIA_X]').scrollIntoView({ block: 'center' })",
        vec![],
    )
    .await;
    b.click_css("dialog[open] [data-thumb=MEDIA_X]").await;
    assert_eq!(
        b.js(
            "return document.querySelector('dialog[open] [data-field=media_id] input.mono').value",
            vec![]
        )
        .await,
        "MEDIA_X"
    );
    b.screenshot(&screenshot_path("autoreplies-media-picker"))
        .await;
    // The picker follows the reply type (an image's media_id does not stay
    // for a voice reply); typing by hand stays possible.
    b.click_css("dialog [data-field=message_type] input[value=voice] + label")
        .await;
    b.wait_for("dialog[open] [data-thumb=MEDIA_V]").await;
    let typed =
        "return document.querySelector('dialog[open] [data-field=media_id] input.mono').value";
    assert_eq!(b.js(typed, vec![]).await, "");
    b.type_into("dialog[open] [data-field=media_id] input.mono", "MEDIA_V")
        .await;
    b.wait_for("dialog[open] [data-thumb=MEDIA_V] input:checked")
        .await;
    b.click_css("dialog [data-field=message_type] input[value=image] + label")
        .await;
    b.wait_for("dialog[open] [data-thumb=MEDIA_X]").await;
    b.type_into("dialog[open] [data-field=media_id] input.mono", "MEDIA_X")
        .await;
    b.wait_for("dialog[open] [data-thumb=MEDIA_X] input:checked")
        .await;
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_gone("dialog[open]").await;
    let rules = list(
        &app,
        &format!("/wechat/wxautoreplies/list?account_id={account}"),
    )
    .await;
    let rule = rules
        .iter()
        .find(|r| r["keyword"] == "菜单")
        .expect("the image rule is stored");
    assert_eq!(rule["message_type"], "image");
    assert_eq!(rule["media_id"], "MEDIA_X");

    // The try-it box shows the picture the fan would get.
    try_text(&b, "菜单").await;
    b.wait_until(
        "(() => { const img = document.querySelector('[data-role=try-result] [data-role=dry-reply] .file-preview[data-state=local] img'); return img && img.complete && img.naturalWidth === 480; })()",
        "the image reply's picture",
    )
    .await;
    b.screenshot(&screenshot_path("autoreplies-try-image"))
        .await;
    assert_no_page_errors(&b, "auto replies try it").await;

    // Materials: a voice with a stored copy plays in the page.
    open(&b, &app, "/wechat/wxmaterials?media_type=voice").await;
    b.click_css(".material [data-action=play]").await;
    b.wait_until(
        "(() => { const a = document.querySelector('.material audio'); return a && a.src.startsWith('blob:') && a.readyState >= 1 && a.duration > 0.4; })()",
        "the voice to load in an audio player",
    )
    .await;
    b.screenshot(&screenshot_path("materials-voice-playing"))
        .await;
    assert_no_page_errors(&b, "materials playing").await;

    // At phone width: the box, the picker and the player fit.
    b.emulate_width(375, 812).await;
    open(&b, &app, "/wechat/wxautoreplies").await;
    b.wait_for(".table tbody tr").await;
    try_text(&b, "营业时间").await;
    assert_fits_phone(&b, "auto replies with the try-it box").await;
    b.js(
        "document.querySelector('[data-role=try-it]').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot(&screenshot_path("phone-autoreplies-try"))
        .await;
    b.js("window.scrollTo(0, 0)", vec![]).await;
    b.click_css("[data-action=add]").await;
    b.wait_for("dialog[open] form").await;
    b.click_css("dialog [data-field=message_type] input[value=image] + label")
        .await;
    b.wait_for("dialog[open] [data-thumb=MEDIA_X] .file-preview[data-state=local] img")
        .await;
    let dialog_fits = b
        .js("const d = document.querySelector('dialog[open] .modal-body'); return d.scrollWidth <= d.clientWidth", vec![])
        .await;
    assert_eq!(
        dialog_fits, true,
        "the rule dialog with its picker fits 375 px"
    );
    b.js(
        "document.querySelector('dialog[open] [data-field=media_id]').scrollIntoView({ block: 'center' })",
        vec![],
    )
    .await;
    b.screenshot(&screenshot_path("phone-autoreplies-media-picker"))
        .await;
    b.press(webdriver::ESCAPE).await;
    dialog_removed(&b).await;
    open(&b, &app, "/wechat/wxmaterials").await;
    b.wait_for(".material [data-action=play]").await;
    assert_fits_phone(&b, "materials with a player").await;
    b.screenshot(&screenshot_path("phone-materials-player"))
        .await;
    assert_no_page_errors(&b, "phone auto replies and materials").await;
    b.quit().await;
}
