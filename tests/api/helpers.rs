//! Test harness: each test gets its own server on a random loopback port and
//! its own fresh database. `WXMP_TEST_DATABASE` picks the engine: `sqlite`
//! (default), `mysql` (server at `WXMP_TEST_MYSQL_URL`) or `postgres`
//! (server at `WXMP_TEST_POSTGRES_URL`); `scripts/test` runs all three.

use reqwest::StatusCode;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, Database, EntityTrait, IntoActiveModel,
};
use serde_json::{json, Value};
use tempfile::TempDir;
use wxmp::config::Config;
use wxmp::Running;

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789";

pub struct TestApp {
    pub server: Running,
    pub client: reqwest::Client,
    /// The first admin's token.
    pub token: String,
    _data_dir: Option<TempDir>,
}

/// The engine `WXMP_TEST_DATABASE` names (SQLite by default).
fn backend() -> String {
    std::env::var("WXMP_TEST_DATABASE").unwrap_or_else(|_| "sqlite".into())
}

/// Creates an empty database on the chosen engine and returns its URL.
pub async fn fresh_database_url(data_dir: &std::path::Path) -> String {
    let name = format!("wxmp_t_{:016x}", rand::random::<u64>());
    match backend().as_str() {
        "sqlite" => format!("sqlite://{}/test.db?mode=rwc", data_dir.display()),
        "mysql" => {
            let server = std::env::var("WXMP_TEST_MYSQL_URL")
                .unwrap_or_else(|_| "mysql://wxmp:wxmp@127.0.0.1:3306".into());
            let admin = Database::connect(server.as_str())
                .await
                .expect("connect to MariaDB");
            admin
                .execute_unprepared(&format!(
                    "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                ))
                .await
                .expect("create database");
            admin.close().await.ok();
            format!("{server}/{name}")
        }
        "postgres" => {
            let server = std::env::var("WXMP_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://wxmp:wxmp@127.0.0.1:5432".into());
            let admin = Database::connect(format!("{server}/postgres"))
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name} ENCODING 'UTF8'"))
                .await
                .expect("create database");
            admin.close().await.ok();
            format!("{server}/{name}")
        }
        other => panic!("WXMP_TEST_DATABASE={other:?}: expected sqlite, mysql or postgres"),
    }
}

pub async fn test_config(data_dir: &std::path::Path) -> Config {
    Config {
        database_url: fresh_database_url(data_dir).await,
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        jwt_secret: Some(JWT_SECRET.into()),
        admin_user: ADMIN_USER.into(),
        admin_password: Some(ADMIN_PASSWORD.into()),
        plugins_dir: data_dir.join("plugins"),
        ..Config::default()
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A server whose configuration `adjust` changes first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(data_dir.path()).await;
        adjust(&mut config);
        let server = Running::start(config).await.expect("server starts");
        let mut app = Self::attach(server).await;
        app._data_dir = Some(data_dir);
        app
    }

    /// Wraps a server started by the test itself (e.g. to restart it on the
    /// same database), signed in as the first admin.
    pub async fn attach(server: Running) -> Self {
        let mut app = TestApp {
            server,
            client: reqwest::Client::new(),
            token: String::new(),
            _data_dir: None,
        };
        app.token = app.login(ADMIN_USER, ADMIN_PASSWORD).await;
        app
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// Signs in and returns the token; panics on failure.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/auth/login",
                None,
                Some(json!({"username": username, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login failed: {body}");
        body["data"]["token"].as_str().expect("token").to_string()
    }

    /// Sends a request with an optional token and JSON body; returns status and JSON body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request is answered");
        let status = response.status();
        let text = response.text().await.expect("body");
        let value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, Some(&self.token), None)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(&self.token), Some(body))
            .await
    }

    /// POSTs `body` with another admin's `token`.
    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PUT, path, Some(&self.token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, path, Some(&self.token), None)
            .await
    }

    /// POSTs and expects success; returns `data`.
    pub async fn add(&self, path: &str, body: Value) -> Value {
        let (status, response) = self.post(path, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {response}");
        assert_eq!(response["code"], 0);
        response["data"].clone()
    }

    /// Adds an account and returns its id.
    pub async fn add_account(&self, app_id: &str) -> String {
        let account = self
            .add(
                "/wechat/wxaccounts/add",
                json!({
                    "app_id": app_id,
                    "app_secret": "0123456789abcdef0123456789abcdef",
                    "account_name": format!("account {app_id}"),
                    "original_id": format!("gh_{app_id}"),
                    "token": "callbacktoken",
                    "encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
                    "message_mode": 2,
                }),
            )
            .await;
        account["id"].as_str().expect("id is a string").to_string()
    }
}

/// Asserts a 422 whose field errors name `field`.
pub fn assert_field_error(status: StatusCode, body: &Value, field: &str) {
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_ne!(body["code"], 0);
    assert!(
        body["data"]["fields"].get(field).is_some(),
        "expected an error on {field}: {body}"
    );
}

/// The rows a test needs before it starts, for one account: through the admin
/// API where it has an endpoint (with the account filled in), straight into
/// the database for rows only the server itself writes (payments, template
/// sends).
pub struct Seed<'a> {
    app: &'a TestApp,
    /// The account's id as the API spells it (a string).
    pub account: String,
}

