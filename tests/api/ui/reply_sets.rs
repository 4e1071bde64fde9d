//! Several replies on one rule in the rules form: added and removed as
//! cards, sent all or one at random, their errors next to the reply at fault.

use super::browser::Browser;
use super::{assert_no_page_errors, list, open, pick_account, screenshot_path, sign_in};
use crate::helpers::TestApp;

#[tokio::test]
async fn a_rule_gets_more_replies_in_cards_and_a_random_mode_in_both_languages() {
    for (lang, required, badge_text) in [
        ("zh-CN", "不能为空", "3 条回复，随机一条"),
        ("en", "is required", "3 replies, one at random"),
    ] {
        let app = TestApp::spawn().await;
        let account = app.add_account("wxui00replysets1").await;
        let b = Browser::start_in(1280, 900, lang).await;
        sign_in(&b, &app).await;
        open(&b, &app, "/wechat/wxautoreplies").await;
        pick_account(&b, &account).await;
        b.click_css("[data-action=add]").await;
        b.wait_for("dialog[open] form").await;
        b.type_into("dialog [data-field=keyword] textarea", "抽签")
            .await;
        b.set_value("dialog [data-field=content] textarea", "上上签")
            .await;
        // No mode to choose while the rule has one reply.
        let mode_hidden = b
            .js(
                "return document.querySelector('dialog [data-field=reply_mode]').closest('[hidden]') !== null",
                vec![],
            )
            .await;
        assert_eq!(mode_hidden, true, "{lang}");
        b.click_css("dialog [data-action=add-reply]").await;
        b.click_css("dialog [data-action=add-reply]").await;
        b.set_value(
            "dialog [data-role=reply-card]:nth-child(1) [data-field=content] textarea",
            "中签",
        )
        .await;
        b.click_css("dialog [data-field=reply_mode] label:nth-of-type(2)")
            .await;
        // The second card is left empty: its error shows in that card.
        b.click_css("dialog [type=submit]").await;
        let shown = b
            .wait_until(
                "(() => { const e = document.querySelector('dialog[open] [data-role=reply-card]:nth-child(2) [data-field=content] .field-error'); return e && !e.hidden && e.textContent; })()",
                "the empty reply's error in its card",
            )
            .await;
        assert!(
            shown.as_str().unwrap().contains(required),
            "{lang}: {shown}"
        );
        b.screenshot(&screenshot_path(&format!("rules-more-replies-{lang}")))
            .await;
        b.set_value(
            "dialog [data-role=reply-card]:nth-child(2) [data-field=content] textarea",
            "下签",
        )
        .await;
        b.click_css("dialog [type=submit]").await;
        b.wait_gone("dialog[open]").await;
        let row = b
            .wait_until(
                "(() => { const r = document.querySelector('.table tbody tr'); return r && r.textContent.includes('抽签') && r.textContent; })()",
                "the new rule in the list",
            )
            .await;
        assert!(row.as_str().unwrap().contains(badge_text), "{lang}: {row}");
        let rules = list(
            &app,
            &format!("/wechat/wxautoreplies/list?account_id={account}"),
        )
        .await;
        assert_eq!(rules[0]["reply_mode"], 1);
        assert_eq!(rules[0]["more_replies"][0]["content"], "中签");
        assert_eq!(rules[0]["more_replies"][1]["content"], "下签");

        // Edited: the cards come back; one removed, mode back to all.
        b.click_css(".table tbody tr [data-action=edit]").await;
        b.wait_for("dialog[open] [data-role=reply-card]").await;
        let cards = b.find_all("dialog [data-role=reply-card]").await;
        assert_eq!(cards.len(), 2, "{lang}");
        b.click_css("dialog [data-role=reply-card]:nth-child(1) [data-action=remove-reply]")
            .await;
        b.click_css("dialog [data-field=reply_mode] label:nth-of-type(1)")
            .await;
        b.click_css("dialog [type=submit]").await;
        b.wait_gone("dialog[open]").await;
        let rules = list(
            &app,
            &format!("/wechat/wxautoreplies/list?account_id={account}"),
        )
        .await;
        assert_eq!(rules[0]["reply_mode"], 0);
        assert_eq!(rules[0]["more_replies"].as_array().unwrap().len(), 1);
        assert_eq!(rules[0]["more_replies"][0]["content"], "下签");
        assert_no_page_errors(&b, "rules").await;
        b.quit().await;
    }
}
