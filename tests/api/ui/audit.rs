//! The audit log page: admins read who changed what, with the fields that
//! changed and secrets masked; operators do not see it.

use serde_json::json;

use super::{assert_no_page_errors, browser, open, screenshot_path, sign_in, wait_loaded};
use crate::helpers::TestApp;

#[tokio::test]
async fn admins_read_the_changes_and_operators_do_not_see_the_page() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxauditui000001").await;
    app.put(
        "/wechat/wxaccounts/edit",
        json!({"id": account, "account_name": "城东店", "app_secret": "fedcba9876543210fedcba9876543210"}),
    )
    .await;
    app.add(
        "/wechat/admins/add",
        json!({"username": "op-ui", "password": "operator-pass-1", "role": "operator", "account_ids": [account]}),
    )
    .await;

    let b = browser().await;
    sign_in(&b, &app).await;
    b.click_css(".nav-link[href='/wechat/audit']").await;
    wait_loaded(&b).await;
    b.wait_until(
        "document.querySelectorAll('.table > tbody > tr').length === 3",
        "three changes: the account added and edited, the operator added",
    )
    .await;

    // Only the account's rows, through the resource filter in the URL.
    open(&b, &app, "/wechat/audit?resource=account&action=update").await;
    b.wait_until(
        "document.querySelectorAll('.table > tbody > tr').length === 1",
        "the account's edit alone",
    )
    .await;
    b.click_css(".audit-changes summary").await;
    let diff = b.text(".audit-diff").await;
    assert!(diff.contains("account_name"), "{diff}");
    assert!(diff.contains("城东店"), "{diff}");
    assert!(diff.contains("****"), "the secret is masked: {diff}");
    assert!(!diff.contains("fedcba98"), "{diff}");
    let row = b.text(".table > tbody > tr").await;
    assert!(row.contains("admin") && row.contains("127.0.0.1"), "{row}");
    b.screenshot(&screenshot_path("audit")).await;
    assert_no_page_errors(&b, "audit").await;

    // An operator has no audit log in the menu, and the address refuses.
    b.js("localStorage.clear()", vec![]).await;
    b.goto(&app.url("/login")).await;
    b.type_into("#login-username", "op-ui").await;
    b.type_into("#login-password", "operator-pass-1").await;
    b.click_css(".login-form button[type=submit]").await;
    b.wait_for(".shell .nav-link.active").await;
    assert!(b
        .find_all(".nav-link[href='/wechat/audit']")
        .await
        .is_empty());
    open(&b, &app, "/wechat/audit").await;
    assert!(b.text("#main").await.contains("Admins only"));
    assert!(b.find_all(".table > tbody > tr").await.is_empty());
    b.quit().await;
}
