//! The inbox in the browser: conversations arrive live (Server-Sent Events,
//! no reload), the sidebar's badge counts unread ones on any page, and the
//! conversation view has the window's countdown, canned replies, notes,
//! assignment and, once the window has closed, the template fallback.

use reqwest::StatusCode;
use sea_orm::IntoActiveModel;
use serde_json::json;
use wxmp::entity::{messages, users};

use super::browser::Browser;
use super::{assert_no_page_errors, open, screenshot_path, sign_in, with_fake_wechat, SECRET};
use crate::helpers::{Seed, TestApp};
use crate::wechat::Peer;

const BADGE: &str = ".nav-link[data-path='/wechat/inbox'] .nav-badge";

async fn badge_shows(b: &Browser, count: &str) {
    b.wait_until(
        &format!("(document.querySelector(\"{BADGE}\") || {{}}).textContent === '{count}'"),
        &format!("the sidebar badge to show {count}"),
    )
    .await;
}

/// A fan whose last message is 50 hours old: the window has closed.
async fn fan_who_wrote_50_hours_ago(seed: &Seed<'_>, openid: &str) {
    let wrote = chrono::Utc::now() - chrono::Duration::hours(50);
    seed.row(
        users::Model {
            id: seed.next_id(),
            account_id: seed.account_id(),
            openid: openid.into(),
            nickname: "Old friend".into(),
            subscribe_status: 1,
            last_interact_time: Some(wrote),
            message_count: 1,
            created_at: wrote,
            updated_at: wrote,
            ..Default::default()
        }
        .into_active_model(),
    )
    .await;
    seed.row(
        messages::Model {
            id: seed.next_id(),
            account_id: seed.account_id(),
            openid: openid.into(),
            msg_type: "text".into(),
            direction: 1,
            content: "Is the shop open on Sunday?".into(),
            handled: 1,
            create_time: Some(wrote),
            created_at: wrote,
            updated_at: wrote,
            ..Default::default()
        }
        .into_active_model(),
    )
    .await;
}

#[tokio::test]
async fn conversations_arrive_live_and_are_worked_in_chinese() {
    const APP_ID: &str = "wxuiinbox0000001";
    let (app, fake) = with_fake_wechat(&[APP_ID]).await;
    let peer = Peer::create(&app, APP_ID, 2).await;
    app.put(
        "/wechat/wxaccounts/edit",
        json!({"id": peer.account_id, "app_secret": SECRET}),
    )
    .await;
    let answer = peer
        .send(&app, &peer.text("o_inbox_a", "请问有停车位吗？", 770001))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    let b = Browser::start_in(1280, 900, "zh-CN").await;
    sign_in(&b, &app).await;
    // On any page, the badge counts unread conversations.
    badge_shows(&b, "1").await;
    open(&b, &app, "/wechat/inbox").await;
    b.wait_for(".convo-link[data-openid=o_inbox_a]").await;
    assert!(
        b.text("table").await.contains("未回复"),
        "the unanswered flag, in Chinese"
    );
    assert!(b.text(".window-countdown").await.contains("剩余"));

    // A second fan writes while the page is open: the row appears, no reload.
    b.js("window.__sameDocument = true", vec![]).await;
    let answer = peer
        .send(&app, &peer.text("o_inbox_b", "你好", 770002))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    b.wait_for(".convo-link[data-openid=o_inbox_b]").await;
    badge_shows(&b, "2").await;
    assert_eq!(
        b.js("return window.__sameDocument === true", vec![]).await,
        true
    );
    assert!(b.text(".inbox-totals").await.contains("2 个未读"));
    b.screenshot(&screenshot_path("zh-CN-inbox")).await;

    // Opening a conversation reads it.
    b.click_css(".convo-link[data-openid=o_inbox_a]").await;
    b.wait_until("document.querySelector('.chat') && document.querySelector('.chat').textContent.includes('停车位')", "the conversation")
        .await;
    badge_shows(&b, "1").await;

    // A note for the team.
    b.type_into("#note-text", "问过停车，下次主动告知").await;
    b.click_css("[data-action=add-note]").await;
    b.wait_until("[...document.querySelectorAll('.note-item p')].some((p) => p.textContent === '问过停车，下次主动告知')", "the note")
        .await;

    // A canned reply: added once, picked, sent as a customer-service message.
    b.click_css("[data-action=canned]").await;
    b.wait_for("dialog[open] #canned-title").await;
    b.type_into("#canned-title", "停车").await;
    b.type_into("#canned-content", "门店地下有免费停车位。")
        .await;
    b.click_css("[data-action=add-canned]").await;
    b.click_css("dialog[open] [data-action=use-canned]").await;
    b.wait_gone("dialog[open]").await;
    b.wait_until(
        "document.querySelector('#reply-text').value === '门店地下有免费停车位。'",
        "the canned text in the reply box",
    )
    .await;
    b.click_css("[data-action=send-reply]").await;
    b.wait_until("[...document.querySelectorAll('.chat .msg.out .bubble')].some((e) => e.textContent === '门店地下有免费停车位。')", "the reply")
        .await;
    let sent = fake.sent();
    assert_eq!(
        sent.last().unwrap()["text"]["content"],
        "门店地下有免费停车位。"
    );

    // Assigned to me.
    let (_, me) = app.get("/auth/me").await;
    let my_id = me["data"]["id"].as_str().unwrap().to_string();
    b.wait_until(
        "!document.querySelector('#convo-assignee').disabled",
        "the assignee picker",
    )
    .await;
    b.set_value("#convo-assignee", &my_id).await;
    b.wait_until(
        "[...document.querySelectorAll('.toast')].some((t) => t.textContent.includes('已分配给'))",
        "the assignment toast",
    )
    .await;
    b.screenshot(&screenshot_path("zh-CN-conversation-tools"))
        .await;
    let (_, mine) = app
        .get(&format!(
            "/wechat/inbox/conversations?account_id={}&assigned=me",
            peer.account_id
        ))
        .await;
    assert_eq!(mine["data"]["list"][0]["openid"], "o_inbox_a");
    assert_eq!(
        mine["data"]["list"][0]["unanswered"], false,
        "the operator answered"
    );
    assert_no_page_errors(&b, "inbox").await;
    b.quit().await;
}