impl TestApp {
    /// Adds an account (see [`TestApp::add_account`]) to seed rows for.
    pub async fn seed_account(&self, app_id: &str) -> Seed<'_> {
        let account = self.add_account(app_id).await;
        self.seed(&account)
    }

    /// Seeds rows for an account added otherwise.
    pub fn seed(&self, account: &str) -> Seed<'_> {
        Seed {
            app: self,
            account: account.to_string(),
        }
    }
}

impl Seed<'_> {
    /// POSTs `fields` with this account's `account_id` to `path`; returns `data`.
    async fn add(&self, path: &str, fields: Value) -> Value {
        let mut body = json!({ "account_id": self.account });
        body.as_object_mut()
            .expect("an object")
            .extend(fields.as_object().expect("fields are an object").clone());
        self.app.add(path, body).await
    }

    /// An auto-reply rule (follow, keyword or default, by `reply_type`).
    pub async fn rule(&self, fields: Value) -> Value {
        self.add("/wechat/wxautoreplies/add", fields).await
    }

    pub async fn material(&self, fields: Value) -> Value {
        self.add("/wechat/wxmaterials/add", fields).await
    }

    pub async fn menu_button(&self, fields: Value) -> Value {
        self.add("/wechat/wxmenus/add", fields).await
    }

    pub async fn fan(&self, fields: Value) -> Value {
        self.add("/wechat/wxusers/add", fields).await
    }

    pub async fn template(&self, fields: Value) -> Value {
        self.add("/wechat/wxtemplates/add", fields).await
    }

    /// Messages between the account and the fan `openid`, in order: each
    /// `(direction, msg_type, content, other fields)`, direction 1 for
    /// received and 0 for sent.
    pub async fn conversation(&self, openid: &str, messages: &[(i16, &str, &str, Value)]) {
        for (direction, msg_type, content, extra) in messages {
            let mut fields = json!({
                "openid": openid,
                "direction": direction,
                "msg_type": msg_type,
                "content": content,
            });
            fields.as_object_mut().expect("an object").extend(
                extra
                    .as_object()
                    .expect("extra fields are an object")
                    .clone(),
            );
            self.add("/wechat/wxmessages/add", fields).await;
        }
    }

    /// This account's id as stored in the database.
    pub fn account_id(&self) -> i64 {
        self.account.parse().expect("account ids are numbers")
    }

    /// A fresh id for a row stored with [`Seed::row`].
    pub fn next_id(&self) -> i64 {
        self.app.server.state.ids.next_id().expect("an id")
    }

    /// Stores a row as it is (every field set, the id included), for tables
    /// the admin API does not write.
    pub async fn row<A>(&self, row: A)
    where
        A: ActiveModelTrait + ActiveModelBehavior + Send,
        <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
    {
        row.reset_all()
            .insert(&self.app.server.state.db)
            .await
            .expect("the row is stored");
    }
}

/// `join_all` without another dependency: spawn-free, polls all together.
pub async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

