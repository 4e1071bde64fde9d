//! Three wxmp processes on one database behind a round-robin client (issue
//! 14): callbacks with their retries landing on other instances, tokens,
//! admin edits seen by all, ids, and jobs, then one instance killed with
//! SIGKILL while it runs a job.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{json, Value};
use wxmp::dev::fake_wechat::{FakeWeChat, Fault};

use crate::helpers::{sign_in, spawn_binary, wait_ready, KillOnDrop, Starting};

const APP_ID: &str = "wxcluster0000001";
const SECRET: &str = "0123456789abcdef0123456789abcdef";

struct Cluster {
    bases: Vec<String>,
    servers: Vec<KillOnDrop>,
    client: reqwest::Client,
    token: String,
    database_url: String,
    _dir: tempfile::TempDir,
}

/// A plugin that says its version when asked and lets every other message through.
fn version_plugin(version: &str) -> String {
    format!(
        "const PLUGIN = #{{ name: \"version\", priority: 100, messages: [\"text\"] }};\n\
         fn on_message(msg, ctx) {{ if msg.content == \"version?\" {{ \"{version}\" }} }}\n"
    )
}

/// Waits for every process in `starting` to serve, in order.
async fn all_serving(starting: Vec<Starting>) -> Vec<(KillOnDrop, String)> {
    let mut serving = Vec::new();
    for process in starting {
        serving.push(process.serving().await);
    }
    serving
}

impl Cluster {
    /// Three instances on a fresh database, all started at once (they
    /// migrate and create the first admin in turn).
    async fn start(wechat: std::net::SocketAddr) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = crate::helpers::fresh_database_url(dir.path()).await;
        let env = [("WXMP_WECHAT_API_BASE", format!("http://{wechat}"))];
        // The third instance got another version of a plugin (a deployment
        // that reached only some of them).
        let other_plugins = dir.path().join("plugins-other");
        for (folder, version) in [
            (dir.path().join("plugins"), "v1"),
            (other_plugins.clone(), "v2"),
        ] {
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join("version.rhai"), version_plugin(version)).unwrap();
        }
        let mut third_env = env.to_vec();
        third_env.push(("WXMP_PLUGINS_DIR", other_plugins.display().to_string()));
        let client = reqwest::Client::new();
        let sqlite = database_url.starts_with("sqlite:");
        // Started together (on SQLite the first creates the file alone).
        let mut starting = Vec::new();
        let mut first = None;
        for n in 0..3 {
            let process = spawn_binary(
                &database_url,
                dir.path(),
                if n == 2 { &third_env } else { &env },
            );
            if sqlite && n == 0 {
                first = Some(process.serving().await);
            } else {
                starting.push(process);
            }
        }
        let mut bases = Vec::new();
        let mut servers = Vec::new();
        for (server, base) in first.into_iter().chain(all_serving(starting).await) {
            wait_ready(&client, &base).await;
            servers.push(server);
            bases.push(base);
        }
        let token = sign_in(&client, &bases[1]).await;
        Self {
            bases,
            servers,
            client,
            token,
            database_url,
            _dir: dir,
        }
    }

    async fn call(
        &self,
        instance: usize,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let response = self
            .client
            .request(method, format!("{}{path}", self.bases[instance]))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, instance: usize, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(instance, reqwest::Method::POST, path, body).await
    }

    /// Sends a text message to `instance`; its reply's Content when answered.
    async fn send(
        &self,
        instance: usize,
        from: &str,
        msg_id: i64,
        content: &str,
    ) -> Option<String> {
        crate::helpers::send_text(
            &self.client,
            &self.bases[instance],
            APP_ID,
            from,
            msg_id,
            content,
        )
        .await
    }

    async fn query(&self, sql: &str) -> Vec<sea_orm::QueryResult> {
        let db = Database::connect(self.database_url.as_str()).await.unwrap();
        let backend = db.get_database_backend();
        let rows = db
            .query_all(Statement::from_string(backend, sql.to_string()))
            .await
            .unwrap();
        db.close().await.ok();
        rows
    }
}

