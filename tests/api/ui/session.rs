//! Signing in and out, expired sessions, and what an operator (not an admin) sees.

use serde_json::{json, Value};

use super::{
    assert_no_page_errors, browser, open, screenshot_path, seed, sign_in, wait_loaded, PAGES,
};
use crate::helpers::{TestApp, ADMIN_PASSWORD, ADMIN_USER};

#[tokio::test]
async fn signs_in_and_out_and_an_expired_session_returns_to_the_login_page() {
    let app = TestApp::spawn().await;
    let b = browser().await;

    // Not signed in: any page sends you to the login page, remembering where.
    b.goto(&app.url("/wechat/wxusers")).await;
    b.wait_for("#login-username").await;
    assert!(b
        .current_url()
        .await
        .ends_with("/login?next=%2Fwechat%2Fwxusers"));
    b.screenshot(&screenshot_path("login")).await;

    b.type_into("#login-username", ADMIN_USER).await;
    b.type_into("#login-password", "not-the-password").await;
    b.click_css(".login-form button[type=submit]").await;
    b.wait_for(".login-form .alert-error").await;
    assert!(b
        .text(".login-form .alert-error")
        .await
        .contains("Wrong user name or password"));

    b.type_into("#login-password", ADMIN_PASSWORD).await;
    b.click_css(".login-form button[type=submit]").await;
    b.wait_for(".nav-link.active[data-path='/wechat/wxusers']")
        .await;
    wait_loaded(&b).await;
    assert_no_page_errors(&b, "fans after sign-in").await;

    // A token the server no longer accepts: the next request (401) signs out.
    b.js(
        "sessionStorage.setItem('wxmp.token', 'expired.or.forged')",
        vec![],
    )
    .await;
    b.goto(&app.url("/wechat/wxautoreplies")).await;
    b.wait_for("#login-username").await;
    assert!(b.current_url().await.contains("/login?next="));
    assert_eq!(
        b.js("return sessionStorage.getItem('wxmp.token')", vec![])
            .await,
        Value::Null
    );

    sign_in(&b, &app).await;
    b.click_css(".user-menu summary").await;
    b.click_css("[data-action=sign-out]").await;
    b.wait_for("#login-username").await;
    assert_no_page_errors(&b, "sign-out").await;
    b.quit().await;
}

#[tokio::test]
async fn an_operator_sees_only_their_accounts_and_no_admin_pages() {
    let app = TestApp::spawn().await;
    let account = seed(&app).await;
    app.add(
        "/wechat/admins/add",
        json!({"username": "operator1", "password": "operator-password-1", "role": "operator", "account_ids": [account]}),
    )
    .await;
    let b = browser().await;
    b.goto(&app.url("/login")).await;
    b.type_into("#login-username", "operator1").await;
    b.type_into("#login-password", "operator-password-1").await;
    b.click_css(".login-form button[type=submit]").await;
    b.wait_for(".shell .nav-link.active").await;
    wait_loaded(&b).await;
    // One account in the picker (plus "All accounts"), no admin navigation.
    let options = b
        .js(
            "return [...document.querySelectorAll('#account-picker option')].map((o) => o.value)",
            vec![],
        )
        .await;
    assert_eq!(options, json!(["", account]));
    assert_eq!(
        b.js(
            "return document.querySelectorAll('.nav-link[data-path=\"/wechat/admins\"]').length",
            vec![]
        )
        .await,
        0
    );
    open(&b, &app, "/wechat/admins").await;
    assert!(b.text("#main").await.contains("Admins only"));
    // Accounts are read-only for operators, and secrets stay hidden.
    open(&b, &app, "/wechat/wxaccounts").await;
    b.wait_for(".table tbody tr").await;
    assert_eq!(
        b.find_all("[data-action=add], .table [data-action=edit]")
            .await
            .len(),
        0
    );
    for (path, _, content) in PAGES
        .iter()
        .filter(|(path, _, _)| !["/wechat/admins", "/wechat/audit"].contains(path))
    {
        open(&b, &app, path).await;
        b.wait_for(content).await;
        wait_loaded(&b).await;
        assert_no_page_errors(&b, path).await;
    }
    b.screenshot(&screenshot_path("operator-pay")).await;
    b.quit().await;
}
