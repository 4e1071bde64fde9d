//! Reloads plugins when their files change.

use super::{Registry, DEBOUNCE};
use std::sync::Arc;

impl Registry {
    /// Watches the directory and rescans after changes settle. Runs until aborted.
    pub async fn watch(self: Arc<Self>) {
        use notify::Watcher;
        if let Err(error) = std::fs::create_dir_all(self.dir()) {
            tracing::warn!(dir = %self.dir().display(), %error, "cannot create the plugins directory; not watching");
            return;
        }
        let (sender, mut changes) = tokio::sync::mpsc::unbounded_channel::<()>();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|e| !e.kind.is_access()) {
                let _ = sender.send(());
            }
        });
        let mut watcher = match watcher {
            Ok(watcher) => watcher,
            Err(error) => {
                tracing::warn!(%error, "cannot watch the plugins directory; use POST /wechat/plugins/reload");
                return;
            }
        };
        if let Err(error) = watcher.watch(self.dir(), notify::RecursiveMode::Recursive) {
            tracing::warn!(dir = %self.dir().display(), %error, "cannot watch the plugins directory");
            return;
        }
        while changes.recv().await.is_some() {
            // Debounce: an editor's save is several events (write, rename, chmod).
            while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, changes.recv()).await {}
            self.rescan().await;
        }
    }
}