/// Stops the server when the test fails before it does (a server left
/// running would keep its inherited file descriptors open).
pub struct KillOnDrop(pub Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A query-string value, percent-encoded byte by byte.
pub fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `wxmp serve` as its own process on `database_url`, with `data_dir`, with
/// `env` added (e.g. the fake WeChat's address), and its base URL. It picks
/// its own port (port 0) and the address comes from its "serving" log line,
/// so no other test can take the port in between (a port picked here and
/// handed over, or reused after a restart, could be bound by another test's
/// server, which would then answer this test's requests).
pub async fn start_binary(
    database_url: &str,
    data_dir: &std::path::Path,
    env: &[(&str, String)],
) -> (KillOnDrop, String) {
    spawn_binary(database_url, data_dir, env).serving().await
}

/// A server process started by [`spawn_binary`], not necessarily serving yet.
pub struct Starting {
    process: KillOnDrop,
    address: tokio::sync::mpsc::UnboundedReceiver<Result<String, String>>,
}

impl Starting {
    /// Waits for the "serving" log line: the process and its base URL.
    pub async fn serving(mut self) -> (KillOnDrop, String) {
        let wait = tokio::time::timeout(std::time::Duration::from_secs(60), self.address.recv());
        match wait.await {
            Ok(Some(Ok(address))) => (self.process, format!("http://{address}")),
            Ok(Some(Err(log))) => {
                panic!("the server exited before serving; its last log lines:\n{log}")
            }
            Ok(None) => panic!("the server's log ended before it served"),
            Err(_) => panic!("the server did not start serving within 60 s"),
        }
    }
}

/// Starts `wxmp serve` as [`start_binary`] does without waiting for it.
pub fn spawn_binary(
    database_url: &str,
    data_dir: &std::path::Path,
    env: &[(&str, String)],
) -> Starting {
    use std::io::{BufRead, Write};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wxmp"))
        .current_dir(data_dir)
        .env("WXMP_LISTEN", "127.0.0.1:0")
        .env("WXMP_LOG_FORMAT", "json")
        .env("WXMP_DATABASE_URL", database_url)
        .env("WXMP_JWT_SECRET", JWT_SECRET)
        .env("WXMP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("WXMP_PLUGINS_DIR", data_dir.join("plugins"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (address_tx, address_rx) = tokio::sync::mpsc::unbounded_channel();
    // Reads the log to its end (a full pipe would stall the server), keeping
    // it in $WXMP_TEST_CHILD_LOGS when that is set.
    let pid = child.id();
    std::thread::spawn(move || {
        let mut keep = std::env::var_os("WXMP_TEST_CHILD_LOGS").and_then(|dir| {
            std::fs::File::create(std::path::Path::new(&dir).join(format!("server-{pid}.log"))).ok()
        });
        let mut tail = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(file) = keep.as_mut() {
                let _ = writeln!(file, "{line}");
            }
            let event: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            let serving = event["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("wxmp is serving"));
            if let (true, Some(address)) = (serving, event["address"].as_str()) {
                let _ = address_tx.send(Ok(address.to_string()));
            }
            tail.push(line);
            if tail.len() > 20 {
                tail.remove(0);
            }
        }
        let _ = address_tx.send(Err(tail.join("\n")));
    });
    Starting {
        process: KillOnDrop(Some(child)),
        address: address_rx,
    }
}

/// Waits until the server at `base` answers `/readyz` (10 s at most).
pub async fn wait_ready(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await {
            if response.status() == StatusCode::OK {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server at {base} did not become ready");
}

/// Signs in as the test admin to the server at `base` (a process of its
/// own): the token.
pub async fn sign_in(client: &reqwest::Client, base: &str) -> String {
    let signed_in: Value = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"username": ADMIN_USER, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    signed_in["data"]["token"]
        .as_str()
        .expect("signed in")
        .to_string()
}

/// Sends a signed plaintext text message to the server at `base` (a
/// process of its own); `Some(reply Content)` when answered with 200 (the
/// body itself when it is not XML, e.g. `success`).
pub async fn send_text(
    client: &reqwest::Client,
    base: &str,
    app_id: &str,
    from: &str,
    msg_id: i64,
    content: &str,
) -> Option<String> {
    let fields =
        format!("<MsgType>text</MsgType><Content>{content}</Content><MsgId>{msg_id}</MsgId>");
    send_message(client, base, app_id, from, &fields).await
}

/// Sends a signed plaintext message of any type (`fields`: its elements
/// after `CreateTime`) to the server at `base`; answered as [`send_text`].
pub async fn send_message(
    client: &reqwest::Client,
    base: &str,
    app_id: &str,
    from: &str,
    fields: &str,
) -> Option<String> {
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let signature = wxmp::wechat::signature::sign(&[crate::wechat::TOKEN, &timestamp, "n"]);
    let body = format!(
        "<xml><ToUserName>gh_{app_id}</ToUserName><FromUserName>{from}</FromUserName><CreateTime>{timestamp}</CreateTime>{fields}</xml>"
    );
    let response = client
        .post(format!(
            "{base}/wechat/official_account/callback/{app_id}?signature={signature}&timestamp={timestamp}&nonce=n"
        ))
        .body(body)
        .send()
        .await
        .ok()?;
    if response.status() != StatusCode::OK {
        return None;
    }
    let text = response.text().await.ok()?;
    Some(
        wxmp::wechat::xml::parse(&text)
            .map(|x| x.text("Content"))
            .unwrap_or(text),
    )
}
