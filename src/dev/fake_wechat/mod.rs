//! A fake WeChat API server of ours, speaking WeChat's wire format over real
//! HTTP: tests point `WXMP_WECHAT_API_BASE` at it, and `wxmp sandbox` runs it
//! for local demos. It behaves, rather than answering fixed values: tokens
//! expire and are invalidated when re-issued (stable tokens are not), the
//! 48-hour window applies, errors can be injected, and every request is
//! recorded so tests can check the exact wire format.
//!
//! This file holds the fake's state and the controls tests use; `request`
//! reads, records and authorizes each call and hands it to one API area:
//! `tokens` (access tokens, JS-SDK tickets, web OAuth), `menus`, `media`
//! (temporary media, permanent materials, drafts), `messages`
//! (customer-service and template messages) and `fans`.

mod fans;
mod media;
mod menus;
mod messages;
mod request;
mod tokens;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

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

/// What can go wrong between wxmp and WeChat, besides WeChat's own errcodes.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// The answer comes after this long.
    Slow(std::time::Duration),
    /// A gateway error page instead of JSON (HTTP 502).
    ServerError,
    /// HTTP 200 with a body that is not JSON.
    Garbage,
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
    next_msgid: u64,
    /// path → errcodes to answer next, in order.
    failures: HashMap<String, VecDeque<i64>>,
    /// path → transport faults for the next calls, in order.
    faults: HashMap<String, VecDeque<Fault>>,
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
        let app = Router::new()
            .fallback(any(request::handle))
            .with_state(self.clone());
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

    /// The msgid the next template message gets is one above `msgid`
    /// (WeChat documents no range: tests use values past 2^63).
    pub fn set_last_msgid(&self, msgid: u64) {
        self.lock().next_msgid = msgid;
    }

    pub fn close_window(&self, openid: &str) {
        self.lock().closed_windows.insert(openid.to_string());
    }

    /// The next calls to `path` meet these faults, one each.
    pub fn fault_next(&self, path: &str, faults: &[Fault]) {
        self.lock()
            .faults
            .entry(path.to_string())
            .or_default()
            .extend(faults.iter().copied());
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
