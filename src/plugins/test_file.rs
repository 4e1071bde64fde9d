//! Plugin test files: `name.test.toml` next to `name.rhai` (or a folder
//! plugin `name/`) lists cases — messages and events from a fan of an
//! account at a time, with seeded state, settings and HTTP fixtures — and
//! what each step must give: the reply, state values, queued WeChat
//! actions and timers, or an error. `wxmp plugin test plugins/` runs them
//! as dry runs (state in memory, HTTP answered from the fixtures, nothing
//! sent) and reports each difference as expected/got lines.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use super::call::{StateScope, StateStore, StateValue};
use super::dry_run::{dry_run_of, DryEnv};
use super::dry_state::Overlay;
use super::http_out::HttpFixture;
use super::script::Script;
use super::{handler_name, plugin_context, state, Plugin, Runtime, Stats};
use crate::wechat::{InboundMessage, SampleMessage};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    #[serde(rename = "case", default)]
    pub cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// The fan's openid (default `o_plugin_test`).
    pub fan: Option<String>,
    /// The account's app id (default `wx_plugin_test`), for `PLUGIN.accounts`.
    pub account: Option<String>,
    /// The time of the first step (RFC 3339; default the real clock).
    pub time: Option<String>,
    /// The account's values of the plugin's settings.
    #[serde(default)]
    pub settings: serde_json::Map<String, Value>,
    /// State before the first step.
    #[serde(default)]
    pub state: Vec<Seed>,
    /// Answers to the plugin's `http::get`/`post`.
    #[serde(default)]
    pub http_fixtures: Vec<HttpFixture>,
    #[serde(rename = "step", default)]
    pub steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// `fan` (the case's fan; default) or `account`.
    pub scope: Option<String>,
    pub key: String,
    pub value: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub text: Option<String>,
    pub event: Option<String>,
    /// The event's key.
    #[serde(default)]
    pub key: String,
    /// This step's time (default: the step before's).
    pub time: Option<String>,
    /// The reply's text (other replies: their JSON); `""`: no reply.
    pub reply: Option<String>,
    /// Text the reply (its text, or its JSON) contains.
    pub reply_contains: Option<String>,
    /// State values after the step.
    #[serde(default)]
    pub expect_state: Vec<ExpectState>,
    /// The WeChat actions the step queues, in order: `{action, openid, params}`.
    pub actions: Option<Vec<Value>>,
    /// The timers it sets, in order: `{name, data?}`.
    pub timers: Option<Vec<Value>>,
    /// Text the error contains; without it the step must not fail.
    pub error: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectState {
    pub scope: Option<String>,
    pub key: String,
    /// The value; left out with `removed = true`: no value.
    pub value: Option<Value>,
    #[serde(default)]
    pub removed: bool,
}

/// One case's result: the differences, empty when it passed.
pub struct CaseResult {
    pub file: String,
    pub name: String,
    pub failures: Vec<String>,
}

/// The test files under `path`: a `.test.toml`, the one next to a `.rhai`
/// file or folder plugin, or every `*.test.toml` in a directory.
pub fn test_files(path: &Path) -> Vec<PathBuf> {
    let name = path.to_string_lossy();
    if name.ends_with(".test.toml") {
        return vec![path.to_path_buf()];
    }
    if path.is_dir() && !path.join("main.rhai").is_file() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".test.toml"))
            .collect();
        files.sort();
        return files;
    }
    let trimmed = name.trim_end_matches('/').trim_end_matches(".rhai");
    let file = PathBuf::from(format!("{trimmed}.test.toml"));
    if file.is_file() {
        vec![file]
    } else {
        Vec::new()
    }
}

/// The plugin a test file tests: `name.rhai`, else the folder `name/`.
fn plugin_of(test_file: &Path) -> PathBuf {
    let base = test_file
        .to_string_lossy()
        .trim_end_matches(".test.toml")
        .to_string();
    let file = PathBuf::from(format!("{base}.rhai"));
    if file.is_file() {
        file
    } else {
        PathBuf::from(base)
    }
}

fn parse_time(text: &str, what: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{what}: {text:?} is not an RFC 3339 time"))
}

/// Runs every case of one test file.
pub async fn run_file(test_file: &Path, timeout: Duration) -> Vec<CaseResult> {
    let file = test_file.display().to_string();
    let broken = |why: String| {
        vec![CaseResult {
            file: file.clone(),
            name: "(the file)".into(),
            failures: vec![why],
        }]
    };
    let text = match std::fs::read_to_string(test_file) {
        Ok(text) => text,
        Err(e) => return broken(format!("cannot read: {e}")),
    };
    let parsed: TestFile = match toml::from_str(&text) {
        Ok(parsed) => parsed,
        Err(e) => return broken(e.to_string()),
    };
    if parsed.cases.is_empty() {
        return broken("no [[case]] in the file".into());
    }
    let plugin_path = plugin_of(test_file);
    let mut results = Vec::new();
    for case in parsed.cases {
        // Each case gets a freshly compiled plugin: nothing carries over.
        let failures = match super::cli::compile_file(&plugin_path, timeout) {
            Ok(script) => run_case(script, &case, timeout)
                .await
                .unwrap_or_else(|why| vec![why]),
            Err(error) => vec![format!("the plugin does not compile: {error}")],
        };
        results.push(CaseResult {
            file: file.clone(),
            name: case.name.clone(),
            failures,
        });
    }
    results
}

