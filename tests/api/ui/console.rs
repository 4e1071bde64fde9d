//! Issue 13, the console with real data: example plugins that stay off until
//! switched on, and the rules page warning about plugins in front of its
//! rules; the dashboard of every account; the menu live on WeChat.

use serde_json::json;

use super::browser::Browser;
use super::{
    assert_no_page_errors, list, open, screenshot_path, sign_in, wait_loaded, write_plugin,
};
use crate::helpers::TestApp;

fn example(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("plugins")
        .join(file);
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test]
async fn an_example_plugin_is_off_until_switched_on_and_the_rules_page_warns_then() {
    for (lang, off_hint, warning) in [
        (
            "zh-CN",
            "示例插件",
            "插件 router（优先级 260）对本公众号在关键词回复（优先级 200）之前运行",
        ),
        (
            "en",
            "An example",
            "The plugin router (priority 260) runs before the keyword rules (priority 200)",
        ),
    ] {
        let app = TestApp::spawn().await;
        let account = app.add_account("wxuiexample00001").await;
        app.add_account("wxuiexample00002").await;
        std::fs::create_dir_all(app.server.state.config.plugins_dir.join("lib")).unwrap();
        write_plugin(&app, "lib/text.rhai", &example("lib/text.rhai")).await;
        write_plugin(&app, "router.rhai", &example("router.rhai")).await;
        let b = Browser::start_in(1280, 900, lang).await;
        sign_in(&b, &app).await;
        b.js(
            "localStorage.setItem('wxmp.account', arguments[0])",
            vec![json!(account)],
        )
        .await;

        // Off: no warning on the rules page.
        open(&b, &app, "/wechat/wxautoreplies").await;
        b.wait_for("[data-role=try-it]").await;
        let settled = b
            .js("return new Promise((r) => setTimeout(() => r(document.querySelectorAll('[data-role=plugins-ahead]').length), 500))", vec![])
            .await;
        assert_eq!(
            settled,
            json!(0),
            "{lang}: a warning for a plugin that is off"
        );

        // The plugins page shows the example off for the account, and says why.
        open(&b, &app, "/wechat/plugins").await;
        b.wait_for(".plugin-card[data-plugin=router] input[role=switch]")
            .await;
        let checked = b
            .js("return document.querySelector('.plugin-card[data-plugin=router] input[role=switch]').checked", vec![])
            .await;
        assert_eq!(checked, json!(false), "{lang}");
        assert!(b
            .text(".plugin-card[data-plugin=router] [data-role=opt-in]")
            .await
            .contains(off_hint));
        b.click_css(".plugin-card[data-plugin=router] .switch")
            .await;
        b.wait_until(
            "document.querySelector('.plugin-card[data-plugin=router] input[role=switch]').checked && !document.querySelector('.plugin-card[data-plugin=router] input[role=switch]').disabled",
            "the switch to turn on",
        )
        .await;
        let plugins = list(&app, "/wechat/plugins/list").await;
        let router = plugins.iter().find(|p| p["name"] == "router").unwrap();
        assert_eq!(router["enabled_accounts"], json!([account]));

        // On: the rules page names it, with its priority and a way to the switch.
        open(&b, &app, "/wechat/wxautoreplies").await;
        b.wait_for("[data-role=plugins-ahead]").await;
        let shown = b.text("[data-role=plugins-ahead]").await;
        assert!(shown.contains(warning), "{lang}: {shown}");
        b.screenshot(&screenshot_path(&format!("{lang}-rules-plugins-ahead")))
            .await;
        b.click_css("[data-role=open-plugins]").await;
        b.wait_for(".plugin-card[data-plugin=router]").await;
        wait_loaded(&b).await;
        assert_no_page_errors(&b, "rules and plugins").await;
        b.quit().await;
    }
}

