//! Headless Chromium for the UI tests, driven through Debian's chromedriver
//! with `fantoccini`. Each [`Browser`] starts its own chromedriver on a free
//! loopback port, with a fresh Chrome profile, and stops both when dropped.
//! The methods wait the way a user would (for an element to show, for a
//! condition to hold) and panic with what they waited for on failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tempfile::TempDir;

/// How long waits poll before failing.
const WAIT: Duration = Duration::from_secs(15);

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

pub struct Browser {
    client: Client,
    driver_url: String,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a `width`×`height`
    /// window, preferring English (the tests that match English text rely on
    /// it). Panics with installation instructions when either is missing.
    pub async fn start(width: u32, height: u32) -> Self {
        Self::start_in(width, height, "en-US").await
    }

    /// [`Browser::start`] with a browser that prefers `lang` (e.g. `zh-CN`):
    /// what `navigator.languages` says, which picks the UI's language.
    pub async fn start_in(width: u32, height: u32, lang: &str) -> Self {
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
        let mut driver = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e}; {INSTALL_HINT}",
                chromedriver.display()
            )
        });
        let driver_url = format!("http://127.0.0.1:{port}");
        wait_for_driver(&mut driver, &driver_url).await;

        let capabilities = json!({
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
                    format!("--lang={lang}"),
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": { "intl.accept_languages": lang },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("capabilities are an object")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver_url)
            .await
            .unwrap_or_else(|e| panic!("no WebDriver session: {e}; {INSTALL_HINT}"));
        Browser {
            client,
            driver_url,
            driver,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    pub async fn current_url(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("the current URL")
            .to_string()
    }

    /// Runs `script` (a function body; arguments in `arguments`) and returns its result.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Polls `expression` (JavaScript) until it is truthy; panics after [`WAIT`]
    /// naming `what` and the last value.
    pub async fn wait_until(&self, expression: &str, what: &str) -> Value {
        let script = format!("return ({expression});");
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self
                .client
                .execute(&script, vec![])
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
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("cannot find {css}: {e}"))
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

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("cannot look for {css}: {e}"))
    }

    /// Waits for `css` and clicks it like a user would.
    pub async fn click_css(&self, css: &str) {
        let element = self.wait_for(css).await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Types `text` into the element (after clearing it), as key presses.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.wait_for(css).await;
        element
            .clear()
            .await
            .unwrap_or_else(|e| panic!("cannot clear {css}: {e}"));
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
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
    pub async fn press(&self, key: Key) {
        let value = char::from(key);
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|e| panic!("cannot press {key:?}: {e}"));
        self.client
            .release_actions()
            .await
            .expect("release the keys");
    }

    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        element
            .text()
            .await
            .unwrap_or_else(|e| panic!("no text for {css}: {e}"))
    }

    /// Emulates a device `width` CSS pixels wide (headless windows cannot be
    /// narrower than 500 px), through chromedriver's DevTools bridge (a
    /// chromedriver extension to WebDriver, hence sent by hand).
    pub async fn emulate_width(&self, width: u32, height: u32) {
        let session = self
            .client
            .session_id()
            .await
            .expect("the session id")
            .expect("a session");
        let response = reqwest::Client::new()
            .post(format!("{}/session/{session}/goog/cdp/execute", self.driver_url))
            .json(&json!({
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": { "width": width, "height": height, "deviceScaleFactor": 1, "mobile": true },
            }))
            .send()
            .await
            .expect("chromedriver answers");
        let status = response.status();
        assert!(
            status.is_success(),
            "emulating a {width} px wide device failed ({status}): {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// Saves a PNG of the viewport.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.expect("a screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Ends the session (Chrome exits); chromedriver stops when dropped.
    pub async fn quit(self) {
        let _ = self.client.clone().close().await;
    }
}

/// Waits until chromedriver says it is ready for a new session.
async fn wait_for_driver(driver: &mut Child, driver_url: &str) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = driver.try_wait() {
            panic!("chromedriver exited at start ({status}); {INSTALL_HINT}");
        }
        let ready = client
            .get(format!("{driver_url}/status"))
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
