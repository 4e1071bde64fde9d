//! The WeChat callback over HTTP: every mode, every message type, fans,
//! retries, bad input, the deadline and the handler chain.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::helpers::TestApp;
use crate::wechat::{Peer, TOKEN};
use reqwest::StatusCode;
use serde_json::{json, Value};
use wxmp::callback::chain::{Context, Handler, HandlerFuture, Outcome};
use wxmp::wechat::{signature, Reply};

async fn messages(app: &TestApp, account_id: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!(
            "/wechat/wxmessages/list?account_id={account_id}&page_size=100"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["list"].as_array().unwrap().clone()
}

async fn fan(app: &TestApp, account_id: &str, openid: &str) -> Value {
    let (_, body) = app
        .get(&format!(
            "/wechat/wxusers/list?account_id={account_id}&openid={openid}"
        ))
        .await;
    assert_eq!(body["data"]["total"], 1, "fan {openid}: {body}");
    body["data"]["list"][0].clone()
}

#[tokio::test]
async fn url_verification_echoes_only_on_a_valid_signature() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxverify00000001", 0).await;
    let now = chrono::Utc::now().timestamp().to_string();
    let good = signature::sign(&[TOKEN, &now, "n1"]);
    for path in [
        format!("/wechat/official_account/callback/{}", peer.app_id),
        "/wechat/official_account/callback".into(),
    ] {
        let response = app
            .client
            .get(app.url(&format!(
                "{path}?signature={good}&timestamp={now}&nonce=n1&echostr=hello-echo"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().await.unwrap(), "hello-echo");
        let response = app
            .client
            .get(app.url(&format!(
                "{path}?signature=0000&timestamp={now}&nonce=n1&echostr=hello-echo"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(!response.text().await.unwrap().contains("hello-echo"));
    }
    let old = (chrono::Utc::now().timestamp() - 3600).to_string();
    let stale = signature::sign(&[TOKEN, &old, "n1"]);
    let response = app
        .client
        .get(app.url(&format!("/wechat/official_account/callback/{}?signature={stale}&timestamp={old}&nonce=n1&echostr=x", peer.app_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.text().await.unwrap().contains("replay"));
}

#[tokio::test]
async fn every_mode_replies_in_its_own_form() {
    let app = TestApp::spawn().await;
    for (mode, app_id) in [
        (0, "wxmodeplain00001"),
        (1, "wxmodecompat0001"),
        (2, "wxmodeaes0000001"),
    ] {
        let peer = Peer::create(&app, app_id, mode).await;
        app.seed(&peer.account_id)
            .rule(json!({"keyword": "你好", "match_type": 1, "content": "欢迎 ]]> 🎉"}))
            .await;
        let answer = peer
            .send(&app, &peer.text("o_fan", "你好", 1000 + i64::from(mode)))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "mode {mode}: {}",
            answer.body
        );
        let reply = answer
            .reply
            .unwrap_or_else(|| panic!("mode {mode}: no reply: {}", answer.body));
        assert_eq!(reply.get("Content"), Some("欢迎 ]]> 🎉"), "mode {mode}");
        assert_eq!(reply.get("ToUserName"), Some("o_fan"));
        assert_eq!(reply.get("FromUserName"), Some(peer.original_id.as_str()));
        assert_eq!(
            answer.encrypted,
            mode != 0,
            "mode {mode}: encrypted reply iff the request was"
        );
        if mode == 1 {
            // Compatible mode, plaintext request: plaintext reply.
            let answer = peer
                .send_as(&app, &peer.text("o_fan", "你好", 1100), false, true)
                .await;
            assert!(!answer.encrypted);
            assert_eq!(answer.reply.unwrap().get("Content"), Some("欢迎 ]]> 🎉"));
        }
        if mode == 2 {
            // AES mode requires encryption.
            let answer = peer
                .send_as(&app, &peer.text("o_fan", "你好", 1200), false, true)
                .await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        }
        // Found by ToUserName without the app id in the URL.
        let answer = peer
            .send_as(&app, &peer.text("o_fan", "你好", 1300), mode != 0, false)
            .await;
        assert_eq!(
            answer.reply.unwrap().get("Content"),
            Some("欢迎 ]]> 🎉"),
            "mode {mode} by ToUserName"
        );

        let stored = messages(&app, &peer.account_id).await;
        let reply_row = stored
            .iter()
            .find(|m| m["direction"] == 0)
            .expect("reply stored");
        assert_eq!(reply_row["is_auto_reply"], 1);
        assert_eq!(reply_row["content"], "欢迎 ]]> 🎉");
        let answered = stored
            .iter()
            .find(|m| m["id"] == reply_row["reply_to"])
            .expect("reply_to names the message");
        assert_eq!(answered["direction"], 1);
    }
}

#[tokio::test]
async fn every_message_type_and_event_is_stored_with_its_fields() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxtypes000000001", 2).await;
    let o = "o_types";
    let sends = [
        peer.message(o, "<MsgType>text</MsgType><Content>文字 😀</Content><MsgId>1</MsgId>"),
        peer.message(o, "<MsgType>image</MsgType><PicUrl>http://mmbiz.qpic.cn/x.jpg</PicUrl><MediaId>IMG</MediaId><MsgId>2</MsgId>"),
        peer.message(o, "<MsgType>voice</MsgType><MediaId>VOI</MediaId><Format>amr</Format><Recognition>语音识别</Recognition><MsgId>3</MsgId>"),
        peer.message(o, "<MsgType>video</MsgType><MediaId>VID</MediaId><ThumbMediaId>TH</ThumbMediaId><MsgId>4</MsgId>"),
        peer.message(o, "<MsgType>shortvideo</MsgType><MediaId>SV</MediaId><ThumbMediaId>TH2</ThumbMediaId><MsgId>5</MsgId>"),
        peer.message(o, "<MsgType>location</MsgType><Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label>广州塔</Label><MsgId>6</MsgId>"),
        peer.message(o, "<MsgType>link</MsgType><Title>标题</Title><Description>描述</Description><Url>https://example.com/a</Url><MsgId>7</MsgId>"),
        peer.message(o, "<MsgType>hologram</MsgType><Depth>3</Depth><MsgId>8</MsgId>"),
        peer.event(o, "subscribe", "qrscene_777", 1_700_000_001),
        peer.event(o, "SCAN", "777", 1_700_000_002),
        peer.message(o, "<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>23.1</Latitude><Longitude>113.3</Longitude><Precision>119.4</Precision>"),
        peer.event(o, "CLICK", "MENU_KEY", 1_700_000_003),
        peer.event(o, "VIEW", "https://example.com/menu", 1_700_000_004),
        peer.message(o, "<MsgType>event</MsgType><Event>scancode_push</Event><EventKey>SC</EventKey><ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>R</ScanResult></ScanCodeInfo>"),
        peer.message(o, "<MsgType>event</MsgType><Event>pic_sysphoto</Event><EventKey>PIC</EventKey><SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum>md5</PicMd5Sum></item></PicList></SendPicsInfo>"),
        peer.message(o, "<MsgType>event</MsgType><Event>location_select</Event><EventKey>LS</EventKey><SendLocationInfo><Location_X>23</Location_X><Location_Y>113</Location_Y><Scale>15</Scale><Label>地点</Label><Poiname></Poiname></SendLocationInfo>"),
        peer.event(o, "view_miniprogram", "pages/index", 1_700_000_005),
        peer.message(o, "<MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><MsgID>200163836</MsgID><Status>success</Status>"),
        peer.message(o, "<MsgType>event</MsgType><Event>MASSSENDJOBFINISH</Event><MsgID>1000001625</MsgID><Status>send success</Status><TotalCount>100</TotalCount>"),
        peer.event(o, "weapp_audit_success", "", 1_700_000_006),
        peer.event(o, "unsubscribe", "", 1_700_000_007),
    ];
    for (n, message) in sends.iter().enumerate() {
        let answer = peer.send(&app, message).await;
        assert_eq!(answer.status, StatusCode::OK, "#{n}: {}", answer.body);
    }
    let stored = messages(&app, &peer.account_id).await;
    assert_eq!(stored.len(), sends.len(), "one row per message, none lost");
    let by = |f: &dyn Fn(&Value) -> bool| stored.iter().find(|m| f(m)).cloned().expect("stored");
    let text = by(&|m| m["msg_type"] == "text");
    assert_eq!(text["content"], "文字 😀");
    assert_eq!(text["msg_id"], "1");
    assert_eq!(text["openid"], o);
    assert!(text["raw_xml"]
        .as_str()
        .unwrap()
        .contains("<MsgType>text</MsgType>"));
    let image = by(&|m| m["msg_type"] == "image");
    assert_eq!(image["pic_url"], "http://mmbiz.qpic.cn/x.jpg");
    assert_eq!(image["media_id"], "IMG");
    let voice = by(&|m| m["msg_type"] == "voice");
    assert_eq!(
        (voice["format"].as_str(), voice["recognition"].as_str()),
        (Some("amr"), Some("语音识别"))
    );
    assert_eq!(by(&|m| m["msg_type"] == "video")["thumb_media_id"], "TH");
    assert_eq!(by(&|m| m["msg_type"] == "shortvideo")["media_id"], "SV");
    let location = by(&|m| m["msg_type"] == "location");
    assert_eq!(location["label"], "广州塔");
    assert!((location["location_x"].as_f64().unwrap() - 23.134521).abs() < 1e-9);
    assert_eq!(location["scale"], 20);
    let link = by(&|m| m["msg_type"] == "link");
    assert_eq!(
        (link["link_title"].as_str(), link["link_url"].as_str()),
        (Some("标题"), Some("https://example.com/a"))
    );
    assert!(by(&|m| m["msg_type"] == "hologram")["raw_xml"]
        .as_str()
        .unwrap()
        .contains("<Depth>3</Depth>"));
    let events: Vec<(String, String)> = stored
        .iter()
        .filter(|m| m["msg_type"] == "event")
        .map(|m| {
            (
                m["event_type"].as_str().unwrap().to_string(),
                m["event_key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (event, key) in [
        ("subscribe", "qrscene_777"),
        ("SCAN", "777"),
        ("LOCATION", ""),
        ("CLICK", "MENU_KEY"),
        ("VIEW", "https://example.com/menu"),
        ("scancode_push", "SC"),
        ("pic_sysphoto", "PIC"),
        ("location_select", "LS"),
        ("view_miniprogram", "pages/index"),
        ("TEMPLATESENDJOBFINISH", ""),
        ("MASSSENDJOBFINISH", ""),
        ("weapp_audit_success", ""),
        ("unsubscribe", ""),
    ] {
        assert!(
            events.contains(&(event.into(), key.into())),
            "{event} {key} in {events:?}"
        );
    }
    let located = by(&|m| m["event_type"] == "LOCATION");
    assert!((located["location_x"].as_f64().unwrap() - 23.1).abs() < 1e-9);
    let selected = by(&|m| m["event_type"] == "location_select");
    assert_eq!(selected["label"], "地点");
}

#[tokio::test]
async fn fans_are_created_and_kept_up_to_date() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxfans000000001", 0).await;
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 1, "content": "感谢关注"}))
        .await;
    let answer = peer
        .send(
            &app,
            &peer.event("o_new", "subscribe", "qrscene_spring", 1_700_000_100),
        )
        .await;
    assert_eq!(
        answer.reply.expect("follow reply").get("Content"),
        Some("感谢关注")
    );
    let fan_row = fan(&app, &peer.account_id, "o_new").await;
    assert_eq!(fan_row["subscribe_status"], 1);
    assert_eq!(fan_row["qr_scene"], "spring");
    assert_eq!(fan_row["subscribe_scene"], "ADD_SCENE_QR_CODE");
    assert!(fan_row["subscribe_time"].is_string());
    for n in 0..3 {
        peer.send(&app, &peer.text("o_new", "hi", 5000 + n)).await;
    }
    let fan_row = fan(&app, &peer.account_id, "o_new").await;
    assert_eq!(fan_row["message_count"], 4, "subscribe + 3 texts");
    assert!(fan_row["last_interact_time"].is_string());
    peer.send(&app, &peer.event("o_new", "unsubscribe", "", 1_700_000_200))
        .await;
    let fan_row = fan(&app, &peer.account_id, "o_new").await;
    assert_eq!(fan_row["subscribe_status"], 0);
    assert!(fan_row["unsubscribe_time"].is_string());
    assert_eq!(fan_row["message_count"], 4, "leaving is not an interaction");
    // A fan first seen through a message is created as a follower.
    peer.send(&app, &peer.text("o_unknown", "hello", 6000))
        .await;
    assert_eq!(
        fan(&app, &peer.account_id, "o_unknown").await["message_count"],
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_retries_store_once_and_get_the_same_reply() {
    let app = Arc::new(TestApp::spawn().await);
    let peer = Peer::create(&app, "wxretry00000001", 2).await;
    app.seed(&peer.account_id)
        .rule(json!({"keyword": "retry", "content": "只回复一次"}))
        .await;
    let message = peer.text("o_retry", "retry", 424242);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (app, peer, message) = (app.clone(), peer.clone(), message.clone());
        tasks.spawn(async move { peer.send(&app, &message).await });
    }
    let mut contents = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        let answer = answer.unwrap();
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let reply = answer.reply.expect("every retry gets the reply");
        contents.push((reply.text("Content"), reply.text("CreateTime")));
    }
    assert!(
        contents.iter().all(|c| c == &contents[0]),
        "identical replies: {contents:?}"
    );
    let stored = messages(&app, &peer.account_id).await;
    assert_eq!(
        stored.iter().filter(|m| m["direction"] == 1).count(),
        1,
        "stored once"
    );
    assert_eq!(
        stored.iter().filter(|m| m["direction"] == 0).count(),
        1,
        "answered once"
    );
    assert_eq!(
        fan(&app, &peer.account_id, "o_retry").await["message_count"],
        1
    );
    // A retry after the first attempt finished is answered from the database.
    let again = peer.send(&app, &message).await;
    assert_eq!(again.reply.unwrap().text("Content"), "只回复一次");
    assert_eq!(messages(&app, &peer.account_id).await.len(), 2);
    // Events are deduplicated by sender, time, event and key.
    let event = peer.event("o_retry", "CLICK", "K", 1_700_000_300);
    peer.send(&app, &event).await;
    peer.send(&app, &event).await;
    assert_eq!(messages(&app, &peer.account_id).await.len(), 3);
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxbadinput000001", 2).await;
    let base = app.url(&format!(
        "/wechat/official_account/callback/{}",
        peer.app_id
    ));
    let now = chrono::Utc::now().timestamp().to_string();
    let signed = |timestamp: &str, nonce: &str| {
        format!(
            "{base}?signature={}&timestamp={timestamp}&nonce={nonce}",
            signature::sign(&[TOKEN, timestamp, nonce])
        )
    };
    let encrypted_body = |encrypt: &str| {
        let msg_signature = signature::sign(&[TOKEN, &now, "n", encrypt]);
        (
            format!(
                "{}&encrypt_type=aes&msg_signature={msg_signature}",
                signed(&now, "n")
            ),
            format!(
                "<xml><ToUserName>{}</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
                peer.original_id
            ),
        )
    };
    let other_app =
        wxmp::wechat::MessageCrypto::new(crate::wechat::AES_KEY, "wxsomeoneelse").unwrap();
    let text = peer.text("o_bad", "hi", 1);
    let old = (chrono::Utc::now().timestamp() - 3600).to_string();
    let cases: Vec<(&str, String, String, StatusCode, &str)> = vec![
        (
            "no signature",
            format!("{base}?timestamp={now}&nonce=n"),
            text.clone(),
            StatusCode::UNAUTHORIZED,
            "signature",
        ),
        (
            "wrong signature",
            format!("{base}?signature=abc&timestamp={now}&nonce=n"),
            text.clone(),
            StatusCode::UNAUTHORIZED,
            "signature",
        ),
        (
            "stale",
            signed(&old, "n"),
            text.clone(),
            StatusCode::UNAUTHORIZED,
            "replay",
        ),
        (
            "no msg_signature",
            signed(&now, "n"),
            encrypted_body(&peer.crypto.encrypt(&text)).1,
            StatusCode::UNAUTHORIZED,
            "msg_signature",
        ),
        (
            "bad msg_signature",
            format!("{}&msg_signature=00", signed(&now, "n")),
            encrypted_body(&peer.crypto.encrypt(&text)).1,
            StatusCode::UNAUTHORIZED,
            "msg_signature",
        ),
        (
            "broken XML",
            signed(&now, "n"),
            "<xml><ToUserName>".into(),
            StatusCode::BAD_REQUEST,
            "XML",
        ),
        (
            "DOCTYPE",
            signed(&now, "n"),
            "<!DOCTYPE x [<!ENTITY a \"b\">]><xml><A>&a;</A></xml>".into(),
            StatusCode::BAD_REQUEST,
            "DOCTYPE",
        ),
        (
            "bad base64",
            encrypted_body("%%%not-base64%%%").0,
            encrypted_body("%%%not-base64%%%").1,
            StatusCode::BAD_REQUEST,
            "base64",
        ),
        (
            "bad length",
            encrypted_body("AAAAAAAAAAAAAA==").0,
            encrypted_body("AAAAAAAAAAAAAA==").1,
            StatusCode::BAD_REQUEST,
            "multiple of 16",
        ),
        {
            let (url, body) = encrypted_body(&other_app.encrypt(&text));
            ("wrong AppID", url, body, StatusCode::BAD_REQUEST, "AppID")
        },
        (
            "plaintext in AES mode",
            signed(&now, "n"),
            text.clone(),
            StatusCode::BAD_REQUEST,
            "AES mode",
        ),
        (
            "too large",
            signed(&now, "n"),
            format!("<xml>{}</xml>", "x".repeat(70 * 1024)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger",
        ),
    ];
    // Bad padding: 32 random bytes decrypt to garbage whose last byte is not a pad.
    let garbage = "kGd0R2VmOp5yH9wUt0bqW9l8uXq3Xx8kzY9s1Yb2c4A=";
    let (url, body) = encrypted_body(garbage);
    let mut cases = cases;
    cases.push((
        "bad padding or length",
        url,
        body,
        StatusCode::BAD_REQUEST,
        "decrypt",
    ));
    for (name, url, body, expected, needle) in cases {
        let response = app.client.post(&url).body(body).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, expected, "{name}: {text}");
        assert!(
            text.contains(needle),
            "{name}: expected {needle:?} in {text}"
        );
    }
    let response = app
        .client
        .post(app.url("/wechat/official_account/callback/wxnobody"))
        .body(text.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .client
        .post(app.url("/wechat/official_account/callback"))
        .body("<xml><ToUserName>gh_nobody</ToUserName></xml>")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        messages(&app, &peer.account_id).await.is_empty(),
        "nothing stored"
    );
    let (_, fans) = app
        .get(&format!(
            "/wechat/wxusers/list?account_id={}",
            peer.account_id
        ))
        .await;
    assert_eq!(fans["data"]["total"], 0);
}

/// A handler that answers after `delay` with `text`, for chain tests.
struct Scripted {
    name: &'static str,
    priority: i32,
    delay: Duration,
    text: &'static str,
}

impl Handler for Scripted {
    fn name(&self) -> &str {
        self.name
    }
    fn priority(&self) -> i32 {
        self.priority
    }
    fn handle(&self, ctx: Arc<Context>) -> HandlerFuture {
        let (delay, text) = (self.delay, self.text);
        let content = match &ctx.message.kind {
            wxmp::wechat::MessageKind::Text { content } => content.clone(),
            _ => String::new(),
        };
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            if content.contains("pass") {
                Outcome::Continue
            } else {
                Outcome::Reply(Reply::Text {
                    content: text.into(),
                })
            }
        })
    }
}

#[tokio::test]
async fn a_slow_handler_is_abandoned_at_the_deadline() {
    let app = TestApp::spawn_with(|config| config.callback_deadline_ms = 1000).await;
    let peer = Peer::create(&app, "wxslow000000001", 0).await;
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 3, "content": "默认回复"}))
        .await;
    app.server.state.chain.register(Arc::new(Scripted {
        name: "slow",
        priority: 1000,
        delay: Duration::from_secs(30),
        text: "too late",
    }));
    let started = Instant::now();
    let answer = peer.send(&app, &peer.text("o_slow", "anything", 77)).await;
    let took = started.elapsed();
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.reply.expect("the default reply").get("Content"),
        Some("默认回复")
    );
    assert!(
        took < Duration::from_secs(3),
        "answered at the deadline, not after the handler: {took:?}"
    );
    let (status, _) = app.send(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_chain_runs_by_priority() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxchain00000001", 0).await;
    app.seed(&peer.account_id)
        .rule(json!({"keyword": "menu", "match_type": 2, "content": "from keyword"}))
        .await;
    app.seed(&peer.account_id)
        .rule(json!({"keyword": "CLICK_KEY", "content": "from click"}))
        .await;
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 3, "content": "from default"}))
        .await;
    let content = |answer: crate::wechat::Answer| answer.reply.map(|r| r.text("Content"));
    assert_eq!(
        content(peer.send(&app, &peer.text("o", "menu", 1)).await).as_deref(),
        Some("from keyword")
    );
    assert_eq!(
        content(
            peer.send(&app, &peer.event("o", "CLICK", "CLICK_KEY", 1_700_000_000))
                .await
        )
        .as_deref(),
        Some("from click")
    );
    assert_eq!(
        content(peer.send(&app, &peer.text("o", "other", 2)).await).as_deref(),
        Some("from default")
    );
    // No rule answers a voice message: `success`.
    let answer = peer
        .send(
            &app,
            &peer.message(
                "o",
                "<MsgType>voice</MsgType><MediaId>m</MediaId><MsgId>3</MsgId>",
            ),
        )
        .await;
    assert_eq!(answer.body, "success");

    // Below the keyword rules: keywords still win, the handler beats the default.
    app.server.state.chain.register(Arc::new(Scripted {
        name: "low",
        priority: 100,
        delay: Duration::ZERO,
        text: "from low",
    }));
    assert_eq!(
        content(peer.send(&app, &peer.text("o", "menu", 4)).await).as_deref(),
        Some("from keyword")
    );
    assert_eq!(
        content(peer.send(&app, &peer.text("o", "other", 5)).await).as_deref(),
        Some("from low")
    );
    // Above them: it answers first; passing on reaches the keyword rules.
    app.server.state.chain.register(Arc::new(Scripted {
        name: "high",
        priority: 250,
        delay: Duration::ZERO,
        text: "from high",
    }));
    assert_eq!(
        content(peer.send(&app, &peer.text("o", "menu", 6)).await).as_deref(),
        Some("from high")
    );
    assert_eq!(
        content(peer.send(&app, &peer.text("o", "pass menu", 7)).await).as_deref(),
        Some("from keyword")
    );
    app.server.state.chain.unregister("high");
    app.server.state.chain.unregister("low");

    // Editing a rule takes effect at once (the cache is refreshed).
    let (_, rules) = app
        .get(&format!(
            "/wechat/wxautoreplies/list?account_id={}&keyword=menu",
            peer.account_id
        ))
        .await;
    let rule_id = rules["data"]["list"][0]["id"].as_str().unwrap().to_string();
    app.put(
        "/wechat/wxautoreplies/edit",
        json!({"id": rule_id, "content": "edited"}),
    )
    .await;
    assert_eq!(
        content(peer.send(&app, &peer.text("o", "menu", 8)).await).as_deref(),
        Some("edited")
    );
    app.put(
        "/wechat/wxautoreplies/edit",
        json!({"id": rule_id, "status": 0}),
    )
    .await;
    assert_eq!(
        content(peer.send(&app, &peer.text("o", "menu", 9)).await).as_deref(),
        Some("from default")
    );
}