#[tokio::test]
async fn the_dashboard_shows_every_account_its_top_rules_and_plugin_calls_in_both_languages() {
    use crate::wechat::Peer;
    let app = TestApp::spawn().await;
    let shop = Peer::create(&app, "wxuidashall00001", 0).await;
    let cafe = Peer::create(&app, "wxuidashall00002", 0).await;
    write_plugin(&app, "echo.rhai", super::ECHO_PLUGIN).await;
    for peer in [&shop, &cafe] {
        app.seed(&peer.account_id)
            .rule(json!({"keyword": "营业时间", "match_type": 1, "content": "每天 9:00–21:00"}))
            .await;
    }
    for (n, text) in ["营业时间", "echo 1", "echo 2"].iter().enumerate() {
        shop.send(&app, &shop.text("o_dash", text, 500 + n as i64))
            .await;
    }
    cafe.send(&app, &cafe.text("o_dash", "营业时间", 600)).await;
    // A dry run is not counted.
    let (_, dry) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": shop.account_id, "text": "echo 3"}),
        )
        .await;
    assert_eq!(dry["data"]["handler"], "plugin:echo", "{dry}");

    for (lang, heading, calls) in [
        ("zh-CN", "回复最多的规则", "调用 4 次"),
        ("en", "Rules that answered most", "4 calls"),
    ] {
        let b = Browser::start_in(1280, 900, lang).await;
        sign_in(&b, &app).await;
        open(&b, &app, "/dashboard").await;
        b.wait_for("[data-role=charts][data-scope=all] [data-role=top-rules]")
            .await;
        let charts = b.text("[data-role=charts]").await;
        assert!(charts.contains(heading), "{lang}: {charts}");
        // One line per rule, each with its account, linking to the rule.
        let rules = b
            .js(
                "return [...document.querySelectorAll('[data-role=top-rules] li')].map((li) => [li.querySelector('.rank-label').textContent, li.querySelector('a.rank-label') ? li.querySelector('a.rank-label').getAttribute('href').startsWith('/wechat/wxautoreplies?rule=') : false])",
                vec![],
            )
            .await;
        let rules = rules.as_array().unwrap();
        assert_eq!(rules.len(), 2, "{lang}: {rules:?}");
        assert!(
            rules
                .iter()
                .all(|r| r[0].as_str().unwrap().starts_with("“营业时间” · ") && r[1] == true),
            "{lang}: {rules:?}"
        );
        let plugins = b
            .text("[data-role=plugin-figures] [data-plugin=echo]")
            .await;
        assert!(plugins.contains(calls), "{lang}: {plugins}");
        b.screenshot(&screenshot_path(&format!("{lang}-dashboard-all-accounts")))
            .await;
        assert_no_page_errors(&b, "dashboard, all accounts").await;
        b.quit().await;
    }
}

#[tokio::test]
async fn after_a_reload_the_menus_page_shows_what_is_live_on_wechat_and_the_difference() {
    const APP_ID: &str = "wxuimenulive0001";
    for (lang, same, draft_only, live_only) in [
        (
            "zh-CN",
            "此处保存的菜单就是粉丝看到的菜单",
            "仅此处有：",
            "仅微信上有：",
        ),
        (
            "en",
            "The saved menu here is what fans see",
            "Only here:",
            "Only on WeChat:",
        ),
    ] {
        let (app, fake) = super::with_fake_wechat(&[APP_ID]).await;
        let account = app.add_account(APP_ID).await;
        app.add(
            "/wechat/wxmenus/add",
            json!({"account_id": account, "menu_name": "官网", "menu_type": "view", "url": "https://example.com/"}),
        )
        .await;
        let (status, body) = app
            .post("/wechat/wxmenus/pull_menu", json!({"account_id": account}))
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
        let b = Browser::start_in(1280, 900, lang).await;
        sign_in(&b, &app).await;
        b.js(
            "localStorage.setItem('wxmp.account', arguments[0])",
            vec![json!(account)],
        )
        .await;

        // A fresh page knows what was published, by whom, and that it is the draft.
        open(&b, &app, "/wechat/wxmenus").await;
        b.wait_for("[data-role=menu-live] [data-live=same]").await;
        let shown = b.text("[data-role=menu-live]").await;
        assert!(
            shown.contains(same) && shown.contains("admin"),
            "{lang}: {shown}"
        );

        // The draft changed since: the page says how.
        app.add(
            "/wechat/wxmenus/add",
            json!({"account_id": account, "menu_name": "签到", "menu_type": "click", "menu_key": "SIGN", "sort_order": 1}),
        )
        .await;
        open(&b, &app, "/wechat/wxmenus").await;
        b.wait_for("[data-role=menu-live] [data-live=differs]")
            .await;
        let diff = b.text("[data-role=menu-diff]").await;
        assert!(
            diff.contains(&format!("{draft_only} 签到 · click · SIGN")),
            "{lang}: {diff}"
        );

        // Changed on WeChat's own console: "Check WeChat" reads it, the draft stays.
        fake.set_menu(
            APP_ID,
            json!({"button": [{"type": "click", "name": "客服", "key": "KF"}]}),
        );
        b.click_css("[data-action=check-menu]").await;
        b.wait_until(
            "document.querySelector('[data-role=menu-diff]') && document.querySelector('[data-role=menu-diff]').textContent.includes('KF')",
            "the menu read from WeChat",
        )
        .await;
        let diff = b.text("[data-role=menu-diff]").await;
        assert!(
            diff.contains(&format!("{live_only} 客服 · click · KF")),
            "{lang}: {diff}"
        );
        assert_eq!(
            list(&app, &format!("/wechat/wxmenus/list?account_id={account}"))
                .await
                .len(),
            2
        );
        b.screenshot(&screenshot_path(&format!("{lang}-menu-live-differs")))
            .await;
        assert_no_page_errors(&b, "menu live").await;
        b.quit().await;
    }
}

