//! `GET /metrics` (issue 14): who may scrape, and that what happens is
//! counted (callbacks by outcome and handler, requests by route template,
//! the instance's lease), in the Prometheus text format.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;
use crate::wechat::Peer;

const SCRAPE_TOKEN: &str = "scrape-token-0123456789";

/// The value of the series whose line starts with `series` (name and
/// labels as rendered), 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next())
        .map(|v| v.parse().unwrap())
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp, token: Option<&str>) -> (StatusCode, String, String) {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

#[tokio::test]
async fn scrapers_need_the_token_or_an_admin_and_callbacks_are_counted() {
    let app = TestApp::spawn_with(|config| config.metrics_token = Some(SCRAPE_TOKEN.into())).await;
    let peer = Peer::create(&app, "wxmetrics0000001", 0).await;
    app.seed(&peer.account_id)
        .rule(json!({"keyword": "价格", "match_type": 2, "content": "99 元"}))
        .await;

    // Nobody else: no token, a wrong one, an operator's.
    let (status, _, body) = scrape(&app, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("Bearer"), "{body}");
    let (status, _, _) = scrape(&app, Some("scrape-token-wrong-456789")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.add(
        "/wechat/admins/add",
        json!({"username": "op1", "password": "operator-pass-1", "role": "operator", "account_ids": [peer.account_id]}),
    )
    .await;
    let operator = app.login("op1", "operator-pass-1").await;
    let (status, _, _) = scrape(&app, Some(&operator)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, kind, before) = scrape(&app, Some(SCRAPE_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert!(kind.starts_with("text/plain"), "{kind}");
    assert_eq!(value(&before, "wxmp_instances_live"), 1.0, "{before}");
    assert_eq!(value(&before, "wxmp_id_lease_valid"), 1.0);
    assert_eq!(
        value(
            &before,
            &format!(
                "wxmp_build_info{{version=\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            )
        ),
        1.0
    );

    // A message, its retry, and one nothing answers.
    let message = peer.text("o_fan", "价格多少", 1);
    peer.send(&app, &message).await;
    peer.send(&app, &message).await;
    peer.send(&app, &peer.text("o_fan", "随便", 2)).await;

    let (status, _, after) = scrape(&app, Some(&app.token)).await;
    assert_eq!(status, StatusCode::OK, "an admin's token works too");
    let delta = |series: &str| value(&after, series) - value(&before, series);
    let app_id = "app_id=\"wxmetrics0000001\"";
    assert_eq!(
        delta(&format!(
            "wxmp_callback_messages_total{{{app_id},stored=\"new\"}}"
        )),
        2.0,
        "{after}"
    );
    assert_eq!(
        delta(&format!(
            "wxmp_callback_messages_total{{{app_id},stored=\"duplicate\"}}"
        )),
        1.0
    );
    assert_eq!(
        delta(&format!(
            "wxmp_callback_replies_total{{{app_id},handler=\"builtin:keyword\"}}"
        )),
        1.0
    );
    assert_eq!(
        delta(&format!(
            "wxmp_callback_replies_total{{{app_id},handler=\"none\"}}"
        )),
        1.0
    );
    let route = "route=\"/wechat/official_account/callback/{app_id}\"";
    assert_eq!(
        delta(&format!(
            "wxmp_http_requests_total{{method=\"POST\",{route},status=\"200\"}}"
        )),
        3.0,
        "{after}"
    );
    assert_eq!(
        delta(&format!(
            "wxmp_http_request_duration_seconds_count{{{route}}}"
        )),
        3.0
    );
    assert!(after.contains("# TYPE wxmp_http_request_duration_seconds histogram"));
}
