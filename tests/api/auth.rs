//! Sign-in, tokens, roles and the slowing of password guessing, over HTTP.

use crate::helpers::{
    assert_field_error, join_all, TestApp, ADMIN_PASSWORD, ADMIN_USER, JWT_SECRET,
};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn login_returns_a_token_that_opens_the_api() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .send(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["code"], 0);
    assert_eq!(body["msg"], "ok");
    assert!(body["data"]["token"].as_str().unwrap().len() > 20);
    let expires =
        chrono::DateTime::parse_from_rfc3339(body["data"]["expires_at"].as_str().unwrap()).unwrap();
    assert!(expires > chrono::Utc::now());

    let (status, me) = app.get("/auth/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["data"]["username"], ADMIN_USER);
    assert_eq!(me["data"]["role"], "admin");
    assert!(me["data"].get("password_hash").is_none());
}

#[tokio::test]
async fn bad_credentials_and_bad_tokens_get_401_with_a_reason() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .send(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": ADMIN_USER, "password": "wrong"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], 401);
    assert!(body["msg"]
        .as_str()
        .unwrap()
        .contains("wrong user name or password"));

    let (status, body) = app
        .send(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "nobody", "password": "whatever1"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let now = chrono::Utc::now().timestamp();
    let claims =
        |exp: i64| json!({"sub": "1", "role": "admin", "iat": now, "exp": exp, "ver": "x"});
    let expired = encode(
        &Header::new(Algorithm::HS256),
        &claims(now - 10),
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let wrong_key = encode(
        &Header::new(Algorithm::HS256),
        &claims(now + 600),
        &EncodingKey::from_secret(b"another-secret-entirely"),
    )
    .unwrap();
    let alg_none = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(claims(now + 600).to_string())
        )
    };
    let cases: [(Option<&str>, &str); 5] = [
        (None, "missing"),
        (Some("not-a-jwt"), "malformed"),
        (Some(&expired), "expired"),
        (Some(&wrong_key), "signature"),
        (Some(&alg_none), "token"),
    ];
    for (token, reason) in cases {
        let (status, body) = app
            .send(Method::GET, "/wechat/wxaccounts/list", token, None)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}: {body}");
        assert_eq!(body["data"], Value::Null);
        assert!(
            body["msg"].as_str().unwrap().contains(reason),
            "{reason}: {body}"
        );
    }
    // A header that is not a bearer token.
    let response = app
        .client
        .get(app.url("/wechat/wxaccounts/list"))
        .header("Authorization", "Basic YWRtaW46YWRtaW4=")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_admin_endpoint_requires_a_token() {
    let app = TestApp::spawn().await;
    let (_, document) = app
        .send(Method::GET, "/api-docs/openapi.json", None, None)
        .await;
    let paths = document["paths"].as_object().unwrap();
    let mut checked = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("security").is_none() {
                continue;
            }
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, body) = app.send(method.clone(), path, None, Some(json!({}))).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
            checked += 1;
        }
    }
    assert!(
        checked >= 35,
        "only {checked} secured operations documented"
    );
}

