//! The menu editor, and publishing the menu to a fake WeChat.

use serde_json::{json, Value};

use super::{
    action_error, assert_no_page_errors, browser, close_dialog, confirm, list, open,
    screenshot_path, sign_in, wait_loaded, with_fake_wechat,
};
use crate::helpers::TestApp;

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
        "document.querySelector('.remote-note') && document.querySelector('.remote-note').textContent.startsWith('Published by admin')",
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
        "document.querySelector('.remote-note') && document.querySelector('.remote-note').textContent.startsWith('Deleted on WeChat by admin')",
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
