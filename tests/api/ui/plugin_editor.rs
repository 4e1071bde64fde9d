//! The plugin editor on the plugins page, in both languages: open it, break
//! the script, "check" shows the line (marked in the gutter), fix it, save:
//! the file on disk changes and the plugin runs its new version.

use serde_json::json;

use super::browser::Browser;
use super::{
    assert_no_page_errors, confirm, dialog_removed, list, open, screenshot_path, sign_in,
    write_plugin,
};
use crate::helpers::TestApp;

fn greet(reply: &str) -> String {
    format!(
        "const PLUGIN = #{{\n    name: \"greet\",\n    priority: 250,\n    messages: [\"text\"],\n    \
         settings: [#{{ name: \"greeting\", type: \"string\", \"default\": \"hi\" }}],\n}};\n\
         fn on_message(msg, ctx) {{\n    return \"{reply}\";\n}}\n"
    )
}

#[tokio::test]
async fn admins_edit_check_and_save_a_plugin_in_the_browser() {
    for (lang, error_line, saved) in [
        ("zh-CN", "第 8 行", "已保存并重新加载"),
        ("en", "line 8", "Saved and reloaded"),
    ] {
        let app = TestApp::spawn().await;
        let account = app.add_account("wxuieditor000001").await;
        write_plugin(&app, "greet.rhai", &greet("hello")).await;
        let path = app.server.state.config.plugins_dir.join("greet.rhai");
        let b = Browser::start_in(1280, 900, lang).await;
        sign_in(&b, &app).await;
        b.js(
            "localStorage.setItem('wxmp.account', arguments[0])",
            vec![json!(account)],
        )
        .await;
        open(&b, &app, "/wechat/plugins").await;
        b.click_css(".plugin-card[data-plugin=greet] [data-action=edit-plugin]")
            .await;
        b.wait_for("[data-role=plugin-editor] textarea[data-role=source]")
            .await;
        let shown = b
            .js(
                "return document.querySelector('[data-role=source]').value",
                vec![],
            )
            .await;
        assert_eq!(shown, json!(greet("hello")));
        let lines = b
            .js(
                "return document.querySelectorAll('[data-role=gutter] .code-line').length",
                vec![],
            )
            .await;
        assert_eq!(lines, json!(greet("hello").split('\n').count()));
        // The settings form of the chosen account.
        b.wait_for("[data-role=settings] [data-field=greeting]")
            .await;

        // A syntax error on line 8: check shows it there, nothing is written.
        let broken = greet("hello").replace("return \"hello\";", "let x = ;");
        b.set_value("[data-role=source]", &broken).await;
        b.click_css("[data-action=check-source]").await;
        b.wait_for("[data-role=editor-error]").await;
        let error = b.text("[data-role=editor-error]").await;
        assert!(error.contains(error_line), "{lang}: {error}");
        b.wait_for("[data-role=gutter] .code-line.is-error[data-line='8']")
            .await;
        b.screenshot(&screenshot_path(&format!("plugin-editor-error-{lang}")))
            .await;
        assert_eq!(std::fs::read_to_string(&path).unwrap(), greet("hello"));

        // Fixed and saved: the file changes and the new version runs.
        b.set_value("[data-role=source]", &greet("fixed")).await;
        b.click_css("[data-action=save-source]").await;
        b.wait_for("[data-role=editor-ok]").await;
        let ok = b.text("[data-role=editor-ok]").await;
        assert!(ok.contains(saved), "{lang}: {ok}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), greet("fixed"));
        let plugins = list(&app, "/wechat/plugins/list").await;
        let row = plugins.iter().find(|p| p["name"] == "greet").unwrap();
        assert_eq!(row["status"], "active", "{row}");

        // The dry-run box, from the editor, runs the saved version.
        b.click_css("[data-action=editor-dry-run]").await;
        // The box scrolls into view smoothly: a click while the page still
        // moves can land on the sticky top bar.
        let mut last = serde_json::Value::Null;
        for _ in 0..50 {
            let y = b.js("return window.scrollY", vec![]).await;
            if y == last {
                break;
            }
            last = y;
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        }
        b.type_into("#dry-run-form textarea", "hi").await;
        b.click_css("[data-action=dry-run]").await;
        b.wait_for("[data-role=dry-reply]").await;
        assert_eq!(b.text("[data-role=dry-reply]").await, "fixed");
        b.screenshot(&screenshot_path(&format!("plugin-editor-saved-{lang}")))
            .await;

        // Unsaved text: leaving asks first; "stay" keeps it, closing asks too.
        b.set_value("[data-role=source]", &greet("unsaved")).await;
        b.js("window.scrollTo(0, 0)", vec![]).await;
        b.click_css(".nav-link[data-path='/dashboard']").await;
        b.click_css("dialog[open] [data-confirm=no]").await;
        dialog_removed(&b).await;
        b.wait_for("[data-role=plugin-editor]").await;
        b.click_css("[data-action=close-editor]").await;
        confirm(&b).await;
        b.wait_gone("[data-role=plugin-editor]").await;
        assert_eq!(std::fs::read_to_string(&path).unwrap(), greet("fixed"));
        assert_no_page_errors(&b, "plugin editor").await;
        b.quit().await;
    }
}

#[tokio::test]
async fn the_editor_runs_the_test_file_and_shows_each_case_in_both_languages() {
    for (lang, summary, unsaved) in [
        ("zh-CN", "1 个失败，1 个通过", "请先保存"),
        ("en", "1 failed, 1 passed", "Save first"),
    ] {
        let app = TestApp::spawn().await;
        write_plugin(&app, "greet.rhai", &greet("hello")).await;
        let dir = app.server.state.config.plugins_dir.clone();
        std::fs::write(
            dir.join("greet.test.toml"),
            "[[case]]\nname = \"hi gets hello\"\n[[case.step]]\ntext = \"hi\"\nreply = \"hello\"\n\n\
             [[case]]\nname = \"expects bonjour\"\n[[case.step]]\ntext = \"hi\"\nreply = \"bonjour\"\n",
        )
        .unwrap();
        let b = Browser::start_in(1280, 900, lang).await;
        sign_in(&b, &app).await;
        open(&b, &app, "/wechat/plugins").await;
        b.click_css(".plugin-card[data-plugin=greet] [data-action=edit-plugin]")
            .await;
        b.wait_for("[data-role=plugin-editor] textarea[data-role=source]")
            .await;
        b.click_css("[data-action=run-tests]").await;
        b.wait_for("[data-role=tests-summary]").await;
        let text = b.text("[data-role=tests-summary]").await;
        assert!(text.contains(summary), "{lang}: {text}");
        let failed = b.text("[data-role=test-case][data-passed=false]").await;
        assert!(
            failed.contains("expects bonjour") && failed.contains("bonjour"),
            "{lang}: {failed}"
        );
        b.screenshot(&screenshot_path(&format!("plugin-editor-tests-{lang}")))
            .await;

        // Unsaved text is not what the tests would run: save it first.
        b.set_value("[data-role=source]", &greet("bonjour")).await;
        b.click_css("[data-action=run-tests]").await;
        b.wait_for("[data-role=tests-unsaved]").await;
        assert!(b.text("[data-role=tests-unsaved]").await.contains(unsaved));
        b.click_css("[data-action=save-source]").await;
        b.wait_for("[data-role=editor-ok]").await;
        b.click_css("[data-action=run-tests]").await;
        // The saved version answers bonjour: now the other case fails.
        b.wait_until(
            "(() => { const e = document.querySelector('[data-role=test-case][data-passed=false]'); return e && e.textContent.includes('hi gets hello'); })()",
            "the first case failing against the saved version",
        )
        .await;
        assert_no_page_errors(&b, "plugin editor").await;
        b.quit().await;
    }
}
