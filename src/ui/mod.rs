//! The admin web UI: a single-page app of plain ES modules and CSS, embedded
//! in the binary (read from `ui/` on disk in debug builds, so edits show on
//! reload).
//!
//! - The page paths ([`PAGES`]) answer `GET` with `index.html`; the app routes
//!   itself from `location.pathname`. They are exact paths, so they never
//!   shadow the `/wechat/<resource>/<verb>` API routes.
//! - `/ui/<file>` serves an asset with `no-cache` and an `ETag`.
//! - `/ui/v-<version>/<file>` serves the same asset as immutable. `index.html`
//!   refers to every asset through this prefix, and the version is a digest
//!   of all assets, so a new build never meets a stale cache.

use std::hash::{DefaultHasher, Hash, Hasher};

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::AppError;
use crate::http::Path;
use crate::state::AppState;

#[derive(rust_embed::Embed)]
#[folder = "ui/"]
struct Assets;

/// The paths the browser may open directly; all serve the app.
pub const PAGES: [&str; 15] = [
    "/",
    "/login",
    "/dashboard",
    "/wechat/wxaccounts",
    "/wechat/wxautoreplies",
    "/wechat/wxmaterials",
    "/wechat/wxmenus",
    "/wechat/inbox",
    "/wechat/wxmessages",
    "/wechat/wxusers",
    "/wechat/wxtemplates",
    "/wechat/wxpay",
    "/wechat/plugins",
    "/wechat/admins",
    "/wechat/audit",
];

const INDEX: &str = "index.html";
/// Where `index.html` puts the versioned asset base.
const ASSET_BASE_PLACEHOLDER: &str = "{{ASSET_BASE}}";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";
/// The app loads only its own scripts and styles; avatars and material
/// previews may come from WeChat's image hosts, and files this server keeps
/// are shown through `blob:` URLs (they are fetched with the admin's token).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob: https: http:; media-src 'self' blob:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    let router = PAGES.iter().fold(Router::new(), |router, page| {
        router.route(page, get(page_response))
    });
    router.route("/ui/{*path}", get(asset))
}

/// A digest of every asset: changes whenever any asset changes.
pub fn version() -> String {
    #[cfg(not(debug_assertions))]
    {
        static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        VERSION.get_or_init(compute_version).clone()
    }
    #[cfg(debug_assertions)]
    {
        // Assets are read from disk in debug builds and may change at any time.
        compute_version()
    }
}

fn compute_version() -> String {
    let mut names: Vec<_> = Assets::iter().collect();
    names.sort();
    let mut hasher = DefaultHasher::new();
    for name in names {
        if let Some(file) = Assets::get(&name) {
            name.hash(&mut hasher);
            file.metadata.sha256_hash().hash(&mut hasher);
        }
    }
    format!("{:016x}", hasher.finish())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// True when `If-None-Match` names `etag` (or is `*`).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// A response with caching headers; 304 when the client has this version.
fn cached(
    request_headers: &HeaderMap,
    etag: String,
    cache_control: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response {
    let mut response = if not_modified(request_headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = body.into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn page_response(request_headers: HeaderMap) -> Response {
    let Some(file) = Assets::get(INDEX) else {
        return AppError::Internal("the UI is not built into this binary".into()).into_response();
    };
    let version = version();
    let html = String::from_utf8_lossy(&file.data)
        .replace(ASSET_BASE_PLACEHOLDER, &format!("/ui/v-{version}"));
    let etag = format!("\"{}-{version}\"", &hex(&file.metadata.sha256_hash())[..16]);
    let mut response = cached(
        &request_headers,
        etag,
        NO_CACHE,
        "text/html; charset=utf-8",
        html.into_bytes(),
    );
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn asset(Path(path): Path<String>, request_headers: HeaderMap) -> Response {
    let (path, immutable) = match path.strip_prefix("v-").and_then(|p| p.split_once('/')) {
        // An old or unknown version is still served, but not cached for good:
        // its content is today's, not that version's.
        Some((tag, rest)) => (rest.to_string(), tag == version()),
        None => (path, false),
    };
    let hidden = path == INDEX || path.split('/').any(|part| part == ".." || part.is_empty());
    let file = match Assets::get(&path) {
        Some(file) if !hidden => file,
        _ => return AppError::NotFound(format!("no UI asset {path}")).into_response(),
    };
    let etag = format!("\"{}\"", &hex(&file.metadata.sha256_hash())[..32]);
    cached(
        &request_headers,
        etag,
        if immutable { IMMUTABLE } else { NO_CACHE },
        content_type(&path),
        file.data.into_owned(),
    )
}

fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("");
    match extension.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"a\", W/\"b\""),
        );
        assert!(not_modified(&headers, "\"a\""));
        assert!(not_modified(&headers, "\"b\""));
        assert!(!not_modified(&headers, "\"c\""));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&headers, "\"c\""));
        assert!(!not_modified(&HeaderMap::new(), "\"a\""));
    }

    #[test]
    fn every_asset_has_a_known_content_type() {
        for name in Assets::iter() {
            assert_ne!(
                content_type(&name),
                "application/octet-stream",
                "{name} would be served without a specific content type"
            );
        }
        assert_eq!(content_type("js/main.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("app.CSS"), "text/css; charset=utf-8");
    }

    #[test]
    fn index_refers_to_versioned_assets_only() {
        let index = Assets::get(INDEX).expect("ui/index.html is embedded");
        let html = String::from_utf8_lossy(&index.data);
        assert!(html.contains(ASSET_BASE_PLACEHOLDER));
        assert!(
            !html.contains("\"/ui/") && !html.contains("'/ui/"),
            "index.html must load assets through {ASSET_BASE_PLACEHOLDER}"
        );
    }
}