#[tokio::test]
async fn repeated_failed_logins_are_slowed_down() {
    let app = TestApp::spawn().await;
    let attempt = |password: &'static str| {
        app.send(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": ADMIN_USER, "password": password})),
        )
    };
    for _ in 0..5 {
        let (status, _) = attempt("wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let response = app
        .client
        .post(app.url("/auth/login"))
        .json(&json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_some());
    let body: Value = response.json().await.unwrap();
    assert!(
        body["msg"].as_str().unwrap().contains("try again"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_sent_together_are_throttled_like_sequential_ones() {
    let app = TestApp::spawn().await;
    let attempts = (0..30).map(|i| {
        app.send(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": ADMIN_USER, "password": format!("wrong-{i}")})),
        )
    });
    let statuses: Vec<StatusCode> = join_all(attempts)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(
        checked, 5,
        "only the free attempts reach the password check: {statuses:?}"
    );
    assert_eq!(refused, 25, "{statuses:?}");
}

#[tokio::test]
async fn operators_manage_only_their_accounts_and_never_see_secrets() {
    let app = TestApp::spawn().await;
    let mine = app.add_account("wxmine0000000001").await;
    let other = app.add_account("wxother000000001").await;
    let operator = app
        .add(
            "/wechat/admins/add",
            json!({"username": "op1", "password": "operator-pass-1", "role": "operator", "account_ids": [mine]}),
        )
        .await;
    assert_eq!(operator["role"], "operator");
    let token = app.login("op1", "operator-pass-1").await;
    let op = |method: Method, path: &'static str, body: Option<Value>| {
        app.send(method, path, Some(&token), body)
    };

    // Lists are scoped to the assigned account, secrets fully hidden.
    let (status, body) = op(Method::GET, "/wechat/wxaccounts/list", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["total"], 1);
    let account = &body["data"]["list"][0];
    assert_eq!(account["id"], mine.as_str());
    assert_eq!(account["app_secret"], "****");
    assert_eq!(account["token"], "****");

    // Content of the own account: allowed; of another: 403.
    let (status, _) = op(
        Method::POST,
        "/wechat/wxautoreplies/add",
        Some(json!({"account_id": mine, "keyword": "hi", "content": "hello"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = op(
        Method::POST,
        "/wechat/wxautoreplies/add",
        Some(json!({"account_id": other, "keyword": "hi", "content": "hello"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_ne!(body["code"], 0);

    // Accounts themselves and admins are the admin role's.
    let (status, _) = op(
        Method::PUT,
        "/wechat/wxaccounts/edit",
        Some(json!({"id": mine, "account_name": "renamed"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = op(Method::GET, "/wechat/admins/list", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let path = format!("/wechat/wxaccounts/del?id={other}");
    let (status, _) = app.send(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn changing_a_password_signs_out_old_tokens() {
    let app = TestApp::spawn().await;
    let old_token = app.token.clone();
    let (status, body) = app
        .post(
            "/auth/password",
            json!({"old_password": "nope", "new_password": "new-password-2"}),
        )
        .await;
    assert_field_error(status, &body, "old_password");
    let (status, body) = app
        .post(
            "/auth/password",
            json!({"old_password": ADMIN_PASSWORD, "new_password": "short"}),
        )
        .await;
    assert_field_error(status, &body, "new_password");
    let (status, _) = app
        .post(
            "/auth/password",
            json!({"old_password": ADMIN_PASSWORD, "new_password": "new-password-2"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .send(Method::GET, "/auth/me", Some(&old_token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let token = app.login(ADMIN_USER, "new-password-2").await;
    let (status, _) = app.send(Method::GET, "/auth/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn admins_are_managed_by_admins() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/wechat/admins/add",
            json!({"username": "bad name!", "password": "x", "role": "root"}),
        )
        .await;
    assert_field_error(status, &body, "username");
    assert_field_error(status, &body, "password");
    assert_field_error(status, &body, "role");
    let created = app
        .add(
            "/wechat/admins/add",
            json!({"username": "ops", "password": "operator-pass-1"}),
        )
        .await;
    assert_eq!(created["role"], "operator");
    let (status, _) = app
        .post(
            "/wechat/admins/add",
            json!({"username": "ops", "password": "operator-pass-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let id = created["id"].as_str().unwrap();
    let (status, body) = app
        .put("/wechat/admins/edit", json!({"id": id, "status": 0}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app
        .send(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "ops", "password": "operator-pass-1"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, list) = app.get("/wechat/admins/list").await;
    assert_eq!(list["data"]["total"], 2);
    let (status, body) = app.delete(&format!("/wechat/admins/del?id={id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["deleted"], 1);
}

/// Five wrong passwords for the admin from `client` as the proxy forwards
/// them, then the right one from `client`: its status.
async fn throttled_through_proxy(
    app: &TestApp,
    forwarded_for: &str,
    then_from: &str,
) -> StatusCode {
    let login = |forwarded: String, password: &'static str| {
        app.client
            .post(app.url("/auth/login"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"username": ADMIN_USER, "password": password}))
            .send()
    };
    for _ in 0..5 {
        let response = login(forwarded_for.to_string(), "wrong-password")
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    login(then_from.to_string(), ADMIN_PASSWORD)
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_throttled_and_audited() {
    // The test client is the proxy (127.0.0.1). A client-written hop on the
    // left ("1.2.3.4") is not believed: the proxy's own entry is the client.
    let app =
        TestApp::spawn_with(|config| config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()])
            .await;
    assert_eq!(
        throttled_through_proxy(&app, "1.2.3.4, 203.0.113.5", "203.0.113.6").await,
        StatusCode::OK,
        "another client behind the same proxy is not throttled"
    );
    assert_eq!(
        throttled_through_proxy(&app, "203.0.113.7", "9.9.9.9, 203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS,
        "a client cannot dodge the throttle by writing its own hop"
    );
    let token = app.token.clone();
    let response = app
        .client
        .post(app.url("/wechat/wxaccounts/add"))
        .bearer_auth(&token)
        .header("x-forwarded-for", "198.51.100.9")
        .json(&json!({"account_name": "proxied", "app_id": "wxproxied0000001", "original_id": "gh_proxied00001",
                      "token": "tok", "message_mode": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, trail) = app.get("/wechat/audit_log/list?resource=account").await;
    assert_eq!(trail["data"]["list"][0]["ip"], "198.51.100.9", "{trail}");
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_header_changes_nothing() {
    let app = TestApp::spawn().await;
    // Each attempt claims another address; all come from 127.0.0.1.
    for n in 0..5 {
        let response = app
            .client
            .post(app.url("/auth/login"))
            .header("x-forwarded-for", format!("203.0.113.{n}"))
            .json(&json!({"username": ADMIN_USER, "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = app
        .client
        .post(app.url("/auth/login"))
        .header("x-forwarded-for", "203.0.113.50")
        .json(&json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}
