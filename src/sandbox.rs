//! A fake WeChat API server of ours, speaking WeChat's wire format over real
//! HTTP: tests point `WXMP_WECHAT_API_BASE` at it, and `wxmp sandbox` runs it
//! for local demos. It behaves, rather than answering fixed values: tokens
//! expire and are invalidated when re-issued (stable tokens are not), the
//! 48-hour window applies, errors can be injected, and every request is
//! recorded so tests can check the exact wire format.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::any;
use axum::{Json, Router};
use serde_json::{json, Value};

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub content_type: String,
    /// The body as text (JSON bodies) or as received.
    pub body: String,
}

#[derive(Default)]
struct Inner {
    /// appid → secret; empty map = accept any app (sandbox mode).
    apps: HashMap<String, String>,
    /// token → (appid, expires at unix seconds)
    tokens: HashMap<String, (String, i64)>,
    /// appid → its current stable token
    stable: HashMap<String, String>,
    token_requests: u64,
    menus: HashMap<String, Value>,
    /// Fans whose 48-hour window is closed.
    closed_windows: HashSet<String>,
    templates: HashMap<String, Vec<Value>>,
    next_msgid: i64,
    /// path → errcodes to answer next, in order.
    failures: HashMap<String, VecDeque<i64>>,
    recorded: Vec<Recorded>,
    sent: Vec<Value>,
}

#[derive(Clone, Default)]
pub struct FakeWeChat {
    inner: Arc<Mutex<Inner>>,
}

fn error(errcode: i64, errmsg: &str) -> Json<Value> {
    Json(json!({ "errcode": errcode, "errmsg": errmsg }))
}

impl FakeWeChat {
    /// A fake that knows `apps` (appid, secret); with none it accepts any.
    pub fn new(apps: &[(&str, &str)]) -> Self {
        let fake = FakeWeChat::default();
        {
            let mut inner = fake.lock();
            inner.apps = apps
                .iter()
                .map(|(a, s)| (a.to_string(), s.to_string()))
                .collect();
            inner.next_msgid = 1_000_000;
        }
        fake
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serves on `addr` (port 0 picks one) in the background.
    pub async fn start(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let app = Router::new().fallback(any(handle)).with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(bound)
    }

    pub fn token_requests(&self) -> u64 {
        self.lock().token_requests
    }

    /// Every token issued so far expires now (WeChat answers 42001).
    pub fn expire_tokens(&self) {
        for (_, expires) in self.lock().tokens.values_mut() {
            *expires = 0;
        }
    }

    /// Tokens are forgotten (WeChat answers 40001), as after a re-issue elsewhere.
    pub fn revoke_tokens(&self) {
        let mut inner = self.lock();
        inner.tokens.clear();
        inner.stable.clear();
    }

    pub fn close_window(&self, openid: &str) {
        self.lock().closed_windows.insert(openid.to_string());
    }

    /// The next calls to `path` fail with these errcodes.
    pub fn fail_next(&self, path: &str, errcodes: &[i64]) {
        self.lock()
            .failures
            .entry(path.to_string())
            .or_default()
            .extend(errcodes);
    }

    pub fn set_templates(&self, appid: &str, templates: Vec<Value>) {
        self.lock().templates.insert(appid.to_string(), templates);
    }

    pub fn menu(&self, appid: &str) -> Option<Value> {
        self.lock().menus.get(appid).cloned()
    }

    pub fn set_menu(&self, appid: &str, menu: Value) {
        self.lock().menus.insert(appid.to_string(), menu);
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.lock().recorded.clone()
    }

    /// Customer-service and template messages accepted, in order.
    pub fn sent(&self) -> Vec<Value> {
        self.lock().sent.clone()
    }

    fn issue(inner: &mut Inner, appid: &str) -> String {
        let token = format!("FAKE_{}_{:016x}", appid, rand::random::<u64>());
        let expires = chrono::Utc::now().timestamp() + 7200;
        inner
            .tokens
            .insert(token.clone(), (appid.to_string(), expires));
        token
    }
}

fn check_app(inner: &Inner, appid: &str, secret: &str) -> Option<Json<Value>> {
    if inner.apps.is_empty() {
        return None;
    }
    match inner.apps.get(appid) {
        None => Some(error(40013, "invalid appid")),
        Some(expected) if expected != secret => Some(error(40125, "invalid appsecret")),
        Some(_) => None,
    }
}

async fn handle(
    State(fake): State<FakeWeChat>,
    method: Method,
    uri: Uri,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    let path = uri.path().to_string();
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut inner = fake.lock();
    inner.recorded.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        content_type: content_type.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);

