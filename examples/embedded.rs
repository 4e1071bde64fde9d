//! Runs wxmp inside another program: start it on a free port with a
//! throw-away SQLite database, sign in, add an account, and stop.
//!
//! `cargo run --example embedded`

use serde_json::{json, Value};
use wxmp::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = Config {
        database_url: format!("sqlite://{}/wxmp.db?mode=rwc", dir.path().display()),
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        plugins_dir: dir.path().join("plugins"),
        admin_password: Some("example-password".into()),
        ..Config::default()
    };
    let server = wxmp::Running::start(config).await?;
    println!("wxmp is serving on {}", server.url("/"));

    let client = reqwest::Client::new();
    let login: Value = client
        .post(server.url("/auth/login"))
        .json(&json!({"username": "admin", "password": "example-password"}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["data"]["token"].as_str().unwrap_or_default();
    let added: Value = client
        .post(server.url("/wechat/wxaccounts/add"))
        .bearer_auth(token)
        .json(&json!({"app_id": "wx0123456789abcdef", "account_name": "示例公众号", "token": "example123"}))
        .send()
        .await?
        .json()
        .await?;
    println!(
        "added account: {}",
        serde_json::to_string_pretty(&added["data"])?
    );

    server.shutdown().await
}
