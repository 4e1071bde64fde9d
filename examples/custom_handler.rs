//! Adds a Rust handler to the dispatch chain: it answers texts that start with
//! "echo " before the keyword rules run, and passes everything else on. Then
//! plays WeChat once against it.
//!
//! `cargo run --example custom_handler`

use std::sync::Arc;

use wxmp::callback::chain::{Context, Handler, HandlerFuture, Outcome, KEYWORD_PRIORITY};
use wxmp::config::Config;
use wxmp::dev::simulate::Simulation;
use wxmp::wechat::SampleMessage;
use wxmp::wechat::{MessageKind, Reply};

struct Echo;

impl Handler for Echo {
    fn name(&self) -> &str {
        "example:echo"
    }

    /// Just above the keyword rules.
    fn priority(&self) -> i32 {
        KEYWORD_PRIORITY + 10
    }

    fn handle(&self, ctx: Arc<Context>) -> HandlerFuture {
        let outcome = match &ctx.message.kind {
            MessageKind::Text { content } => match content.strip_prefix("echo ") {
                Some(rest) => Outcome::Reply(Reply::Text {
                    content: format!("你说：{rest}"),
                }),
                None => Outcome::Continue,
            },
            _ => Outcome::Continue,
        };
        Box::pin(async move { outcome })
    }
}

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
    server.state.chain.register(Arc::new(Echo));

    // An account, straight into the database (the admin API works as well).
    let now = chrono::Utc::now();
    let account = wxmp::entity::accounts::Model {
        id: server.state.ids.next_id()?,
        app_id: "wxexample0000001".into(),
        account_name: "示例".into(),
        original_id: "gh_example".into(),
        token: "exampletoken".into(),
        status: 1,
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    use sea_orm::{ActiveModelTrait, IntoActiveModel};
    account
        .into_active_model()
        .reset_all()
        .insert(&server.state.db)
        .await?;

    let result = Simulation {
        server: server.url(""),
        app_id: "wxexample0000001".into(),
        token: "exampletoken".into(),
        encoding_aes_key: String::new(),
        mode: 0,
        original_id: "gh_example".into(),
        from: "o_example".into(),
        message: SampleMessage::Text("echo 你好".into()),
    }
    .run()
    .await?;
    println!("HTTP {}\n{}", result.status, result.reply);
    server.shutdown().await
}
