//! `http::get` and `http::post` for scripts: only to the hosts the plugin's
//! `http_hosts` lists (checked by [`crate::outbound`], as media downloads
//! are: every URL, redirect and resolved address), within what is left of
//! the call's time budget, with the answer capped in size. Dry runs make no
//! request: they answer from the `http_fixtures` they were given.
//!
//! Scripts are synchronous, so the script's thread (a blocking-pool thread,
//! never an async worker: see `Plugin::run_with`) waits for the answer; the
//! request itself is async I/O on the server's runtime.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rhai::{Dynamic, EvalAltResult, ImmutableString, Map, Module};

use super::call::with_call;
use super::engine::{text_of, DEADLINE, MAX_STRING};
use crate::outbound::{read_capped, with_causes, Allowlist, ReadError};

/// The largest answer a script gets: the largest string a script may hold.
pub const MAX_RESPONSE_BYTES: usize = MAX_STRING;
/// Requests one call may make.
pub const MAX_REQUESTS_PER_CALL: usize = 5;
/// Headers a script may not set: the client sets them from the request.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
];

/// What one plugin version may reach; its client is built on first use.
pub struct HttpOut {
    hosts: Vec<String>,
    allowlist: Allowlist,
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl HttpOut {
    pub fn new(hosts: &[String]) -> Self {
        let name = format!("this plugin's http_hosts ({})", hosts.join(", "));
        Self {
            hosts: hosts.to_vec(),
            allowlist: Allowlist::new(hosts, &name),
            client: OnceLock::new(),
        }
    }

    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }
}

/// A canned answer a dry run gives to the request with this method and URL.
#[derive(Clone, Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpFixture {
    /// `GET` (default) or `POST`.
    pub method: Option<String>,
    /// The URL exactly as the script requests it.
    pub url: String,
    /// Default 200.
    pub status: Option<u16>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// The requests of one call: where they may go, how long the call may take,
/// and (in a dry run) the fixtures that answer instead.
pub struct HttpCalls {
    out: Arc<HttpOut>,
    runtime: tokio::runtime::Handle,
    /// The call's whole time budget; a fifth of it is kept for the script
    /// to handle what a request answered (or that it timed out).
    budget: Duration,
    fixtures: Option<Arc<Vec<HttpFixture>>>,
    made: AtomicUsize,
}

impl HttpCalls {
    pub fn new(
        out: Arc<HttpOut>,
        runtime: tokio::runtime::Handle,
        budget: Duration,
        fixtures: Option<Arc<Vec<HttpFixture>>>,
    ) -> Self {
        Self {
            out,
            runtime,
            budget,
            fixtures,
            made: AtomicUsize::new(0),
        }
    }
}

/// A request a script asked for, checked.
struct Outgoing {
    method: reqwest::Method,
    url: reqwest::Url,
    headers: reqwest::header::HeaderMap,
    body: Option<Vec<u8>>,
}

/// What a script gets back: `#{status, ok, body, headers}`.
fn answer(status: u16, body: String, headers: Map) -> Map {
    let mut map = Map::new();
    map.insert("status".into(), i64::from(status).into());
    map.insert("ok".into(), (200..300).contains(&status).into());
    map.insert("body".into(), body.into());
    map.insert("headers".into(), headers.into());
    map
}

fn checked(
    function: &str,
    url: &str,
    body: Option<Dynamic>,
    headers: Option<Map>,
) -> Result<Outgoing, String> {
    use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE};
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("bad URL {url:?}: {e}"))?;
    let mut header_map = reqwest::header::HeaderMap::new();
    for (name, value) in headers.unwrap_or_default() {
        let lower = name.to_ascii_lowercase();
        if RESERVED_HEADERS.contains(&lower.as_str()) {
            return Err(format!(
                "header {name:?} is set by the server, not by scripts"
            ));
        }
        let header = HeaderName::from_bytes(lower.as_bytes())
            .map_err(|_| format!("{name:?} is not a header name"))?;
        let value = HeaderValue::from_str(&text_of(&value))
            .map_err(|_| format!("the value of header {name:?} is not valid in a header"))?;
        header_map.insert(header, value);
    }
    let body = match body {
        None => None,
        Some(value) if value.is_string() => {
            if !header_map.contains_key(CONTENT_TYPE) {
                header_map.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
            }
            Some(text_of(&value).into_bytes())
        }
        Some(value) => {
            let json: serde_json::Value = rhai::serde::from_dynamic(&value).map_err(|e| {
                format!("{function}: the body is a string, or a map sent as JSON: {e}")
            })?;
            if !header_map.contains_key(CONTENT_TYPE) {
                header_map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            }
            Some(json.to_string().into_bytes())
        }
    };
    let method = if body.is_some() {
        reqwest::Method::POST
    } else {
        reqwest::Method::GET
    };
    Ok(Outgoing {
        method,
        url: parsed,
        headers: header_map,
        body,
    })
}

