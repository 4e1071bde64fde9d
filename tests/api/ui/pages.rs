//! Every page at once: they load without errors, keep filters, pages and focus, and fit a phone.

use fantoccini::key::Key;
use serde_json::json;

use super::{
    assert_fits_phone, assert_no_page_errors, browser, close_dialog, dialog_removed, open,
    screenshot_path, seed, sign_in, wait_loaded, PAGES,
};
use crate::helpers::TestApp;

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
        app.seed(&account)
            .fan(json!({"openid": format!("o_fan_page_{n:02}"), "nickname": format!("粉丝 {n}")}))
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
    b.press(Key::Enter).await;
    b.wait_for("dialog[open] form").await;
    let in_dialog = b
        .js(
            "return !!document.activeElement.closest('dialog[open]')",
            vec![],
        )
        .await;
    assert_eq!(in_dialog, true, "the dialog takes the focus");
    b.screenshot(&screenshot_path("account-form")).await;
    b.press(Key::Escape).await;
    b.wait_gone("dialog[open]").await;
    assert_no_page_errors(&b, "account form").await;
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
        // What sticks out past the phone's width, for the messages below.
        let wide = b.js("return [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 376).slice(0, 12).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().width) + ' ' + Math.round(e.getBoundingClientRect().right))", vec![]).await;
        assert_eq!(
            widths[0], 375,
            "{path}: the viewport is a phone's (wider when something overflows: {wide})"
        );
        assert!(
            widths[1].as_i64() <= widths[0].as_i64() && widths[2].as_i64() <= widths[0].as_i64(),
            "{path} overflows sideways at 375 px: {widths}, {wide}"
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
    b.press(Key::Escape).await;
    dialog_removed(&b).await;
    b.click_css(".table tbody [data-action=refund]").await;
    b.wait_for("dialog[open] [data-field=refund_yuan] input")
        .await;
    assert!(b
        .text("dialog[open] [data-role=refundable]")
        .await
        .contains("up to ¥28.00"));
    b.screenshot(&screenshot_path("phone-pay-refund")).await;
    b.press(Key::Escape).await;
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
