//! A plugin's source file, for the editor: found by plugin name (never by a
//! path the client sends), compile-checked as the loader would, and written
//! atomically (a temporary file beside it, then a rename) so the loader never
//! reads half a file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::cli::compile_text;
use super::engine::ScriptError;
use super::registry::{PluginInfo, Registry};
use crate::error::AppError;

/// The largest source the editor may save or check.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;

/// A plugin's file inside the plugins directory.
pub struct PluginFile {
    /// Where it is on disk.
    pub path: PathBuf,
    /// Its path relative to the plugins directory, as the list shows it.
    pub file: String,
}

impl PluginFile {
    /// The plugin as its test file names it: the `.rhai` file, or for a
    /// folder plugin (`name/main.rhai`) the folder.
    pub fn plugin_path(&self) -> &std::path::Path {
        match (self.path.file_name(), self.path.parent()) {
            (Some(file), Some(folder)) if file == "main.rhai" && self.file.contains('/') => folder,
            _ => &self.path,
        }
    }
}

/// Whether `name` can be a plugin name: 1–64 letters, digits, `_` or `-`
/// (what the loader accepts), so no separator, dot or `..` gets through.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The file of the plugin named `name`: the one the list names so (a loaded
/// plugin by its declared name, a failing file by its stem), else
/// `<name>.rhai` or `<name>/main.rhai`. It must be a regular file inside the
/// plugins directory once symbolic links are resolved.
pub fn locate(registry: &Registry, name: &str) -> Result<PluginFile, AppError> {
    if !valid_name(name) {
        return Err(AppError::field(
            "name",
            format!("{name:?} is not a plugin name: use 1–64 letters, digits, '_' or '-'"),
        ));
    }
    let dir = registry.dir();
    let listed = registry
        .infos()
        .into_iter()
        .find(|info| info.name == name)
        .map(|info| dir.join(info.file));
    let path = listed
        .or_else(|| {
            [
                dir.join(format!("{name}.rhai")),
                dir.join(name).join("main.rhai"),
            ]
            .into_iter()
            .find(|p| p.is_file())
        })
        .ok_or_else(|| AppError::NotFound(format!("no plugin named {name:?}")))?;
    let inside = match (path.canonicalize(), dir.canonicalize()) {
        (Ok(real), Ok(root)) => real.starts_with(&root) && real.is_file(),
        _ => false,
    };
    if !inside || path.extension().is_none_or(|e| e != "rhai") {
        return Err(AppError::NotFound(format!(
            "no plugin file named {name:?} inside the plugins directory"
        )));
    }
    let file = path
        .strip_prefix(dir)
        .unwrap_or(&path)
        .display()
        .to_string();
    Ok(PluginFile { path, file })
}

/// What a new plugin starts from: it compiles, answers nothing, and is off
/// for every account until an admin switches it on there (`opt_in`), so a
/// plugin being written never answers a fan by surprise.
pub fn starter(name: &str) -> String {
    format!(
        "const PLUGIN = #{{\n    name: \"{name}\",\n    description: \"\",\n    priority: 250,\n    \
         messages: [\"text\"],\n    opt_in: true,\n}};\n\n\
         fn on_message(msg, ctx) {{\n    // Return a string (or reply::…) to answer; () lets the next handler answer.\n    \
         ()\n}}\n"
    )
}

/// Where a new plugin `name` goes (`<name>.rhai`), refusing a name that is
/// no plugin name or that a plugin (file, folder or loaded plugin) has.
pub fn new_file(registry: &Registry, name: &str) -> Result<PluginFile, AppError> {
    if !valid_name(name) {
        return Err(AppError::field(
            "name",
            format!("{name:?} is not a plugin name: use 1–64 letters, digits, '_' or '-'"),
        ));
    }
    let dir = registry.dir();
    let taken = registry.infos().iter().any(|info| info.name == name)
        || dir.join(format!("{name}.rhai")).exists()
        || dir.join(name).exists();
    if taken {
        return Err(AppError::field("name", "a plugin of this name exists"));
    }
    Ok(PluginFile {
        file: format!("{name}.rhai"),
        path: dir.join(format!("{name}.rhai")),
    })
}

