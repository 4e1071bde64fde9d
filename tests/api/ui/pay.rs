//! WeChat Pay in the browser against the fake WeChat Pay: settings, orders, refunds.

use fantoccini::key::Key;
use reqwest::StatusCode;
use serde_json::json;
use wxmp::dev::fake_pay::{self, FakePay, SignWith};

use super::{
    assert_no_page_errors, browser, dialog_removed, fill, list, open, screenshot_path, sign_in,
    stored_account,
};
use crate::helpers::TestApp;

#[tokio::test]
async fn pays_a_native_order_and_refunds_part_of_it_in_the_browser() {
    let fake = FakePay::start(SignWith::PublicKey).await;
    let base = fake.base_url();
    let app = TestApp::spawn_with(|config| config.pay_api_base = base).await;
    let account = app.add_account(fake_pay::APP_ID).await;
    let b = browser().await;
    sign_in(&b, &app).await;

    // The pay settings, through the account form: a bad key is named at its
    // field; secrets come back masked and the mask keeps them.
    open(&b, &app, "/wechat/wxaccounts").await;
    b.click_css(".table tbody [data-action=edit]").await;
    b.wait_for("dialog[open] form").await;
    b.js(
        "document.querySelector('dialog[open] details.form-section').open = true",
        vec![],
    )
    .await;
    fill(&b, "mch_id", fake_pay::MCH_ID).await;
    fill(&b, "pay_api_v3_key", "too-short").await;
    fill(&b, "pay_cert_serial", fake_pay::MERCHANT_SERIAL).await;
    fill(
        &b,
        "pay_private_key",
        &fake_pay::private_pem(&fake_pay::keys().merchant),
    )
    .await;
    fill(&b, "pay_public_key_id", fake_pay::PUB_KEY_ID).await;
    fill(
        &b,
        "pay_public_key",
        &fake_pay::public_pem(&fake_pay::keys().wechat),
    )
    .await;
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_for("dialog[open] [data-field=pay_api_v3_key].has-error .field-error")
        .await;
    b.screenshot(&screenshot_path("account-pay-error")).await;
    fill(&b, "pay_api_v3_key", fake_pay::API_V3_KEY).await;
    b.click_css("dialog[open] [type=submit]").await;
    dialog_removed(&b).await;
    let stored = stored_account(&app, &account).await;
    assert_eq!(stored.mch_id, fake_pay::MCH_ID);
    assert_eq!(stored.pay_api_v3_key, fake_pay::API_V3_KEY);
    b.wait_until(
        "document.querySelector('.table tbody') && document.querySelector('.table tbody').textContent.includes('商户')",
        "the account listed with its merchant",
    )
    .await;
    b.click_css(".table tbody [data-action=edit]").await;
    b.wait_for("dialog[open] form").await;
    let masked = b
        .js(
            "return document.querySelector('dialog[open] [data-field=pay_api_v3_key] input').value",
            vec![],
        )
        .await;
    assert!(masked.as_str().unwrap().starts_with("****"), "{masked}");
    b.click_css("dialog[open] [type=submit]").await;
    dialog_removed(&b).await;
    let stored = stored_account(&app, &account).await;
    assert_eq!(stored.pay_api_v3_key, fake_pay::API_V3_KEY);
    assert!(stored.pay_private_key.contains("PRIVATE KEY"));

    // A Native order from the dialog shows its QR code and code_url.
    open(&b, &app, "/wechat/wxpay").await;
    b.wait_for(".state-empty").await;
    b.click_css("[data-action=new-order]").await;
    b.wait_for("dialog[open] [data-field=total_yuan] input")
        .await;
    fill(&b, "description", "大杯拿铁 ×1").await;
    fill(&b, "total_yuan", "12.3x").await;
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_for("dialog[open] [data-field=total_yuan].has-error")
        .await;
    fill(&b, "total_yuan", "12.34").await;
    fill(&b, "expire_minutes", "30").await;
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_until(
        "(() => { const img = document.querySelector('dialog.qr-dialog[open] img.qr-code'); return img && img.complete && img.naturalWidth > 100; })()",
        "the QR code image",
    )
    .await;
    let code_url = b.text("dialog[open] [data-role=code-url]").await;
    assert!(
        code_url.starts_with("weixin://wxpay/bizpayurl"),
        "{code_url}"
    );
    assert!(b
        .text("dialog[open] .modal-header")
        .await
        .contains("¥12.34"));
    b.screenshot(&screenshot_path("pay-native-qr")).await;
    b.click_css("dialog[open] [data-action=check-payment]")
        .await;
    b.wait_until(
        "document.querySelector('dialog[open] .qr-status').textContent.includes('Not paid yet')",
        "the payment check",
    )
    .await;
    b.click_css("dialog[open] .modal-footer .btn-primary").await;
    dialog_removed(&b).await;
    b.wait_for(".table tbody tr").await;
    let orders = list(&app, "/wechat/wxpay/orders").await;
    assert_eq!(orders.len(), 1);
    let order = &orders[0];
    assert_eq!(order["total_fee"], 1234);
    assert_eq!(order["trade_type"], "NATIVE");
    assert_eq!(order["code_url"], code_url.as_str());
    let order_id = order["id"].as_str().unwrap().to_string();
    let out_trade_no = order["out_trade_no"].as_str().unwrap().to_string();

    // The payer pays; WeChat Pay notifies.
    let resource = fake.pay(&out_trade_no);
    let (headers, body) = fake.notification("TRANSACTION.SUCCESS", &resource, SignWith::PublicKey);
    let mut request = app
        .client
        .post(app.url(&format!("/wechat/wxpay/notify/{account}")))
        .header("Content-Type", "application/json")
        .body(body);
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    let delivered = request.send().await.unwrap();
    assert!(delivered.status().is_success(), "{}", delivered.status());

    // The detail shows the payment.
    open(&b, &app, "/wechat/wxpay").await;
    b.wait_until(
        "document.querySelector('.table tbody') && document.querySelector('.table tbody').textContent.includes('Paid')",
        "the order shown as paid",
    )
    .await;
    b.click_css(".table tbody [data-action=details]").await;
    b.wait_for("dialog[open] [data-role=transaction-id]").await;
    b.wait_gone("dialog[open] .state-loading").await;
    let detail = b.text("dialog[open] [data-role=order-detail]").await;
    assert!(
        detail.contains("Paid") && detail.contains("¥12.34") && detail.contains(&out_trade_no),
        "{detail}"
    );
    assert!(
        b.find_all("dialog[open] [data-action=close-order]")
            .await
            .is_empty(),
        "no closing a paid order"
    );
    b.screenshot(&screenshot_path("pay-order-detail")).await;
    b.press(Key::Escape).await;
    dialog_removed(&b).await;

    // Refund: the dialog says what is refundable. Meanwhile ¥10 is refunded
    // elsewhere, so ¥5 is too much: the 409 is explained at the field.
    b.click_css(".table tbody [data-action=refund]").await;
    b.wait_for("dialog[open] [data-role=refundable]").await;
    let refundable = b.text("dialog[open] [data-role=refundable]").await;
    assert!(refundable.contains("up to ¥12.34"), "{refundable}");
    let (status, body) = app
        .post(
            "/wechat/wxpay/refund",
            json!({"order_id": order_id, "refund_fee": 1000, "reason": "少送了一份"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    fill(&b, "refund_yuan", "5").await;
    fill(&b, "reason", "退差价").await;
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_for("dialog[open] [data-field=refund_yuan].has-error .field-error")
        .await;
    let error = b
        .text("dialog[open] [data-field=refund_yuan] .field-error")
        .await;
    assert!(error.contains("at most ¥2.34"), "{error}");
    assert!(b
        .text("dialog[open] [data-role=refundable]")
        .await
        .contains("up to ¥2.34"));
    b.screenshot(&screenshot_path("pay-refund-too-much")).await;
    fill(&b, "refund_yuan", "2.00").await;
    b.click_css("dialog[open] [type=submit]").await;
    dialog_removed(&b).await;
    b.wait_until(
        "document.querySelector('.table tbody [data-role=refunded]') && document.querySelector('.table tbody [data-role=refunded]').textContent === 'refunded ¥12.00'",
        "the refunded total in the list",
    )
    .await;
    let orders = list(&app, "/wechat/wxpay/orders").await;
    assert_eq!(orders[0]["refunded_total"], 1200);
    let refunds = list(&app, "/wechat/wxpay/refunds").await;
    assert_eq!(refunds.len(), 2);
    assert!(refunds
        .iter()
        .any(|r| r["refund_fee"] == 200 && r["reason"] == "退差价"));
    b.screenshot(&screenshot_path("pay-refunded")).await;

    // The refund's status is asked of WeChat Pay from the refunds list.
    open(&b, &app, "/wechat/wxpay?tab=refunds").await;
    b.wait_for(".table tbody [data-action=query-refund]").await;
    b.click_css(".table tbody [data-action=query-refund]").await;
    b.wait_until(
        "[...document.querySelectorAll('.toast')].some((t) => t.textContent.startsWith('Refund RF'))",
        "the refund status",
    )
    .await;
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.method == "GET"
                && r.path_and_query.starts_with("/v3/refund/domestic/refunds/"))
    );

    // The notification is in the journal.
    open(&b, &app, "/wechat/wxpay?tab=notifications").await;
    b.wait_for(".table tbody tr").await;
    let journal = b.text(".table tbody").await;
    assert!(
        journal.contains("TRANSACTION.SUCCESS") && journal.contains(&out_trade_no),
        "{journal}"
    );
    b.screenshot(&screenshot_path("pay-notifications-journal"))
        .await;

    // An unpaid order can be closed from its detail, after a question.
    let created = app
        .add(
            "/wechat/wxpay/create_order",
            json!({"account_id": account, "trade_type": "NATIVE", "total_fee": 500, "description": "待关闭订单"}),
        )
        .await;
    let second = created["order"]["out_trade_no"]
        .as_str()
        .unwrap()
        .to_string();
    open(&b, &app, "/wechat/wxpay").await;
    b.wait_for(&format!(
        ".table tbody tr[data-id='{}'] [data-action=details]",
        created["order"]["id"].as_str().unwrap()
    ))
    .await;
    b.click_css(&format!(
        ".table tbody tr[data-id='{}'] [data-action=details]",
        created["order"]["id"].as_str().unwrap()
    ))
    .await;
    b.click_css("dialog[open] [data-action=close-order]").await;
    b.wait_for("dialog.modal-confirm[open] [data-confirm=yes]")
        .await;
    b.click_css("dialog.modal-confirm[open] [data-confirm=yes]")
        .await;
    b.wait_until(
        "!document.querySelector('dialog.modal-confirm') && document.querySelector('dialog[open] [data-role=order-detail]').textContent.includes('Closed')",
        "the order closed",
    )
    .await;
    assert_eq!(fake.order(&second).unwrap().trade_state, "CLOSED");
    b.press(Key::Escape).await;
    dialog_removed(&b).await;
    assert_no_page_errors(&b, "pay").await;
    b.quit().await;
}
