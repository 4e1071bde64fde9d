//! An account with messages and fans can be archived (disabled, hidden,
//! restorable) or, once its name is typed, deleted with all its data.

use crate::helpers::{assert_field_error, Seed, TestApp};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use serde_json::{json, Value};
use wxmp::entity::{pay_orders, pay_refunds, plugin_state, template_logs};

/// A fan with two messages, a rule, a menu button, a material and a template.
async fn fill(seed: &Seed<'_>, openid: &str) {
    seed.fan(json!({"openid": openid, "subscribe_status": 1}))
        .await;
    seed.conversation(
        openid,
        &[
            (1, "text", "你好", json!({})),
            (0, "text", "欢迎", json!({})),
        ],
    )
    .await;
    seed.rule(json!({"keyword": "门店", "reply_type": 2, "match_type": 1, "message_type": "text", "content": "天河区"}))
        .await;
    seed.menu_button(json!({"menu_name": "门店", "menu_type": "click", "menu_key": "STORE"}))
        .await;
    seed.material(json!({"media_type": "image", "media_id": format!("m_{openid}"), "name": "logo.png", "is_permanent": 1}))
        .await;
    seed.template(json!({"template_id": format!("T_{openid}"), "title": "积分变动"}))
        .await;
}

async fn account_row(app: &TestApp, id: &str) -> Option<Value> {
    let (status, body) = app.get("/wechat/wxaccounts/list?page_size=100").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .cloned()
}

async fn total(app: &TestApp, list: &str, account: &str) -> i64 {
    let (status, body) = app.get(&format!("{list}?account_id={account}")).await;
    assert_eq!(status, StatusCode::OK, "{list}: {body}");
    body["data"]["total"].as_i64().unwrap()
}

const LISTS: [&str; 9] = [
    "/wechat/wxusers/list",
    "/wechat/wxmessages/list",
    "/wechat/wxautoreplies/list",
    "/wechat/wxmenus/list",
    "/wechat/wxmaterials/list",
    "/wechat/wxtemplates/list",
    "/wechat/wxtemplates/logs",
    "/wechat/wxpay/orders",
    "/wechat/wxpay/refunds",
];

