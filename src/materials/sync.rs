//! Materials on WeChat brought into the table: every permanent material,
//! page by page, added or updated; ones gone on WeChat kept and marked.

use std::collections::BTreeSet;

use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, TransactionTrait,
};
use serde_json::{json, Value};

use crate::entity::{accounts, materials};
use crate::error::AppError;
use crate::ids::IdGenerator;
use crate::wxapi::Body;
use crate::wxapi::WxApi;
use sea_orm::DatabaseConnection;

/// Pages of this size are what batchget allows.
const PAGE: i64 = 20;

/// Makes the stored materials match WeChat's; returns the counts.
pub async fn sync_from_wechat(
    db: &DatabaseConnection,
    ids: &IdGenerator,
    wxapi: &WxApi,
    account: &accounts::Model,
) -> Result<Value, AppError> {
    let mut remote = Vec::new();
    for kind in ["image", "voice", "video", "news"] {
        let mut offset = 0;
        loop {
            let page = wxapi
                .call(
                    account,
                    Method::POST,
                    "/cgi-bin/material/batchget_material",
                    &[],
                    Body::Json(json!({ "type": kind, "offset": offset, "count": PAGE })),
                )
                .await?;
            let items = page["item"].as_array().cloned().unwrap_or_default();
            let total = page["total_count"].as_i64().unwrap_or(0);
            offset += items.len() as i64;
            remote.extend(items.into_iter().map(|item| (kind, item)));
            if offset >= total || page["item_count"].as_i64().unwrap_or(0) == 0 {
                break;
            }
        }
    }
    let existing: std::collections::HashMap<String, materials::Model> = materials::Entity::find()
        .filter(materials::Column::AccountId.eq(account.id))
        .filter(materials::Column::IsPermanent.eq(1))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.media_id.clone(), m))
        .collect();
    let now = crate::db::now();
    let (mut added, mut updated, mut gone) = (0, 0, 0);
    let mut seen = BTreeSet::new();
    let txn = db.begin().await?;
    for (kind, item) in &remote {
        let media_id = item["media_id"].as_str().unwrap_or_default().to_string();
        if media_id.is_empty() {
            continue;
        }
        seen.insert(media_id.clone());
        let news = item["content"]["news_item"].as_array().cloned();
        let name = item["name"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                news.as_ref()
                    .and_then(|n| n.first())
                    .and_then(|a| a["title"].as_str())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let url = item["url"].as_str().unwrap_or_default().to_string();
        match existing.get(&media_id) {
            Some(old) => {
                let news_items = news.clone().map(Value::Array).or(old.news_items.clone());
                if old.name != name
                    || old.url != url
                    || old.sync_status != 1
                    || old.news_items != news_items
                {
                    let mut row = old.clone().into_active_model();
                    row.name = sea_orm::Set(name);
                    row.url = sea_orm::Set(url);
                    row.news_items = sea_orm::Set(news_items);
                    row.sync_status = sea_orm::Set(1);
                    row.updated_at = sea_orm::Set(now);
                    row.update(&txn).await?;
                    updated += 1;
                }
            }
            None => {
                materials::Model {
                    id: ids.next_id()?,
                    account_id: account.id,
                    media_type: kind.to_string(),
                    media_id,
                    title: name.clone(),
                    name,
                    url,
                    news_items: news.map(Value::Array),
                    is_permanent: 1,
                    sync_status: 1,
                    created_at: now,
                    updated_at: now,
                    ..Default::default()
                }
                .into_active_model()
                .reset_all()
                .insert(&txn)
                .await?;
                added += 1;
            }
        }
    }
    // Gone on WeChat: kept here, marked (sync_status 2).
    for (media_id, old) in &existing {
        if !media_id.is_empty() && !seen.contains(media_id) && old.sync_status != 2 {
            materials::Entity::update_many()
                .col_expr(materials::Column::SyncStatus, Expr::value(2i16))
                .col_expr(materials::Column::UpdatedAt, Expr::value(now))
                .filter(materials::Column::Id.eq(old.id))
                .exec(&txn)
                .await?;
            gone += 1;
        }
    }
    txn.commit().await?;
    Ok(
        json!({ "remote": remote.len(), "added": added, "updated": updated, "deleted_on_wechat": gone }),
    )
}
