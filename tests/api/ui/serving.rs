//! How the binary serves the app: page paths, versioned and cached assets.

use reqwest::header;
use reqwest::StatusCode;

use crate::helpers::TestApp;

/// The asset URLs `index.html` refers to.
fn asset_urls(html: &str) -> Vec<String> {
    html.split(['"', '\''])
        .filter(|part| part.starts_with("/ui/"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn pages_serve_the_app_and_assets_are_cached_by_etag() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let mut index = String::new();
    for path in [
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
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "text/html; charset=utf-8",
            "{path}"
        );
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache", "{path}");
        assert!(headers.contains_key(header::CONTENT_SECURITY_POLICY));
        let etag = headers[header::ETAG].to_str().unwrap().to_string();
        index = response.text().await.unwrap();
        assert!(index.contains("<div id=\"app\">"), "{path}: {index}");
        let again = client
            .get(app.url(path))
            .header(header::IF_NONE_MATCH, &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(again.headers()[header::ETAG].to_str().unwrap(), etag);
    }

    // The page paths are GET only, and the API next to them is untouched.
    let post = client.post(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    let api = client
        .get(app.url("/wechat/wxaccounts/list"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = app.get("/wechat/wxaccounts/list").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["code"], 0);
    for path in [
        "/wechat",
        "/wechat/wxaccounts/",
        "/dashboard/x",
        "/wechat/other",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }

    // Versioned assets are immutable; the same file unversioned revalidates.
    let assets = asset_urls(&index);
    assert!(
        assets.iter().any(|a| a.ends_with("/js/main.js"))
            && assets.iter().any(|a| a.ends_with("/css/app.css")),
        "index.html loads the app: {assets:?}"
    );
    for url in &assets {
        assert!(url.starts_with("/ui/v-"), "{url} is not versioned");
        let response = client.get(app.url(url)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let expected_type = match url.rsplit('.').next() {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("unexpected asset type {other:?} in {url}"),
        };
        assert_eq!(response.headers()[header::CONTENT_TYPE], expected_type);
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        let etag = response.headers()[header::ETAG].clone();
        let cached = client
            .get(app.url(url))
            .header(header::IF_NONE_MATCH, etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED, "{url}");
        assert!(cached.bytes().await.unwrap().is_empty());

        let plain = url.splitn(4, '/').nth(3).unwrap();
        let unversioned = client
            .get(app.url(&format!("/ui/{plain}")))
            .send()
            .await
            .unwrap();
        assert_eq!(unversioned.status(), StatusCode::OK, "/ui/{plain}");
        assert_eq!(unversioned.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(unversioned.headers()[header::ETAG], etag);
    }
    // A stale version still answers, but is not cached for good.
    let stale = client
        .get(app.url("/ui/v-0000000000000000/js/main.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(stale.headers()[header::CACHE_CONTROL], "no-cache");

    for path in [
        "/ui/nope.js",
        "/ui/index.html",
        "/ui/js/../index.html",
        "/ui/%2e%2e/Cargo.toml",
        "/ui/js//main.js",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
