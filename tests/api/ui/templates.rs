//! Templates and fans against a fake WeChat: sync, send, progress.

use serde_json::{json, Value};

use super::{
    assert_no_page_errors, browser, dialog_removed, open, screenshot_path, sign_in,
    with_fake_wechat,
};

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
    assert!(
        message["data"]["order"]["color"].is_null(),
        "no colour fields"
    );
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
