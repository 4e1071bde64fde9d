//! The whole WeChat Pay path, against the fake WeChat Pay (`wxmp::dev::fake_pay`):
//! a merchant account, a Native order and its QR code, the payer pays, the
//! signed and encrypted notification marks the order paid (and its replay
//! changes nothing), OAuth for the payer's openid and a JSAPI order with its
//! signed page parameters, then a
//! partial refund and its completion.
//!
//! `cargo run --example pay_native`

use serde_json::{json, Value};
use wxmp::config::Config;
use wxmp::dev::fake_pay::{self, FakePay, SignWith};

struct Admin {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Admin {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let value: Value = response.json().await?;
        if !status.is_success() {
            anyhow::bail!("{path}: {status}: {value}");
        }
        Ok(value["data"].clone())
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!("generating RSA keys for the merchant and the fake WeChat Pay…");
    let keys = fake_pay::keys();
    let fake = FakePay::start(SignWith::PublicKey).await;
    println!("fake WeChat Pay at {}", fake.base_url());
    // The fake WeChat API, for OAuth in the JSAPI flow.
    let wechat = wxmp::dev::fake_wechat::FakeWeChat::new(&[(
        fake_pay::APP_ID,
        "0123456789abcdef0123456789abcdef",
    )]);
    let wechat_addr = wechat.start("127.0.0.1:0".parse()?).await?;

    let dir = tempfile::tempdir()?;
    let config = Config {
        database_url: format!("sqlite://{}/wxmp.db?mode=rwc", dir.path().display()),
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.path().to_path_buf(),
        plugins_dir: dir.path().join("plugins"),
        admin_password: Some("example-password".into()),
        jwt_secret: Some("example-jwt-secret-0123456789".into()),
        pay_api_base: fake.base_url(),
        wechat_api_base: format!("http://{wechat_addr}"),
        ..Config::default()
    };
    let server = wxmp::Running::start(config).await?;
    let base = server.url("");
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/auth/login"))
        .json(&json!({ "username": "admin", "password": "example-password" }))
        .send()
        .await?
        .json()
        .await?;
    let admin = Admin {
        client: client.clone(),
        base: base.clone(),
        token: login["data"]["token"].as_str().unwrap_or_default().into(),
    };

    // 1. A merchant account: its keys are parsed when saved.
    let account = admin
        .post(
            "/wechat/wxaccounts/add",
            json!({
                "app_id": fake_pay::APP_ID,
                "account_name": "示例商户",
                "app_secret": "0123456789abcdef0123456789abcdef",
                "token": "exampletoken",
                "mch_id": fake_pay::MCH_ID,
                "pay_api_v3_key": fake_pay::API_V3_KEY,
                "pay_cert_serial": fake_pay::MERCHANT_SERIAL,
                "pay_private_key": fake_pay::private_pem(&keys.merchant),
                "pay_public_key_id": fake_pay::PUB_KEY_ID,
                "pay_public_key": fake_pay::public_pem(&keys.wechat),
            }),
        )
        .await?;
    let account_id = account["id"].as_str().unwrap_or_default().to_string();
    println!(
        "account {account_id}: private key shown as {}",
        account["pay_private_key"]
    );

