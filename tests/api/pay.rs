//! WeChat Pay API v3 end to end against the fake WeChat Pay in
//! `wxmp::dev::fake_pay`: signatures, JSAPI and Native orders, query, close,
//! notifications (verified, idempotent, amount-checked), refunds (also
//! concurrent), both kinds of WeChat Pay keys, and key validation.

use crate::helpers::{join_all, TestApp};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use reqwest::{Method, StatusCode};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::sha2::Sha256;
use rsa::signature::Verifier;
use serde_json::{json, Value};
use wxmp::dev::fake_pay::{
    self, keys, FakePay, SignWith, API_V3_KEY, APP_ID, MCH_ID, MERCHANT_SERIAL, PUB_KEY_ID,
};

type Headers = Vec<(String, String)>;

/// How the account verifies WeChat Pay.
#[derive(Clone, Copy, PartialEq)]
enum KeyMode {
    /// The WeChat Pay public key only.
    PublicKey,
    /// Platform certificates only (downloaded by wxmp).
    Certificates,
}

struct Pay {
    app: TestApp,
    fake: FakePay,
    account_id: String,
}

async fn setup(mode: KeyMode) -> Pay {
    let fake = FakePay::start(match mode {
        KeyMode::PublicKey => SignWith::PublicKey,
        KeyMode::Certificates => SignWith::Certificate,
    })
    .await;
    let base = fake.base_url();
    let app = TestApp::spawn_with(|config| config.pay_api_base = base).await;
    let account_id = app.add_account(APP_ID).await;
    let mut fields = json!({
        "id": account_id,
        "mch_id": MCH_ID,
        "pay_api_v3_key": API_V3_KEY,
        "pay_cert_serial": MERCHANT_SERIAL,
        "pay_private_key": fake_pay::private_pem(&keys().merchant),
    });
    if mode == KeyMode::PublicKey {
        fields["pay_public_key_id"] = json!(PUB_KEY_ID);
        fields["pay_public_key"] = json!(fake_pay::public_pem(&keys().wechat));
    }
    let (status, body) = app.put("/wechat/wxaccounts/edit", fields).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Pay {
        app,
        fake,
        account_id,
    }
}

