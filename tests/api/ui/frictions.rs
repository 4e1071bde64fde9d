//! Frictions an operator met with real data (issue 13): the callback URL
//! from WXMP_PUBLIC_URL, stale field errors, the picker's empty state, day
//! filters in YYYY-MM-DD, and fans WeChat gives no nickname.

use fantoccini::key::Key;
use serde_json::json;

use super::{
    assert_no_page_errors, browser, dialog_removed, discard_form, open, screenshot_path, sign_in,
    wait_loaded,
};
use crate::helpers::TestApp;

#[tokio::test]
async fn the_callback_url_comes_from_the_public_url_and_warns_off_443_and_80() {
    let app = TestApp::spawn_with(|c| c.public_url = Some("https://wx.example.com".into())).await;
    app.add_account("wxui000000000011").await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxaccounts").await;
    b.wait_for(".table tbody tr").await;
    // HTTPS on 443: no warning, on the page or in the form.
    assert!(b.find_all("[data-role=callback-warning]").await.is_empty());
    b.click_css(".table tbody [data-action=edit]").await;
    b.wait_for("dialog[open] #callback-url").await;
    assert_eq!(
        b.text("#callback-url").await,
        "https://wx.example.com/wechat/official_account/callback/wxui000000000011"
    );
    assert!(b
        .find_all("dialog [data-role=callback-warning]")
        .await
        .is_empty());
    b.press(Key::Escape).await;
    dialog_removed(&b).await;
    b.quit().await;

    // Not configured: the address of this (loopback, random port) server, and a warning.
    let app = TestApp::spawn().await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxaccounts").await;
    let warning = b.text("[data-role=callback-warning]").await;
    assert!(
        warning.contains("HTTPS on port 443 or HTTP on port 80")
            && warning.contains("WXMP_PUBLIC_URL"),
        "{warning}"
    );
    b.click_css("[data-action=add]").await;
    b.wait_for("dialog[open] [data-role=callback-warning]")
        .await;
    b.screenshot(&screenshot_path("account-form-callback-warning"))
        .await;
    assert_no_page_errors(&b, "callback URL").await;
    b.quit().await;
}

#[tokio::test]
async fn a_field_error_goes_away_once_the_field_is_edited() {
    let app = TestApp::spawn().await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxaccounts").await;
    b.click_css("[data-action=add]").await;
    b.wait_for("dialog[open] form").await;
    b.type_into("dialog [data-field=account_name] input", "门店号")
        .await;
    b.type_into("dialog [data-field=app_id] input", "wxui000000000012")
        .await;
    b.type_into("dialog [data-field=token] input", "no").await;
    b.set_value("dialog [data-field=message_mode] select", "0")
        .await;
    b.click_css("dialog [type=submit]").await;
    b.wait_for("dialog [data-field=token].has-error").await;
    // Editing the field clears its error at once, before the next save.
    b.type_into("dialog [data-field=token] input", "callbacktoken12")
        .await;
    b.wait_gone("dialog [data-field=token].has-error").await;
    let state = b
        .js(
            "const f = document.querySelector('dialog [data-field=token]'); \
             return [f.querySelector('.field-error').hidden, f.querySelector('input').getAttribute('aria-invalid')]",
            vec![],
        )
        .await;
    assert_eq!(state, json!([true, null]));
    discard_form(&b).await;

    // The menu editor too: an empty name is marked on Save, and typing clears it.
    let account = app.add_account("wxui000000000013").await;
    b.js(
        "localStorage.setItem('wxmp.account', arguments[0])",
        vec![json!(account)],
    )
    .await;
    open(&b, &app, "/wechat/wxmenus").await;
    b.click_css("[data-role=add-top]").await;
    b.set_value("#menu-name", "").await;
    b.click_css("[data-role=save-menu]").await;
    b.wait_for(".field.has-error #menu-name").await;
    b.type_into("#menu-name", "活动").await;
    b.wait_gone(".field.has-error #menu-name").await;
    // The button stays marked until its last error (the missing key) is fixed.
    assert_eq!(b.find_all(".phone-btn.has-error").await.len(), 1);
    b.type_into("#menu-key", "EVENT_1").await;
    b.wait_gone(".phone-btn.has-error").await;
    assert_no_page_errors(&b, "stale errors").await;
    b.quit().await;
}

