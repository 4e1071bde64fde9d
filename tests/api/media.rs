//! Image messages: the durable download job, end to end against a local image
//! host put on the allowlist, and the refusals around it.

use std::time::Duration;

use crate::helpers::TestApp;
use crate::wechat::Peer;
use axum::http::header;
use axum::routing::get;
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use wxmp::entity::jobs;

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Serves `/pic.png`, `/page.html` and a redirect off the allowlist.
async fn image_host() -> std::net::SocketAddr {
    let app = axum::Router::new()
        .route(
            "/pic.png",
            get(|| async { ([(header::CONTENT_TYPE, "image/png")], PNG) }),
        )
        .route(
            "/page.html",
            get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<html></html>") }),
        )
        .route(
            "/away",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "http://elsewhere.invalid/pic.png")],
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn send_image(app: &TestApp, peer: &Peer, url: &str, msg_id: i64) -> String {
    let message = peer.message(
        "o_pic",
        &format!("<MsgType>image</MsgType><PicUrl><![CDATA[{url}]]></PicUrl><MediaId>M{msg_id}</MediaId><MsgId>{msg_id}</MsgId>"),
    );
    assert_eq!(peer.send(app, &message).await.status, StatusCode::OK);
    let (_, listed) = app
        .get(&format!(
            "/wechat/wxmessages/list?account_id={}&msg_id={msg_id}",
            peer.account_id
        ))
        .await;
    listed["data"]["list"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Waits until the job for `message_id` has run at least once.
async fn job_for(app: &TestApp, message_id: &str) -> jobs::Model {
    for _ in 0..100 {
        let all = jobs::Entity::find()
            .filter(jobs::Column::Kind.eq(<wxmp::media::DownloadImage as wxmp::jobs::Job>::NAME))
            .all(&app.server.state.db)
            .await
            .unwrap();
        if let Some(job) = all.into_iter().find(|j| {
            j.payload.as_ref().and_then(|p| p["message_id"].as_str()) == Some(message_id)
                && j.attempts > 0
                && j.status != wxmp::jobs::RUNNING
        }) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the job for message {message_id} did not run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_messages_are_downloaded_and_served_to_admins() {
    let host = image_host().await;
    let app = TestApp::spawn_with(|config| config.media_hosts = vec!["127.0.0.1".into()]).await;
    let peer = Peer::create(&app, "wxmedia00000001", 0).await;

    let message_id = send_image(&app, &peer, &format!("http://{host}/pic.png"), 1).await;
    let job = job_for(&app, &message_id).await;
    assert_eq!(job.status, wxmp::jobs::DONE, "{}", job.last_error);
    let (_, listed) = app
        .get(&format!(
            "/wechat/wxmessages/list?account_id={}&msg_id=1",
            peer.account_id
        ))
        .await;
    let local_path = listed["data"]["list"][0]["local_path"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        local_path.starts_with("media/") && local_path.ends_with(".png"),
        "{local_path}"
    );

    let response = app
        .client
        .get(app.url(&format!("/wechat/files/{local_path}")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "image/png");
    assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);
    let (status, _) = app
        .send(
            Method::GET,
            &format!("/wechat/files/{local_path}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/wechat/files/media/../jwt_secret").await;
    assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND);

    // A link planted in the data dir serves nothing outside it.
    let uploads = app.server.state.config.data_dir.join("uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    std::os::unix::fs::symlink("/", uploads.join("root")).unwrap();
    let (status, body) = app.get("/wechat/files/uploads/root/etc/passwd").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(!body.to_string().contains("root:x:0"), "{body}");

    // Not an image, a redirect off the list, a host off the list: the job
    // records why and is retried later, up to its limit.
    for (n, url, reason) in [
        (2, format!("http://{host}/page.html"), "not an image"),
        (3, format!("http://{host}/away"), "allowlist"),
        (
            4,
            format!("http://localhost:{}/pic.png", host.port()),
            "allowlist",
        ),
    ] {
        let message_id = send_image(&app, &peer, &url, n).await;
        let job = job_for(&app, &message_id).await;
        assert_eq!(job.status, wxmp::jobs::PENDING, "retried later");
        assert_eq!(job.attempts, 1);
        assert!(job.run_at > chrono::Utc::now(), "backoff");
        assert!(job.last_error.contains(reason), "{url}: {}", job.last_error);
    }
}

#[tokio::test]
async fn loopback_is_refused_unless_the_allowlist_names_it() {
    let host = image_host().await;
    let dir = tempfile::tempdir().unwrap();
    // "localhost" is on the list, but resolves to loopback, which is not.
    let error = wxmp::media::download(
        &format!("http://localhost:{}/pic.png", host.port()),
        &["localhost".to_string()],
        dir.path(),
    )
    .await
    .unwrap_err();
    assert!(error.contains("private or loopback"), "{error}");
    let saved = wxmp::media::download(
        &format!("http://{host}/pic.png"),
        &["127.0.0.1".to_string()],
        dir.path(),
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(dir.path().join(saved)).unwrap(), PNG);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_media_folder_fails_the_job_clearly_and_keeps_the_message() {
    let host = image_host().await;
    let app = TestApp::spawn_with(|config| config.media_hosts = vec!["127.0.0.1".into()]).await;
    // As root, permissions do not stop writes: a file where the folder
    // should be does (as a full or read-only disk would).
    std::fs::write(
        app.server.state.config.data_dir.join("media"),
        b"not a folder",
    )
    .unwrap();
    let peer = Peer::create(&app, "wxmediafull00001", 0).await;
    let message_id = send_image(&app, &peer, &format!("http://{host}/pic.png"), 77).await;
    let job = job_for(&app, &message_id).await;
    assert_eq!(job.status, wxmp::jobs::PENDING, "retried later");
    assert!(
        job.last_error.contains("cannot save"),
        "the error says what failed: {}",
        job.last_error
    );
    let (_, listed) = app
        .get(&format!(
            "/wechat/wxmessages/list?account_id={}&msg_id=77",
            peer.account_id
        ))
        .await;
    let row = &listed["data"]["list"][0];
    assert_eq!(row["pic_url"], format!("http://{host}/pic.png"), "{listed}");
    assert_eq!(row["local_path"], "", "{listed}");
    // The server goes on answering.
    let answer = peer
        .send(&app, &peer.text("o_pic", "still there?", 78))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
}