#[tokio::test]
async fn a_message_that_cannot_be_stored_is_answered_with_5xx() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxdbdown0000001", 0).await;
    // Warm the account cache, then take the database away.
    assert_eq!(
        peer.send(&app, &peer.text("o", "first", 1)).await.status,
        StatusCode::OK
    );
    app.server.state.db.clone().close().await.unwrap();
    let answer = peer.send(&app, &peer.text("o", "second", 2)).await;
    assert!(
        answer.status.is_server_error(),
        "{}: {}",
        answer.status,
        answer.body
    );
    assert_ne!(answer.body, "success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wxmp_simulate_sends_and_prints_the_decrypted_reply() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxsimulate000001", 2).await;
    app.seed(&peer.account_id)
        .rule(json!({"keyword": "试试", "content": "模拟成功"}))
        .await;
    let server = format!("http://{}", app.server.addr);
    let args = [
        "simulate",
        "--url",
        &server,
        "--app-id",
        &peer.app_id,
        "--token",
        TOKEN,
        "--aes-key",
        crate::wechat::AES_KEY,
        "--mode",
        "2",
        "--original-id",
        &peer.original_id,
        "--text",
        "试试",
    ]
    .map(String::from);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_wxmp"))
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("encrypted reply, verified and decrypted"),
        "{stdout}"
    );
    assert!(stdout.contains("模拟成功"), "{stdout}");
}

