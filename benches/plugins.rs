//! What Rhai plugins add to dispatch: the chain answering a text through its
//! keyword rule with 0, 1 and 10 plugins in front that look and pass on.
//!
//! `cargo bench --bench plugins`

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use wxmp::callback::chain::Context;
use wxmp::wechat::InboundMessage;

const PASS: &str = r#"
const PLUGIN = #{ name: "NAME", priority: 250, messages: ["text"] };
fn on_message(msg, ctx) {
    if msg.content == "never" { return "unreachable"; }
    ()
}
"#;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("dispatch with plugins");
    for plugins in [0usize, 1, 10] {
        let dir = tempfile::tempdir().unwrap();
        let plugin_dir = dir.path().join("plugins");
        std::fs::create_dir_all(&plugin_dir).unwrap();
        for n in 0..plugins {
            std::fs::write(
                plugin_dir.join(format!("p{n}.rhai")),
                PASS.replace("NAME", &format!("p{n}")),
            )
            .unwrap();
        }
        let config = wxmp::config::Config {
            database_url: format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()),
            data_dir: dir.path().to_path_buf(),
            plugins_dir: plugin_dir,
            admin_password: Some("bench-password".into()),
            log: "error".into(),
            ..Default::default()
        };
        let (state, account) = runtime.block_on(async {
            let state = wxmp::bootstrap(config).await.unwrap();
            let now = chrono::Utc::now();
            let account_id = state.ids.next_id().unwrap();
            wxmp::entity::accounts::Model {
                id: account_id,
                app_id: "wxbench".into(),
                account_name: "bench".into(),
                original_id: "gh_bench".into(),
                token: "benchtoken".into(),
                status: 1,
                created_at: now,
                updated_at: now,
                ..Default::default()
            }
            .into_active_model()
            .reset_all()
            .insert(&state.db)
            .await
            .unwrap();
            wxmp::entity::auto_replies::Model {
                id: state.ids.next_id().unwrap(),
                account_id,
                reply_type: 2,
                keyword: "hello".into(),
                match_type: 1,
                message_type: "text".into(),
                content: "world".into(),
                status: 1,
                created_at: now,
                updated_at: now,
                ..Default::default()
            }
            .into_active_model()
            .reset_all()
            .insert(&state.db)
            .await
            .unwrap();
            let account = state
                .callback_accounts
                .by_app_id("wxbench")
                .await
                .unwrap()
                .unwrap();
            (state, account)
        });
        assert_eq!(state.plugins.all().len(), plugins);
        let message = Arc::new(
            InboundMessage::parse(
                "<xml><ToUserName>gh_bench</ToUserName><FromUserName>o_fan</FromUserName><CreateTime>1700000000</CreateTime>\
                 <MsgType>text</MsgType><Content>hello</Content><MsgId>1</MsgId></xml>",
            )
            .unwrap(),
        );
        group.bench_with_input(BenchmarkId::from_parameter(plugins), &plugins, |b, _| {
            b.iter(|| {
                runtime.block_on(async {
                    let ctx = Arc::new(Context::new(
                        state.clone(),
                        account.clone(),
                        message.clone(),
                        1,
                    ));
                    let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
                    let reply = state.chain.dispatch(ctx, deadline).await;
                    assert!(reply.is_some_and(|answer| answer.handler == "builtin:keyword"));
                })
            })
        });
        drop(dir);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
