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

/// Moves the top button at index `from` before (or after) the one at `to`
/// with the HTML5 drag events a mouse drag fires (WebDriver cannot drag
/// natively).
async fn drag(b: &super::browser::Browser, from: usize, to: usize, after: bool) {
    b.js(
        "const tops = document.querySelectorAll('.phone-bar [data-level=top]');
         const [from, to, after] = [tops[arguments[0]], tops[arguments[1]], arguments[2]];
         const data = new DataTransfer();
         const box = to.getBoundingClientRect();
         const at = { bubbles: true, cancelable: true, dataTransfer: data,
           clientX: after ? box.right - 2 : box.left + 2, clientY: after ? box.bottom - 2 : box.top + 2 };
         from.dispatchEvent(new DragEvent('dragstart', { bubbles: true, dataTransfer: data }));
         to.dispatchEvent(new DragEvent('dragover', at));
         to.dispatchEvent(new DragEvent('drop', at));
         from.dispatchEvent(new DragEvent('dragend', { bubbles: true, dataTransfer: data }));",
        vec![json!(from), json!(to), json!(after)],
    )
    .await;
}

/// Clicks Save, at the top of the page (a long reply form scrolls it under
/// the sticky top bar).
async fn save_menu(b: &super::browser::Browser) {
    b.js("window.scrollTo(0, 0)", vec![]).await;
    b.click_css("[data-role=save-menu]").await;
}

#[tokio::test]
async fn a_click_button_carries_its_reply_and_buttons_are_dragged_into_order_in_both_languages() {
    use crate::wechat::Peer;
    for (lang, required, saved, app_id) in [
        ("zh-CN", "不能为空", "已保存", "wxuimenureply001"),
        ("en", "is required", "Saved", "wxuimenureply002"),
    ] {
        let app = TestApp::spawn().await;
        let peer = Peer::create(&app, app_id, 0).await;
        let account = peer.account_id.clone();
        let b = super::browser::Browser::start_in(1280, 900, lang).await;
        sign_in(&b, &app).await;
        open(&b, &app, "/wechat/wxmenus").await;
        b.wait_for("[data-role=add-top]").await;

        // A click button without a key, answering with its own reply.
        b.click_css("[data-role=add-top]").await;
        b.type_into("#menu-name", "签到").await;
        b.set_value("#menu-type", "click").await;
        b.click_css("[data-role=menu-reply] label.switch").await;
        b.wait_for("[data-role=menu-reply] [data-field=content] textarea")
            .await;
        b.click_css("[data-role=add-top]").await;
        b.type_into("#menu-name", "官网").await;
        b.set_value("#menu-type", "view").await;
        b.type_into("#menu-url", "https://example.com/").await;

        // The empty reply is refused by the server; its error shows at the
        // reply's field of the button at fault, which is selected again.
        save_menu(&b).await;
        let shown = b
            .wait_until(
                "(() => { const e = document.querySelector('[data-role=menu-reply] [data-field=content] .field-error'); return e && !e.hidden && e.textContent; })()",
                "the reply's error at its field",
            )
            .await;
        assert!(
            shown.as_str().unwrap().contains(required),
            "{lang}: {shown}"
        );
        assert_eq!(
            b.js("return document.querySelector('#menu-name').value", vec![])
                .await,
            "签到"
        );
        b.set_value(
            "[data-role=menu-reply] [data-field=content] textarea",
            "签到成功，积分 +1",
        )
        .await;
        b.screenshot(&screenshot_path(&format!("menu-click-reply-{lang}")))
            .await;

        // Dragged: 官网 goes before 签到.
        drag(&b, 1, 0, false).await;
        let order = b
            .js("return [...document.querySelectorAll('.phone-bar [data-level=top]')].map((e) => e.textContent)", vec![])
            .await;
        assert_eq!(order, json!(["官网", "签到"]), "{lang}");
        save_menu(&b).await;
        b.wait_until(
            &format!("document.querySelector('.menu-status') && document.querySelector('.menu-status').textContent === '{saved}'"),
            "the menu to be saved",
        )
        .await;

        // Stored in the order shown, the reply as the exact rule of a made-up key.
        let (_, body) = app
            .get(&format!("/wechat/wxmenus/tree?account_id={account}"))
            .await;
        let buttons = body["data"]["buttons"].as_array().unwrap().clone();
        assert_eq!(buttons[0]["menu_name"], "官网", "{lang}: {body}");
        assert_eq!(buttons[1]["menu_name"], "签到");
        assert_eq!(buttons[1]["reply"]["content"], "签到成功，积分 +1");
        let key = buttons[1]["menu_key"].as_str().unwrap().to_string();
        assert!(key.starts_with("menu_"), "{key}");
        let rules = list(
            &app,
            &format!("/wechat/wxautoreplies/list?account_id={account}"),
        )
        .await;
        let rule = rules
            .iter()
            .find(|r| r["keyword"] == key.as_str())
            .expect("the button's rule");
        assert_eq!(rule["match_type"], 1);
        // A signed click from WeChat gets the reply.
        let answer = peer
            .send(
                &app,
                &peer.event("o_ui_menu_fan", "CLICK", &key, 1_700_000_123),
            )
            .await;
        assert_eq!(
            answer.reply.expect("a reply").text("Content"),
            "签到成功，积分 +1"
        );

        // After a reload the reply is shown on the button; switched off, the
        // rule goes on save.
        open(&b, &app, "/wechat/wxmenus").await;
        b.wait_for(".phone-bar [data-level=top]").await;
        b.js(
            "document.querySelectorAll('.phone-bar [data-level=top]')[1].click()",
            vec![],
        )
        .await;
        let content = b
            .wait_until(
                "(() => { const e = document.querySelector('[data-role=menu-reply] [data-field=content] textarea'); return e && e.value; })()",
                "the stored reply in the editor",
            )
            .await;
        assert_eq!(content, "签到成功，积分 +1", "{lang}");
        b.click_css("[data-role=menu-reply] label.switch").await;
        b.wait_gone("[data-role=menu-reply] [data-field=content]")
            .await;
        save_menu(&b).await;
        b.wait_until(
            &format!("document.querySelector('.menu-status') && document.querySelector('.menu-status').textContent === '{saved}'"),
            "the switched-off reply to be saved",
        )
        .await;
        let rules = list(
            &app,
            &format!("/wechat/wxautoreplies/list?account_id={account}"),
        )
        .await;
        assert!(
            rules.iter().all(|r| r["keyword"] != key.as_str()),
            "{rules:?}"
        );
        assert_no_page_errors(&b, "menus").await;
        b.quit().await;
    }
}
