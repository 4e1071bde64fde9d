//! News drafts of several articles (issue 13): what reaches WeChat's
//! draft/add, the field errors named by article, bodies with scripts
//! refused, and images for article bodies (media/uploadimg).

use reqwest::StatusCode;
use serde_json::{json, Value};
use wxmp::dev::fake_wechat::FakeWeChat;

use crate::helpers::{assert_field_error, TestApp};

const SECRET: &str = "0123456789abcdef0123456789abcdef";

async fn with_fake(app_id: &str) -> (TestApp, FakeWeChat, String) {
    let fake = FakeWeChat::new(&[(app_id, SECRET)]);
    let addr = fake.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let app = TestApp::spawn_with(|config| config.wechat_api_base = format!("http://{addr}")).await;
    let account = app.add_account(app_id).await;
    for n in 1..=3 {
        app.seed(&account)
            .material(json!({"media_type": "image", "media_id": format!("COVER_{n}"), "name": format!("封面{n}.jpg"), "is_permanent": 1, "sync_status": 1}))
            .await;
    }
    (app, fake, account)
}

fn article(n: usize) -> Value {
    json!({
        "title": format!("第{n}篇"), "author": "小编", "digest": format!("摘要{n}"),
        "content": format!("<p><strong>正文{n}</strong></p><ul><li>一</li></ul><a href=\"https://example.com/{n}\">链接</a>"),
        "content_source_url": format!("https://example.com/source/{n}"),
        "thumb_media_id": format!("COVER_{}", (n - 1) % 3 + 1),
        "need_open_comment": 1, "only_fans_can_comment": 0,
    })
}

fn drafts(fake: &FakeWeChat) -> Vec<Value> {
    fake.recorded()
        .into_iter()
        .filter(|r| r.path == "/cgi-bin/draft/add")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect()
}

async fn news_count(app: &TestApp, account: &str) -> usize {
    let (_, body) = app
        .get(&format!(
            "/wechat/wxmaterials/list?account_id={account}&media_type=news"
        ))
        .await;
    body["data"]["list"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_draft_of_three_articles_reaches_wechat_in_order() {
    let (app, fake, account) = with_fake("wxnewsdraft00001").await;
    let articles = vec![article(1), article(2), article(3)];
    let (status, body) = app
        .post(
            "/wechat/wxmaterials/upload_news",
            json!({"account_id": account, "articles": articles}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sent = drafts(&fake);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["articles"], Value::Array(articles.clone()));
    assert_eq!(body["data"]["title"], "第1篇");
    assert_eq!(body["data"]["news_items"], Value::Array(articles));
    assert_eq!(news_count(&app, &account).await, 1);
}

#[tokio::test]
async fn bad_drafts_get_field_errors_by_article_and_nothing_is_stored() {
    let (app, fake, account) = with_fake("wxnewsdraft00002").await;
    let post = |articles: Vec<Value>| {
        let app = &app;
        let account = account.clone();
        async move {
            app.post(
                "/wechat/wxmaterials/upload_news",
                json!({"account_id": account, "articles": articles}),
            )
            .await
        }
    };
    // Nine articles: at most eight.
    let (status, body) = post((1..=9).map(article).collect()).await;
    assert_field_error(status, &body, "articles");
    assert_eq!(body["data"]["codes"]["articles"]["code"], "articles_count");

    // Article 2 (index 1) without a title, article 3 without a cover, and
    // every problem named at once.
    let mut second = article(2);
    second["title"] = json!("  ");
    let mut third = article(3);
    third.as_object_mut().unwrap().remove("thumb_media_id");
    let (status, body) = post(vec![article(1), second, third]).await;
    assert_field_error(status, &body, "articles.1.title");
    assert_field_error(status, &body, "articles.2.thumb_media_id");
    assert_eq!(
        body["data"]["codes"]["articles.1.title"]["code"],
        "required"
    );
    assert!(
        body["data"]["fields"].get("articles.0.title").is_none(),
        "{body}"
    );

    // Too long, not a URL, a cover of nobody's.
    let mut long = article(1);
    long["title"] = json!("标".repeat(65));
    long["content_source_url"] = json!("ftp://example.com");
    long["thumb_media_id"] = json!("NOT_MINE");
    let (status, body) = post(vec![long]).await;
    assert_field_error(status, &body, "articles.0.title");
    assert_field_error(status, &body, "articles.0.content_source_url");
    assert_eq!(
        body["data"]["codes"]["articles.0.thumb_media_id"]["code"],
        "permanent_image"
    );

    // Scripts and event handlers are refused, never passed on.
    for content in [
        "<p>hi</p><script>alert(1)</script>",
        "<p onclick=\"alert(1)\">hi</p>",
        "<img src=\"http://mmbiz.qpic.cn/x.png\" onerror=\"alert(1)\">",
        "<a href=\"javascript:alert(1)\">x</a>",
    ] {
        let mut bad = article(2);
        bad["content"] = json!(content);
        let (status, body) = post(vec![article(1), bad]).await;
        assert_field_error(status, &body, "articles.1.content");
        assert_eq!(
            body["data"]["codes"]["articles.1.content"]["code"], "unsafe_html",
            "{content}: {body}"
        );
    }
    assert!(drafts(&fake).is_empty(), "nothing reached WeChat");
    assert_eq!(news_count(&app, &account).await, 0);
}

use crate::media::PNG;

async fn upload_image(
    app: &TestApp,
    account: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let form = reqwest::multipart::Form::new()
        .text("account_id", account.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    let response = app
        .client
        .post(app.url("/wechat/wxmaterials/upload_article_image"))
        .bearer_auth(&app.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn article_images_go_to_uploadimg_and_bad_files_do_not() {
    let (app, fake, account) = with_fake("wxnewsdraft00003").await;
    let uploads = |fake: &FakeWeChat| {
        fake.recorded()
            .iter()
            .filter(|r| r.path == "/cgi-bin/media/uploadimg")
            .count()
    };
    let (_, before) = app
        .get(&format!("/wechat/wxmaterials/list?account_id={account}"))
        .await;

    // Refused before WeChat: not an image, a GIF (uploadimg takes jpg/png),
    // empty, over 1 MB.
    let mut big = PNG.to_vec();
    big.resize(1024 * 1024 + 10, 0);
    for (name, bytes) in [
        ("notes.png", b"<script>alert(1)</script>".to_vec()),
        ("a.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec()),
        ("empty.png", Vec::new()),
        ("big.png", big),
    ] {
        let (status, body) = upload_image(&app, &account, name, bytes).await;
        assert_field_error(status, &body, "file");
    }
    assert_eq!(uploads(&fake), 0);

    let (status, body) = upload_image(&app, &account, "图.png", PNG.to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url = body["data"]["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://mmbiz.qpic.cn/fake/article/"),
        "{url}"
    );
    assert_eq!(uploads(&fake), 1);
    // Not a material: the list is as it was.
    let (_, after) = app
        .get(&format!("/wechat/wxmaterials/list?account_id={account}"))
        .await;
    assert_eq!(before["data"]["total"], after["data"]["total"], "{after}");
    assert_eq!(
        before["data"]["list"].as_array().unwrap().len(),
        after["data"]["list"].as_array().unwrap().len()
    );

    // The body may then use it.
    let mut with_image = article(1);
    with_image["content"] = json!(format!("<p>图：</p><img src=\"{url}\">"));
    let (status, body) = app
        .post(
            "/wechat/wxmaterials/upload_news",
            json!({"account_id": account, "articles": [with_image]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
