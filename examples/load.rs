//! A load run of the callback over real HTTP: starts wxmp (SQLite in a temp
//! dir, or WXMP_DATABASE_URL), binds an AES account with a keyword rule, then
//! sends REQUESTS distinct signed and encrypted text messages from CONCURRENCY
//! connections, checks every reply, and prints throughput and latencies.
//!
//! `cargo run --release --example load -- [REQUESTS] [CONCURRENCY]` (default 5000 32)

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, PaginatorTrait};
use wxmp::config::Config;
use wxmp::wechat::{signature, xml, MessageCrypto};

const TOKEN: &str = "loadtoken";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APP_ID: &str = "wxload0000000001";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let requests: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(32);
    let dir = tempfile::tempdir()?;
    let database_url = std::env::var("WXMP_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/load.db?mode=rwc", dir.path().display()));
    let config = Config {
        database_url: database_url.clone(),
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        plugins_dir: dir.path().join("plugins"),
        admin_password: Some("load-password".into()),
        log: "warn".into(),
        ..Config::default()
    };
    let server = wxmp::Running::start(config).await?;
    let now = chrono::Utc::now();
    let state = &server.state;
    let account_id = state.ids.next_id()?;
    wxmp::entity::accounts::Model {
        id: account_id,
        app_id: APP_ID.into(),
        account_name: "load".into(),
        original_id: "gh_load".into(),
        token: TOKEN.into(),
        encoding_aes_key: KEY.into(),
        message_mode: 2,
        status: 1,
        created_at: now,
        updated_at: now,
        ..Default::default()
    }
    .into_active_model()
    .reset_all()
    .insert(&state.db)
    .await?;
    wxmp::entity::auto_replies::Model {
        id: state.ids.next_id()?,
        account_id,
        reply_type: 2,
        keyword: "营业".into(),
        match_type: 2,
        message_type: "text".into(),
        content: "9:00–18:00 营业".into(),
        status: 1,
        created_at: now,
        updated_at: now,
        ..Default::default()
    }
    .into_active_model()
    .reset_all()
    .insert(&state.db)
    .await?;

    let url = server.url(&format!("/wechat/official_account/callback/{APP_ID}"));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let crypto = Arc::new(MessageCrypto::new(KEY, APP_ID)?);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, crypto, next, url) =
            (client.clone(), crypto.clone(), next.clone(), url.clone());
        workers.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= requests {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let timestamp = chrono::Utc::now().timestamp().to_string();
                let nonce = n.to_string();
                let message = format!(
                    "<xml><ToUserName>gh_load</ToUserName><FromUserName>o_fan_{}</FromUserName><CreateTime>{timestamp}</CreateTime>\
                     <MsgType>text</MsgType><Content>请问营业时间 {n}</Content><MsgId>{}</MsgId></xml>",
                    n % 500,
                    1_000_000 + n
                );
                let encrypted = crypto.encrypt(&message);
                let query = format!(
                    "?signature={}&timestamp={timestamp}&nonce={nonce}&encrypt_type=aes&msg_signature={}",
                    signature::sign(&[TOKEN, &timestamp, &nonce]),
                    signature::sign(&[TOKEN, &timestamp, &nonce, &encrypted])
                );
                let body = format!("<xml><ToUserName>gh_load</ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>");
                let sent = Instant::now();
                let response = client.post(format!("{url}{query}")).body(body).send().await?;
                let status = response.status();
                let text = response.text().await?;
                latencies.push(sent.elapsed());
                anyhow::ensure!(status.is_success(), "HTTP {status}: {text}");
                let outer = xml::parse(&text)?;
                let reply = crypto.decrypt(outer.get("Encrypt").unwrap_or_default())?;
                anyhow::ensure!(reply.contains("9:00–18:00 营业"), "unexpected reply {reply}");
            }
        });
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(requests);
    while let Some(result) = workers.join_next().await {
        latencies.extend(result??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let stored = wxmp::entity::messages::Entity::find()
        .count(&state.db)
        .await?;
    println!(
        "{requests} messages over {concurrency} connections on {}: {:.0} msg/s; latency p50 {:?}, p90 {:?}, p99 {:?}, max {:?}; {stored} rows stored (messages + replies)",
        wxmp::db::redact(&database_url).split(':').next().unwrap_or("?"),
        requests as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.90),
        percentile(0.99),
        latencies.last().copied().unwrap_or_default(),
    );
    anyhow::ensure!(
        stored as usize == requests * 2,
        "expected every message and its reply stored"
    );
    server.shutdown().await
}