/// Writes a new plugin's file; of two admins creating one name at once,
/// the second is refused.
pub fn create(file: &PluginFile, source: &str) -> Result<(), AppError> {
    use std::io::Write;
    let folder = file.path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)
        .and_then(|()| {
            let mut out = std::fs::File::create_new(&file.path)?;
            out.write_all(source.as_bytes())?;
            out.sync_all()
        })
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                AppError::field("name", "a plugin of this name exists")
            }
            _ => AppError::internal(format!("cannot write {}: {e}", file.file)),
        })
}

/// Removes a single-file plugin's file (its test file and stored state
/// stay). A folder plugin is refused: its folder holds other modules, which
/// an admin removes on the server.
pub fn remove(file: &PluginFile) -> Result<(), AppError> {
    if file.plugin_path() != file.path {
        return Err(AppError::field(
            "name",
            "is a folder plugin: remove its folder on the server",
        ));
    }
    std::fs::remove_file(&file.path)
        .map_err(|e| AppError::internal(format!("cannot remove {}: {e}", file.file)))
}

/// The file's text.
pub fn read(file: &PluginFile) -> Result<String, AppError> {
    std::fs::read_to_string(&file.path)
        .map_err(|e| AppError::internal(format!("cannot read {}: {e}", file.file)))
}

/// Refuses a source over [`MAX_SOURCE_BYTES`].
pub fn check_size(source: &str) -> Result<(), AppError> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(AppError::PayloadTooLarge(format!(
            "the source is {} bytes; a plugin file may have at most {MAX_SOURCE_BYTES} bytes (256 KiB)",
            source.len()
        )));
    }
    Ok(())
}

/// Compiles `source` as the loader would compile it at `file` (with the
/// shared modules and, for a folder plugin, its own modules). `file = None`
/// checks it as a new single-file plugin of the plugins directory.
pub async fn compile_check(
    registry: &Arc<Registry>,
    file: Option<&PluginFile>,
    source: String,
) -> Result<(), ScriptError> {
    let (path, name) = match file {
        Some(f) => (f.path.clone(), f.file.clone()),
        None => (registry.dir().join("check.rhai"), "check.rhai".to_string()),
    };
    let timeout = registry.runtime().timeout;
    tokio::task::spawn_blocking(move || compile_text(&path, &name, &source, timeout).map(|_| ()))
        .await
        .unwrap_or_else(|e| {
            Err(super::engine::script_error(
                "check",
                rhai::Position::NONE,
                format!("the check stopped: {e}"),
            ))
        })
}

/// Writes `source` to the file atomically: a temporary file in the same
/// folder (not a `.rhai`, so the loader skips it), flushed, then renamed.
pub fn write_atomically(file: &PluginFile, source: &str) -> Result<(), AppError> {
    use std::io::Write;
    let folder = file.path.parent().unwrap_or(Path::new("."));
    let stem = file
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("plugin");
    let temp = folder.join(format!(
        ".{stem}.{}.{}.saving",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let written = (|| -> std::io::Result<()> {
        let mut out = std::fs::File::create(&temp)?;
        out.write_all(source.as_bytes())?;
        out.sync_all()?;
        // Keep the file's permissions.
        if let Ok(meta) = std::fs::metadata(&file.path) {
            std::fs::set_permissions(&temp, meta.permissions())?;
        }
        std::fs::rename(&temp, &file.path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        AppError::internal(format!("cannot write {}: {e}", file.file))
    })
}

/// The list entry of the file at `file` after a rescan.
pub fn status_of(registry: &Registry, file: &PluginFile) -> Option<PluginInfo> {
    registry.infos().into_iter().find(|i| i.file == file.file)
}
