//! Plugin WeChat actions: `wechat::send_text`, `send_template`, `tag`,
//! `untag` and `set_remark` are queued as jobs and reach our fake WeChat
//! after the reply, recorded with the plugin as their author; the 48-hour
//! rule is checked, and a plugin beyond its per-minute budget is refused.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use wxmp::dev::fake_wechat::{FakeWeChat, Recorded};

use crate::helpers::TestApp;
use crate::wechat::Peer;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

const CRM: &str = r#"
const PLUGIN = #{
    name: "crm",
    priority: 250,
    messages: ["text"],
    settings: [#{ name: "sign", type: "string", "default": "crm" }],
};
fn on_message(msg, ctx) {
    let c = msg.content;
    let me = ctx.fan.openid;
    if c == "hi" {
        wechat::send_text(me, "hello from crm");
        wechat::tag(me, 101);
        wechat::set_remark(me, "VIP");
        wechat::send_template(me, "TPL_ORDER", #{ first: "您好", keyword1: "A1", remark: "谢谢" }, "https://example.com/o/1");
        return "queued";
    }
    if c == "untag" { wechat::untag(me, 101); return "untagged"; }
    if c == "late" { wechat::send_text("o_gone", "too late"); return "late"; }
    if c == "burst" {
        try {
            for i in 0..10 { wechat::send_text(me, `n${i}`); }
            return "ten";
        } catch (e) { return `refused: ${e}`; }
    }
    if c == "bad" {
        try { wechat::tag(me, "vip"); } catch (e) { return `refused: ${e}`; }
    }
    if c == "fail" { wechat::send_text(me, "never"); throw "boom"; }
    if c == "later" { schedule(5, "nudge", #{ text: "a reminder" }); return "scheduled"; }
}
fn on_timer(name, data, ctx) {
    wechat::send_text(ctx.fan.openid, `${data.text} (${settings().sign})`);
}
"#;

async fn crm_app(app_id: &str) -> (TestApp, FakeWeChat, Peer) {
    let fake = FakeWeChat::new(&[(app_id, SECRET)]);
    let addr = fake.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let app = TestApp::spawn_with(|config| config.wechat_api_base = format!("http://{addr}")).await;
    let dir = app.server.state.config.plugins_dir.clone();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("crm.rhai"), CRM).unwrap();
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");
    let peer = Peer::create(&app, app_id, 0).await;
    app.put(
        "/wechat/wxaccounts/edit",
        json!({"id": peer.account_id, "app_secret": SECRET}),
    )
    .await;
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 3, "content": "default"}))
        .await;
    (app, fake, peer)
}