#[tokio::test]
async fn the_picker_empty_state_day_filters_and_fans_without_nickname() {
    let app = TestApp::spawn().await;
    let seed = app.seed_account("wxui000000000014").await;
    seed.fan(json!({"openid": "o_no_nickname_1", "nickname": "", "message_count": 1}))
        .await;
    seed.conversation("o_no_nickname_1", &[(1, "text", "在吗", json!({}))])
        .await;
    let b = browser().await;
    sign_in(&b, &app).await;

    // The image picker's empty state spans the picker, not one tile column.
    open(&b, &app, "/wechat/wxautoreplies").await;
    b.click_css("[data-action=add]").await;
    b.wait_for("dialog[open] form").await;
    b.click_css("dialog [data-field=message_type] label[for]:nth-of-type(2)")
        .await;
    b.wait_for("dialog [data-role=picker-empty]").await;
    let widths = b
        .js(
            "const e = document.querySelector('dialog [data-role=picker-empty]'); \
             return [e.getBoundingClientRect().width, e.parentElement.getBoundingClientRect().width]",
            vec![],
        )
        .await;
    let (empty, picker) = (widths[0].as_f64().unwrap(), widths[1].as_f64().unwrap());
    assert!(
        empty > 300.0 && empty >= picker - 1.0,
        "the empty state is {empty} px of {picker}"
    );
    assert!(b
        .text("dialog [data-role=picker-empty]")
        .await
        .contains("No permanent image on WeChat yet"));
    b.js(
        "document.querySelector('dialog [data-role=picker-empty]').scrollIntoView({ block: 'center' })",
        vec![],
    )
    .await;
    b.screenshot(&screenshot_path("picker-empty")).await;
    discard_form(&b).await;

    // Day filters read and show YYYY-MM-DD whatever the browser's locale.
    open(&b, &app, "/wechat/wxmessages").await;
    let from = ".filter-dates input[aria-label='From date']";
    let shown = b
        .js(
            "const i = document.querySelector(arguments[0]); return [i.type, i.placeholder]",
            vec![json!(from)],
        )
        .await;
    assert_eq!(shown, json!(["text", "YYYY-MM-DD"]));
    b.set_value(from, "2024/5/7").await;
    b.wait_until(
        "location.search.includes('start=2024-05-07')",
        "the day in the URL",
    )
    .await;
    wait_loaded(&b).await;
    assert_eq!(
        b.js(
            "return document.querySelector(arguments[0]).value",
            vec![json!(from)]
        )
        .await,
        "2024-05-07"
    );
    b.set_value(from, "2024-13-01").await;
    assert_eq!(
        b.js(
            "return document.querySelector(arguments[0]).getAttribute('aria-invalid')",
            vec![json!(from)]
        )
        .await,
        "true"
    );
    assert!(
        b.current_url().await.contains("start=2024-05-07"),
        "a bad day is not applied"
    );

    // A fan without a nickname: a hint saying why, and the openid once.
    open(&b, &app, "/wechat/wxusers").await;
    let hint = b.wait_for(".table tbody [data-role=no-nickname]").await;
    assert_eq!(
        hint.text().await.unwrap().trim_end_matches('ⓘ'),
        "No nickname"
    );
    let why = hint.attr("title").await.unwrap().unwrap_or_default();
    assert!(why.contains("2021"), "{why}");
    let row = b.text(".table tbody tr").await;
    assert_eq!(row.matches("o_no_nickname_1").count(), 1, "{row}");
    // Marked as staff from the row (plugins see ctx.fan.staff); a badge says so.
    b.click_css(".table tbody tr [data-action=staff]").await;
    let badge = b.wait_for(".table tbody [data-staff]").await;
    assert_eq!(badge.text().await.unwrap(), "Staff");
    let (_, staff) = app.get("/wechat/wxusers/list?is_staff=1").await;
    assert_eq!(
        staff["data"]["list"][0]["openid"], "o_no_nickname_1",
        "{staff}"
    );
    open(&b, &app, "/wechat/wxmessages?openid=o_no_nickname_1").await;
    b.wait_for(".convo-head [data-role=no-nickname]").await;
    let head = b.text(".convo-head").await;
    assert_eq!(head.matches("o_no_nickname_1").count(), 1, "{head}");
    b.screenshot(&screenshot_path("conversation-no-nickname"))
        .await;
    assert_no_page_errors(&b, "frictions").await;
    b.quit().await;
}