impl Pay {
    async fn create(&self, trade_type: &str, total_fee: i64) -> Value {
        let mut body = json!({
            "account_id": self.account_id,
            "trade_type": trade_type,
            "total_fee": total_fee,
            "description": "测试商品 test item",
        });
        if trade_type == "JSAPI" {
            body["openid"] = json!("oPayer0000000000000000000001");
        }
        let (status, body) = self.app.post("/wechat/wxpay/create_order", body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"].clone()
    }

    async fn order(&self, order_id: &str) -> Value {
        let (status, body) = self
            .app
            .get(&format!(
                "/wechat/wxpay/orders?account_id={}&page_size=100",
                self.account_id
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == order_id)
            .cloned()
            .unwrap_or_else(|| panic!("order {order_id} not listed: {body}"))
    }

    async fn list(&self, what: &str) -> Vec<Value> {
        let (status, body) = self
            .app
            .get(&format!("/wechat/wxpay/{what}?page_size=100"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"]["list"].as_array().unwrap().clone()
    }

    fn notify_path(&self) -> String {
        format!("/wechat/wxpay/notify/{}", self.account_id)
    }

    /// Posts a notification as WeChat would; returns status and body text.
    async fn deliver(&self, headers: &[(String, String)], body: &str) -> (StatusCode, String) {
        let mut request = self
            .app
            .client
            .post(self.app.url(&self.notify_path()))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn notify(&self, event_type: &str, resource: &Value, with: SignWith) -> StatusCode {
        let (headers, body) = self.fake.notification(event_type, resource, with);
        let (status, text) = self.deliver(&headers, &body).await;
        assert!(status.is_success(), "{status}: {text}");
        status
    }

    /// A paid order of `total_fee` fen; returns its id.
    async fn paid_order(&self, total_fee: i64) -> (String, String) {
        let created = self.create("NATIVE", total_fee).await;
        let id = created["order"]["id"].as_str().unwrap().to_string();
        let out_trade_no = created["order"]["out_trade_no"]
            .as_str()
            .unwrap()
            .to_string();
        let resource = self.fake.pay(&out_trade_no);
        self.notify("TRANSACTION.SUCCESS", &resource, SignWith::PublicKey)
            .await;
        assert_eq!(self.order(&id).await["trade_state"], "SUCCESS");
        (id, out_trade_no)
    }

    async fn refund(&self, order_id: &str, refund_fee: i64) -> (StatusCode, Value) {
        self.app
            .post(
                "/wechat/wxpay/refund",
                json!({ "order_id": order_id, "refund_fee": refund_fee, "reason": "退款 test" }),
            )
            .await
    }
}

fn verify_with_merchant_key(message: &[u8], signature_b64: &str) {
    let signature = B64.decode(signature_b64).expect("base64 signature");
    VerifyingKey::<Sha256>::new(keys().merchant.to_public_key())
        .verify(message, &Signature::try_from(signature.as_slice()).unwrap())
        .expect("verifies with the merchant public key");
}

#[tokio::test]
async fn a_jsapi_order_is_signed_and_paid_once() {
    let pay = setup(KeyMode::PublicKey).await;
    let created = pay.create("JSAPI", 1234).await;
    let order = &created["order"];
    let out_trade_no = order["out_trade_no"].as_str().unwrap();
    assert_eq!(order["trade_state"], "NOTPAY");
    assert_eq!(order["total_fee"], 1234);
    assert_eq!(order["trade_type"], "JSAPI");
    let prepay_id = created["prepay_id"].as_str().unwrap();
    assert_eq!(order["prepay_id"], prepay_id);

    // Every request carried an Authorization the merchant public key verifies.
    let requests = pay.fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert!(request.signature_ok);
    assert_eq!(request.path_and_query, "/v3/pay/transactions/jsapi");
    let fields: std::collections::HashMap<&str, &str> = request
        .authorization
        .strip_prefix("WECHATPAY2-SHA256-RSA2048 ")
        .unwrap()
        .split(',')
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap();
            (k, v.trim_matches('"'))
        })
        .collect();
    assert_eq!(fields["mchid"], MCH_ID);
    assert_eq!(fields["serial_no"], MERCHANT_SERIAL);
    verify_with_merchant_key(
        format!(
            "POST\n/v3/pay/transactions/jsapi\n{}\n{}\n{}\n",
            fields["timestamp"], fields["nonce_str"], request.body
        )
        .as_bytes(),
        fields["signature"],
    );
    let sent: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(sent["appid"], APP_ID);
    assert_eq!(sent["amount"], json!({"total": 1234, "currency": "CNY"}));
    assert_eq!(sent["payer"]["openid"], "oPayer0000000000000000000001");
    assert_eq!(
        sent["notify_url"],
        pay.app.url(&pay.notify_path()),
        "notify_url derived from the request's Host"
    );

    // The page's parameters: paySign over appId, timeStamp, nonceStr, package.
    let params = &created["pay_params"];
    assert_eq!(params["appId"], APP_ID);
    assert_eq!(params["signType"], "RSA");
    assert_eq!(params["package"], format!("prepay_id={prepay_id}"));
    verify_with_merchant_key(
        format!(
            "{}\n{}\n{}\n{}\n",
            params["appId"].as_str().unwrap(),
            params["timeStamp"].as_str().unwrap(),
            params["nonceStr"].as_str().unwrap(),
            params["package"].as_str().unwrap()
        )
        .as_bytes(),
        params["paySign"].as_str().unwrap(),
    );

    // Paid: the notification marks it SUCCESS; a replay changes nothing.
    let resource = pay.fake.pay(out_trade_no);
    let (headers, body) =
        pay.fake
            .notification("TRANSACTION.SUCCESS", &resource, SignWith::PublicKey);
    let (status, text) = pay.deliver(&headers, &body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    let id = order["id"].as_str().unwrap();
    let paid = pay.order(id).await;
    assert_eq!(paid["trade_state"], "SUCCESS");
    assert_eq!(paid["transaction_id"], resource["transaction_id"]);
    assert!(paid["paid_at"].is_string());
    let (status, _) = pay.deliver(&headers, &body).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(pay.order(id).await, paid, "a replay changes nothing");
    let journal = pay.list("notifications").await;
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(journal[0]["result"], "applied");
    assert_eq!(journal[0]["event_type"], "TRANSACTION.SUCCESS");
    assert!(!journal[0]["summary"].as_str().unwrap().contains("openid"));

    // The same payment announced again under a new event id: one effect.
    pay.notify("TRANSACTION.SUCCESS", &resource, SignWith::PublicKey)
        .await;
    assert_eq!(pay.order(id).await, paid);
    let journal = pay.list("notifications").await;
    assert_eq!(journal.len(), 2);
    assert_eq!(journal[0]["result"], "unchanged");
}

#[tokio::test]
async fn concurrent_deliveries_of_one_notification_have_one_effect() {
    let pay = setup(KeyMode::PublicKey).await;
    let created = pay.create("NATIVE", 4200).await;
    let id = created["order"]["id"].as_str().unwrap();
    let resource = pay
        .fake
        .pay(created["order"]["out_trade_no"].as_str().unwrap());
    let (headers, body) =
        pay.fake
            .notification("TRANSACTION.SUCCESS", &resource, SignWith::PublicKey);
    let results = join_all((0..6).map(|_| pay.deliver(&headers, &body))).await;
    for (status, text) in &results {
        assert_eq!(*status, StatusCode::NO_CONTENT, "{text}");
    }
    let journal = pay.list("notifications").await;
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(journal[0]["result"], "applied");
    let order = pay.order(id).await;
    assert_eq!(order["trade_state"], "SUCCESS");
    assert_eq!(order["flagged"], 0);
}

#[tokio::test]
async fn an_order_wechat_pay_refuses_is_not_kept_and_the_refusal_is_in_the_audit_trail() {
    let pay = setup(KeyMode::PublicKey).await;
    let body = json!({
        "account_id": pay.account_id,
        "trade_type": "NATIVE",
        "total_fee": 300,
        "description": "refused item",
        "out_trade_no": "RETRY000001",
    });
    // Refused twice, as an operator retrying would see it.
    for _ in 0..2 {
        pay.fake.inner.lock().unwrap().refuse_next_order = Some((403, "NO_AUTH".into()));
        let (status, answer) = pay
            .app
            .post("/wechat/wxpay/create_order", body.clone())
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert!(
            answer["msg"].as_str().unwrap().contains("NO_AUTH"),
            "WeChat Pay's code is shown: {answer}"
        );
    }
    assert!(pay.list("orders").await.is_empty(), "no order row kept");
    let (_, trail) = pay
        .app
        .get("/wechat/audit_log/list?action=create_order_refused")
        .await;
    let entries = trail["data"]["list"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{trail}");
    assert_eq!(entries[0]["account_id"], pay.account_id.as_str());
    assert!(
        entries[0]["changes"].to_string().contains("RETRY000001"),
        "{trail}"
    );

    // The same out_trade_no goes through once WeChat Pay accepts it.
    let (status, answer) = pay.app.post("/wechat/wxpay/create_order", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let orders = pay.list("orders").await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["out_trade_no"], "RETRY000001");
    assert_eq!(orders[0]["trade_state"], "NOTPAY");
}

#[tokio::test]
async fn a_native_order_has_a_qr_code_and_can_be_queried_and_closed() {
    let pay = setup(KeyMode::PublicKey).await;
    let created = pay.create("NATIVE", 500).await;
    let id = created["order"]["id"].as_str().unwrap().to_string();
    let code_url = created["code_url"].as_str().unwrap().to_string();
    assert!(code_url.starts_with("weixin://wxpay/bizpayurl?pr="));
    assert_eq!(created["order"]["code_url"], code_url.as_str());

    // The QR code: a PNG whose modules are code_url's QR code.
    let qr_path = format!("/wechat/wxpay/qrcode?order_id={id}");
    assert_eq!(created["qrcode_url"], qr_path.as_str());
    let response = pay
        .app
        .client
        .get(pay.app.url(&qr_path))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = pay
        .app
        .client
        .get(pay.app.url(&qr_path))
        .bearer_auth(&pay.app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    let png_bytes = response.bytes().await.unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes.to_vec()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let expected =
        qrcode::QrCode::with_error_correction_level(&code_url, qrcode::EcLevel::M).unwrap();
    let modules = expected.width();
    let scale = frame.width as usize / (modules + 8);
    assert_eq!(frame.width as usize, (modules + 8) * scale);
    for (index, color) in expected.to_colors().iter().enumerate() {
        let (x, y) = (
            (index % modules + 4) * scale + scale / 2,
            (index / modules + 4) * scale + scale / 2,
        );
        let dark = pixels[y * frame.width as usize + x] < 128;
        assert_eq!(dark, *color == qrcode::Color::Dark, "module {index}");
    }

    // Query: still NOTPAY; close: CLOSED here and at WeChat Pay.
    let (status, body) = pay
        .app
        .post("/wechat/wxpay/query_order", json!({ "order_id": id }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["trade_state"], "NOTPAY");
    let (status, body) = pay
        .app
        .post("/wechat/wxpay/close_order", json!({ "order_id": id }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["order"]["trade_state"], "CLOSED");
    let out_trade_no = body["data"]["order"]["out_trade_no"].as_str().unwrap();
    assert_eq!(pay.fake.order(out_trade_no).unwrap().trade_state, "CLOSED");
    let (status, _) = pay.app.get(&qr_path).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "no QR code for a closed order"
    );

    // Paid at WeChat without a notification: a query records it; closing is refused.
    let other = pay.create("NATIVE", 700).await;
    let other_id = other["order"]["id"].as_str().unwrap();
    pay.fake
        .pay(other["order"]["out_trade_no"].as_str().unwrap());
    let (status, body) = pay
        .app
        .post(
            "/wechat/wxpay/query_order",
            json!({ "account_id": pay.account_id, "out_trade_no": other["order"]["out_trade_no"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["trade_state"], "SUCCESS");
    assert_eq!(body["data"]["result"], "applied");
    let (status, body) = pay
        .app
        .post("/wechat/wxpay/close_order", json!({ "order_id": other_id }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(pay.order(other_id).await["trade_state"], "SUCCESS");

    // A closed order never becomes paid, even when WeChat says so: it is flagged.
    let late = json!({
        "mchid": MCH_ID, "appid": APP_ID, "out_trade_no": out_trade_no,
        "transaction_id": "4200000000000000000000000099", "trade_state": "SUCCESS",
        "amount": { "total": 500, "payer_total": 500, "currency": "CNY" },
    });
    pay.notify("TRANSACTION.SUCCESS", &late, SignWith::PublicKey)
        .await;
    let closed = pay.order(&id).await;
    assert_eq!(closed["trade_state"], "CLOSED");
    assert_eq!(closed["flagged"], 1);

    // Validation: bad input is a 422 naming the field, nothing sent.
    let sent = pay.fake.requests().len();
    for (body, field) in [
        (
            json!({"account_id": pay.account_id, "trade_type": "JSAPI", "total_fee": 1, "description": "x"}),
            "openid",
        ),
        (
            json!({"account_id": pay.account_id, "trade_type": "NATIVE", "total_fee": 0, "description": "x"}),
            "total_fee",
        ),
        (
            json!({"account_id": pay.account_id, "trade_type": "NATIVE", "total_fee": 1.5, "description": "x"}),
            "total_fee",
        ),
        (
            json!({"account_id": pay.account_id, "trade_type": "APP", "total_fee": 1, "description": "x"}),
            "trade_type",
        ),
        (
            json!({"account_id": pay.account_id, "trade_type": "NATIVE", "total_fee": 1, "description": "x", "out_trade_no": "bad no!"}),
            "out_trade_no",
        ),
    ] {
        let (status, body) = pay.app.post("/wechat/wxpay/create_order", body).await;
        crate::helpers::assert_field_error(status, &body, field);
    }
    assert_eq!(pay.fake.requests().len(), sent);
    // Expiry: sent as time_expire in China time, kept as expire_at.
    let (status, created) = pay
        .app
        .post("/wechat/wxpay/create_order", json!({"account_id": pay.account_id, "trade_type": "NATIVE", "total_fee": 3, "description": "x", "expire_minutes": 30}))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let sent: Value = serde_json::from_str(&pay.fake.requests().last().unwrap().body).unwrap();
    let time_expire = sent["time_expire"].as_str().unwrap();
    assert!(time_expire.ends_with("+08:00"), "{time_expire}");
    let expire_at = chrono::DateTime::parse_from_rfc3339(
        created["data"]["order"]["expire_at"].as_str().unwrap(),
    )
    .unwrap();
    let minutes = (expire_at - chrono::Utc::now().fixed_offset()).num_minutes();
    assert!((28..=30).contains(&minutes), "{minutes}");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(time_expire)
            .unwrap()
            .timestamp(),
        expire_at.timestamp()
    );
    // A given out_trade_no is used as is, and only once.
    let body = json!({"account_id": pay.account_id, "trade_type": "NATIVE", "total_fee": 9, "description": "x", "out_trade_no": "MY-ORDER-0001"});
    let (status, created) = pay
        .app
        .post("/wechat/wxpay/create_order", body.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["data"]["order"]["out_trade_no"], "MY-ORDER-0001");
    let (status, _) = pay.app.post("/wechat/wxpay/create_order", body).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn notifications_failing_verification_change_nothing() {
    let pay = setup(KeyMode::PublicKey).await;
    let created = pay.create("NATIVE", 300).await;
    let id = created["order"]["id"].as_str().unwrap();
    let resource = pay
        .fake
        .pay(created["order"]["out_trade_no"].as_str().unwrap());
    let before = pay.order(id).await;
    let (headers, body) =
        pay.fake
            .notification("TRANSACTION.SUCCESS", &resource, SignWith::PublicKey);
    let with = |name: &str, value: String| -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(n, v)| {
                if n == name {
                    (n.clone(), value.clone())
                } else {
                    (n.clone(), v.clone())
                }
            })
            .collect()
    };

    let tampered = body.replacen("TRANSACTION.SUCCESS", "TRANSACTION.SUCCESs", 1);
    let stale_ts = chrono::Utc::now().timestamp() - 400;
    let stale = fake_pay::signed_headers(SignWith::PublicKey, body.as_bytes(), Some(stale_ts));
    // Signed with the certificate's key but naming the public key's serial.
    let wrong_key = fake_pay::signed_headers(SignWith::Certificate, body.as_bytes(), None)
        .into_iter()
        .map(|(n, v)| {
            if n == "Wechatpay-Serial" {
                (n, PUB_KEY_ID.to_string())
            } else {
                (n, v)
            }
        })
        .collect::<Vec<_>>();
    let cases: Vec<(&str, Headers, String)> = vec![
        ("tampered body", headers.clone(), tampered),
        ("wrong signature", wrong_key, body.clone()),
        (
            "unknown serial",
            with("Wechatpay-Serial", "PUB_KEY_ID_0000UNKNOWN".into()),
            body.clone(),
        ),
        ("stale timestamp", stale, body.clone()),
        (
            "SIGNTEST probe",
            with("Wechatpay-Signature", "WECHATPAY/SIGNTEST/abcdefg".into()),
            body.clone(),
        ),
        (
            "no signature",
            headers
                .iter()
                .filter(|(n, _)| n != "Wechatpay-Signature")
                .cloned()
                .collect(),
            body.clone(),
        ),
    ];
    for (what, headers, body) in cases {
        let (status, text) = pay.deliver(&headers, &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["code"], "FAIL", "{what}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    // Signed correctly but not sealed with this account's APIv3 key.
    let mut envelope: Value = serde_json::from_str(&body).unwrap();
    let nonce = envelope["resource"]["nonce"].as_str().unwrap().to_string();
    envelope["resource"]["ciphertext"] = json!(fake_pay::encrypt(
        "ffffffffffffffffffffffffffffffff",
        &nonce,
        "transaction",
        resource.to_string().as_bytes()
    ));
    let forged = envelope.to_string();
    let headers = fake_pay::signed_headers(SignWith::PublicKey, forged.as_bytes(), None);
    let (status, text) = pay.deliver(&headers, &forged).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("\"FAIL\""));

    assert_eq!(pay.order(id).await, before, "nothing changed");
    assert!(pay.list("notifications").await.is_empty());
    // Unknown account: 404 FAIL.
    let (status, text) = pay
        .app
        .client
        .post(pay.app.url("/wechat/wxpay/notify/123"))
        .body(body.clone())
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text.text().await.unwrap().contains("FAIL"));
}

#[tokio::test]
async fn amount_mismatch_is_flagged_and_unknown_orders_are_recorded() {
    let pay = setup(KeyMode::PublicKey).await;
    let created = pay.create("NATIVE", 1000).await;
    let id = created["order"]["id"].as_str().unwrap();
    let mut resource = pay
        .fake
        .pay(created["order"]["out_trade_no"].as_str().unwrap());
    resource["amount"]["total"] = json!(1);
    resource["amount"]["payer_total"] = json!(1);
    pay.notify("TRANSACTION.SUCCESS", &resource, SignWith::PublicKey)
        .await;
    let order = pay.order(id).await;
    assert_eq!(order["trade_state"], "NOTPAY", "not paid");
    assert_eq!(order["flagged"], 1);
    assert!(
        order["note"].as_str().unwrap().contains("mismatch"),
        "{order}"
    );
    assert!(order["paid_at"].is_null());
    let journal = pay.list("notifications").await;
    assert_eq!(journal[0]["result"], "amount_mismatch");
    // A flagged order cannot be refunded either.
    let (status, _) = pay.refund(id, 1).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // An order wxmp never made: recorded, answered 2xx, no money created.
    let stranger = json!({
        "mchid": MCH_ID, "appid": APP_ID, "out_trade_no": "NOT-OURS-0001",
        "transaction_id": "4200000000000000000000000001", "trade_state": "SUCCESS",
        "amount": { "total": 100, "payer_total": 100, "currency": "CNY" },
    });
    pay.notify("TRANSACTION.SUCCESS", &stranger, SignWith::PublicKey)
        .await;
    let journal = pay.list("notifications").await;
    assert_eq!(journal.len(), 2);
    assert_eq!(journal[0]["result"], "unknown_order");
    assert_eq!(journal[0]["out_trade_no"], "NOT-OURS-0001");
    let orders = pay.list("orders").await;
    assert_eq!(orders.len(), 1, "no order created");
}

#[tokio::test]
async fn partial_and_full_refunds_go_through_while_over_refunds_and_wechat_refusals_do_not() {
    let pay = setup(KeyMode::PublicKey).await;
    let (id, out_trade_no) = pay.paid_order(100).await;

    let (status, body) = pay.refund(&id, 30).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = body["data"]["refund"].clone();
    assert_eq!(first["status"], "PROCESSING");
    assert_eq!(first["refund_fee"], 30);
    assert!(first["out_refund_no"].as_str().unwrap().starts_with("RF"));
    let order = pay.order(&id).await;
    assert_eq!(order["refunded_total"], 30);
    assert_eq!(order["trade_state"], "REFUND");

    let (status, body) = pay.refund(&id, 71).await;
    assert_eq!(status, StatusCode::CONFLICT, "over-refund refused: {body}");
    assert!(body["msg"].as_str().unwrap().contains("exceed"));
    assert_eq!(pay.order(&id).await["refunded_total"], 30);

    let (status, body) = pay.refund(&id, 70).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let second = body["data"]["refund"].clone();
    assert_eq!(pay.order(&id).await["refunded_total"], 100);
    let (status, _) = pay.refund(&id, 1).await;
    assert_eq!(status, StatusCode::CONFLICT, "fully refunded");

    // The first finishes by notification, the second by a query.
    let resource = pay
        .fake
        .finish_refund(first["out_refund_no"].as_str().unwrap(), "SUCCESS");
    pay.notify("REFUND.SUCCESS", &resource, SignWith::PublicKey)
        .await;
    pay.fake
        .finish_refund(second["out_refund_no"].as_str().unwrap(), "SUCCESS");
    let (status, body) = pay
        .app
        .post("/wechat/wxpay/query_refund", json!({ "id": second["id"] }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["refund"]["status"], "SUCCESS");
    let refunds = pay.list("refunds").await;
    assert!(
        refunds.iter().all(|r| r["status"] == "SUCCESS"),
        "{refunds:?}"
    );
    assert!(refunds.iter().all(|r| r["success_time"].is_string()));
    assert_eq!(pay.fake.order(&out_trade_no).unwrap().refunded, 100);
    // Refund on an unpaid order: refused.
    let unpaid = pay.create("NATIVE", 50).await;
    let (status, body) = pay
        .refund(unpaid["order"]["id"].as_str().unwrap(), 10)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // WeChat refuses: the reservation is released and the refund marked FAILED.
    let (other, _) = pay.paid_order(80).await;
    pay.fake.inner.lock().unwrap().refuse_next_refund = Some((403, "NOT_ENOUGH".into()));
    let (status, body) = pay.refund(&other, 80).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("NOT_ENOUGH"));
    assert_eq!(pay.order(&other).await["refunded_total"], 0);
    let failed = pay
        .list("refunds")
        .await
        .into_iter()
        .find(|r| r["order_id"] == other.as_str())
        .unwrap();
    assert_eq!(failed["status"], "FAILED");

    // A refund WeChat closes gives its amount back.
    let (status, body) = pay.refund(&other, 80).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let resource = pay.fake.finish_refund(
        body["data"]["refund"]["out_refund_no"].as_str().unwrap(),
        "CLOSED",
    );
    pay.notify("REFUND.CLOSED", &resource, SignWith::PublicKey)
        .await;
    assert_eq!(pay.order(&other).await["refunded_total"], 0);
    // …and a replayed SUCCESS after CLOSED is refused by the state machine.
    let mut late = resource.clone();
    late["refund_status"] = json!("SUCCESS");
    pay.notify("REFUND.SUCCESS", &late, SignWith::PublicKey)
        .await;
    assert_eq!(pay.order(&other).await["refunded_total"], 0);
    assert_eq!(
        pay.list("notifications").await[0]["result"],
        "illegal_transition"
    );
}

#[tokio::test]
async fn refunds_with_unknown_outcome_stay_reserved_until_a_query_tells() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use wxmp::entity::pay_refunds;
    let pay = setup(KeyMode::PublicKey).await;
    let (id, _) = pay.paid_order(100).await;

    // WeChat Pay made the refund but its answer was lost: still reserved,
    // and a query finds it, so it is never made twice.
    pay.fake.inner.lock().unwrap().lose_next_refund_answer = true;
    let (status, body) = pay.refund(&id, 60).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["msg"].as_str().unwrap().contains("query_refund"),
        "{body}"
    );
    assert_eq!(pay.order(&id).await["refunded_total"], 60);
    let lost = pay.list("refunds").await[0].clone();
    assert_eq!(lost["status"], "SUBMITTING");
    assert!(lost["note"].as_str().unwrap().contains("outcome unknown"));
    let (status, _) = pay.refund(&id, 50).await;
    assert_eq!(status, StatusCode::CONFLICT, "the reservation still counts");
    let (status, body) = pay
        .app
        .post(
            "/wechat/wxpay/query_refund",
            json!({ "account_id": pay.account_id, "out_refund_no": lost["out_refund_no"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["refund"]["status"], "PROCESSING");
    assert_eq!(pay.order(&id).await["refunded_total"], 60);

    // WeChat Pay never got it (a 500 before doing anything): reserved until
    // a query, after the submission window, finds no such refund.
    pay.fake.inner.lock().unwrap().refuse_next_refund = Some((500, "SYSTEM_ERROR".into()));
    let (status, _) = pay.refund(&id, 40).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(pay.order(&id).await["refunded_total"], 100);
    let pending = pay.list("refunds").await[0].clone();
    let query = json!({ "id": pending["id"] });
    let (status, body) = pay
        .app
        .post("/wechat/wxpay/query_refund", query.clone())
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "too early to give up: {body}");
    assert_eq!(pay.order(&id).await["refunded_total"], 100);
    pay_refunds::Entity::update_many()
        .col_expr(
            pay_refunds::Column::CreatedAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::minutes(10)),
        )
        .filter(pay_refunds::Column::OutRefundNo.eq(pending["out_refund_no"].as_str().unwrap()))
        .exec(&pay.app.server.state.db)
        .await
        .unwrap();
    let (status, body) = pay.app.post("/wechat/wxpay/query_refund", query).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["refund"]["status"], "FAILED");
    assert_eq!(pay.order(&id).await["refunded_total"], 60);
}

#[tokio::test]
async fn ten_concurrent_refunds_never_exceed_the_paid_amount() {
    let pay = setup(KeyMode::PublicKey).await;
    let (id, out_trade_no) = pay.paid_order(100).await;
    pay.fake.inner.lock().unwrap().refund_delay = std::time::Duration::from_millis(100);
    let attempts = (0..10).map(|_| pay.refund(&id, 30));
    let results = join_all(attempts).await;
    let accepted = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let refused = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CONFLICT)
        .count();
    assert_eq!((accepted, refused), (3, 7), "{results:?}");
    assert_eq!(pay.order(&id).await["refunded_total"], 90);
    assert_eq!(pay.fake.order(&out_trade_no).unwrap().refunded, 90);
    let refunds = pay.list("refunds").await;
    let sum: i64 = refunds
        .iter()
        .map(|r| r["refund_fee"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 90);
}

#[tokio::test]
async fn public_key_and_platform_certificates_are_accepted_at_once() {
    let pay = setup(KeyMode::PublicKey).await;
    let (status, body) = pay
        .app
        .post(
            "/wechat/wxpay/refresh_certificates",
            json!({ "account_id": pay.account_id }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let serial = keys().certificate_serial.clone();
    assert_eq!(body["data"]["serials"], json!([serial]));
    let verifier = body["data"]["verifier"].as_array().unwrap();
    assert!(verifier.contains(&json!(PUB_KEY_ID)) && verifier.contains(&json!(serial)));

    // A notification signed by each kind of key is accepted.
    let first = pay.create("NATIVE", 10).await;
    let second = pay.create("NATIVE", 20).await;
    for (order, with) in [
        (&first, SignWith::Certificate),
        (&second, SignWith::PublicKey),
    ] {
        let resource = pay
            .fake
            .pay(order["order"]["out_trade_no"].as_str().unwrap());
        let status = pay.notify("TRANSACTION.SUCCESS", &resource, with).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(
            pay.order(order["order"]["id"].as_str().unwrap()).await["trade_state"],
            "SUCCESS"
        );
    }
    // Answers signed by either are trusted too.
    pay.fake.sign_with(SignWith::Certificate);
    let (status, body) = pay
        .app
        .post(
            "/wechat/wxpay/query_order",
            json!({ "order_id": first["order"]["id"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn certificate_merchants_download_certificates_and_answers_are_verified() {
    let pay = setup(KeyMode::Certificates).await;
    let created = pay.create("NATIVE", 99).await;
    assert!(created["code_url"].is_string());
    let requests = pay.fake.requests();
    assert_eq!(requests[0].path_and_query, "/v3/certificates");
    assert!(requests.iter().all(|r| r.signature_ok));
    let (_, accounts) = pay.app.get("/wechat/wxaccounts/list").await;
    let certs = &accounts["data"]["list"][0]["pay_platform_certs"];
    assert_eq!(certs[0]["serial_no"], keys().certificate_serial.as_str());
    assert!(certs[0]["certificate"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));

    // Notifications signed by the certificate verify; by the unknown public key they do not.
    let resource = pay
        .fake
        .pay(created["order"]["out_trade_no"].as_str().unwrap());
    let (headers, body) =
        pay.fake
            .notification("TRANSACTION.SUCCESS", &resource, SignWith::PublicKey);
    let (status, _) = pay.deliver(&headers, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    pay.notify("TRANSACTION.SUCCESS", &resource, SignWith::Certificate)
        .await;
    assert_eq!(
        pay.order(created["order"]["id"].as_str().unwrap()).await["trade_state"],
        "SUCCESS"
    );

    // An answer whose signature does not verify is not trusted.
    pay.fake.sign_with(SignWith::PublicKey);
    let (status, body) = pay
        .app
        .post("/wechat/wxpay/create_order", json!({"account_id": pay.account_id, "trade_type": "NATIVE", "total_fee": 5, "description": "x"}))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["msg"].as_str().unwrap().contains("verified")
            || body["msg"].as_str().unwrap().contains("refreshed"),
        "{body}"
    );
}

#[tokio::test]
async fn malformed_keys_are_refused_when_the_account_is_saved() {
    let app = TestApp::spawn().await;
    let account_id = app.add_account("wxkeys0000000001").await;
    let good_private = fake_pay::private_pem(&keys().merchant);
    let good_public = fake_pay::public_pem(&keys().wechat);
    let mangled = good_private.replace(&good_private[120..160], &"A".repeat(40));
    let cases = [
        (
            json!({"pay_private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----"}),
            "pay_private_key",
        ),
        (json!({"pay_private_key": mangled}), "pay_private_key"),
        (
            json!({"pay_private_key": good_public.clone()}),
            "pay_private_key",
        ),
        (
            json!({"pay_public_key_id": PUB_KEY_ID, "pay_public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}),
            "pay_public_key",
        ),
        (
            json!({"pay_public_key_id": PUB_KEY_ID, "pay_public_key": good_private.clone()}),
            "pay_public_key",
        ),
        (
            json!({"pay_public_key_id": "KEY_1", "pay_public_key": good_public.clone()}),
            "pay_public_key_id",
        ),
        (
            json!({"pay_public_key": good_public.clone()}),
            "pay_public_key_id",
        ),
        (json!({"pay_api_v3_key": "short"}), "pay_api_v3_key"),
    ];
    for (fields, field) in cases {
        let mut body = fields.clone();
        body["id"] = json!(account_id);
        let (status, response) = app.put("/wechat/wxaccounts/edit", body).await;
        crate::helpers::assert_field_error(status, &response, field);
        assert!(
            !response.to_string().contains("MII"),
            "no key material echoed"
        );
    }
    let (status, response) = app
        .put(
            "/wechat/wxaccounts/edit",
            json!({
                "id": account_id, "mch_id": MCH_ID, "pay_api_v3_key": API_V3_KEY,
                "pay_cert_serial": MERCHANT_SERIAL, "pay_private_key": good_private,
                "pay_public_key_id": PUB_KEY_ID, "pay_public_key": good_public,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    let saved = &response["data"];
    assert!(saved["pay_private_key"]
        .as_str()
        .unwrap()
        .starts_with("****"));
    assert!(saved["pay_api_v3_key"]
        .as_str()
        .unwrap()
        .starts_with("****"));
}

#[tokio::test]
async fn operators_reach_only_their_accounts_and_routes_are_documented() {
    let pay = setup(KeyMode::PublicKey).await;
    let other = pay.app.add_account("wxother000000009").await;
    let created = pay.create("NATIVE", 10).await;
    pay.app
        .add(
            "/wechat/admins/add",
            json!({"username": "payop", "password": "operator-pass-1", "role": "operator", "account_ids": [other]}),
        )
        .await;
    let token = pay.app.login("payop", "operator-pass-1").await;
    let id = created["order"]["id"].as_str().unwrap();
    for (path, body) in [
        (
            "/wechat/wxpay/create_order",
            json!({"account_id": pay.account_id, "trade_type": "NATIVE", "total_fee": 1, "description": "x"}),
        ),
        ("/wechat/wxpay/query_order", json!({"order_id": id})),
        ("/wechat/wxpay/close_order", json!({"order_id": id})),
        (
            "/wechat/wxpay/refund",
            json!({"order_id": id, "refund_fee": 1}),
        ),
    ] {
        let (status, body) = pay
            .app
            .send(Method::POST, path, Some(&token), Some(body))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    let response = pay
        .app
        .client
        .get(pay.app.url(&format!("/wechat/wxpay/qrcode?order_id={id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(pay.order(id).await["trade_state"], "NOTPAY");
    // Without a token: 401.
    let (status, _) = pay
        .app
        .send(
            Method::POST,
            "/wechat/wxpay/create_order",
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (_, document) = pay.app.get("/api-docs/openapi.json").await;
    for path in [
        "/wechat/wxpay/create_order",
        "/wechat/wxpay/qrcode",
        "/wechat/wxpay/query_order",
        "/wechat/wxpay/close_order",
        "/wechat/wxpay/refund",
        "/wechat/wxpay/query_refund",
        "/wechat/wxpay/notify/{account_id}",
        "/wechat/wxpay/notifications",
        "/wechat/wxpay/orders",
        "/wechat/wxpay/refunds",
    ] {
        assert!(document["paths"].get(path).is_some(), "{path} documented");
    }
    assert!(document["paths"]["/wechat/wxpay/notify/{account_id}"]["post"]["security"].is_null());
}

/// Posts to the fake WeChat Pay's `/sandbox/` controls; returns status and JSON.
async fn sandbox_control(pay: &Pay, path: &str, body: Value) -> (StatusCode, Value) {
    let response = pay
        .app
        .client
        .post(format!("{}/sandbox/{path}", pay.fake.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// WeChat Pay v3's error JSON: `{"code", "message"}`.
fn assert_pay_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["code"], code, "{}", answer.1);
    assert!(
        answer.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        answer.1
    );
}

#[tokio::test]
async fn the_sandbox_payer_pays_and_refunds_over_http_and_mistakes_get_wechat_pay_errors() {
    let pay = setup(KeyMode::PublicKey).await;
    let created = pay.create("NATIVE", 300).await;
    let id = created["order"]["id"].as_str().unwrap();
    let out_trade_no = created["order"]["out_trade_no"].as_str().unwrap();

    // Paying notifies wxmp at the order's notify_url; wxmp marks it paid.
    let (status, body) =
        sandbox_control(&pay, &format!("orders/{out_trade_no}/pay"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["trade_state"], "SUCCESS");
    assert_eq!(body["notified"]["status"], 204, "{body}");
    assert!(body["notified"]["url"]
        .as_str()
        .unwrap()
        .ends_with(&pay.notify_path()));
    assert_eq!(pay.order(id).await["trade_state"], "SUCCESS");

    // Mistakes: answered, not panicked on; the order is untouched.
    let again = sandbox_control(&pay, &format!("orders/{out_trade_no}/pay"), json!({})).await;
    assert_pay_error(&again, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let unknown = sandbox_control(&pay, "orders/NO_SUCH_ORDER/pay", json!({})).await;
    assert_pay_error(&unknown, StatusCode::NOT_FOUND, "ORDER_NOT_EXIST");
    let nowhere = sandbox_control(&pay, "orders/pay", json!({})).await;
    assert_pay_error(&nowhere, StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(pay.fake.order(out_trade_no).unwrap().trade_state, "SUCCESS");

    // A refund finishes by the sandbox's notification.
    let (status, body) = pay.refund(id, 100).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let out_refund_no = body["data"]["refund"]["out_refund_no"].as_str().unwrap();
    let finish = format!("refunds/{out_refund_no}/finish");
    let bad_status = sandbox_control(&pay, &finish, json!({ "status": "DONE" })).await;
    assert_pay_error(&bad_status, StatusCode::BAD_REQUEST, "PARAM_ERROR");
    let (status, body) = sandbox_control(&pay, &finish, json!({ "status": "SUCCESS" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["notified"]["status"], 204, "{body}");
    let refunds = pay.list("refunds").await;
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0]["status"], "SUCCESS", "{refunds:?}");
    let twice = sandbox_control(&pay, &finish, json!({})).await;
    assert_pay_error(&twice, StatusCode::BAD_REQUEST, "INVALID_REQUEST");
    let unknown = sandbox_control(&pay, "refunds/NO_SUCH_REFUND/finish", json!({})).await;
    assert_pay_error(&unknown, StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS");
}

#[tokio::test]
async fn a_signed_request_for_a_path_the_fake_does_not_serve_gets_an_error_not_a_panic() {
    use rsa::pkcs1v15::SigningKey;
    use rsa::signature::{SignatureEncoding, Signer};
    let fake = FakePay::start(SignWith::PublicKey).await;
    // No order number between out-trade-no/ and /close.
    let (path, body) = (
        "/v3/pay/transactions/out-trade-no/close",
        r#"{"mchid":"1900000109"}"#,
    );
    let timestamp = chrono::Utc::now().timestamp();
    let message = format!("POST\n{path}\n{timestamp}\nnonce\n{body}\n");
    let signature = B64.encode(
        SigningKey::<Sha256>::new(keys().merchant.clone())
            .sign(message.as_bytes())
            .to_bytes(),
    );
    let authorization = format!(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"{MCH_ID}\",nonce_str=\"nonce\",signature=\"{signature}\",\
         timestamp=\"{timestamp}\",serial_no=\"{MERCHANT_SERIAL}\""
    );
    let response = reqwest::Client::new()
        .post(format!("{}{path}", fake.base_url()))
        .header("Authorization", authorization)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("an answer, not a dropped connection");
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert!(
        fake.requests()[0].signature_ok,
        "the request was signed right"
    );
    assert_pay_error(&(status, answer), StatusCode::NOT_FOUND, "NOT_FOUND");
}
