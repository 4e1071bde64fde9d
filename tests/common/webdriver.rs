//! A small W3C WebDriver client on reqwest, driving Debian's Chromium through
//! chromedriver. Each [`Browser`] starts its own chromedriver on a free
//! loopback port, with a fresh Chrome profile, and stops both when dropped.
//!
//! Failures panic with the WebDriver error, which is what a test wants.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use tempfile::TempDir;

/// The key W3C WebDriver uses for element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long waits poll before failing.
pub const WAIT: Duration = Duration::from_secs(15);

const INSTALL_HINT: &str = "the UI tests drive Chromium through chromedriver; install both with \
     `apt-get update && apt-get install -y chromium chromium-driver` (scripts/services does this), \
     or point WXMP_CHROMEDRIVER / WXMP_CHROME at them";

fn find_program(env: &str, names: &[&str], fixed: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    let from_path = std::env::var_os("PATH").into_iter().flat_map(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
            .collect::<Vec<_>>()
    });
    fixed
        .iter()
        .map(PathBuf::from)
        .chain(from_path)
        .find(|path| path.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// WebDriver key codes.
pub const ENTER: &str = "\u{E007}";
pub const ESCAPE: &str = "\u{E00C}";
pub const TAB: &str = "\u{E004}";

/// An element found on the page.
#[derive(Clone, Debug)]
pub struct Element(String);

pub struct Browser {
    client: reqwest::Client,
    driver_url: String,
    session: String,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a `width`×`height` window.
    /// Panics with installation instructions when either is missing.
    pub async fn start(width: u32, height: u32) -> Self {
        let chromedriver = find_program("WXMP_CHROMEDRIVER", &["chromedriver"], &[])
            .unwrap_or_else(|| panic!("chromedriver not found: {INSTALL_HINT}"));
        // Debian's /usr/bin/chromium is a shell wrapper; the binary proper is
        // under /usr/lib/chromium.
        let chrome = find_program(
            "WXMP_CHROME",
            &["chromium", "chromium-browser", "google-chrome"],
            &["/usr/lib/chromium/chromium"],
        )
        .unwrap_or_else(|| panic!("Chromium not found: {INSTALL_HINT}"));
        let profile = tempfile::tempdir().expect("a temporary Chrome profile");
        let port = free_port();
        let mut command = Command::new(&chromedriver);
        command
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so dropping the browser can stop chromedriver
        // and the Chrome processes it started, and nothing else.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e}; {INSTALL_HINT}",
                chromedriver.display()
            )
        });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("HTTP client");
        let driver_url = format!("http://127.0.0.1:{port}");
        let mut browser = Browser {
            client,
            driver_url,
            session: String::new(),
            driver,
            _profile: profile,
        };
        browser.wait_for_driver().await;
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "unhandledPromptBehavior": "dismiss",
                    "goog:chromeOptions": {
                        "binary": chrome.display().to_string(),
                        "args": [
                            "--headless",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--disable-dev-shm-usage",
                            "--lang=en-US",
                            format!("--window-size={width},{height}"),
                            format!("--user-data-dir={}", browser._profile.path().display()),
                        ],
                    },
                },
            },
        });
        let created = browser
            .raw(reqwest::Method::POST, "/session", Some(capabilities))
            .await;
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {created}"))
            .to_string();
        browser
    }

    async fn wait_for_driver(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("chromedriver exited at start ({status}); {INSTALL_HINT}");
            }
            let ready = self
                .client
                .get(format!("{}/status", self.driver_url))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if let Some(response) = ready {
                let body: Value = response.json().await.unwrap_or_default();
                if body["value"]["ready"] == json!(true) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready in 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends a command; returns its `value`, panicking on a WebDriver error.
    async fn raw(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.try_raw(method.clone(), path, body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path} failed: {e}"))
    }

    async fn try_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.driver_url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(body["value"].clone())
        } else {
            Err(format!(
                "{}: {}",
                body["value"]["error"].as_str().unwrap_or("error"),
                body["value"]["message"].as_str().unwrap_or("")
            ))
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    async fn cmd(&self, method: reqwest::Method, rest: &str, body: Option<Value>) -> Value {
        self.raw(method, &self.path(rest), body).await
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn current_url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `script` (a function body; arguments in `arguments`) and returns its result.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Polls `expression` (JavaScript) until it is truthy; panics after [`WAIT`]
    /// naming `what` and the last value.
    pub async fn wait_until(&self, expression: &str, what: &str) -> Value {
        let script = format!("return ({expression});");
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self
                .try_raw(
                    reqwest::Method::POST,
                    &self.path("/execute/sync"),
                    Some(json!({ "script": script, "args": [] })),
                )
                .await
                .unwrap_or(Value::Null);
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            if Instant::now() > deadline {
                let url = self.current_url().await;
                let errors = self.js("return window.__wxmpErrors || null", vec![]).await;
                panic!(
                    "timed out waiting for {what} ({expression}) at {url}; last value {value}; page errors {errors}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for a visible element matching `css` and returns it.
    pub async fn wait_for(&self, css: &str) -> Element {
        let quoted = serde_json::to_string(css).expect("css as JSON");
        self.wait_until(
            &format!("(() => {{ const el = document.querySelector({quoted}); return !!el && el.getClientRects().length > 0; }})()"),
            &format!("a visible {css}"),
        )
        .await;
        self.find(css).await
    }

    /// Waits until no element matches `css` (or none is visible).
    pub async fn wait_gone(&self, css: &str) {
        let quoted = serde_json::to_string(css).expect("css as JSON");
        self.wait_until(
            &format!("[...document.querySelectorAll({quoted})].every((el) => el.getClientRects().length === 0)"),
            &format!("{css} to go away"),
        )
        .await;
    }

    pub async fn find(&self, css: &str) -> Element {
        let value = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        Element(
            value[ELEMENT_KEY]
                .as_str()
                .unwrap_or_else(|| panic!("no element reference for {css}: {value}"))
                .to_string(),
        )
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let value = self
            .cmd(
                reqwest::Method::POST,
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item[ELEMENT_KEY].as_str())
                    .map(|id| Element(id.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn click(&self, element: &Element) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        )
        .await;
    }

    /// Waits for `css` and clicks it like a user would.
    pub async fn click_css(&self, css: &str) {
        let element = self.wait_for(css).await;
        self.click(&element).await;
    }

    /// Types `text` into the element (after clearing it), as key presses.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.wait_for(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/clear", element.0),
            Some(json!({})),
        )
        .await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Sets a field's value and fires `input` and `change`, for text
    /// chromedriver cannot type (characters outside the BMP, like emoji) and
    /// for `<select>`.
    pub async fn set_value(&self, css: &str, value: &str) {
        self.wait_for(css).await;
        self.js(
            "const el = document.querySelector(arguments[0]);
             el.value = arguments[1];
             el.dispatchEvent(new Event('input', { bubbles: true }));
             el.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![json!(css), json!(value)],
        )
        .await;
    }

    /// Presses and releases one key on whatever has the focus.
    pub async fn press(&self, key: &str) {
        self.cmd(
            reqwest::Method::POST,
            "/actions",
            Some(json!({
                "actions": [{
                    "type": "key",
                    "id": "keyboard",
                    "actions": [{ "type": "keyDown", "value": key }, { "type": "keyUp", "value": key }],
                }],
            })),
        )
        .await;
        self.cmd(reqwest::Method::DELETE, "/actions", None).await;
    }

    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{}/text", element.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Emulates a device `width` CSS pixels wide (headless windows cannot be
    /// narrower than 500 px), through chromedriver's DevTools bridge.
    pub async fn emulate_width(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": { "width": width, "height": height, "deviceScaleFactor": 1, "mobile": true },
            })),
        )
        .await;
    }

    /// Saves a PNG of the viewport.
    pub async fn screenshot(&self, path: &Path) {
        let data = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("screenshot is base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Ends the session (Chrome exits) and stops chromedriver.
    pub async fn quit(mut self) {
        let path = self.path("");
        let _ = self.try_raw(reqwest::Method::DELETE, &path, None).await;
        self.session.clear();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Stops chromedriver and any Chrome it left behind: the whole process
        // group this browser started, by its id.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.wait();
    }
}