impl HttpCalls {
    fn request(&self, function: &str, outgoing: Outgoing, dry_run: bool) -> Result<Map, String> {
        self.out.allowlist.check_url(&outgoing.url)?;
        if self.made.fetch_add(1, Ordering::Relaxed) >= MAX_REQUESTS_PER_CALL {
            return Err(format!(
                "more than {MAX_REQUESTS_PER_CALL} requests in one call"
            ));
        }
        if dry_run {
            return match &self.fixtures {
                Some(fixtures) => from_fixture(fixtures, &outgoing),
                None => Err("dry runs make no HTTP requests: give the dry run \
                             http_fixtures to answer them"
                    .into()),
            };
        }
        let left = DEADLINE
            .with(|d| d.get())
            .map(|deadline| deadline.saturating_duration_since(Instant::now()))
            .unwrap_or(self.budget);
        let wait = left.saturating_sub(self.budget / 5);
        if wait < Duration::from_millis(1) {
            return Err(format!(
                "{function}: no time left in the plugin's {} ms for a request",
                self.budget.as_millis()
            ));
        }
        let client = self
            .out
            .client
            .get_or_init(|| self.out.allowlist.client())
            .clone()?;
        let mut request = client
            .request(outgoing.method, outgoing.url)
            .headers(outgoing.headers);
        if let Some(body) = outgoing.body {
            request = request.body(body);
        }
        let exchange = async move {
            let response = request.send().await.map_err(|e| with_causes(&e))?;
            let status = response.status().as_u16();
            let mut headers = Map::new();
            for (name, value) in response.headers() {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                headers
                    .entry(name.as_str().into())
                    .and_modify(|v: &mut Dynamic| *v = format!("{v}, {value}").into())
                    .or_insert_with(|| value.clone().into());
            }
            let body = read_capped(response, MAX_RESPONSE_BYTES)
                .await
                .map_err(|e| match e {
                    ReadError::TooLarge => {
                        format!("the answer is over {MAX_RESPONSE_BYTES} bytes; refused")
                    }
                    ReadError::Failed(why) => format!("reading the answer failed: {why}"),
                })?;
            Ok::<_, String>(answer(
                status,
                String::from_utf8_lossy(&body).into_owned(),
                headers,
            ))
        };
        // The script's blocking thread waits here; the request runs as
        // async I/O on the runtime, stopped when the time is up.
        super::engine::wait_for(&self.runtime, async {
            tokio::time::timeout(wait, exchange).await
        })?
        .map_err(|_| format!("no answer within {} ms", wait.as_millis()))?
    }
}

fn from_fixture(fixtures: &[HttpFixture], outgoing: &Outgoing) -> Result<Map, String> {
    let method = outgoing.method.as_str();
    let fixture = fixtures
        .iter()
        .find(|f| {
            f.url == outgoing.url.as_str()
                && f.method
                    .as_deref()
                    .unwrap_or("GET")
                    .eq_ignore_ascii_case(method)
        })
        .ok_or_else(|| format!("no http_fixtures entry answers {method} {}", outgoing.url))?;
    let headers = fixture
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase().into(), value.clone().into()))
        .collect();
    Ok(answer(
        fixture.status.unwrap_or(200),
        fixture.body.clone(),
        headers,
    ))
}

/// Checks what a dry run's fixtures say (the URLs parse, methods are known).
pub fn check_fixtures(fixtures: &[HttpFixture]) -> Result<(), (usize, String)> {
    for (index, fixture) in fixtures.iter().enumerate() {
        reqwest::Url::parse(&fixture.url)
            .map_err(|e| (index, format!("url {:?}: {e}", fixture.url)))?;
        if let Some(method) = &fixture.method {
            if !["GET", "POST"]
                .iter()
                .any(|m| m.eq_ignore_ascii_case(method))
            {
                return Err((index, format!("method {method:?}: GET or POST")));
            }
        }
        if fixture.status.is_some_and(|s| !(100..=599).contains(&s)) {
            return Err((index, "status is from 100 to 599".into()));
        }
    }
    Ok(())
}

fn call(
    function: &str,
    url: &str,
    body: Option<Dynamic>,
    headers: Option<Map>,
) -> Result<Map, Box<EvalAltResult>> {
    with_call(|call| {
        let Some(http) = &call.http else {
            return Err(format!(
                "{function}: this plugin lists no http_hosts in its PLUGIN declaration"
            )
            .into());
        };
        let outgoing = checked(function, url, body, headers)
            .map_err(|e| format!("{function}({url:?}): {e}"))?;
        Ok(http
            .request(function, outgoing, call.dry_run)
            .map_err(|e| format!("{function}({url:?}): {e}"))?)
    })
}

pub fn http_module() -> Module {
    let mut m = Module::new();
    m.set_native_fn("get", |url: ImmutableString| {
        call("http::get", &url, None, None)
    });
    m.set_native_fn("get", |url: ImmutableString, headers: Map| {
        call("http::get", &url, None, Some(headers))
    });
    m.set_native_fn("post", |url: ImmutableString, body: Dynamic| {
        call("http::post", &url, Some(body), None)
    });
    m.set_native_fn(
        "post",
        |url: ImmutableString, body: Dynamic, headers: Map| {
            call("http::post", &url, Some(body), Some(headers))
        },
    );
    m
}

/// Whether `host` names a host alone: a DNS name, an IPv4 or an IPv6 address.
pub fn is_host(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_ok()
        || (!host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }))
}
