//! A plugin as a handler of the dispatch chain: it runs only for the accounts
//! it is on for, and a failure answers with its on_error text or passes the
//! message on.

use super::engine::{LazyFan, ScriptOutcome};
use super::{fan_map, plugin_context, state, Plugin};
use std::sync::Arc;

use crate::callback::chain::{Context, Handler, HandlerFuture, Outcome};

/// A plugin as a handler of the chain.
pub(super) struct PluginHandler {
    pub(super) plugin: Arc<Plugin>,
    pub(super) handler_name: String,
}

pub fn handler_name(plugin: &str) -> String {
    format!("plugin:{plugin}")
}

impl Handler for PluginHandler {
    fn name(&self) -> &str {
        &self.handler_name
    }

    fn priority(&self) -> i32 {
        self.plugin.script.declaration.priority
    }

    fn sort_name(&self) -> Option<&str> {
        Some(self.plugin.name())
    }

    fn handle(&self, ctx: Arc<Context>) -> HandlerFuture {
        let plugin = self.plugin.clone();
        Box::pin(async move {
            let account = &ctx.account.model;
            if !plugin.script.wants(&ctx.message) || !plugin.runs_for_account(account).await {
                return Outcome::Continue;
            }
            let fan = {
                let ctx = ctx.clone();
                let runtime = tokio::runtime::Handle::current();
                LazyFan::loading(move || {
                    let fan = super::engine::wait_for(&runtime, ctx.fan())?;
                    Ok(fan_map(fan, &ctx.message.from_user))
                })
            };
            let script_ctx = plugin_context(fan, plugin.name(), account, false);
            let report = plugin
                .run(ctx.message.clone(), script_ctx, account.id)
                .await;
            match report.outcome {
                Ok(outcome) => {
                    if let Err(error) =
                        state::apply_writes(&ctx.state.db, &ctx.state.ids, report.writes).await
                    {
                        tracing::error!(plugin = %plugin.name(), %error, "plugin state not saved");
                    }
                    // Only a call that scheduled timers or actions saves any.
                    if !report.timers.is_empty() || !report.actions.is_empty() {
                        let openid = &ctx.message.from_user;
                        if let Err(error) = plugin
                            .save_queued(account.id, openid, report.timers, report.actions)
                            .await
                        {
                            tracing::error!(plugin = %plugin.name(), %error, "plugin timers and actions not saved");
                        }
                    }
                    match outcome {
                        ScriptOutcome::Reply(reply) => Outcome::Reply(reply),
                        ScriptOutcome::Continue => Outcome::Continue,
                        ScriptOutcome::NoReply => Outcome::NoReply,
                    }
                }
                // Logged and counted in `run`. The fan gets the plugin's
                // on_error text, or else whatever the next handlers answer.
                Err(_) => match plugin.on_error_reply() {
                    Some(reply) => Outcome::Reply(reply),
                    None => Outcome::Continue,
                },
            }
        })
    }
}
