//! `wxmp plugin check|test`: compile one plugin file and run it on a message,
//! without a server or a database.

use super::engine::{self, ScriptError, ScriptOutcome};
use super::script::{self, Script};
use super::{fan_map, handler_name, plugin_context, state, Plugin, Runtime, Stats, LIB_DIR};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::dry_run::{dry_run_of, DryRun};
use super::registry::read_modules;
use crate::wechat::InboundMessage;

/// Compiles one plugin file as the server would, with the shared modules of
/// the plugins directory it sits in (for `wxmp plugin check` and `test`);
/// a folder means its `main.rhai`.
pub fn compile_file(path: &Path, timeout: Duration) -> Result<Script, ScriptError> {
    // A folder plugin is its main.rhai.
    let main;
    let path = if path.is_dir() {
        main = path.join("main.rhai");
        main.as_path()
    } else {
        path
    };
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        engine::script_error(&file, rhai::Position::NONE, format!("cannot read: {e}"))
    })?;
    compile_text(path, &file, &text, timeout)
}

/// Compiles `text` as the plugin file at `path` (a `.rhai` file, or a
/// folder's `main.rhai`) with the shared modules beside it, naming it `file`
/// in errors; the file itself is not read.
pub fn compile_text(
    path: &Path,
    file: &str,
    text: &str,
    timeout: Duration,
) -> Result<Script, ScriptError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let mut modules = engine::Modules::new();
    let (dir, default_name) = if path.file_name().is_some_and(|n| n == "main.rhai") {
        let folder = parent
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("plugin")
            .to_string();
        read_modules(parent, &format!("{folder}/"), &mut modules, Some(path));
        (parent.parent().unwrap_or(Path::new(".")), folder)
    } else {
        (
            parent,
            path.file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("plugin")
                .to_string(),
        )
    };
    read_modules(&dir.join(LIB_DIR), "", &mut modules, None);
    let engine = Arc::new(engine::build_engine(&modules, timeout)?);
    script::compile(engine, &modules, file, &default_name, text, timeout)
}

/// Runs a compiled plugin once against `message`, with state in memory.
pub async fn test_script(script: Script, message: InboundMessage, timeout: Duration) -> DryRun {
    let account = crate::entity::accounts::Model {
        id: 1,
        app_id: "wx_plugin_test".into(),
        account_name: "plugin test".into(),
        original_id: message.to_user.clone(),
        ..Default::default()
    };
    let name = script.declaration.name.clone();
    let runtime = Arc::new(Runtime {
        timeout,
        state: Arc::new(state::MemoryState::default()),
        slots: Semaphore::new(1),
        switches: None,
        counters: None,
        timers: None,
        settings: None,
    });
    let plugin = Arc::new(Plugin {
        script,
        path: PathBuf::new(),
        source_hash: String::new(),
        loaded_at: chrono::Utc::now(),
        stats: Arc::new(Stats::default()),
        runtime,
    });
    let message = Arc::new(message);
    if !plugin.script.wants(&message) {
        let mut dry = DryRun::from_outcome(None, &ScriptOutcome::Continue, &message);
        dry.error = Some(format!(
            "{name} does not take this message type or event (see its PLUGIN declaration)"
        ));
        return dry;
    }
    let fan = engine::LazyFan::ready(fan_map(None, &message.from_user));
    let ctx = plugin_context(fan, &name, &account, true);
    let report = plugin.run(message.clone(), ctx, account.id).await;
    dry_run_of(
        Some(handler_name(&name)),
        report,
        plugin.on_error_reply(),
        &message,
    )
}
