//! Unsaved edits are never dropped without a word: leaving through the
//! sidebar, switching account, going back, or dismissing an edited form asks
//! "leave and discard / stay".

use serde_json::json;

use super::browser::Browser;
use super::{
    assert_no_page_errors, browser, dialog_removed, list, pick_account, sign_in, wait_loaded,
};
use crate::helpers::TestApp;

async fn edit_menu_name(b: &Browser, name: &str) {
    b.click_css(".phone-bar .phone-btn:not(.phone-add)").await;
    b.type_into("#menu-name", name).await;
    b.wait_until(
        "document.querySelector('.dirty')",
        "the editor to say the menu has unsaved changes",
    )
    .await;
}

async fn menu_name_field(b: &Browser) -> String {
    b.js("return document.querySelector('#menu-name').value", vec![])
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Waits for the leave-or-stay question and answers it.
async fn answer(b: &Browser, leave: bool) {
    b.wait_for("dialog[open] [data-confirm=no]").await;
    assert!(b
        .text("dialog[open]")
        .await
        .contains("Leave without saving?"));
    b.click_css(if leave {
        "dialog[open] [data-confirm=yes]"
    } else {
        "dialog[open] [data-confirm=no]"
    })
    .await;
    dialog_removed(b).await;
}

#[tokio::test]
async fn menu_edits_survive_the_sidebar_and_an_account_switch_unless_discarded() {
    let app = TestApp::spawn().await;
    let seed = app.seed_account("wxuiguard0000001").await;
    let other = app.add_account("wxuiguard0000002").await;
    seed.menu_button(json!({"menu_name": "活动", "menu_type": "click", "menu_key": "EVENTS"}))
        .await;
    let b = browser().await;
    sign_in(&b, &app).await;
    // In-app, so that back stays in the app.
    pick_account(&b, &seed.account).await;
    b.click_css(".nav-link[data-path='/wechat/wxmenus']").await;
    wait_loaded(&b).await;
    edit_menu_name(&b, "活动中心").await;

    // The sidebar: stay keeps the edits.
    b.click_css(".nav-link[data-path='/wechat/wxautoreplies']")
        .await;
    answer(&b, false).await;
    assert!(b.current_url().await.ends_with("/wechat/wxmenus"));
    assert_eq!(menu_name_field(&b).await, "活动中心");

    // Switching account: stay keeps the account and the edits.
    b.set_value("#account-picker", &other).await;
    answer(&b, false).await;
    assert_eq!(
        b.js(
            "return document.querySelector('#account-picker').value",
            vec![]
        )
        .await,
        json!(seed.account)
    );
    assert_eq!(menu_name_field(&b).await, "活动中心");

    // Back: stay keeps the page.
    b.js("history.back()", vec![]).await;
    answer(&b, false).await;
    assert!(b.current_url().await.ends_with("/wechat/wxmenus"));
    assert_eq!(menu_name_field(&b).await, "活动中心");

    // Switching account and leaving: the other account's menu, nothing saved.
    b.set_value("#account-picker", &other).await;
    answer(&b, true).await;
    b.wait_until(
        &format!("document.querySelector('#account-picker').value === '{other}' && document.querySelector('[data-role=add-top]')"),
        "the other account's empty menu",
    )
    .await;
    let stored = list(
        &app,
        &format!("/wechat/wxmenus/list?account_id={}", seed.account),
    )
    .await;
    assert_eq!(stored[0]["menu_name"], "活动");

    // The sidebar and leaving: the other page, nothing saved.
    pick_account(&b, &seed.account).await;
    edit_menu_name(&b, "活动中心").await;
    b.click_css(".nav-link[data-path='/wechat/wxautoreplies']")
        .await;
    answer(&b, true).await;
    b.wait_until(
        "location.pathname === '/wechat/wxautoreplies'",
        "the rules page",
    )
    .await;
    let stored = list(
        &app,
        &format!("/wechat/wxmenus/list?account_id={}", seed.account),
    )
    .await;
    assert_eq!(stored[0]["menu_name"], "活动");
    // Nothing left to guard: the next click goes at once.
    b.click_css(".nav-link[data-path='/wechat/wxmenus']").await;
    b.wait_until("location.pathname === '/wechat/wxmenus'", "the menus page")
        .await;
    assert!(b
        .js("return !document.querySelector('dialog')", vec![])
        .await
        .as_bool()
        .unwrap());
    assert_no_page_errors(&b, "menus").await;
}

#[tokio::test]
async fn an_edited_rule_form_asks_before_escape_or_back_discards_it() {
    let app = TestApp::spawn().await;
    app.add_account("wxuiguard0000003").await;
    let b = browser().await;
    sign_in(&b, &app).await;
    b.click_css(".nav-link[data-path='/wechat/wxautoreplies']")
        .await;
    wait_loaded(&b).await;
    b.click_css("[data-action=add]").await;
    b.wait_for("dialog[open] form").await;

    // Untouched: Escape closes at once.
    b.press(fantoccini::key::Key::Escape).await;
    dialog_removed(&b).await;

    b.click_css("[data-action=add]").await;
    b.type_into("dialog[open] [data-field=keyword] textarea", "营业时间")
        .await;
    b.press(fantoccini::key::Key::Escape).await;
    answer_over_form(&b, false).await;
    assert_eq!(
        b.js(
            "return document.querySelector('dialog[open] [data-field=keyword] textarea').value",
            vec![]
        )
        .await,
        json!("营业时间")
    );

    // Back with the form open: stay keeps it; leave discards it and goes.
    b.js("history.back()", vec![]).await;
    answer_over_form(&b, false).await;
    assert!(b.current_url().await.ends_with("/wechat/wxautoreplies"));
    b.js("history.back()", vec![]).await;
    b.wait_for("dialog[open] [data-confirm=yes]").await;
    b.click_css("dialog[open] [data-confirm=yes]").await;
    dialog_removed(&b).await;
    b.wait_until(
        "location.pathname !== '/wechat/wxautoreplies'",
        "the page before",
    )
    .await;
    assert!(list(&app, "/wechat/wxautoreplies/list").await.is_empty());
}

/// Answers the question asked over an open form; the form stays when staying.
async fn answer_over_form(b: &Browser, leave: bool) {
    b.wait_for("dialog[open] [data-confirm=no]").await;
    b.click_css(if leave {
        "dialog[open] [data-confirm=yes]"
    } else {
        "dialog[open] [data-confirm=no]"
    })
    .await;
    b.wait_until(
        "document.querySelectorAll('dialog').length === 1 && !document.querySelector('[data-confirm=no]')",
        "only the form left open",
    )
    .await;
}
