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
    /// Multipart fields: (name, file name, size, text when not a file).
    pub parts: Vec<(String, Option<String>, usize, String)>,
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
    /// appid → permanent materials (batchget items, with their type).
    materials: HashMap<String, Vec<(String, Value)>>,
    next_media: u64,
    /// appid → fans (user info as WeChat returns it).
    fans: HashMap<String, Vec<Value>>,
    /// openids per `user/get` page (WeChat: 10 000).
    user_page: usize,
    /// OAuth codes → (appid, openid, scope).
    codes: HashMap<String, (String, String, String)>,
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
            inner.user_page = 10_000;
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

    pub fn add_fans(&self, appid: &str, fans: Vec<Value>) {
        self.lock()
            .fans
            .entry(appid.to_string())
            .or_default()
            .extend(fans);
    }

    /// Openids per page of `user/get` (to test paging with few fans).
    pub fn set_user_page(&self, size: usize) {
        self.lock().user_page = size.max(1);
    }

    /// A code WeChat would hand the fan's browser after authorization.
    pub fn oauth_code(&self, appid: &str, openid: &str, scope: &str) -> String {
        let code = format!("CODE_{:08x}", rand::random::<u32>());
        self.lock()
            .codes
            .insert(code.clone(), (appid.into(), openid.into(), scope.into()));
        code
    }

    /// Adds a permanent material as if uploaded elsewhere.
    pub fn add_material(&self, appid: &str, kind: &str, item: Value) {
        self.lock()
            .materials
            .entry(appid.to_string())
            .or_default()
            .push((kind.to_string(), item));
    }

    pub fn remove_material(&self, appid: &str, media_id: &str) {
        if let Some(list) = self.lock().materials.get_mut(appid) {
            list.retain(|(_, item)| item["media_id"] != media_id);
        }
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

/// A multipart field as received.
struct Field {
    name: String,
    file_name: Option<String>,
    bytes: Bytes,
}

async fn handle(State(fake): State<FakeWeChat>, request: axum::extract::Request) -> Json<Value> {
    use axum::extract::FromRequest;
    let method: Method = request.method().clone();
    let uri: Uri = request.uri().clone();
    let query: BTreeMap<String, String> = Query::try_from_uri(&uri)
        .map(|Query(q)| q)
        .unwrap_or_default();
    let headers: HeaderMap = request.headers().clone();
    let path = uri.path().to_string();
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut fields = Vec::new();
    let body = if content_type.starts_with("multipart/form-data") {
        let Ok(mut multipart) = axum::extract::Multipart::from_request(request, &()).await else {
            return error(41005, "media data missing: not a multipart form");
        };
        while let Ok(Some(field)) = multipart.next_field().await {
            let name = field.name().unwrap_or_default().to_string();
            let file_name = field.file_name().map(str::to_string);
            let bytes = field.bytes().await.unwrap_or_default();
            fields.push(Field {
                name,
                file_name,
                bytes,
            });
        }
        Bytes::new()
    } else {
        axum::body::to_bytes(request.into_body(), 16 * 1024 * 1024)
            .await
            .unwrap_or_default()
    };
    let mut inner = fake.lock();
    inner.recorded.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        content_type: content_type.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
        parts: fields
            .iter()
            .map(|f| {
                let text = if f.file_name.is_none() {
                    String::from_utf8_lossy(&f.bytes).into_owned()
                } else {
                    String::new()
                };
                (f.name.clone(), f.file_name.clone(), f.bytes.len(), text)
            })
            .collect(),
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

    // OAuth for web pages: the account's secret, not its token.
    if path == "/sns/oauth2/access_token" {
        let appid = query.get("appid").cloned().unwrap_or_default();
        if let Some(refused) = check_app(
            &inner,
            &appid,
            query.get("secret").map(String::as_str).unwrap_or_default(),
        ) {
            return refused;
        }
        return match inner
            .codes
            .remove(query.get("code").map(String::as_str).unwrap_or_default())
        {
            Some((owner, openid, scope)) if owner == appid => Json(json!({
                "access_token": format!("WEB_{openid}"), "expires_in": 7200, "refresh_token": "R",
                "openid": openid, "scope": scope,
            })),
            _ => error(40029, "invalid code"),
        };
    }
    if path == "/sns/userinfo" {
        let openid = query.get("openid").cloned().unwrap_or_default();
        if query.get("access_token") != Some(&format!("WEB_{openid}")) {
            return error(40001, "invalid credential");
        }
        return Json(
            json!({ "openid": openid, "nickname": "微信用户", "headimgurl": "https://thirdwx.qlogo.cn/x/0" }),
        );
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
        ("GET", "/cgi-bin/user/get") => {
            let fans = inner.fans.get(&appid).cloned().unwrap_or_default();
            let start = match query.get("next_openid").filter(|o| !o.is_empty()) {
                Some(next) => fans
                    .iter()
                    .position(|f| f["openid"] == next.as_str())
                    .map(|p| p + 1)
                    .unwrap_or(fans.len()),
                None => 0,
            };
            let page: Vec<Value> = fans
                .iter()
                .skip(start)
                .take(inner.user_page)
                .map(|f| f["openid"].clone())
                .collect();
            let next = page.last().cloned().unwrap_or(json!(""));
            Json(
                json!({ "total": fans.len(), "count": page.len(), "data": { "openid": page }, "next_openid": next }),
            )
        }
        ("POST", "/cgi-bin/user/info/batchget") => {
            let wanted = json_body["user_list"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if wanted.is_empty() || wanted.len() > 100 {
                return error(45035, "user_list must hold 1 to 100 openids");
            }
            let fans = inner.fans.get(&appid).cloned().unwrap_or_default();
            let list: Vec<Value> = wanted
                .iter()
                .map(|w| {
                    fans.iter()
                        .find(|f| f["openid"] == w["openid"])
                        .cloned()
                        .unwrap_or_else(|| json!({ "subscribe": 0, "openid": w["openid"] }))
                })
                .collect();
            Json(json!({ "user_info_list": list }))
        }
        ("GET", "/cgi-bin/ticket/getticket") => {
            if query.get("type").map(String::as_str) != Some("jsapi") {
                return error(40097, "invalid args");
            }
            Json(
                json!({ "errcode": 0, "errmsg": "ok", "ticket": format!("TICKET_{appid}"), "expires_in": 7200 }),
            )
        }
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
        ("POST", "/cgi-bin/media/upload") | ("POST", "/cgi-bin/material/add_material") => {
            let kind = query.get("type").cloned().unwrap_or_default();
            let limit = match kind.as_str() {
                "image" | "video" => 10 * 1024 * 1024,
                "voice" => 2 * 1024 * 1024,
                "thumb" => 64 * 1024,
                _ => return error(40004, "invalid media type"),
            };
            let Some(media) = fields
                .iter()
                .find(|f| f.name == "media" && f.file_name.is_some())
            else {
                return error(41005, "media data missing");
            };
            if media.bytes.is_empty() || media.bytes.len() > limit {
                return error(40006, "invalid meida size");
            }
            inner.next_media += 1;
            let media_id = format!("MEDIA_{}_{}", kind.to_uppercase(), inner.next_media);
            let now = chrono::Utc::now().timestamp();
            if path == "/cgi-bin/media/upload" {
                return Json(json!({ "type": kind, "media_id": media_id, "created_at": now }));
            }
            let name = media.file_name.clone().unwrap_or_default();
            if kind == "video" {
                let description = fields
                    .iter()
                    .find(|f| f.name == "description")
                    .map(|f| f.bytes.clone());
                let parsed: Value = description
                    .and_then(|d| serde_json::from_slice(&d).ok())
                    .unwrap_or(Value::Null);
                if parsed["title"].as_str().is_none_or(str::is_empty) {
                    return error(40009, "video description with a title is required");
                }
            }
            let url = format!("http://mmbiz.qpic.cn/fake/{media_id}");
            let item =
                json!({ "media_id": media_id, "name": name, "update_time": now, "url": url });
            inner.materials.entry(appid).or_default().push((kind, item));
            Json(json!({ "media_id": media_id, "url": url }))
        }
        ("GET", "/cgi-bin/material/get_materialcount") => {
            let list = inner.materials.get(&appid).cloned().unwrap_or_default();
            let count = |kind: &str| list.iter().filter(|(k, _)| k == kind).count();
            Json(
                json!({ "voice_count": count("voice"), "video_count": count("video"),
                         "image_count": count("image") + count("thumb"), "news_count": count("news") }),
            )
        }
        ("POST", "/cgi-bin/material/batchget_material") => {
            let kind = json_body["type"].as_str().unwrap_or_default().to_string();
            let offset = json_body["offset"].as_u64().unwrap_or(0) as usize;
            let count = json_body["count"].as_u64().unwrap_or(0) as usize;
            if !(1..=20).contains(&count) {
                return error(40007, "count must be 1 to 20");
            }
            let all: Vec<Value> = inner
                .materials
                .get(&appid)
                .into_iter()
                .flatten()
                .filter(|(k, _)| *k == kind || (kind == "image" && k == "thumb"))
                .map(|(_, item)| item.clone())
                .collect();
            let page: Vec<Value> = all.iter().skip(offset).take(count).cloned().collect();
            Json(json!({ "total_count": all.len(), "item_count": page.len(), "item": page }))
        }
        ("POST", "/cgi-bin/material/del_material") => {
            let media_id = json_body["media_id"].as_str().unwrap_or_default();
            let list = inner.materials.entry(appid).or_default();
            let before = list.len();
            list.retain(|(_, item)| item["media_id"] != media_id);
            if list.len() == before {
                return error(40007, "invalid media_id");
            }
            error(0, "ok")
        }
        ("POST", "/cgi-bin/draft/add") => {
            let articles = json_body["articles"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if articles.is_empty()
                || articles
                    .iter()
                    .any(|a| a["thumb_media_id"].as_str().is_none_or(str::is_empty))
            {
                return error(40007, "invalid media_id");
            }
            inner.next_media += 1;
            let media_id = format!("MEDIA_NEWS_{}", inner.next_media);
            let item = json!({ "media_id": media_id, "content": { "news_item": articles }, "update_time": chrono::Utc::now().timestamp() });
            inner
                .materials
                .entry(appid)
                .or_default()
                .push(("news".into(), item));
            Json(json!({ "media_id": media_id }))
        }
        _ => error(
            40066,
            &format!("invalid url: the fake does not implement {method} {path}"),
        ),
    }
}