async fn trail(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/wechat/audit_log/list?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["list"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_account_with_fans_and_messages_is_archived_disabled_and_restored_with_its_data() {
    let app = TestApp::spawn().await;
    let seed = app.seed_account("wxarchive0000001").await;
    let account = seed.account.clone();
    fill(&seed, "o_archive_fan").await;

    // The plain delete still refuses, naming what the account holds.
    let (status, body) = app
        .delete(&format!("/wechat/wxaccounts/del?id={account}"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("1 fans"), "{body}");

    let (status, body) = app
        .post("/wechat/wxaccounts/archive", json!({"id": account}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["status"], 0);
    let row = account_row(&app, &account).await.unwrap();
    assert_eq!(row["status"], 0, "archived means disabled: {row}");
    assert!(row["archived_at"].is_string(), "{row}");
    assert_eq!(total(&app, "/wechat/wxmessages/list", &account).await, 2);
    assert_eq!(total(&app, "/wechat/wxusers/list", &account).await, 1);

    // Enabling it by an edit is refused (archive_at is the server's); restore is the way back.
    let (status, body) = app
        .put(
            "/wechat/wxaccounts/edit",
            json!({"id": account, "status": 1, "archived_at": null}),
        )
        .await;
    assert_field_error(status, &body, "status");
    assert_eq!(
        body["data"]["codes"]["status"]["code"],
        "archived_stays_disabled"
    );

    // Operators may not archive; unknown accounts are a clear 404.
    app.add(
        "/wechat/admins/add",
        json!({"username": "op-archive", "password": "operator-pass-1", "role": "operator", "account_ids": [account]}),
    )
    .await;
    let token = app.login("op-archive", "operator-pass-1").await;
    let (status, _) = app
        .post_as(&token, "/wechat/wxaccounts/restore", json!({"id": account}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .post("/wechat/wxaccounts/archive", json!({"id": "42"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let (status, body) = app
        .post("/wechat/wxaccounts/restore", json!({"id": account}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let row = account_row(&app, &account).await.unwrap();
    assert_eq!(row["status"], 1);
    assert!(row["archived_at"].is_null(), "{row}");
    assert_eq!(total(&app, "/wechat/wxmessages/list", &account).await, 2);

    let recorded: Vec<String> = trail(&app, &format!("resource=account&resource_id={account}"))
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert!(
        recorded.contains(&"archive_account".to_string())
            && recorded.contains(&"restore_account".to_string()),
        "{recorded:?}"
    );
}

#[tokio::test]
async fn an_account_is_deleted_with_all_its_data_only_when_its_name_is_typed() {
    let app = TestApp::spawn().await;
    let seed = app.seed_account("wxpurge00000001").await;
    let account = seed.account.clone();
    let other = app.seed_account("wxpurge00000002").await;
    fill(&seed, "o_purge_fan").await;
    fill(&other, "o_kept_fan").await;

    // Rows only the server writes: an order with a refund, a template send, plugin state.
    let now = chrono::Utc::now();
    let order_id = seed.next_id();
    seed.row(
        pay_orders::Model {
            id: order_id,
            account_id: seed.account_id(),
            out_trade_no: "PURGE0001".into(),
            total_fee: 100,
            trade_state: "SUCCESS".into(),
            description: "会员".into(),
            trade_type: "NATIVE".into(),
            created_at: now,
            updated_at: now,
            ..Default::default()
        }
        .into_active_model(),
    )
    .await;
    seed.row(
        pay_refunds::Model {
            id: seed.next_id(),
            account_id: seed.account_id(),
            order_id,
            out_trade_no: "PURGE0001".into(),
            out_refund_no: "RPURGE0001".into(),
            refund_fee: 10,
            total_fee: 100,
            status: "SUCCESS".into(),
            created_at: now,
            updated_at: now,
            ..Default::default()
        }
        .into_active_model(),
    )
    .await;
    seed.row(
        template_logs::Model {
            id: seed.next_id(),
            account_id: seed.account_id(),
            template_id: "T_o_purge_fan".into(),
            openid: "o_purge_fan".into(),
            status: "sent".into(),
            created_at: now,
            updated_at: now,
            ..Default::default()
        }
        .into_active_model(),
    )
    .await;
    plugin_state::Model {
        id: seed.next_id(),
        plugin: "counter".into(),
        account_id: seed.account_id(),
        openid: "o_purge_fan".into(),
        state_key: "n".into(),
        value: Some(json!(1)),
        expires_at: None,
        created_at: now,
        updated_at: now,
    }
    .into_active_model()
    .reset_all()
    .insert(&app.server.state.db)
    .await
    .unwrap();
    let operator = app
        .add(
            "/wechat/admins/add",
            json!({"username": "op-purge", "password": "operator-pass-1", "role": "operator", "account_ids": [account, other.account]}),
        )
        .await;
    let token = app.login("op-purge", "operator-pass-1").await;

    // A wrong name, a missing one, or an operator: refused, nothing deleted.
    let (status, body) = app
        .post(
            "/wechat/wxaccounts/purge",
            json!({"id": account, "confirm_name": "account wxpurge0000000"}),
        )
        .await;
    assert_field_error(status, &body, "confirm_name");
    assert_eq!(
        body["data"]["codes"]["confirm_name"]["code"],
        "confirm_name"
    );
    let (status, body) = app
        .post("/wechat/wxaccounts/purge", json!({"id": account}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = app
        .post_as(
            &token,
            "/wechat/wxaccounts/purge",
            json!({"id": account, "confirm_name": "account wxpurge00000001"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(total(&app, "/wechat/wxpay/orders", &account).await, 1);

    let (status, body) = app
        .post(
            "/wechat/wxaccounts/purge",
            json!({"id": account, "confirm_name": "account wxpurge00000001"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["deleted"]["messages"], 2, "{body}");
    assert_eq!(body["data"]["deleted"]["fans"], 1, "{body}");
    assert_eq!(body["data"]["deleted"]["refunds"], 1, "{body}");

    assert!(account_row(&app, &account).await.is_none());
    for list in LISTS {
        assert_eq!(total(&app, list, &account).await, 0, "{list} emptied");
    }
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let states = plugin_state::Entity::find()
        .filter(plugin_state::Column::AccountId.eq(seed.account_id()))
        .count(&app.server.state.db)
        .await
        .unwrap();
    assert_eq!(states, 0, "plugin state deleted");
    // The other account keeps everything; the operator keeps only it.
    assert_eq!(total(&app, "/wechat/wxusers/list", &other.account).await, 1);
    assert_eq!(
        total(&app, "/wechat/wxmessages/list", &other.account).await,
        2
    );
    let (_, admins) = app.get("/wechat/admins/list").await;
    let op = admins["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == operator["id"])
        .cloned()
        .unwrap();
    assert_eq!(op["account_ids"], json!([other.account]), "{op}");

    // The trail keeps the account's history and records the deletion.
    let purged = trail(&app, &format!("action=purge_account&resource_id={account}")).await;
    assert_eq!(purged.len(), 1);
    assert!(
        purged[0]["changes"].to_string().contains("wxpurge00000001"),
        "{purged:?}"
    );
    assert!(!trail(&app, &format!("account_id={account}&action=create"))
        .await
        .is_empty());
}