#[tokio::test]
async fn a_template_is_sent_from_a_closed_conversation_with_its_own_labels_and_checked_values() {
    const APP_ID: &str = "wxuitplfields001";
    for (lang, bad_number) in [
        ("zh-CN", "须为最多 32 位的数字"),
        ("en", "must be a number of up to 32 digits"),
    ] {
        let (app, fake) = super::with_fake_wechat(&[APP_ID]).await;
        let account = app.add_account(APP_ID).await;
        fake.set_templates(
            APP_ID,
            vec![json!({"template_id": "TPL_POINTS", "title": "积分变动提醒",
                "content": "变动积分：{{number2.DATA}}\n变动原因：{{thing3.DATA}}\n变动时间：{{time4.DATA}}",
                "example": "", "primary_industry": "", "deputy_industry": ""})],
        );
        app.post("/wechat/wxtemplates/sync", json!({"account_id": account}))
            .await;
        let long_ago = (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339();
        app.seed(&account)
            .fan(json!({"openid": "o_lina_0001", "remark": "丽娜", "last_interact_time": long_ago}))
            .await;
        app.seed(&account)
            .fan(json!({"openid": "o_other_0002", "remark": "王五"}))
            .await;
        let b = Browser::start_in(1280, 900, lang).await;
        sign_in(&b, &app).await;

        // The closed window's link leads to the templates, for this fan.
        open(
            &b,
            &app,
            &format!("/wechat/wxmessages?openid=o_lina_0001&account_id={account}"),
        )
        .await;
        b.wait_for(".window-note:not([hidden]) [data-role=send-template]")
            .await;
        b.click_css("[data-role=send-template]").await;
        b.wait_for("[data-role=send-to-fan]").await;
        assert!(b
            .text("[data-role=send-to-fan]")
            .await
            .contains("o_lina_0001"));
        b.wait_for(".table tbody [data-action=send]").await;
        b.click_css(".table tbody [data-action=send]").await;
        b.wait_for("dialog[open] [data-field=v_number2]").await;
        let prefilled = b
            .js(
                "return document.querySelector('dialog[open] [data-field=openid] input').value",
                vec![],
            )
            .await;
        assert_eq!(prefilled, json!("o_lina_0001"), "{lang}");
        // Labels from the template's own text; no colour fields.
        let labels = b
            .js(
                "return [...document.querySelectorAll('dialog[open] [data-field^=v_] label')].map((l) => l.textContent.replace('*', '').trim())",
                vec![],
            )
            .await;
        assert_eq!(
            labels,
            json!(["变动积分", "变动原因", "变动时间"]),
            "{lang}"
        );
        assert!(b.find_all("dialog[open] [data-field^=c_]").await.is_empty());

        // The fan from a search.
        b.set_value("dialog[open] [data-field=openid] input", "")
            .await;
        b.type_into("dialog[open] [data-field=openid] input", "王")
            .await;
        b.wait_for("dialog[open] [data-role=fan-results] [data-openid=o_other_0002]")
            .await;
        b.click_css("dialog[open] [data-role=fan-results] [data-openid=o_other_0002]")
            .await;
        assert!(b
            .text("dialog[open] [data-role=fan-chosen]")
            .await
            .contains("o_other_0002"));

        // A value its type does not allow is refused before WeChat, in the page's language.
        b.type_into("dialog[open] [data-field=v_number2] input", "十分")
            .await;
        b.type_into("dialog[open] [data-field=v_thing3] input", "签到奖励")
            .await;
        b.type_into("dialog[open] [data-field=v_time4] input", "15:01")
            .await;
        b.click_css("dialog[open] [type=submit]").await;
        b.wait_for("dialog[open] [data-field=v_number2].has-error")
            .await;
        let error = b
            .text("dialog[open] [data-field=v_number2] .field-error")
            .await;
        assert!(error.contains(bad_number), "{lang}: {error}");
        b.screenshot(&screenshot_path(&format!("{lang}-template-send-checked")))
            .await;
        assert!(fake.sent().is_empty());
        b.set_value("dialog[open] [data-field=v_number2] input", "")
            .await;
        b.type_into("dialog[open] [data-field=v_number2] input", "20")
            .await;
        b.click_css("dialog[open] [type=submit]").await;
        super::dialog_removed(&b).await;
        let sent = fake.sent();
        let message = sent.last().expect("a template message");
        assert_eq!(message["touser"], "o_other_0002");
        assert_eq!(message["data"]["number2"], json!({"value": "20"}));
        assert_no_page_errors(&b, "template send").await;
        b.quit().await;
    }
}