async fn say(app: &TestApp, peer: &Peer, text: &str) -> String {
    let msg_id = rand::random::<u32>() as i64;
    let answer = peer.send(app, &peer.text("o_crm", text, msg_id)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.reply.map(|r| r.text("Content")).unwrap_or_default()
}

fn calls(fake: &FakeWeChat, path: &str) -> Vec<Value> {
    fake.recorded()
        .iter()
        .filter(|r: &&Recorded| r.path == path)
        .map(|r| serde_json::from_str(&r.body).unwrap_or(Value::Null))
        .collect()
}

/// Waits until the fake has seen `count` calls to `path`.
async fn wait_for(fake: &FakeWeChat, path: &str, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let seen = calls(fake, path);
        if seen.len() >= count {
            return seen;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{path}: {} of {count} calls",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn plugin_jobs_done(app: &TestApp) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let started = Instant::now();
    loop {
        let open = wxmp::entity::jobs::Entity::find()
            .filter(wxmp::entity::jobs::Column::Kind.eq("plugin_action"))
            .filter(wxmp::entity::jobs::Column::Status.ne(wxmp::jobs::DONE))
            .all(&app.server.state.db)
            .await
            .unwrap();
        if open.is_empty() {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{open:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_reach_wechat_after_the_reply_with_the_plugin_as_author() {
    let (app, fake, peer) = crm_app("wxplugact0000001").await;
    let order = json!({"template_id": "TPL_ORDER", "title": "订单通知", "content": "{{first.DATA}}\n订单号：{{keyword1.DATA}}\n{{remark.DATA}}",
                       "example": "", "primary_industry": "", "deputy_industry": ""});
    fake.set_templates("wxplugact0000001", vec![order]);
    let (status, body) = app
        .post(
            "/wechat/wxtemplates/sync",
            json!({"account_id": peer.account_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    assert_eq!(say(&app, &peer, "hi").await, "queued");
    let sent = wait_for(&fake, "/cgi-bin/message/custom/send", 1).await;
    assert_eq!(sent[0]["touser"], "o_crm");
    assert_eq!(sent[0]["text"]["content"], "hello from crm");
    let tagged = wait_for(&fake, "/cgi-bin/tags/members/batchtagging", 1).await;
    assert_eq!(tagged[0], json!({"openid_list": ["o_crm"], "tagid": 101}));
    let remark = wait_for(&fake, "/cgi-bin/user/info/updateremark", 1).await;
    assert_eq!(remark[0], json!({"openid": "o_crm", "remark": "VIP"}));
    let template = wait_for(&fake, "/cgi-bin/message/template/send", 1).await;
    assert_eq!(template[0]["template_id"], "TPL_ORDER");
    assert_eq!(template[0]["data"]["keyword1"]["value"], "A1");
    assert_eq!(template[0]["url"], "https://example.com/o/1");
    plugin_jobs_done(&app).await;

    // The message is stored as the plugin's; the other actions are in the audit trail.
    let (_, conversation) = app
        .get(&format!(
            "/wechat/wxmessages/conversation?account_id={}&openid=o_crm",
            peer.account_id
        ))
        .await;
    let mine: Vec<&Value> = conversation["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["content"] == "hello from crm")
        .collect();
    assert_eq!(mine.len(), 1, "{conversation}");
    assert_eq!(mine[0]["answered_by"], "plugin:crm", "{conversation}");
    let (_, audit) = app.get("/wechat/audit_log/list?page_size=50").await;
    let by_plugin: Vec<&str> = audit["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["admin_name"] == "plugin:crm")
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for action in ["plugin_tag", "plugin_set_remark", "plugin_send_template"] {
        assert!(by_plugin.contains(&action), "{action}: {audit}");
    }
    // The stored fan follows.
    let (_, fans) = app
        .get(&format!(
            "/wechat/wxusers/list?account_id={}&openid=o_crm",
            peer.account_id
        ))
        .await;
    assert_eq!(fans["data"]["list"][0]["remark"], "VIP", "{fans}");
    assert_eq!(fans["data"]["list"][0]["tags"], json!([101]), "{fans}");
    assert_eq!(say(&app, &peer, "untag").await, "untagged");
    let untagged = wait_for(&fake, "/cgi-bin/tags/members/batchuntagging", 1).await;
    assert_eq!(untagged[0]["tagid"], 101);

    // A failing call queues nothing; a wrong type is a clear error.
    assert_eq!(say(&app, &peer, "fail").await, "default");
    let bad = say(&app, &peer, "bad").await;
    assert!(bad.contains("wechat::tag: takes (openid, tag_id)"), "{bad}");

    // A dry run lists the actions it would queue and queues none.
    let before = fake.recorded().len();
    let (status, dry) = app
        .post(
            "/wechat/plugins/test",
            json!({"account_id": peer.account_id, "plugin": "crm", "text": "untag"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["data"]["actions"][0]["action"], "untag", "{dry}");
    assert_eq!(dry["data"]["actions"][0]["params"]["tag_id"], 101, "{dry}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.recorded().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_48_hour_rule_and_the_per_minute_budget_hold() {
    let (app, fake, peer) = crm_app("wxplugact0000002").await;
    // A fan who last wrote three days ago is not messaged.
    let fan = app
        .seed(&peer.account_id)
        .fan(json!({"openid": "o_gone", "last_interact_time": (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339()}))
        .await;
    assert!(fan["id"].is_string(), "{fan}");
    assert_eq!(say(&app, &peer, "late").await, "late");
    plugin_jobs_done(&app).await;
    assert!(calls(&fake, "/cgi-bin/message/custom/send").is_empty());

    // 20 actions a minute ("late" queued one already): the 21st is refused;
    // the call catches it, so the nine before it in that call are queued.
    assert_eq!(say(&app, &peer, "burst").await, "ten");
    let over = say(&app, &peer, "burst").await;
    assert!(
        over.contains("budget of 20 WeChat actions a minute"),
        "{over}"
    );
    wait_for(&fake, "/cgi-bin/message/custom/send", 19).await;
    plugin_jobs_done(&app).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(calls(&fake, "/cgi-bin/message/custom/send").len(), 19);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_sends_a_message_later_with_the_accounts_settings() {
    let (app, fake, peer) = crm_app("wxplugact0000003").await;
    let (status, body) = app
        .put(
            "/wechat/plugins/settings",
            json!({"plugin": "crm", "account_id": peer.account_id, "values": {"sign": "小店"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(say(&app, &peer, "later").await, "scheduled");
    assert!(calls(&fake, "/cgi-bin/message/custom/send").is_empty());
    let sent = wait_for(&fake, "/cgi-bin/message/custom/send", 1).await;
    assert_eq!(sent[0]["touser"], "o_crm");
    assert_eq!(sent[0]["text"]["content"], "a reminder (小店)");
}
