//! The admin web UI: how the binary serves it, and the app itself driven in
//! headless Chromium through chromedriver (see `browser.rs`), one module per
//! page. Screenshots of every page land in `<target dir>/ui-screenshots/`.

mod browser;

mod accounts;
mod audit;
mod autoreplies;
mod console;
mod dashboard;
mod frictions;
mod i18n;
mod inbox;
mod languages;
mod materials;
mod menus;
mod messages;
mod pages;
mod pay;
mod plugin_editor;
mod plugins;
mod reply_sets;
mod serving;
mod session;
mod templates;
mod unsaved;

use std::path::PathBuf;

use reqwest::StatusCode;
use sea_orm::IntoActiveModel;
use serde_json::{json, Value};
use wxmp::entity::{pay_notifications, pay_orders, pay_refunds, template_logs};

use self::browser::Browser;
use crate::helpers::{TestApp, ADMIN_PASSWORD, ADMIN_USER};

/// Every page of the app: (path, screenshot name, CSS that shows it loaded).
const PAGES: &[(&str, &str, &str)] = &[
    ("/dashboard", "dashboard", ".stats .stat"),
    ("/wechat/wxaccounts", "accounts", ".table tbody tr"),
    ("/wechat/wxautoreplies", "autoreplies", ".table tbody tr"),
    ("/wechat/wxmaterials", "materials", ".material"),
    ("/wechat/wxmenus", "menus", ".phone-bar .phone-btn"),
    ("/wechat/inbox", "inbox", ".table tbody tr"),
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
    ("/wechat/audit", "audit-log", ".table tbody tr"),
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

/// Dismisses an edited form with Escape and answers "leave and discard".
async fn discard_form(b: &Browser) {
    b.press(fantoccini::key::Key::Escape).await;
    b.click_css("dialog[open] [data-confirm=yes]").await;
    dialog_removed(b).await;
}

async fn close_dialog(b: &Browser) {
    b.click_css("dialog[open] .modal-footer .btn-primary").await;
    dialog_removed(b).await;
}

/// Fills a field of the open dialog by its `data-field` name.
async fn fill(b: &Browser, field: &str, value: &str) {
    b.set_value(
        &format!("dialog[open] [data-field={field}] input, dialog[open] [data-field={field}] textarea, dialog[open] [data-field={field}] select"),
        value,
    )
    .await;
}

/// The account as stored, secrets unmasked.
async fn stored_account(app: &TestApp, id: &str) -> wxmp::entity::accounts::Model {
    use sea_orm::EntityTrait;
    wxmp::entity::accounts::Entity::find_by_id(id.parse::<i64>().unwrap())
        .one(&app.server.state.db)
        .await
        .unwrap()
        .expect("the account is stored")
}

/// Rows on every page, including those only the server writes (payments,
/// template sends), so each page shows real content. Returns the account.
async fn seed(app: &TestApp) -> String {
    let seed = app.seed_account("wxui000000000004").await;
    app.add_account("wxui000000000005").await;
    seed.rule(json!({"reply_type": 1, "message_type": "text", "content": "欢迎关注 🎉"}))
        .await;
    seed.rule(json!({"reply_type": 2, "keyword": "门店", "message_type": "news", "title": "附近门店", "url": "https://example.com/stores"}))
        .await;
    seed.material(json!({"media_type": "image", "media_id": "M_IMG_1", "name": "海报.png", "file_size": 204800, "width": 900, "height": 500}))
        .await;
    seed.material(json!({"media_type": "voice", "media_id": "M_VOICE_1", "name": "语音.mp3", "sync_status": 1}))
        .await;
    let top = seed
        .menu_button(json!({"menu_name": "活动", "menu_type": ""}))
        .await;
    seed.menu_button(json!({"parent_id": top["id"], "menu_name": "优惠", "menu_type": "view", "url": "https://example.com"}))
        .await;
    seed.conversation(
        "o_fan_ui_1",
        &[
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
        ],
    )
    .await;
    seed.fan(json!({"openid": "o_fan_ui_1", "nickname": "小明🙂", "remark": "老客户", "tags": [2], "message_count": 3}))
        .await;
    seed.template(json!({"template_id": "TPL_UI_1", "title": "订单发货通知", "content": "{{first.DATA}}\n订单号：{{keyword1.DATA}}"}))
        .await;

    let account_id = seed.account_id();
    let now = chrono::Utc::now();
    let order_id = seed.next_id();
    seed.row(
        pay_orders::Model {
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
        .into_active_model(),
    )
    .await;
    seed.row(
        pay_refunds::Model {
            id: seed.next_id(),
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
        .into_active_model(),
    )
    .await;
    // Notified with another amount than the order's: flagged, not paid.
    seed.row(
        pay_orders::Model {
            id: seed.next_id(),
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
        .into_active_model(),
    )
    .await;
    seed.row(
        pay_notifications::Model {
            id: seed.next_id(),
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
        .into_active_model(),
    )
    .await;
    seed.row(
        template_logs::Model {
            id: seed.next_id(),
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
        .into_active_model(),
    )
    .await;
    write_plugin(app, "echo.rhai", ECHO_PLUGIN).await;
    seed.account
}
