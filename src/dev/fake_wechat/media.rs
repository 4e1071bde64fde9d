//! Media: temporary uploads and permanent materials (with WeChat's size
//! limits per type and the video description rule), their count, paged
//! listing and deletion, and drafts (which become news materials).

use axum::Json;
use serde_json::{json, Value};

use super::request::{Answer, Call, Field};
use super::{error, Inner};

pub(super) fn handle(inner: &mut Inner, call: &Call, appid: &str) -> Answer {
    Some(match (call.method.as_str(), call.path.as_str()) {
        ("POST", "/cgi-bin/media/upload") | ("POST", "/cgi-bin/material/add_material") => {
            upload(inner, call, appid)
        }
        ("GET", "/cgi-bin/material/get_materialcount") => {
            let list = inner.materials.get(appid).cloned().unwrap_or_default();
            let count = |kind: &str| list.iter().filter(|(k, _)| k == kind).count();
            Json(
                json!({ "voice_count": count("voice"), "video_count": count("video"),
                         "image_count": count("image") + count("thumb"), "news_count": count("news") }),
            )
        }
        ("POST", "/cgi-bin/material/batchget_material") => batchget(inner, call, appid),
        ("POST", "/cgi-bin/material/del_material") => delete(inner, call, appid),
        ("POST", "/cgi-bin/draft/add") => add_draft(inner, call, appid),
        ("POST", "/cgi-bin/media/uploadimg") => upload_image(inner, call),
        _ => return None,
    })
}

/// A temporary upload, or a permanent material when the path says so.
fn upload(inner: &mut Inner, call: &Call, appid: &str) -> Json<Value> {
    let kind = call.query("type").to_string();
    let limit = match kind.as_str() {
        "image" | "video" => 10 * 1024 * 1024,
        "voice" => 2 * 1024 * 1024,
        "thumb" => 64 * 1024,
        _ => return error(40004, "invalid media type"),
    };
    let Some(media) = call
        .fields
        .iter()
        .find(|f| f.name == "media" && f.file_name.is_some())
    else {
        return error(41005, "media data missing");
    };
    if media.bytes.is_empty() || media.bytes.len() > limit {
        return error(40006, "invalid meida size");
    }
    inner.next_media += 1;
    let media_id = format!("MEDIA_{}_{}", kind.to_uppercase(), inner.next_media);
    let now = chrono::Utc::now().timestamp();
    if call.path == "/cgi-bin/media/upload" {
        return Json(json!({ "type": kind, "media_id": media_id, "created_at": now }));
    }
    let name = media.file_name.clone().unwrap_or_default();
    if kind == "video" && !has_title(&call.fields) {
        return error(40009, "video description with a title is required");
    }
    let url = format!("http://mmbiz.qpic.cn/fake/{media_id}");
    let item = json!({ "media_id": media_id, "name": name, "update_time": now, "url": url });
    inner
        .materials
        .entry(appid.to_string())
        .or_default()
        .push((kind, item));
    Json(json!({ "media_id": media_id, "url": url }))
}

/// An image for an article's body: jpg or png under 1 MB, answered with its URL.
fn upload_image(inner: &mut Inner, call: &Call) -> Json<Value> {
    let Some(media) = call
        .fields
        .iter()
        .find(|f| f.name == "media" && f.file_name.is_some())
    else {
        return error(41005, "media data missing");
    };
    let png = media.bytes.starts_with(b"\x89PNG");
    let jpg = media.bytes.starts_with(&[0xff, 0xd8, 0xff]);
    if !(png || jpg) {
        return error(40005, "invalid file type");
    }
    if media.bytes.is_empty() || media.bytes.len() >= 1024 * 1024 {
        return error(40006, "invalid meida size");
    }
    inner.next_media += 1;
    let ext = if png { "png" } else { "jpg" };
    Json(json!({ "url": format!("http://mmbiz.qpic.cn/fake/article/{}.{ext}", inner.next_media) }))
}

/// A permanent video needs a `description` field of JSON with a title.
fn has_title(fields: &[Field]) -> bool {
    let parsed: Value = fields
        .iter()
        .find(|f| f.name == "description")
        .and_then(|d| serde_json::from_slice(&d.bytes).ok())
        .unwrap_or(Value::Null);
    !parsed["title"].as_str().is_none_or(str::is_empty)
}

/// One page (1 to 20) of a type's materials; thumbs count as images.
fn batchget(inner: &Inner, call: &Call, appid: &str) -> Json<Value> {
    let kind = call.text("type");
    let offset = call.json["offset"].as_u64().unwrap_or(0) as usize;
    let count = call.json["count"].as_u64().unwrap_or(0) as usize;
    if !(1..=20).contains(&count) {
        return error(40007, "count must be 1 to 20");
    }
    let all: Vec<Value> = inner
        .materials
        .get(appid)
        .into_iter()
        .flatten()
        .filter(|(k, _)| k == kind || (kind == "image" && k == "thumb"))
        .map(|(_, item)| item.clone())
        .collect();
    let page: Vec<Value> = all.iter().skip(offset).take(count).cloned().collect();
    Json(json!({ "total_count": all.len(), "item_count": page.len(), "item": page }))
}

fn delete(inner: &mut Inner, call: &Call, appid: &str) -> Json<Value> {
    let media_id = call.text("media_id");
    let list = inner.materials.entry(appid.to_string()).or_default();
    let before = list.len();
    list.retain(|(_, item)| item["media_id"] != media_id);
    if list.len() == before {
        return error(40007, "invalid media_id");
    }
    error(0, "ok")
}

/// A draft of articles, each with a cover, kept as a news material.
fn add_draft(inner: &mut Inner, call: &Call, appid: &str) -> Json<Value> {
    let articles = call.json["articles"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if articles.is_empty()
        || articles
            .iter()
            .any(|a| a["thumb_media_id"].as_str().is_none_or(str::is_empty))
    {
        return error(40007, "invalid media_id");
    }
    inner.next_media += 1;
    let media_id = format!("MEDIA_NEWS_{}", inner.next_media);
    let item = json!({ "media_id": media_id, "content": { "news_item": articles }, "update_time": chrono::Utc::now().timestamp() });
    inner
        .materials
        .entry(appid.to_string())
        .or_default()
        .push(("news".into(), item));
    Json(json!({ "media_id": media_id }))
}