    // 2. A Native order and its QR code.
    let created = admin
        .post(
            "/wechat/wxpay/create_order",
            json!({ "account_id": account_id, "trade_type": "NATIVE", "total_fee": 2990,
                    "description": "年度会员", "expire_minutes": 30 }),
        )
        .await?;
    let order_id = created["order"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let out_trade_no = created["order"]["out_trade_no"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    println!(
        "order {order_id} ({out_trade_no}): code_url {}",
        created["code_url"]
    );
    let png = client
        .get(format!(
            "{base}{}",
            created["qrcode_url"].as_str().unwrap_or_default()
        ))
        .bearer_auth(&admin.token)
        .send()
        .await?
        .bytes()
        .await?;
    let qr_path = std::env::temp_dir().join(format!("wxmp-pay-{order_id}.png"));
    std::fs::write(&qr_path, &png)?;
    println!("QR code: {} ({} bytes)", qr_path.display(), png.len());
    let request = &fake.requests()[0];
    println!(
        "the request WeChat Pay received was signed: {}",
        request.signature_ok
    );

    // 3. The payer pays; WeChat Pay notifies (signed, encrypted). Twice.
    let resource = fake.pay(&out_trade_no);
    let notify_url = fake
        .order(&out_trade_no)
        .map(|o| o.notify_url)
        .unwrap_or_default();
    let (headers, body) = fake.notification("TRANSACTION.SUCCESS", &resource, SignWith::PublicKey);
    for attempt in ["first", "replayed"] {
        let mut request = client.post(&notify_url).body(body.clone());
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let status = request.send().await?.status();
        println!("{attempt} notification to {notify_url}: {status}");
    }
    let queried = admin
        .post("/wechat/wxpay/query_order", json!({ "order_id": order_id }))
        .await?;
    println!(
        "order is {}, transaction {}",
        queried["order"]["trade_state"], queried["order"]["transaction_id"]
    );
    let journal = admin
        .call(reqwest::Method::GET, "/wechat/wxpay/notifications", None)
        .await?;
    println!("notifications journaled: {}", journal["total"]);

    // 4. JSAPI: the page sends the fan through OAuth, exchanges the code for
    // the openid, creates the order, and gets the parameters for
    // getBrandWCPayRequest.
    let authorize = admin
        .call(
            reqwest::Method::GET,
            &format!(
                "/wechat/oauth/authorize_url?account_id={account_id}&redirect_uri=https%3A%2F%2Fshop.example%2Fcheckout&state=cart1"
            ),
            None,
        )
        .await?;
    println!("the fan is sent to {}", authorize["url"]);
    let code = wechat.oauth_code(
        fake_pay::APP_ID,
        "oExamplePayer000000000000001",
        "snsapi_base",
    );
    let exchanged = admin
        .post(
            "/wechat/oauth/exchange",
            json!({ "account_id": account_id, "code": code }),
        )
        .await?;
    let payer = exchanged["openid"].as_str().unwrap_or_default().to_string();
    println!("WeChat sent the fan back with a code; the payer is {payer}");
    let jsapi = admin
        .post(
            "/wechat/wxpay/create_order",
            json!({ "account_id": account_id, "trade_type": "JSAPI", "total_fee": 100,
                    "description": "一杯咖啡", "openid": payer }),
        )
        .await?;
    println!("JSAPI page parameters: {}", jsapi["pay_params"]);

    // 5. A partial refund, finished by WeChat Pay's notification.
    let refund = admin
        .post(
            "/wechat/wxpay/refund",
            json!({ "order_id": order_id, "refund_fee": 990, "reason": "部分退款" }),
        )
        .await?;
    let out_refund_no = refund["refund"]["out_refund_no"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    println!("refund {out_refund_no}: {}", refund["refund"]["status"]);
    match admin
        .post(
            "/wechat/wxpay/refund",
            json!({ "order_id": order_id, "refund_fee": 2001 }),
        )
        .await
    {
        Ok(_) => println!("over-refund accepted?!"),
        Err(e) => println!("over-refund refused: {e}"),
    }
    let finished = fake.finish_refund(&out_refund_no, "SUCCESS");
    let (headers, body) = fake.notification("REFUND.SUCCESS", &finished, SignWith::PublicKey);
    let mut request = client.post(&notify_url).body(body);
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    println!("refund notification: {}", request.send().await?.status());
    let refunds = admin
        .call(reqwest::Method::GET, "/wechat/wxpay/refunds", None)
        .await?;
    println!("refunds: {}", refunds["list"]);

    server.shutdown().await?;
    Ok(())
}