fn scope_of(
    plugin: &str,
    account_id: i64,
    fan: &str,
    scope: Option<&str>,
) -> Result<StateScope, String> {
    let openid = match scope.unwrap_or("fan") {
        "fan" => fan.to_string(),
        "account" => String::new(),
        other => return Err(format!("scope {other:?}: give fan or account")),
    };
    Ok(StateScope {
        plugin: plugin.to_string(),
        account_id,
        openid,
    })
}

/// `expected` and `got` as two lines, for a failure.
fn differs(what: String, expected: &Value, got: &Value) -> String {
    format!("{what}\n    - expected: {expected}\n    + got:      {got}")
}

async fn run_case(script: Script, case: &Case, timeout: Duration) -> Result<Vec<String>, String> {
    let name = script.declaration.name.clone();
    let fan = case.fan.clone().unwrap_or_else(|| "o_plugin_test".into());
    let account = crate::entity::accounts::Model {
        id: 1,
        app_id: case
            .account
            .clone()
            .unwrap_or_else(|| "wx_plugin_test".into()),
        account_name: "plugin test".into(),
        original_id: "gh_plugin_test".into(),
        ..Default::default()
    };
    // Settings are checked as the admin route checks them.
    let mut settings = HashMap::new();
    for (key, value) in &case.settings {
        let setting = script
            .declaration
            .settings
            .iter()
            .find(|s| &s.name == key)
            .ok_or_else(|| format!("settings.{key}: {name} declares no such setting"))?;
        let value = super::settings::check(&setting.kind, value)
            .map_err(|why| format!("settings.{key} ({}) {why}", setting.kind))?;
        settings.insert(key.clone(), value);
    }
    super::http_out::check_fixtures(&case.http_fixtures)
        .map_err(|(i, why)| format!("http_fixtures[{i}]: {why}"))?;
    let memory: Arc<dyn StateStore> = Arc::new(state::MemoryState::default());
    let overlay = Arc::new(Overlay::new(memory));
    for seed in &case.state {
        let scope = scope_of(&name, account.id, &fan, seed.scope.as_deref())?;
        let value = StateValue {
            value: seed.value.clone(),
            expires_at: None,
        };
        overlay.seed(scope, seed.key.clone(), value);
    }
    let runtime = Arc::new(Runtime {
        timeout,
        state: overlay.clone(),
        slots: Semaphore::new(1),
        switches: None,
        counters: None,
        timers: None,
        settings: Some(super::settings::SettingsStore::fixed(settings)),
    });
    let plugin = Arc::new(Plugin {
        script,
        path: PathBuf::new(),
        source_hash: String::new(),
        loaded_at: Utc::now(),
        stats: Arc::new(Stats::default()),
        runtime,
    });
    let mut env = DryEnv {
        state: overlay.clone(),
        clock: case
            .time
            .as_deref()
            .map(|t| parse_time(t, "time"))
            .transpose()?,
        http_fixtures: (!case.http_fixtures.is_empty())
            .then(|| Arc::new(case.http_fixtures.clone())),
    };
    let declared = &plugin.script.declaration.accounts;
    if !declared.is_empty() && !declared.contains(&account.app_id) {
        return Err(format!(
            "{name} does not run for account {:?} (PLUGIN.accounts)",
            account.app_id
        ));
    }
    if case.steps.is_empty() {
        return Err("the case has no [[case.step]]".into());
    }
    let mut failures = Vec::new();
    for (i, step) in case.steps.iter().enumerate() {
        let at = format!("step {}", i + 1);
        if let Some(time) = &step.time {
            env.clock = Some(parse_time(time, &format!("{at}: time"))?);
        }
        let sample = match (&step.text, &step.event) {
            (Some(text), None) => SampleMessage::Text(text.clone()),
            (None, Some(event)) => SampleMessage::Event {
                event: event.clone(),
                key: step.key.clone(),
            },
            _ => return Err(format!("{at}: give text or event, one of them")),
        };
        let now = env.clock.unwrap_or_else(Utc::now);
        let xml = sample.to_xml("gh_plugin_test", &fan, now.timestamp());
        let message = Arc::new(InboundMessage::parse(&xml).map_err(|e| format!("{at}: {e}"))?);
        let got = if plugin.script.wants(&message) {
            let ctx = plugin_context(
                super::engine::LazyFan::ready(super::fan_map(None, &fan)),
                &name,
                &account,
                true,
            );
            let (report, _) = env
                .run(&plugin, &message, ctx, account.id)
                .await
                .map_err(|e| format!("{at}: {e}"))?;
            dry_run_of(
                Some(handler_name(&name)),
                report,
                plugin.on_error_reply(),
                &message,
            )
        } else {
            let mut dry = super::dry_run::DryRun::from_outcome(
                None,
                &super::engine::ScriptOutcome::Continue,
                &message,
            );
            dry.error = Some(format!("{name} does not take this message type or event"));
            dry
        };
        check_step(
            &at,
            step,
            &got,
            &overlay,
            &name,
            account.id,
            &fan,
            now,
            &mut failures,
        )?;
    }
    Ok(failures)
}

