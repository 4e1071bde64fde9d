//! Writing audit records.

use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel};
use serde_json::Value;

use crate::auth::CurrentAdmin;
use crate::db::now;
use crate::entity::audit_log;
use crate::error::AppError;
use crate::ids::IdGenerator;
use crate::state::AppState;

/// One change, as the trail records it.
pub struct Change<'a> {
    /// `create`, `update`, `delete`, or an action such as `publish_menu`.
    pub action: &'a str,
    /// The kind of thing changed: `account`, `auto_reply`, `admin`, …
    pub resource: &'a str,
    pub resource_id: Option<String>,
    /// The official account the change concerns, when there is one.
    pub account_id: Option<i64>,
    /// What changed (see `created`, `updated`, `deleted`, `parameters`).
    pub changes: Value,
}

impl<'a> Change<'a> {
    /// An action on an official account, with its parameters (secrets
    /// masked, long text cut).
    pub fn action(action: &'a str, resource: &'a str, account_id: i64, params: Value) -> Self {
        Self {
            action,
            resource,
            resource_id: None,
            account_id: Some(account_id),
            changes: super::parameters(&params, super::SECRET_FIELDS),
        }
    }

    /// The row or remote object the action was about.
    pub fn on(mut self, resource_id: impl ToString) -> Self {
        self.resource_id = Some(resource_id.to_string());
        self
    }
}

/// Records `change` as made by `who`. Pass the transaction that makes the
/// change, so the change and its record commit (or fail) together.
pub async fn record(
    db: &impl ConnectionTrait,
    ids: &IdGenerator,
    who: &CurrentAdmin,
    change: Change<'_>,
) -> Result<(), AppError> {
    let at = now();
    let row = audit_log::Model {
        id: ids.next_id()?,
        admin_id: who.id,
        admin_name: who.username.clone(),
        ip: who.ip.map(|ip| ip.to_string()),
        action: change.action.to_string(),
        resource: change.resource.replace(' ', "_"),
        resource_id: change.resource_id,
        account_id: change.account_id,
        changes: Some(change.changes),
        created_at: at,
        updated_at: at,
    };
    audit_log::Entity::insert(row.into_active_model().reset_all())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Records an action that has already happened elsewhere (on WeChat, WeChat
/// Pay, or the plugin folder). When the record cannot be written the action
/// still stands: the failure is logged, not turned into an error that would
/// make the admin retry what already took effect.
pub async fn record_action(state: &AppState, who: &CurrentAdmin, change: Change<'_>) {
    let (action, resource) = (change.action.to_string(), change.resource.to_string());
    if let Err(error) = record(&state.db, &state.ids, who, change).await {
        tracing::error!(%action, %resource, admin = %who.username, %error, "audit record not written");
    }
}
