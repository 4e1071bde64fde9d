//! The conversation view: a fan writes, the admin replies.

use reqwest::StatusCode;
use serde_json::json;

use super::{
    action_error, assert_no_page_errors, browser, close_dialog, list, open, screenshot_path,
    sign_in, with_fake_wechat, SECRET,
};

#[tokio::test]
async fn replies_in_the_conversation_after_a_fan_writes() {
    use crate::wechat::Peer;
    const APP_ID: &str = "wxuiconvo0000001";
    const FAN: &str = "o_fan_convo_1";
    let (app, fake) = with_fake_wechat(&[APP_ID]).await;
    let peer = Peer::create(&app, APP_ID, 2).await;
    app.put(
        "/wechat/wxaccounts/edit",
        json!({"id": peer.account_id, "app_secret": SECRET}),
    )
    .await;
    app.seed(&peer.account_id).material(json!({"media_type": "image", "media_id": "MEDIA_PERM_1", "name": "门店照片.png", "is_permanent": 1, "sync_status": 1}))
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