#[tokio::test]
async fn a_closed_window_offers_the_template_message_in_english() {
    let app = TestApp::spawn().await;
    let seed = app.seed_account("wxuiinbox0000002").await;
    fan_who_wrote_50_hours_ago(&seed, "o_old_fan").await;

    let b = Browser::start_in(1280, 900, "en").await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/inbox?filter=unanswered").await;
    b.wait_for(".convo-link[data-openid=o_old_fan]").await;
    assert_eq!(b.text(".window-countdown").await, "Window closed");
    assert!(b.text("table").await.contains("Unanswered"));
    b.screenshot(&screenshot_path("en-inbox-window-closed"))
        .await;

    b.click_css(".convo-link[data-openid=o_old_fan]").await;
    b.wait_for(".window-note [data-action=template-fallback]")
        .await;
    assert_eq!(
        b.text(".convo-head .window-countdown").await,
        "Window closed"
    );
    assert_eq!(
        b.text("[data-action=template-fallback]").await,
        "Send a template message instead"
    );
    assert_eq!(
        b.js(
            "return document.querySelector('#reply-text').disabled",
            vec![]
        )
        .await,
        true
    );
    b.click_css("[data-action=template-fallback]").await;
    b.wait_until(
        "location.pathname === '/wechat/wxtemplates'",
        "the template page",
    )
    .await;
    let url = b.current_url().await;
    assert!(
        url.contains("openid=o_old_fan") && url.contains(&format!("account_id={}", seed.account)),
        "{url}"
    );
    assert_no_page_errors(&b, "closed window").await;
    b.quit().await;
}

#[tokio::test]
async fn the_closed_windows_fallback_opens_the_template_form_for_the_fan_in_chinese() {
    const APP_ID: &str = "wxuiinbox0000003";
    let (app, fake) = with_fake_wechat(&[APP_ID]).await;
    let seed = app.seed_account(APP_ID).await;
    app.put(
        "/wechat/wxaccounts/edit",
        json!({"id": seed.account, "app_secret": SECRET}),
    )
    .await;
    fake.set_templates(
        APP_ID,
        vec![
            json!({"template_id": "TPL_OPEN", "title": "营业提醒", "content": "门店：{{thing1.DATA}}",
                "example": "", "primary_industry": "", "deputy_industry": ""}),
            json!({"template_id": "TPL_ORDER", "title": "订单提醒", "content": "订单号：{{character_string2.DATA}}",
                "example": "", "primary_industry": "", "deputy_industry": ""}),
        ],
    );
    let (status, body) = app
        .post(
            "/wechat/wxtemplates/sync",
            json!({"account_id": seed.account}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    fan_who_wrote_50_hours_ago(&seed, "o_old_fan").await;

    let b = Browser::start_in(1280, 900, "zh-CN").await;
    sign_in(&b, &app).await;
    open(
        &b,
        &app,
        &format!(
            "/wechat/wxmessages?openid=o_old_fan&account_id={}",
            seed.account
        ),
    )
    .await;
    b.wait_for(".window-note [data-action=template-fallback][data-templates='2']")
        .await;
    assert_eq!(
        b.text("[data-action=template-fallback]").await,
        "改发模板消息"
    );
    assert_eq!(b.text(".convo-head .window-countdown").await, "窗口已关闭");

    // Two templates: pick one, and its form opens here with the fan filled in.
    b.click_css("[data-action=template-fallback]").await;
    b.wait_for("dialog[open] [data-action=pick-template][data-template-id=TPL_OPEN]")
        .await;
    b.click_css("dialog[open] [data-action=pick-template][data-template-id=TPL_OPEN]")
        .await;
    b.wait_for("dialog[open] [data-field=v_thing1]").await;
    assert_eq!(
        b.js("return location.pathname", vec![]).await,
        "/wechat/wxmessages",
        "still in the conversation"
    );
    let prefilled = b
        .js(
            "return document.querySelector('dialog[open] [data-field=openid] input').value",
            vec![],
        )
        .await;
    assert_eq!(prefilled, json!("o_old_fan"));
    b.type_into("dialog[open] [data-field=v_thing1] input", "天河店")
        .await;
    b.screenshot(&screenshot_path("zh-CN-conversation-template-fallback"))
        .await;
    b.click_css("dialog[open] [type=submit]").await;
    super::dialog_removed(&b).await;
    let sent = fake.sent();
    let message = sent.last().expect("a template message");
    assert_eq!(message["touser"], "o_old_fan");
    assert_eq!(message["template_id"], "TPL_OPEN");
    assert_eq!(message["data"]["thing1"], json!({"value": "天河店"}));
    b.wait_until(
        "[...document.querySelectorAll('.toast')].some((t) => t.textContent.length > 0)",
        "the send toast",
    )
    .await;
    assert_no_page_errors(&b, "template fallback").await;
    b.quit().await;
}
