//! The plugins page: switches, dry runs and a plugin's state.

use sea_orm::IntoActiveModel;
use serde_json::json;

use super::{
    assert_no_page_errors, browser, confirm, list, open, screenshot_path, sign_in, write_plugin,
    ECHO_PLUGIN,
};
use crate::helpers::TestApp;

#[tokio::test]
async fn the_plugins_page_switches_plugins_and_dry_runs_a_message() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxuiplugin000001").await;
    write_plugin(&app, "echo.rhai", ECHO_PLUGIN).await;
    write_plugin(
        &app,
        "broken.rhai",
        "const PLUGIN = #{ name: \"broken\" };\n\nfn on_message(msg, ctx) {\n    let x = ;\n}\n",
    )
    .await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/plugins").await;
    b.wait_for(".plugin-card[data-plugin=echo]").await;
    assert!(b
        .text(".plugin-card[data-plugin=echo]")
        .await
        .contains("Says back what the fan wrote"));
    // A file that does not compile shows where.
    let error = b.text(".plugin-card [data-role=compile-error]").await;
    assert!(error.contains("broken.rhai:4:"), "{error}");

    // Off and on again for the account.
    b.click_css(".plugin-card[data-plugin=echo] .switch").await;
    b.wait_until(
        "!document.querySelector('.plugin-card[data-plugin=echo] input[role=switch]').checked && !document.querySelector('.plugin-card[data-plugin=echo] input[role=switch]').disabled",
        "the switch to turn off",
    )
    .await;
    let plugins = list(&app, "/wechat/plugins/list").await;
    let echo = plugins.iter().find(|p| p["name"] == "echo").unwrap();
    assert_eq!(echo["disabled_accounts"], json!([account]));
    b.click_css(".plugin-card[data-plugin=echo] .switch").await;
    b.wait_until(
        "document.querySelector('.plugin-card[data-plugin=echo] input[role=switch]').checked && !document.querySelector('.plugin-card[data-plugin=echo] input[role=switch]').disabled",
        "the switch to turn on",
    )
    .await;
    let plugins = list(&app, "/wechat/plugins/list").await;
    let echo = plugins.iter().find(|p| p["name"] == "echo").unwrap();
    assert_eq!(echo["disabled_accounts"], json!([]));

    // A dry run through the whole chain.
    b.type_into("#dry-run-form textarea", "echo 你好").await;
    b.click_css("[data-action=dry-run]").await;
    b.wait_for("[data-role=dry-reply]").await;
    assert_eq!(b.text("[data-role=dry-reply]").await, "你说：echo 你好");
    assert!(b.text(".dry-summary").await.contains("plugin:echo"));
    assert!(b
        .text("[data-role=dry-logs]")
        .await
        .contains("echo saw: echo 你好"));
    b.screenshot(&screenshot_path("plugins-dry-run")).await;

    // The reload button rescans the folder; echo's file breaks: it is stale.
    std::fs::remove_file(app.server.state.config.plugins_dir.join("broken.rhai")).unwrap();
    std::fs::write(
        app.server.state.config.plugins_dir.join("echo.rhai"),
        "const PLUGIN = #{ name: \"echo\" };\nfn on_message(msg, ctx) { let = ; }\n",
    )
    .unwrap();
    b.js("window.scrollTo(0, 0)", vec![]).await;
    b.click_css("[data-action=reload-plugins]").await;
    b.wait_gone(".plugin-card[data-plugin=broken]").await;
    b.wait_for(".plugin-card.plugin-stale[data-plugin=echo]")
        .await;
    let echo = b.text(".plugin-card[data-plugin=echo]").await;
    assert!(echo.contains("Stale: file has errors"), "{echo}");
    assert!(echo.contains("echo.rhai:2:"), "{echo}");
    assert_no_page_errors(&b, "plugins").await;
    b.quit().await;
}

#[tokio::test]
async fn admins_see_a_plugins_state_on_the_plugins_page_and_delete_a_key() {
    use wxmp::entity::plugin_state;
    let app = TestApp::spawn().await;
    let account = app.add_account("wxuipstate000001").await;
    write_plugin(&app, "echo.rhai", ECHO_PLUGIN).await;
    let seed = app.seed(&account);
    let now = chrono::Utc::now();
    for (openid, key, expires_at) in [
        ("", "visits", None),
        ("o_fan", "step", Some(now + chrono::Duration::hours(1))),
        ("o_fan", "gone", Some(now - chrono::Duration::seconds(5))),
    ] {
        seed.row(
            plugin_state::Model {
                id: seed.next_id(),
                plugin: "echo".into(),
                account_id: seed.account_id(),
                openid: openid.into(),
                state_key: key.into(),
                value: Some(json!({"n": 7})),
                expires_at,
                created_at: now,
                updated_at: now,
            }
            .into_active_model(),
        )
        .await;
    }
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/plugins").await;
    b.wait_until(
        "!!document.querySelector('#plugin-state #state-plugin option[value=echo]')",
        "the state panel's plugin picker",
    )
    .await;
    b.set_value("#state-plugin", "echo").await;
    b.click_css("[data-action=show-state]").await;
    b.wait_for("[data-role=state-table] tr[data-key=step]")
        .await;
    let table = b.text("[data-role=state-table]").await;
    assert!(
        table.contains("visits") && table.contains("o_fan"),
        "{table}"
    );
    assert!(
        !table.contains("gone"),
        "an expired key is not shown: {table}"
    );
    assert!(b.text("[data-role=state-total]").await.contains('2'));

    b.click_css("tr[data-key=step] [data-action=delete-state]")
        .await;
    confirm(&b).await;
    b.wait_gone("tr[data-key=step]").await;
    let rows = list(&app, "/wechat/plugins/state/list?plugin=echo").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["key"], "visits");
    assert_no_page_errors(&b, "plugins state").await;
    b.quit().await;
}
