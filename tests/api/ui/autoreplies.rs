//! The auto-replies page: keyword rules, the try-it box, reply media pickers.

use serde_json::json;

use super::browser::Browser;
use super::{
    assert_fits_phone, assert_no_page_errors, browser, confirm, dialog_removed, discard_form, list,
    open, pick_account, screenshot_path, sign_in, wait_loaded,
};
use crate::helpers::TestApp;

#[tokio::test]
async fn adds_toggles_and_deletes_a_keyword_rule() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxui000000000002").await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxautoreplies").await;
    pick_account(&b, &account).await;
    b.click_css("[data-action=add]").await;
    b.wait_for("dialog[open] form").await;
    // A keyword rule is the default; match "contains", reply with text.
    b.type_into("dialog [data-field=keyword] textarea", "你好")
        .await;
    b.set_value("dialog [data-field=match_type] select", "2")
        .await;
    b.type_into("dialog [data-field=priority] input", "7").await;
    b.set_value(
        "dialog [data-field=content] textarea",
        "欢迎光临 🎉 有什么可以帮您？",
    )
    .await;
    assert!(b
        .text("dialog [data-field=content] .counter")
        .await
        .ends_with("/ 2048 bytes"));
    b.click_css("dialog [type=submit]").await;
    b.wait_gone("dialog[open]").await;
    b.wait_until(
        "document.querySelector('.table tbody') && document.querySelector('.table tbody').textContent.includes('你好')",
        "the new rule in the list",
    )
    .await;

    let rules = list(
        &app,
        &format!("/wechat/wxautoreplies/list?account_id={account}"),
    )
    .await;
    assert_eq!(rules.len(), 1);
    let rule = &rules[0];
    assert_eq!(rule["reply_type"], 2);
    assert_eq!(rule["keyword"], "你好");
    assert_eq!(rule["match_type"], 2);
    assert_eq!(rule["priority"], 7);
    assert_eq!(rule["content"], "欢迎光临 🎉 有什么可以帮您？");
    assert_eq!(rule["status"], 1);

    // The switch in the row disables the rule at once.
    b.click_css(".table tbody .switch").await;
    let id = rule["id"].as_str().unwrap().to_string();
    for _ in 0..50 {
        if list(
            &app,
            &format!("/wechat/wxautoreplies/list?account_id={account}"),
        )
        .await[0]["status"]
            == 0
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        list(
            &app,
            &format!("/wechat/wxautoreplies/list?account_id={account}")
        )
        .await[0]["status"],
        0
    );

    // Deleting asks first; cancelling keeps the rule.
    b.click_css(".table tbody [data-action=delete]").await;
    b.wait_for("dialog[open] [data-confirm=yes]").await;
    b.screenshot(&screenshot_path("confirm-delete")).await;
    b.click_css("dialog[open] .modal-footer .btn-secondary")
        .await;
    b.wait_gone("dialog[open]").await;
    assert_eq!(list(&app, "/wechat/wxautoreplies/list").await.len(), 1);
    b.click_css(".table tbody [data-action=delete]").await;
    confirm(&b).await;
    b.wait_for(".state-empty").await;
    let remaining = list(&app, "/wechat/wxautoreplies/list").await;
    assert!(remaining.iter().all(|r| r["id"] != json!(id)));
    assert_no_page_errors(&b, "auto replies").await;
    b.quit().await;
}