fn i64_of(row: &sea_orm::QueryResult, column: &str) -> i64 {
    row.try_get::<i64>("", column).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_on_one_database_store_once_fetch_one_token_converge_and_finish_every_job()
{
    let fake = FakeWeChat::new(&[(APP_ID, SECRET)]);
    let wechat = fake.start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let cluster = Arc::new(Cluster::start(wechat).await);

    // Every instance leased its own worker id.
    let (status, instances) = cluster
        .call(
            2,
            reqwest::Method::GET,
            "/wechat/cluster/instances",
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{instances}");
    let workers: HashSet<i64> = instances["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["worker_id"].as_i64().unwrap())
        .collect();
    assert_eq!(workers.len(), 3, "{instances}");

    // The plugin list says which version each instance runs.
    let (status, plugins) = cluster
        .call(0, reqwest::Method::GET, "/wechat/plugins/list", Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{plugins}");
    let version = &plugins["data"]["list"][0];
    assert_eq!(version["name"], "version", "{plugins}");
    assert_eq!(version["same_everywhere"], false, "{plugins}");
    let hashes: Vec<&str> = version["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["source_hash"].as_str().unwrap())
        .collect();
    assert_eq!(hashes.len(), 3, "{plugins}");
    let ours = version["source_hash"].as_str().unwrap();
    assert_eq!(
        hashes.iter().filter(|h| **h == ours).count(),
        2,
        "two run this one's version, the third another: {plugins}"
    );

    let (status, account) = cluster
        .post(0, "/wechat/wxaccounts/add", json!({"account_name": "cluster", "app_id": APP_ID,
              "original_id": format!("gh_{APP_ID}"), "token": crate::wechat::TOKEN, "message_mode": 0,
              "app_secret": SECRET}))
        .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    let account_id = account["data"]["id"].as_str().unwrap().to_string();
    let (status, rule) = cluster
        .post(
            1,
            "/wechat/wxautoreplies/add",
            json!({"account_id": account_id, "reply_type": 2,
              "keyword": "hi", "match_type": 1, "content": "hello"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rule}");
    let rule_id = rule["data"]["id"].as_str().unwrap().to_string();

    // 1,000 messages, each sent to one instance and its retry to the next one
    // at the same time: identical answers, one stored row each.
    const MESSAGES: i64 = 1_000;
    let mut senders = tokio::task::JoinSet::new();
    let next = Arc::new(std::sync::atomic::AtomicI64::new(1));
    for _ in 0..8 {
        let (cluster, next) = (cluster.clone(), next.clone());
        senders.spawn(async move {
            let mut answers = Vec::new();
            loop {
                let msg_id = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if msg_id > MESSAGES {
                    return answers;
                }
                let first = (msg_id % 3) as usize;
                let from = format!("o_fan_{}", msg_id % 30);
                let (a, b) = tokio::join!(
                    cluster.send(first, &from, msg_id, "hi"),
                    cluster.send((first + 1) % 3, &from, msg_id, "hi")
                );
                answers.push((msg_id, a, b));
            }
        });
    }
    while let Some(answers) = senders.join_next().await {
        for (msg_id, a, b) in answers.unwrap() {
            assert_eq!(a.as_deref(), Some("hello"), "message {msg_id}");
            assert_eq!(
                a, b,
                "message {msg_id}: the retry on another instance got the first reply"
            );
        }
    }
    let received = cluster
        .query("SELECT msg_id, COUNT(*) AS n FROM wx_messages WHERE direction = 1 GROUP BY msg_id")
        .await;
    assert_eq!(received.len(), MESSAGES as usize);
    assert!(
        received.iter().all(|r| i64_of(r, "n") == 1),
        "every message stored once"
    );
    let replies = cluster
        .query("SELECT COUNT(*) AS n FROM wx_messages WHERE direction = 0")
        .await;
    assert_eq!(i64_of(&replies[0], "n"), MESSAGES, "one reply row each");

    // 30 WeChat calls over the three instances: one token for all; after
    // WeChat revokes it, one replacement for all, and no call fails.
    for round in 0..2u64 {
        if round == 1 {
            fake.revoke_tokens();
        }
        let calls = (0..30usize).map(|n| {
            let (cluster, account_id) = (cluster.clone(), account_id.clone());
            async move {
                cluster
                    .post(
                        n % 3,
                        "/wechat/wxmenus/delete_remote_menu",
                        json!({"account_id": account_id}),
                    )
                    .await
            }
        });
        for (status, body) in crate::helpers::join_all(calls).await {
            assert_eq!(status, StatusCode::OK, "round {round}: {body}");
        }
        assert_eq!(
            fake.token_requests(),
            round + 1,
            "round {round}: one token request in all"
        );
    }

    // Admin edits through one instance, and new rules added on all three at
    // once, are answered by every instance within 2 s.
    let (status, edited) = cluster
        .call(
            0,
            reqwest::Method::PUT,
            "/wechat/wxautoreplies/edit",
            json!({"id": rule_id, "content": "hello again"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    let adds = (0..9usize).map(|n| {
        let (cluster, account_id) = (cluster.clone(), account_id.clone());
        async move {
            cluster
                .post(
                    n % 3,
                    "/wechat/wxautoreplies/add",
                    json!({"account_id": account_id, "reply_type": 2,
                      "keyword": format!("k{n}"), "match_type": 1, "content": format!("rule {n}")}),
                )
                .await
        }
    });
    for (status, body) in crate::helpers::join_all(adds).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let changed = Instant::now();
    let mut msg_id = 10_000;
    for instance in 0..3 {
        loop {
            msg_id += 1;
            let edited = cluster.send(instance, "o_edit", msg_id, "hi").await;
            msg_id += 1;
            let added = cluster.send(instance, "o_edit", msg_id, "k7").await;
            if edited.as_deref() == Some("hello again") && added.as_deref() == Some("rule 7") {
                break;
            }
            assert!(
                changed.elapsed() < Duration::from_secs(2),
                "instance {instance} still answers {edited:?} / {added:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // No id is used twice, in any table, across the three instances.
    let ids = cluster
        .query(
            "SELECT id FROM wx_messages UNION ALL SELECT id FROM wx_users UNION ALL SELECT id FROM wx_auto_replies \
             UNION ALL SELECT id FROM audit_log UNION ALL SELECT id FROM jobs",
        )
        .await;
    let distinct: HashSet<i64> = ids.iter().map(|r| i64_of(r, "id")).collect();
    assert_eq!(distinct.len(), ids.len(), "ids repeat across instances");

    // Three slow fan syncs, one per instance; the instance running the
    // third is killed. Its job is taken up by another when its lease runs
    // out, and every job ends done, the fans stored once.
    let fans: Vec<Value> = (0..40)
        .map(|n| json!({"subscribe": 1, "openid": format!("o_fan_{n}"), "subscribe_time": 1_700_000_000 + n}))
        .collect();
    fake.add_fans(APP_ID, fans);
    fake.fault_next(
        "/cgi-bin/user/get",
        &[Fault::Slow(Duration::from_secs(6)); 3],
    );
    let mut jobs = Vec::new();
    for instance in 0..3 {
        let (status, job) = cluster
            .post(
                instance,
                "/wechat/wxusers/sync",
                json!({"account_id": account_id}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{job}");
        jobs.push(job["data"]["id"].as_str().unwrap().to_string());
    }
    let running = Instant::now();
    loop {
        let rows = cluster
            .query("SELECT COUNT(*) AS n FROM jobs WHERE status = 'running'")
            .await;
        if i64_of(&rows[0], "n") == 3 {
            break;
        }
        assert!(
            running.elapsed() < Duration::from_secs(10),
            "the three jobs did not all start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each instance runs one job at a time: the third one holds one now.
    let cluster = Arc::into_inner(cluster).expect("no sender left");
    let mut cluster = cluster;
    let mut killed = cluster.servers[2].0.take().unwrap();
    killed.kill().unwrap();
    killed.wait().unwrap();
    let killed_at = Instant::now();

    let lease = Duration::from_secs(wxmp::config::Config::default().job_lease_secs);
    let deadline = Instant::now() + lease + Duration::from_secs(30);
    let finished = loop {
        let rows = cluster
            .query("SELECT status, attempts FROM jobs WHERE kind = 'sync_fans'")
            .await;
        let statuses: HashMap<String, usize> = rows.iter().fold(HashMap::new(), |mut m, r| {
            *m.entry(r.try_get::<String>("", "status").unwrap())
                .or_default() += 1;
            m
        });
        if statuses.get("done") == Some(&3) {
            break rows;
        }
        assert!(
            Instant::now() < deadline,
            "jobs left unfinished: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let attempts: i64 = finished
        .iter()
        .map(|r| i64::from(r.try_get::<i32>("", "attempts").unwrap()))
        .sum();
    assert_eq!(
        attempts, 4,
        "the killed instance's job ran again once, the others once"
    );
    let fans = cluster
        .query("SELECT openid, COUNT(*) AS n FROM wx_users GROUP BY openid HAVING COUNT(*) > 1")
        .await;
    assert!(fans.is_empty(), "fans stored twice");
    assert_eq!(fake.token_requests(), 2, "the jobs used the shared token");

    // The survivors still answer; the killed one's worker id lease runs out
    // on its own and it leaves the list.
    cluster.bases.truncate(2);
    assert_eq!(
        cluster.send(0, "o_after", 20_001, "hi").await.as_deref(),
        Some("hello again")
    );
    loop {
        let (_, instances) = cluster
            .call(
                1,
                reqwest::Method::GET,
                "/wechat/cluster/instances",
                Value::Null,
            )
            .await;
        if instances["data"]["list"].as_array().unwrap().len() == 2 {
            break;
        }
        assert!(
            killed_at.elapsed() < wxmp::cluster::instance::LEASE_TTL + Duration::from_secs(5),
            "{instances}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