#[tokio::test]
async fn replies_say_who_answered_and_the_dashboard_counts_them() {
    let app = TestApp::spawn().await;
    let peer = Peer::create(&app, "wxdashboard00001", 0).await;
    app.seed(&peer.account_id)
        .rule(json!({"keyword": "价格", "match_type": 2, "content": "99 元"}))
        .await;
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 1, "content": "欢迎"}))
        .await;
    peer.send(&app, &peer.event("o_a", "subscribe", "", 1_700_000_000))
        .await;
    peer.send(&app, &peer.text("o_a", "价格多少", 1)).await;
    peer.send(&app, &peer.text("o_b", "价格多少", 2)).await;
    peer.send(&app, &peer.text("o_b", "随便", 3)).await;
    peer.send(&app, &peer.event("o_b", "unsubscribe", "", 1_700_000_001))
        .await;
    let stored = messages(&app, &peer.account_id).await;
    let follow = stored.iter().find(|m| m["content"] == "欢迎").unwrap();
    assert_eq!(follow["answered_by"], "builtin:follow");
    assert!(stored
        .iter()
        .filter(|m| m["content"] == "99 元")
        .all(|m| m["answered_by"] == "builtin:keyword"));

    let (status, body) = app
        .get(&format!(
            "/wechat/dashboard/stats?account_id={}&days=7",
            peer.account_id
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let days = body["data"]["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    let today = days.last().unwrap();
    assert_eq!(
        (today["received"].as_u64(), today["sent"].as_u64()),
        (Some(5), Some(3))
    );
    assert_eq!(
        (today["followed"].as_u64(), today["unfollowed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(body["data"]["top_rules"][0]["keyword"], "价格");
    assert_eq!(body["data"]["top_rules"][0]["hits"], 2);
    assert_eq!(
        body["data"]["answered_by"][0],
        json!({"handler": "builtin:keyword", "replies": 2})
    );
    assert_eq!(body["data"]["subscribed_fans"], 1);
    let (status, _) = app
        .get(&format!(
            "/wechat/dashboard/stats?account_id={}&days=900",
            peer.account_id
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_nul_character_is_refused_alike_on_every_engine_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    for (mode, app_id) in [(0, "wxnulplain000001"), (2, "wxnulaes00000001")] {
        let peer = Peer::create(&app, app_id, mode).await;
        let answer = peer.send(&app, &peer.text("o_nul", "a\u{0}b", 42)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        assert!(answer.body.contains("U+0000"), "{}", answer.body);
        assert!(messages(&app, &peer.account_id).await.is_empty());
    }
    let account = app.add_account("wxnuladmin000001").await;
    let (status, body) = app
        .post(
            "/wechat/wxautoreplies/add",
            json!({"account_id": account, "reply_type": 2, "keyword": "k\u{0}", "match_type": 1, "content": "c"}),
        )
        .await;
    crate::helpers::assert_field_error(status, &body, "keyword");
    assert!(body["msg"].as_str().unwrap().contains("U+0000"), "{body}");
    let (status, body) = app
        .post(
            "/wechat/wxmaterials/add",
            json!({"account_id": account, "media_type": "news", "articles": [{"title": "\u{0}"}]}),
        )
        .await;
    assert!(status.is_client_error(), "{status}: {body}");
    let (status, body) = app
        .get(&format!(
            "/wechat/wxautoreplies/list?account_id={account}&keyword=%00"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, listed) = app
        .get(&format!("/wechat/wxautoreplies/list?account_id={account}"))
        .await;
    assert_eq!(listed["data"]["total"], 0, "{listed}");
}