/// Stores a file on the server from the page (`POST /wechat/wxmaterials/upload_file`
/// with the signed-in admin's token) and resolves with its `local_path`: a
/// 480×300 PNG for `image`, half a second of a 440 Hz tone as WAV for `voice`.
const STORE_FILE: &str = "
    const [name, mediaType] = arguments;
    const made = new Promise((resolve) => {
      if (mediaType === 'voice') {
        const rate = 8000, n = 4000;
        const buf = new ArrayBuffer(44 + n), v = new DataView(buf);
        const str = (at, s) => [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
        str(0, 'RIFF'); v.setUint32(4, 36 + n, true); str(8, 'WAVE'); str(12, 'fmt ');
        v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
        v.setUint32(24, rate, true); v.setUint32(28, rate, true); v.setUint16(32, 1, true); v.setUint16(34, 8, true);
        str(36, 'data'); v.setUint32(40, n, true);
        for (let i = 0; i < n; i++) v.setUint8(44 + i, 128 + Math.round(60 * Math.sin(2 * Math.PI * 440 * i / rate)));
        resolve(new Blob([buf], { type: 'audio/wav' }));
      } else {
        const canvas = document.createElement('canvas');
        canvas.width = 480; canvas.height = 300;
        const g = canvas.getContext('2d');
        g.fillStyle = '#c2410c'; g.fillRect(0, 0, 480, 300);
        g.fillStyle = '#fff'; g.font = 'bold 60px sans-serif'; g.fillText('MENU', 150, 170);
        canvas.toBlob(resolve, 'image/png');
      }
    });
    return made.then((blob) => {
      const form = new FormData();
      form.append('media_type', mediaType);
      form.append('file', blob, name);
      return fetch('/wechat/wxmaterials/upload_file', { method: 'POST', headers: { Authorization: 'Bearer ' + sessionStorage.getItem('wxmp.token') }, body: form });
    }).then((r) => r.json()).then((body) => body.data.local_path);
";

/// Runs the try-it box with a text and waits for its answer.
async fn try_text(b: &Browser, text: &str) {
    b.js(
        "const r = document.querySelector('[data-role=try-result]'); if (r) r.replaceChildren();",
        vec![],
    )
    .await;
    b.type_into("#try-form [data-field=text] input", text).await;
    b.click_css("[data-action=try]").await;
    b.wait_for("[data-role=try-result] .dry-result").await;
}

#[tokio::test]
async fn tries_messages_against_the_rules_and_picks_reply_media() {
    let app = TestApp::spawn().await;
    let account = app.add_account("wxuitry000000001").await;
    app.add_account("wxuitry000000002").await;
    app.seed(&account).rule(json!({"reply_type": 2, "keyword": "营业时间", "match_type": 1, "message_type": "text", "content": "每天 8:00–22:00 营业 ☕"}))
    .await;
    let b = browser().await;
    sign_in(&b, &app).await;
    let image_path = b
        .js(STORE_FILE, vec![json!("菜单.png"), json!("image")])
        .await;
    let voice_path = b
        .js(STORE_FILE, vec![json!("欢迎.wav"), json!("voice")])
        .await;
    assert!(
        image_path.as_str().unwrap().starts_with("uploads/"),
        "{image_path}"
    );
    app.seed(&account).material(json!({"media_type": "image", "media_id": "MEDIA_X", "name": "菜单.png", "local_path": image_path, "is_permanent": 1, "sync_status": 1}))
    .await;
    app.seed(&account).material(json!({"media_type": "voice", "media_id": "MEDIA_V", "name": "欢迎.wav", "local_path": voice_path, "is_permanent": 1, "sync_status": 1}))
    .await;

    // All accounts: the box asks for one first.
    open(&b, &app, "/wechat/wxautoreplies").await;
    b.wait_for("[data-role=try-it] #try-account").await;
    b.set_value("#try-account", &account).await;
    b.wait_for("#try-form").await;
    wait_loaded(&b).await;
    assert_eq!(
        b.js(
            "return document.querySelector('#account-picker').value",
            vec![]
        )
        .await,
        json!(account)
    );

    // A keyword rule's text: its reply, and who answered.
    try_text(&b, "营业时间").await;
    assert_eq!(
        b.text("[data-role=try-result] [data-role=dry-reply]").await,
        "每天 8:00–22:00 营业 ☕"
    );
    let summary = b.text("[data-role=try-result] .dry-summary").await;
    assert!(
        summary.contains("Answered") && summary.contains("keyword rule"),
        "{summary}"
    );
    b.screenshot(&screenshot_path("autoreplies-try")).await;

    // Nothing matches and there is no default rule: no reply.
    try_text(&b, "随便问问").await;
    b.wait_for("[data-role=try-result] .dry-result[data-outcome=continue]")
        .await;
    assert!(b
        .text("[data-role=try-result] .dry-summary")
        .await
        .contains("No reply"));
    assert!(b
        .text("[data-role=try-result] [data-role=try-none]")
        .await
        .contains("no default reply"));
    assert_eq!(
        b.find_all("[data-role=try-result] [data-role=dry-reply]")
            .await
            .len(),
        0
    );

    // An image reply picks its media from the account's permanent images.
    b.click_css("[data-action=add]").await;
    b.wait_for("dialog[open] form").await;
    b.type_into("dialog [data-field=keyword] textarea", "菜单")
        .await;
    b.click_css("dialog [data-field=message_type] input[value=image] + label")
        .await;
    b.wait_until(
        "(() => { const img = document.querySelector('dialog[open] [data-thumb=MEDIA_X] .file-preview[data-state=local] img'); return img && img.complete && img.naturalWidth === 480; })()",
        "the image material's thumbnail in the picker",
    )
    .await;
    // Voice materials are not offered for an image reply.
    assert_eq!(
        b.find_all("dialog[open] [data-thumb=MEDIA_V]").await.len(),
        0
    );
    b.js(
        "document.querySelector('dialog[open] [data-thumb=MEDIA_X]').scrollIntoView({ block: 'center' })",
        vec![],
    )
    .await;
    b.click_css("dialog[open] [data-thumb=MEDIA_X]").await;
    assert_eq!(
        b.js(
            "return document.querySelector('dialog[open] [data-field=media_id] input.mono').value",
            vec![]
        )
        .await,
        "MEDIA_X"
    );
    b.screenshot(&screenshot_path("autoreplies-media-picker"))
        .await;
    // The picker follows the reply type (an image's media_id does not stay
    // for a voice reply); typing by hand stays possible.
    b.click_css("dialog [data-field=message_type] input[value=voice] + label")
        .await;
    b.wait_for("dialog[open] [data-thumb=MEDIA_V]").await;
    let typed =
        "return document.querySelector('dialog[open] [data-field=media_id] input.mono').value";
    assert_eq!(b.js(typed, vec![]).await, "");
    b.type_into("dialog[open] [data-field=media_id] input.mono", "MEDIA_V")
        .await;
    b.wait_for("dialog[open] [data-thumb=MEDIA_V] input:checked")
        .await;
    b.click_css("dialog [data-field=message_type] input[value=image] + label")
        .await;
    b.wait_for("dialog[open] [data-thumb=MEDIA_X]").await;
    b.type_into("dialog[open] [data-field=media_id] input.mono", "MEDIA_X")
        .await;
    b.wait_for("dialog[open] [data-thumb=MEDIA_X] input:checked")
        .await;
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_gone("dialog[open]").await;
    let rules = list(
        &app,
        &format!("/wechat/wxautoreplies/list?account_id={account}"),
    )
    .await;
    let rule = rules
        .iter()
        .find(|r| r["keyword"] == "菜单")
        .expect("the image rule is stored");
    assert_eq!(rule["message_type"], "image");
    assert_eq!(rule["media_id"], "MEDIA_X");

    // The try-it box shows the picture the fan would get.
    try_text(&b, "菜单").await;
    b.wait_until(
        "(() => { const img = document.querySelector('[data-role=try-result] [data-role=dry-reply] .file-preview[data-state=local] img'); return img && img.complete && img.naturalWidth === 480; })()",
        "the image reply's picture",
    )
    .await;
    b.screenshot(&screenshot_path("autoreplies-try-image"))
        .await;
    assert_no_page_errors(&b, "auto replies try it").await;

    // Materials: a voice with a stored copy plays in the page.
    open(&b, &app, "/wechat/wxmaterials?media_type=voice").await;
    b.click_css(".material [data-action=play]").await;
    b.wait_until(
        "(() => { const a = document.querySelector('.material audio'); return a && a.src.startsWith('blob:') && a.readyState >= 1 && a.duration > 0.4; })()",
        "the voice to load in an audio player",
    )
    .await;
    b.screenshot(&screenshot_path("materials-voice-playing"))
        .await;
    assert_no_page_errors(&b, "materials playing").await;

    // At phone width: the box, the picker and the player fit.
    b.emulate_width(375, 812).await;
    open(&b, &app, "/wechat/wxautoreplies").await;
    b.wait_for(".table tbody tr").await;
    try_text(&b, "营业时间").await;
    assert_fits_phone(&b, "auto replies with the try-it box").await;
    b.js(
        "document.querySelector('[data-role=try-it]').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot(&screenshot_path("phone-autoreplies-try"))
        .await;
    b.js("window.scrollTo(0, 0)", vec![]).await;
    b.click_css("[data-action=add]").await;
    b.wait_for("dialog[open] form").await;
    b.click_css("dialog [data-field=message_type] input[value=image] + label")
        .await;
    b.wait_for("dialog[open] [data-thumb=MEDIA_X] .file-preview[data-state=local] img")
        .await;
    let dialog_fits = b
        .js("const d = document.querySelector('dialog[open] .modal-body'); return d.scrollWidth <= d.clientWidth", vec![])
        .await;
    assert_eq!(
        dialog_fits, true,
        "the rule dialog with its picker fits 375 px"
    );
    b.js(
        "document.querySelector('dialog[open] [data-field=media_id]').scrollIntoView({ block: 'center' })",
        vec![],
    )
    .await;
    b.screenshot(&screenshot_path("phone-autoreplies-media-picker"))
        .await;
    discard_form(&b).await;
    open(&b, &app, "/wechat/wxmaterials").await;
    b.wait_for(".material [data-action=play]").await;
    assert_fits_phone(&b, "materials with a player").await;
    b.screenshot(&screenshot_path("phone-materials-player"))
        .await;
    assert_no_page_errors(&b, "phone auto replies and materials").await;
    b.quit().await;
}

#[tokio::test]
async fn try_it_names_the_rule_and_explains_clicks_nothing_answers() {
    let app = TestApp::spawn().await;
    let seed = app.seed_account("wxuitry000000003").await;
    seed.rule(json!({"reply_type": 2, "keyword": "门店", "match_type": 2, "message_type": "text", "content": "天河区"}))
        .await;
    seed.rule(json!({"reply_type": 3, "message_type": "text", "content": "稍后回复您"}))
        .await;
    seed.menu_button(json!({"menu_name": "门店", "menu_type": "click", "menu_key": "门店"}))
        .await;
    seed.menu_button(json!({"menu_name": "资讯", "menu_type": "click", "menu_key": "STORE_INFO"}))
        .await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxautoreplies").await;
    b.wait_for("#try-form").await;

    // The rule that answered, with its keyword, and a link that opens it.
    try_text(&b, "请问门店在哪").await;
    let rule = b.text("[data-role=try-result] [data-role=try-rule]").await;
    assert!(
        rule.contains("keyword rule “门店” (text contains it)"),
        "{rule}"
    );
    assert!(!rule.contains("builtin:"), "{rule}");
    b.click_css("[data-role=open-rule]").await;
    b.wait_for("dialog[open] [data-field=keyword] textarea")
        .await;
    assert_eq!(
        b.js(
            "return document.querySelector('dialog[open] [data-field=keyword] textarea').value",
            vec![]
        )
        .await,
        json!("门店")
    );
    b.press(fantoccini::key::Key::Escape).await;
    dialog_removed(&b).await;

    // A click nothing answers: why the default reply does not.
    b.js(
        "document.querySelector('#try-form [data-field=kind] input[value=CLICK]').click()",
        vec![],
    )
    .await;
    b.type_into("#try-form [data-field=event_key] input", "STORE_INFO")
        .await;
    b.click_css("[data-action=try]").await;
    b.wait_for("[data-role=try-result] [data-role=try-none]")
        .await;
    let none = b.text("[data-role=try-result] [data-role=try-none]").await;
    assert!(
        none.contains("Default replies answer texts only, never menu clicks"),
        "{none}"
    );
    b.screenshot(&screenshot_path("autoreplies-try-click"))
        .await;

    // The menus page warns about the key, not about the one a rule answers.
    b.click_css(".nav-link[data-path='/wechat/wxmenus']").await;
    b.wait_for("[data-role=unanswered-keys] .alert").await;
    let warning = b.text("[data-role=unanswered-keys]").await;
    assert!(warning.contains("STORE_INFO"), "{warning}");
    assert!(!warning.contains("门店"), "{warning}");
    assert_no_page_errors(&b, "autoreplies").await;
}

#[tokio::test]
async fn a_rule_with_several_patterns_and_a_night_window_in_both_languages() {
    for (lang, regex_error, window_badge) in [
        ("zh-CN", "第 1 行不是有效的正则表达式", "仅 22:00–08:00"),
        (
            "en",
            "line 1 is not a valid regular expression",
            "only 22:00–08:00",
        ),
    ] {
        let app = TestApp::spawn().await;
        let account = app.add_account("wxui0000000rule1").await;
        let b = Browser::start_in(1280, 900, lang).await;
        sign_in(&b, &app).await;
        open(&b, &app, "/wechat/wxautoreplies").await;
        pick_account(&b, &account).await;
        b.click_css("[data-action=add]").await;
        b.wait_for("dialog[open] form").await;
        b.set_value("dialog [data-field=match_type] select", "3")
            .await;
        b.type_into("dialog [data-field=keyword] textarea", "订单(")
            .await;
        b.type_into("dialog [data-field=active_from] input", "22:00")
            .await;
        b.type_into("dialog [data-field=active_until] input", "08:00")
            .await;
        b.set_value("dialog [data-field=content] textarea", "已下班，明早回复")
            .await;
        b.click_css("dialog [type=submit]").await;
        let shown = b
            .wait_until(
                "(() => { const e = document.querySelector('dialog[open] [data-field=keyword] .field-error'); return e && !e.hidden && e.textContent; })()",
                "the pattern's error under the keyword field",
            )
            .await;
        assert!(
            shown.as_str().unwrap().contains(regex_error),
            "{lang}: {shown}"
        );
        // Fixed: two patterns, one per line; the error goes with the edit.
        b.set_value(
            "dialog [data-field=keyword] textarea",
            "^订单\\d{6}$\n(?i)^refund",
        )
        .await;
        b.click_css("dialog [type=submit]").await;
        b.wait_gone("dialog[open]").await;
        let row = b
            .wait_until(
                "(() => { const r = document.querySelector('.table tbody tr'); return r && r.textContent.includes('refund') && r.textContent; })()",
                "the new rule in the list",
            )
            .await;
        let row = row.as_str().unwrap();
        assert!(row.contains(window_badge), "{lang}: {row}");
        assert!(row.contains("“^订单\\d{6}$”"), "{lang}: {row}");
        let rules = list(
            &app,
            &format!("/wechat/wxautoreplies/list?account_id={account}"),
        )
        .await;
        assert_eq!(rules[0]["match_type"], 3);
        assert_eq!(rules[0]["keyword"], "^订单\\d{6}$\n(?i)^refund");
        assert_eq!(rules[0]["active_until"], "08:00");
        b.screenshot(&screenshot_path(&format!("rules-regex-window-{lang}")))
            .await;
        assert_no_page_errors(&b, "rules").await;
        b.quit().await;
    }
}