#[allow(clippy::too_many_arguments)]
fn check_step(
    at: &str,
    step: &Step,
    got: &super::dry_run::DryRun,
    state: &Overlay,
    plugin: &str,
    account_id: i64,
    fan: &str,
    now: DateTime<Utc>,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    match (&step.error, &got.error) {
        (None, Some(error)) => failures.push(format!("{at}: failed: {error}")),
        (Some(expected), None) => failures.push(differs(
            format!("{at}: error"),
            &json!(expected),
            &Value::Null,
        )),
        (Some(expected), Some(error)) if !error.contains(expected.as_str()) => {
            failures.push(differs(
                format!("{at}: error (contains)"),
                &json!(expected),
                &json!(error),
            ))
        }
        _ => {}
    }
    let reply = match &got.reply {
        None => String::new(),
        Some(crate::wechat::Reply::Text { content }) => content.clone(),
        Some(other) => serde_json::to_string(other).unwrap_or_default(),
    };
    if let Some(expected) = &step.reply {
        if expected != &reply {
            failures.push(differs(
                format!("{at}: reply"),
                &json!(expected),
                &json!(reply),
            ));
        }
    }
    if let Some(part) = &step.reply_contains {
        if !reply.contains(part.as_str()) {
            failures.push(differs(
                format!("{at}: reply (contains)"),
                &json!(part),
                &json!(reply),
            ));
        }
    }
    for expected in &step.expect_state {
        let scope = scope_of(plugin, account_id, fan, expected.scope.as_deref())
            .map_err(|why| format!("{at}: expect_state: {why}"))?;
        let value = state
            .get(&scope, &expected.key, now)
            .map_err(|why| format!("{at}: {why}"))?
            .map(|v| v.value)
            .unwrap_or(Value::Null);
        let wanted = match (&expected.value, expected.removed) {
            (Some(value), false) => value.clone(),
            (None, true) => Value::Null,
            _ => {
                return Err(format!(
                    "{at}: expect_state {:?}: give value, or removed = true",
                    expected.key
                ))
            }
        };
        if value != wanted {
            let what = format!(
                "{at}: state {} {:?}",
                expected.scope.as_deref().unwrap_or("fan"),
                expected.key
            );
            failures.push(differs(what, &wanted, &value));
        }
    }
    if let Some(expected) = &step.actions {
        let got = serde_json::to_value(&got.actions).unwrap_or_default();
        if json!(expected) != got {
            failures.push(differs(format!("{at}: actions"), &json!(expected), &got));
        }
    }
    if let Some(expected) = &step.timers {
        // Compared by name and data; due_at moves with the clock.
        let got: Vec<Value> = got
            .timers
            .iter()
            .map(|t| json!({ "name": t.name, "data": t.data }))
            .collect();
        let expected: Vec<Value> = expected
            .iter()
            .map(|t| json!({ "name": t["name"], "data": t.get("data").cloned().unwrap_or(Value::Null) }))
            .collect();
        if expected != got {
            failures.push(differs(
                format!("{at}: timers"),
                &json!(expected),
                &json!(got),
            ));
        }
    }
    Ok(())
}

/// Every case of the test files of the plugin at `path` (see
/// [`test_files`]); none when it has no test file (a file always gives at
/// least one result, if only that it cannot be read).
pub async fn run_tests_of(path: &Path, timeout: Duration) -> Vec<CaseResult> {
    let mut results = Vec::new();
    for file in test_files(path) {
        results.extend(run_file(&file, timeout).await);
    }
    results
}

/// `wxmp plugin test <path>` without a message: the test files, each case
/// `ok` or `FAIL` with its differences; an error when any failed.
pub async fn run_and_print(
    path: &std::path::Path,
    timeout: std::time::Duration,
) -> anyhow::Result<()> {
    let results = run_tests_of(path, timeout).await;
    if results.is_empty() {
        anyhow::bail!(
            "no test files for {}: give --text or --event, or write name.test.toml next to the plugin",
            path.display()
        );
    }
    let (mut passed, mut failed) = (0, 0);
    for result in results {
        if result.failures.is_empty() {
            passed += 1;
            println!("ok    {}: {}", result.file, result.name);
        } else {
            failed += 1;
            println!("FAIL  {}: {}", result.file, result.name);
            for failure in &result.failures {
                println!("  {failure}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        anyhow::bail!("{failed} plugin test case(s) failed");
    }
    Ok(())
}
