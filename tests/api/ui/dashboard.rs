//! The dashboard's charts.

use reqwest::StatusCode;
use serde_json::json;

use super::{
    assert_fits_phone, assert_no_page_errors, browser, open, pick_account, screenshot_path, sign_in,
};
use crate::helpers::TestApp;

#[tokio::test]
async fn dashboard_charts_show_an_accounts_messages_follows_and_who_answered() {
    use crate::wechat::Peer;
    const APP_ID: &str = "wxuicharts000001";
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, APP_ID, 2).await;
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 1, "content": "感谢关注"}))
        .await;
    app.seed(&peer.account_id)
        .rule(json!({"keyword": "营业时间", "match_type": 1, "content": "每天 9:00–21:00"}))
        .await;
    let now = chrono::Utc::now().timestamp();
    for (n, fan) in ["o_chart_1", "o_chart_2", "o_chart_3"].iter().enumerate() {
        let answer = peer
            .send(&app, &peer.event(fan, "subscribe", "", now - 10 + n as i64))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let answer = peer
        .send(&app, &peer.event("o_chart_3", "unsubscribe", "", now))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    for (n, text) in ["营业时间", "营业时间", "你好"].iter().enumerate() {
        let answer = peer
            .send(&app, &peer.text("o_chart_1", text, 990_000 + n as i64))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let other = app.add_account("wxuicharts000002").await;

    let b = browser().await;
    sign_in(&b, &app).await;
    // All accounts: the charts of every account together.
    open(&b, &app, "/dashboard").await;
    b.wait_for("[data-role=charts][data-scope=all] [data-role=messages-chart] svg rect")
        .await;
    assert!(b
        .text("[data-role=charts-scope]")
        .await
        .contains("all accounts"));
    let rules = b.text("[data-role=top-rules]").await;
    assert!(
        rules.contains("“营业时间” · ") && rules.contains("2×"),
        "{rules}"
    );
    pick_account(&b, &peer.account_id).await;
    b.wait_for("[data-role=messages-chart] svg rect").await;
    // 14 days of received and sent bars, today's being 3 received (texts;
    // events count too) and the replies sent.
    let bars = b
        .js(
            "return document.querySelectorAll('[data-role=messages-chart] svg rect').length",
            vec![],
        )
        .await;
    assert_eq!(bars, 28);
    let today = b
        .js(
            "const rects = [...document.querySelectorAll('[data-role=messages-chart] svg rect')].slice(-2);
             return rects.map((r) => [r.dataset.series, Number(r.dataset.value)]);",
            vec![],
        )
        .await;
    assert_eq!(today, json!([["received", 7], ["sent", 5]]), "{today}");
    let title = b
        .js(
            "return document.querySelector('[data-role=messages-chart] svg title').textContent",
            vec![],
        )
        .await;
    let title = title.as_str().unwrap();
    assert!(title.contains("Messages per day"), "{title}");
    assert_eq!(
        b.js(
            "return document.querySelector('[data-role=messages-chart] svg').getAttribute('role')",
            vec![]
        )
        .await,
        "img"
    );
    let fans = b
        .js(
            "return [...document.querySelectorAll('[data-role=fans-chart] svg rect')].slice(-2).map((r) => [r.dataset.series, Number(r.dataset.value)])",
            vec![],
        )
        .await;
    assert_eq!(fans, json!([["followed", 3], ["unfollowed", 1]]));
    // The rules that answered, not the fans' texts ("你好" got the default reply).
    let rules = b.text("[data-role=top-rules]").await;
    assert!(
        rules.contains("“营业时间”") && rules.contains("2×") && !rules.contains("你好"),
        "{rules}"
    );
    let answered = b.text("[data-role=answered-by]").await;
    assert!(
        answered.contains("keyword rule") && answered.contains("follow reply"),
        "{answered}"
    );
    assert!(b
        .text("[data-role=plugin-figures]")
        .await
        .contains("No plugin answered or failed"));
    b.screenshot(&screenshot_path("dashboard-charts")).await;

    // Who answered shows in the conversation too.
    open(
        &b,
        &app,
        &format!(
            "/wechat/wxmessages?openid=o_chart_1&account_id={}",
            peer.account_id
        ),
    )
    .await;
    b.wait_for(".chat .answered-by").await;
    let who = b
        .js(
            "return [...document.querySelectorAll('.chat .answered-by')].map((e) => e.textContent)",
            vec![],
        )
        .await;
    assert!(
        who.as_array().unwrap().iter().any(|w| w == "keyword rule"),
        "{who}"
    );
    assert!(
        who.as_array().unwrap().iter().any(|w| w == "follow reply"),
        "{who}"
    );
    b.screenshot(&screenshot_path("conversation-answered-by"))
        .await;

    // An account without messages draws empty charts, without errors.
    pick_account(&b, &other).await;
    open(&b, &app, "/dashboard").await;
    b.wait_for("[data-role=messages-chart] svg").await;
    b.wait_for("[data-role=fans-chart] svg").await;
    assert!(b
        .text(".dash-charts")
        .await
        .contains("No auto-reply rule answered"));

    // At phone width the charts are redrawn to fit.
    pick_account(&b, &peer.account_id).await;
    b.emulate_width(375, 812).await;
    open(&b, &app, "/dashboard").await;
    b.wait_for("[data-role=fans-chart] svg rect").await;
    assert_fits_phone(&b, "dashboard charts").await;
    let chart_width = b
        .js("return document.querySelector('[data-role=messages-chart] svg').getBoundingClientRect().width", vec![])
        .await;
    assert!(chart_width.as_f64().unwrap() <= 375.0, "{chart_width}");
    assert_no_page_errors(&b, "dashboard charts").await;
    b.quit().await;
}