    // Tokens.
    if path == "/cgi-bin/stable_token" {
        inner.token_requests += 1;
        let appid = json_body["appid"].as_str().unwrap_or_default().to_string();
        if json_body["grant_type"] != "client_credential" {
            return error(40002, "invalid grant_type");
        }
        if let Some(refused) = check_app(
            &inner,
            &appid,
            json_body["secret"].as_str().unwrap_or_default(),
        ) {
            return refused;
        }
        let now = chrono::Utc::now().timestamp();
        let current = inner
            .stable
            .get(&appid)
            .cloned()
            .filter(|t| inner.tokens.get(t).is_some_and(|(_, e)| *e > now));
        let token = match (
            current,
            json_body["force_refresh"].as_bool().unwrap_or(false),
        ) {
            (Some(token), false) => token,
            _ => {
                let token = FakeWeChat::issue(&mut inner, &appid);
                inner.stable.insert(appid, token.clone());
                token
            }
        };
        let expires_in = inner
            .tokens
            .get(&token)
            .map(|(_, e)| e - now)
            .unwrap_or(7200);
        return Json(json!({ "access_token": token, "expires_in": expires_in }));
    }
    if path == "/cgi-bin/token" {
        inner.token_requests += 1;
        let appid = query.get("appid").cloned().unwrap_or_default();
        if let Some(refused) = check_app(
            &inner,
            &appid,
            query.get("secret").map(String::as_str).unwrap_or_default(),
        ) {
            return refused;
        }
        // A plain token replaces every earlier one of the app.
        inner.tokens.retain(|_, (owner, _)| owner != &appid);
        let token = FakeWeChat::issue(&mut inner, &appid);
        return Json(json!({ "access_token": token, "expires_in": 7200 }));
    }

    // Everything else needs a valid token.
    let token = query.get("access_token").cloned().unwrap_or_default();
    let appid = match inner.tokens.get(&token) {
        None => {
            return error(
                40001,
                "invalid credential, access_token is invalid or not latest",
            )
        }
        Some((_, expires)) if *expires <= chrono::Utc::now().timestamp() => {
            return error(42001, "access_token expired")
        }
        Some((appid, _)) => appid.clone(),
    };
    if let Some(errcode) = inner.failures.get_mut(&path).and_then(VecDeque::pop_front) {
        return error(errcode, "injected by the fake");
    }
    match (method.as_str(), path.as_str()) {
        ("POST", "/cgi-bin/menu/create") => {
            let buttons = json_body["button"].as_array().cloned().unwrap_or_default();
            if buttons.is_empty() || buttons.len() > 3 {
                return error(40016, "invalid button size");
            }
            if buttons
                .iter()
                .any(|b| b["sub_button"].as_array().is_some_and(|s| s.len() > 5))
            {
                return error(40023, "invalid sub button size");
            }
            inner.menus.insert(appid, json_body);
            error(0, "ok")
        }
        ("GET", "/cgi-bin/menu/get") => match inner.menus.get(&appid) {
            Some(menu) => Json(json!({ "menu": menu })),
            None => error(46003, "menu no exist"),
        },
        ("GET", "/cgi-bin/menu/delete") => {
            inner.menus.remove(&appid);
            error(0, "ok")
        }
        ("POST", "/cgi-bin/message/custom/send") => {
            let touser = json_body["touser"].as_str().unwrap_or_default().to_string();
            let kind = json_body["msgtype"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if touser.is_empty() {
                return error(40003, "invalid openid");
            }
            if json_body.get(&kind).is_none() {
                return error(40008, "invalid message type");
            }
            if inner.closed_windows.contains(&touser) {
                return error(
                    45015,
                    "response out of time limit or subscription is canceled",
                );
            }
            inner.sent.push(json_body);
            error(0, "ok")
        }
        ("GET", "/cgi-bin/template/get_all_private_template") => Json(
            json!({ "template_list": inner.templates.get(&appid).cloned().unwrap_or_default() }),
        ),
        ("POST", "/cgi-bin/message/template/send") => {
            let known = inner.templates.get(&appid).is_some_and(|list| {
                list.iter()
                    .any(|t| t["template_id"] == json_body["template_id"])
            });
            if !known {
                return error(40037, "invalid template_id");
            }
            if inner
                .closed_windows
                .contains(json_body["touser"].as_str().unwrap_or_default())
            {
                return error(43101, "user refuse to accept the msg");
            }
            inner.next_msgid += 1;
            let msgid = inner.next_msgid;
            inner.sent.push(json_body);
            Json(json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }))
        }
        _ => error(
            40066,
            &format!("invalid url: the fake does not implement {method} {path}"),
        ),
    }
}
