//! `http::get`/`post` from plugins on a running server, against a shop
//! server of the test's own on 127.0.0.1 (listed literally): answers,
//! refusals (unlisted hosts, names that resolve to loopback, redirects off
//! the list, huge answers), a slow host that times out while the fan still
//! gets a reply, and dry runs that answer from fixtures instead.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, StatusCode as AxumStatus};
use axum::routing::{get, post};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_field_error, TestApp};
use crate::wechat::Peer;

/// The shop's own system: orders, an echo, redirects, a huge and a slow answer.
async fn shop_server(hits: Arc<AtomicUsize>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let port = addr.port();
    let app = axum::Router::new()
        .route(
            "/order/{id}",
            get(
                |axum::extract::Path(id): axum::extract::Path<String>, headers: HeaderMap| async move {
                    let token = headers
                        .get("x-shop-token")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("none")
                        .to_string();
                    axum::Json(json!({"id": id, "state": "shipped", "token": token}))
                },
            ),
        )
        .route(
            "/echo",
            post(|headers: HeaderMap, body: String| async move {
                let kind = headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                (AxumStatus::CREATED, format!("{kind} {body}"))
            }),
        )
        .route(
            "/to-localhost",
            get(move || async move {
                (
                    AxumStatus::FOUND,
                    [(header::LOCATION, format!("http://localhost:{port}/order/1"))],
                )
            }),
        )
        .route(
            "/to-private",
            get(|| async { (AxumStatus::FOUND, [(header::LOCATION, "http://10.1.2.3/admin")]) }),
        )
        .route("/to-order", get(|| async { axum::response::Redirect::temporary("/order/9") }))
        .route("/huge", get(|| async { "x".repeat(300 * 1024) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "too late"
            }),
        )
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                hits.fetch_add(1, Ordering::SeqCst);
                next.run(request)
            },
        ));
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Every command fetches a URL of the shop and answers what came back, or
/// why it was refused (scripts catch refusals like any error).
const SHOP: &str = r#"
const PLUGIN = #{ name: "shop", priority: 250, messages: ["text"], http_hosts: ["127.0.0.1"] };
fn fetch(url) {
    try {
        let r = http::get(url, #{ "X-Shop-Token": "abc" });
        if r.ok { let order = json::decode(r.body); return `${r.status} ${order.state} ${order.token} ${r.headers["content-type"]}`; }
        return `${r.status} [${r.body}]`;
    } catch (e) { return `refused: ${e}`; }
}
fn on_message(msg, ctx) {
    let parts = msg.content.split(" ");
    let base = "http://" + parts[1];
    switch parts[0] {
        "order" => fetch(base + "/order/7"),
        "follow" => fetch(base + "/to-order"),
        "redirect" => fetch(base + "/to-localhost"),
        "private" => fetch(base + "/to-private"),
        "huge" => fetch(base + "/huge"),
        "slow" => fetch(base + "/slow"),
        "missing" => fetch(base + "/nothing"),
        "elsewhere" => fetch("http://api.elsewhere.example/order/7"),
        "post" => {
            let r = http::post(base + "/echo", #{ sku: "A1", n: 2 });
            let t = http::post(base + "/echo", "plain words", #{ "Content-Type": "text/x-note" });
            `${r.status} ${r.body} | ${t.body}`
        }
        _ => ()
    }
}
"#;

/// Lists "localhost" by name only: it resolves to loopback, not listed literally.
const NAMED: &str = r#"
const PLUGIN = #{ name: "named", priority: 240, messages: ["text"], http_hosts: ["localhost"] };
fn on_message(msg, ctx) {
    if !msg.content.starts_with("by-name ") { return; }
    try { return http::get(msg.content.sub_string(8)).body; } catch (e) { return `refused: ${e}`; }
}
"#;

async fn shop_app(app_id: &str) -> (TestApp, Peer, std::net::SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let shop = shop_server(hits.clone()).await;
    let app = TestApp::spawn_with(|config| config.plugin_timeout_ms = 1000).await;
    let dir = app.server.state.config.plugins_dir.clone();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("shop.rhai"), SHOP).unwrap();
    std::fs::write(dir.join("named.rhai"), NAMED).unwrap();
    let (_, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(report["data"]["failed"], json!([]), "{report}");
    let peer = Peer::create(&app, app_id, 0).await;
    app.seed(&peer.account_id)
        .rule(json!({"reply_type": 3, "content": "default"}))
        .await;
    (app, peer, shop, hits)
}

async fn say(app: &TestApp, peer: &Peer, text: &str) -> String {
    let msg_id = rand::random::<u32>() as i64;
    let answer = peer.send(app, &peer.text("o_shopper", text, msg_id)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.reply.map(|r| r.text("Content")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_calls_its_listed_host_and_the_hostile_uses_are_refused_by_name() {
    let (app, peer, shop, hits) = shop_app("wxplughttp000001").await;

    assert_eq!(
        say(&app, &peer, &format!("order {shop}")).await,
        "200 shipped abc application/json"
    );
    assert_eq!(
        say(&app, &peer, &format!("follow {shop}")).await,
        "200 shipped abc application/json",
        "a redirect to the listed host is followed"
    );
    assert_eq!(
        say(&app, &peer, &format!("missing {shop}")).await,
        "404 []",
        "an error status is an answer, not a refusal"
    );
    assert_eq!(
        say(&app, &peer, &format!("post {shop}")).await,
        "201 application/json {\"n\":2,\"sku\":\"A1\"} | text/x-note plain words"
    );

    let before = hits.load(Ordering::SeqCst);
    let refused = say(&app, &peer, "elsewhere x").await;
    assert!(refused.starts_with("refused: "), "{refused}");
    assert!(
        refused
            .contains("host api.elsewhere.example is not on this plugin's http_hosts (127.0.0.1)"),
        "{refused}"
    );
    // localhost is listed by name, but 127.0.0.1 is not listed literally.
    let by_name = say(
        &app,
        &peer,
        &format!("by-name http://localhost:{}/order/1", shop.port()),
    )
    .await;
    assert!(
        by_name.contains("localhost resolves only to private or loopback addresses"),
        "{by_name}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        before,
        "nothing refused reached the shop"
    );

    let redirect = say(&app, &peer, &format!("redirect {shop}")).await;
    assert!(
        redirect.contains("redirect to http://localhost:"),
        "{redirect}"
    );
    assert!(
        redirect.contains("host localhost is not on this plugin's http_hosts"),
        "{redirect}"
    );
    let private = say(&app, &peer, &format!("private {shop}")).await;
    assert!(private.contains("host 10.1.2.3 is not on"), "{private}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        before + 2,
        "the redirects' targets were not requested"
    );

    let huge = say(&app, &peer, &format!("huge {shop}")).await;
    assert!(
        huge.contains("the answer is over 262144 bytes; refused"),
        "{huge}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_host_times_out_inside_the_plugins_budget_and_the_fan_still_gets_a_reply() {
    let (app, peer, shop, _) = shop_app("wxplughttp000002").await;
    let started = Instant::now();
    let slow = say(&app, &peer, &format!("slow {shop}")).await;
    let took = started.elapsed();
    assert!(slow.contains("no answer within"), "{slow}");
    assert!(
        took < Duration::from_millis(2500),
        "the 1 s budget held: {took:?}"
    );
    // The server is not stuck behind it.
    assert_eq!(
        say(&app, &peer, &format!("order {shop}")).await,
        "200 shipped abc application/json"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_make_no_request_and_answer_from_fixtures() {
    let (app, peer, shop, hits) = shop_app("wxplughttp000003").await;
    let dry = |body: Value| {
        let mut body = body;
        body["account_id"] = json!(peer.account_id);
        body["plugin"] = json!("shop");
        app.post("/wechat/plugins/test", body)
    };
    let (status, answer) = dry(json!({"text": format!("order {shop}")})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let text = answer["data"]["reply"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(text.contains("dry runs make no HTTP requests"), "{answer}");

    let url = format!("http://{shop}/order/7");
    let (status, answer) = dry(json!({
        "text": format!("order {shop}"),
        "http_fixtures": [{"url": url, "body": "{\"state\":\"packed\",\"token\":\"fx\"}",
                           "headers": {"Content-Type": "application/json"}}]
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["data"]["reply"]["content"], "200 packed fx application/json",
        "{answer}"
    );
    let (_, answer) = dry(json!({
        "text": format!("missing {shop}"),
        "http_fixtures": [{"url": url}]
    }))
    .await;
    let text = answer["data"]["reply"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        text.contains("no http_fixtures entry answers GET http://"),
        "{answer}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0, "dry runs reached nothing");

    let (status, body) = dry(json!({
        "text": "order x",
        "http_fixtures": [{"url": "not a url"}]
    }))
    .await;
    assert_field_error(status, &body, "http_fixtures[0]");
    let (status, body) = dry(json!({
        "text": "order x",
        "http_fixtures": [{"url": url, "method": "DELETE"}]
    }))
    .await;
    assert_field_error(status, &body, "http_fixtures[0]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_hosts_that_are_not_hosts_are_refused_at_their_place() {
    let app = TestApp::spawn().await;
    let dir = app.server.state.config.plugins_dir.clone();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bad.rhai"),
        "const PLUGIN = #{\n    name: \"bad\",\n    http_hosts: [\"https://api.shop.example/\"],\n};\nfn on_message(msg, ctx) { http::get(\"http://api.shop.example/\").body }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("none.rhai"),
        "const PLUGIN = #{ name: \"none\", priority: 250 };\nfn on_message(msg, ctx) { try { return http::get(\"http://127.0.0.1:9/\").body; } catch (e) { return `${e}`; } }\n",
    )
    .unwrap();
    let (status, report) = app.post("/wechat/plugins/reload", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let failed = &report["data"]["failed"][0];
    assert_eq!(failed["file"], "bad.rhai", "{report}");
    assert_eq!(failed["line"], 3, "{report}");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("is not a host"),
        "{report}"
    );
    let peer = Peer::create(&app, "wxplughttp000004", 0).await;
    let said = say(&app, &peer, "hello").await;
    assert!(said.contains("this plugin lists no http_hosts"), "{said}");
}
