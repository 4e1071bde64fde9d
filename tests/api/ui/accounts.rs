//! The accounts page: the account form, its errors and masked secrets.

use serde_json::json;

use super::{assert_no_page_errors, browser, list, open, screenshot_path, sign_in, stored_account};
use crate::helpers::TestApp;

#[tokio::test]
async fn adds_an_account_through_the_form_and_keeps_masked_secrets() {
    let app = TestApp::spawn().await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxaccounts").await;
    b.wait_for(".state-empty").await;
    b.click_css("[data-action=add]").await;
    b.wait_for("dialog[open] form").await;

    b.type_into("dialog [data-field=account_name] input", "星巴克咖啡")
        .await;
    b.type_into("dialog [data-field=app_id] input", "wxui000000000001")
        .await;
    b.type_into(
        "dialog [data-field=app_secret] input",
        "0123456789abcdef0123456789abcdef",
    )
    .await;
    b.type_into("dialog [data-field=original_id] input", "gh_ui0001")
        .await;
    // The callback URL follows the AppID as it is typed.
    let callback = b.text("#callback-url").await;
    assert_eq!(
        callback,
        format!(
            "{}/wechat/official_account/callback/wxui000000000001",
            app.url("")
        )
    );
    b.set_value("dialog [data-field=message_mode] select", "0")
        .await;
    b.type_into("dialog [data-field=token] input", "no").await;
    b.click_css("dialog [type=submit]").await;

    // The server's 422 shows next to the field it names.
    b.wait_for("dialog [data-field=token].has-error .field-error")
        .await;
    let message = b.text("dialog [data-field=token] .field-error").await;
    assert!(message.contains("3–32 letters or digits"), "{message}");
    assert_eq!(
        b.js("return document.querySelector('dialog [data-field=token] input').getAttribute('aria-invalid')", vec![]).await,
        json!("true")
    );
    b.screenshot(&screenshot_path("account-form-error")).await;
    assert!(list(&app, "/wechat/wxaccounts/list").await.is_empty());

    b.type_into("dialog [data-field=token] input", "callbacktoken1")
        .await;
    b.click_css("dialog [type=submit]").await;
    b.wait_gone("dialog[open]").await;
    b.wait_for(".table tbody tr").await;
    assert!(b.text(".table tbody").await.contains("wxui000000000001"));
    let accounts = list(&app, "/wechat/wxaccounts/list").await;
    assert_eq!(accounts.len(), 1);
    let account = &accounts[0];
    assert_eq!(account["account_name"], "星巴克咖啡");
    assert_eq!(account["token"], "****ken1");
    assert!(account["id"].is_string());
    // The picker knows the new account.
    b.wait_until(
        &format!(
            "document.querySelector('#account-picker option[value=\"{}\"]')",
            account["id"].as_str().unwrap()
        ),
        "the account in the picker",
    )
    .await;

    // Editing shows secrets masked; saving the mask back keeps them.
    b.click_css(".table tbody [data-action=edit]").await;
    b.wait_for("dialog[open] form").await;
    let shown = b
        .js(
            "return document.querySelector('dialog [data-field=app_secret] input').value",
            vec![],
        )
        .await;
    assert_eq!(shown, "****cdef");
    b.set_value("dialog [data-field=account_name] input", "星巴克咖啡 ☕")
        .await;
    b.click_css("dialog [type=submit]").await;
    b.wait_gone("dialog[open]").await;
    let row = stored_account(&app, account["id"].as_str().unwrap()).await;
    assert_eq!(row.account_name, "星巴克咖啡 ☕");
    assert_eq!(row.app_secret, "0123456789abcdef0123456789abcdef");
    assert_eq!(row.token, "callbacktoken1");
    b.wait_until(
        "document.querySelector('.table tbody').textContent.includes('星巴克咖啡 ☕')",
        "the edited name in the list",
    )
    .await;
    b.screenshot(&screenshot_path("accounts-added")).await;
    assert_no_page_errors(&b, "accounts").await;
    b.quit().await;
}

#[tokio::test]
async fn an_account_with_fans_is_archived_or_deleted_after_its_name_is_typed() {
    let app = TestApp::spawn().await;
    let seed = app.seed_account("wxuipurge0000001").await;
    seed.fan(json!({"openid": "o_ui_purge", "subscribe_status": 1}))
        .await;
    let account = seed.account.clone();
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxaccounts").await;

    // Delete refuses while a fan exists and offers the way forward: archive.
    b.click_css(".table tbody [data-action=delete]").await;
    b.click_css("dialog[open] [data-confirm=yes]").await;
    b.wait_for("dialog[open] [data-choice=archive]").await;
    assert!(b.text("dialog[open]").await.contains("1 fans"));
    b.click_css("dialog[open] [data-choice=archive]").await;
    b.click_css("dialog[open] [data-confirm=yes]").await;
    b.wait_until(
        "document.querySelector('.table tbody [data-action=restore]')",
        "the archived account's restore button",
    )
    .await;
    assert!(b.text(".table tbody").await.contains("Archived"));
    let picked = format!("#account-picker option[value=\"{account}\"]");
    b.wait_until(
        &format!("!document.querySelector('{}')", picked.replace('\'', "\\'")),
        "the archived account gone from the picker",
    )
    .await;
    assert!(stored_account(&app, &account).await.archived_at.is_some());

    // Delete with all data: the button waits for the name, typed exactly.
    b.click_css(".table tbody [data-action=delete]").await;
    b.click_css("dialog[open] [data-confirm=yes]").await;
    b.click_css("dialog[open] [data-choice=purge]").await;
    b.wait_for("dialog[open] [data-role=confirm-name]").await;
    let disabled = "document.querySelector('dialog[open] [data-confirm=purge]').disabled";
    assert_eq!(
        b.js(&format!("return {disabled}"), vec![]).await,
        json!(true)
    );
    b.type_into("dialog[open] [data-role=confirm-name]", "account wxuipurge")
        .await;
    assert_eq!(
        b.js(&format!("return {disabled}"), vec![]).await,
        json!(true)
    );
    b.type_into(
        "dialog[open] [data-role=confirm-name]",
        "account wxuipurge0000001",
    )
    .await;
    b.wait_until(&format!("!{disabled}"), "the delete button enabled")
        .await;
    b.screenshot(&screenshot_path("account-purge-confirm"))
        .await;
    b.click_css("dialog[open] [data-confirm=purge]").await;
    b.wait_gone("dialog[open]").await;
    b.wait_for(".state-empty").await;
    assert!(list(&app, "/wechat/wxaccounts/list").await.is_empty());
    assert!(list(&app, "/wechat/wxusers/list").await.is_empty());
    assert_no_page_errors(&b, "accounts").await;
}
