//! The ten `wx_*` tables of the specification, plus `admins` and `jobs`.

use crate::table_builder::TableBuilder;
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000001_initial"
    }
}

/// Children first, so `down` can drop in this order.
const TABLES: &[&str] = &[
    "wx_pay_refunds",
    "wx_pay_orders",
    "wx_template_logs",
    "wx_templates",
    "wx_users",
    "wx_messages",
    "wx_menus",
    "wx_materials",
    "wx_auto_replies",
    "wx_accounts",
    "jobs",
    "admins",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        TableBuilder::new(m, "wx_accounts")
            .string("app_id", 64)
            .string("app_secret", 255)
            .string("account_name", 255)
            .small("account_type")
            .string("original_id", 64)
            .string("wechat_id", 64)
            .small("status")
            .small("message_mode")
            .string("access_token", 1024)
            .timestamp_null("token_expires_at")
            .string("server_url", 1024)
            .string("token", 64)
            .string("encoding_aes_key", 64)
            // WeChat Pay (API v3) merchant settings.
            .string("mch_id", 32)
            .string("pay_api_v3_key", 64)
            .string("pay_cert_serial", 64)
            .text("pay_private_key")
            .string("pay_public_key_id", 64)
            .text("pay_public_key")
            .json_null("pay_platform_certs")
            .unique(&["app_id"])
            .index(&["original_id"])
            .index(&["status"])
            .finish(m)
            .await?;

        TableBuilder::new(m, "wx_auto_replies")
            .account_fk()
            .small("reply_type")
            .string("keyword", 255)
            .small("match_type")
            .string("message_type", 32)
            .text("content")
            .string("media_id", 255)
            .string("title", 255)
            .text("description")
            .string("pic_url", 1024)
            .string("url", 1024)
            .string("music_url", 1024)
            .string("hq_music_url", 1024)
            .string("thumb_media_id", 255)
            .int("priority")
            .small("status")
            .index(&["account_id", "reply_type", "status"])
            .index(&["account_id", "priority"])
            .finish(m)
            .await?;

        TableBuilder::new(m, "wx_materials")
            .account_fk()
            .string("media_type", 16)
            .string("media_id", 255)
            .string("name", 255)
            .string("url", 1024)
            .string("local_path", 512)
            .big("file_size")
            .int("width")
            .int("height")
            .small("is_permanent")
            .small("sync_status")
            .string("title", 255)
            .text("introduction")
            .json_null("news_items")
            .timestamp_null("expires_at")
            .index(&["account_id", "media_type"])
            .index(&["account_id", "media_id"])
            .index(&["account_id", "is_permanent", "sync_status"])
            .finish(m)
            .await?;

        TableBuilder::new(m, "wx_menus")
            .account_fk()
            .big("parent_id")
            .string("menu_name", 64)
            .string("menu_type", 32)
            .string("menu_key", 255)
            .string("url", 1024)
            .string("media_id", 255)
            .string("article_id", 255)
            .string("appid", 64)
            .string("pagepath", 1024)
            .int("sort_order")
            .index(&["account_id", "parent_id", "sort_order"])
            .finish(m)
            .await?;

        TableBuilder::new(m, "wx_messages")
            .account_fk()
            .string("openid", 128)
            .big_null("msg_id")
            .string("msg_type", 32)
            .small("direction")
            .text("content")
            .string("pic_url", 1024)
            .string("event_type", 64)
            .string("event_key", 1024)
            .small("is_auto_reply")
            .string("media_id", 255)
            .string("thumb_media_id", 255)
            .string("format", 32)
            .text("recognition")
            .double_null("location_x")
            .double_null("location_y")
            .int("scale")
            .string("label", 255)
            .string("link_title", 512)
            .text("link_description")
            .string("link_url", 1024)
            .text("raw_xml")
            .big_null("reply_to")
            .string("local_path", 512)
            .string_null("dedupe_key", 255)
            .timestamp_null("create_time")
            .unique(&["account_id", "dedupe_key"])
            .index(&["account_id", "created_at"])
            .index(&["account_id", "openid", "created_at"])
            .index(&["account_id", "msg_type"])
            .index(&["account_id", "direction", "created_at"])
            .index(&["account_id", "event_type"])
            .index(&["reply_to"])
            .finish(m)
            .await?;

        TableBuilder::new(m, "wx_users")
            .account_fk()
            .string("openid", 128)
            .string("unionid", 128)
            .string("nickname", 255)
            .string("headimgurl", 1024)
            .small("subscribe_status")
            .timestamp_null("subscribe_time")
            .timestamp_null("unsubscribe_time")
            .timestamp_null("last_interact_time")
            .int("message_count")
            .string("remark", 255)
            .string("subscribe_scene", 64)
            .string("qr_scene", 255)
            .json_null("tags")
            .unique(&["account_id", "openid"])
            .index(&["account_id", "subscribe_status"])
            .index(&["account_id", "last_interact_time"])
            .index(&["account_id", "unionid"])
            .finish(m)
            .await?;

        TableBuilder::new(m, "wx_templates")
            .account_fk()
            .string("template_id", 128)
            .string("title", 255)
            .text("content")
            .small("status")
            .string("primary_industry", 255)
            .string("deputy_industry", 255)
            .text("example")
            .unique(&["account_id", "template_id"])
            .index(&["account_id", "status"])
            .finish(m)
            .await?;

        TableBuilder::new(m, "wx_template_logs")
            .account_fk()
            .string("template_id", 128)
            .string("openid", 128)
            .json_null("data")
            .string("url", 1024)
            .json_null("miniprogram")
            .big_null("msgid")
            .string("status", 64)
            .int("errcode")
            .string("errmsg", 512)
            .timestamp_null("sent_at")
            .timestamp_null("delivered_at")
            .index(&["account_id", "created_at"])
            .index(&["account_id", "msgid"])
            .index(&["account_id", "openid"])
            .index(&["account_id", "status", "created_at"])
            .index(&["account_id", "template_id"])
            .finish(m)
            .await?;

        TableBuilder::new(m, "wx_pay_orders")
            .account_fk()
            .string("out_trade_no", 32)
            .string("openid", 128)
            .big("total_fee")
            .string("trade_state", 32)
            .string("prepay_id", 128)
            .string("code_url", 512)
            .string("description", 255)
            .string("trade_type", 16)
            .string("transaction_id", 64)
            .timestamp_null("paid_at")
            .big("refunded_total")
            .string("attach", 255)
            .timestamp_null("expire_at")
            .unique(&["account_id", "out_trade_no"])
            .index(&["account_id", "trade_state", "created_at"])
            .index(&["account_id", "created_at"])
            .index(&["transaction_id"])
            .index(&["account_id", "openid"])
            .finish(m)
            .await?;

        TableBuilder::new(m, "wx_pay_refunds")
            .account_fk()
            .big("order_id")
            .references("order_id", "wx_pay_orders")
            .string("out_trade_no", 32)
            .string("out_refund_no", 64)
            .string("refund_id", 64)
            .big("refund_fee")
            .big("total_fee")
            .string("reason", 255)
            .string("status", 32)
            .timestamp_null("success_time")
            .unique(&["out_refund_no"])
            .index(&["account_id", "status", "created_at"])
            .index(&["order_id"])
            .index(&["account_id", "out_trade_no"])
            .finish(m)
            .await?;

        TableBuilder::new(m, "admins")
            .string("username", 64)
            .string("password_hash", 255)
            .string("role", 16)
            .json_null("account_ids")
            .small("status")
            .timestamp_null("last_login_at")
            .unique(&["username"])
            .finish(m)
            .await?;

        TableBuilder::new(m, "jobs")
            .string("kind", 64)
            .json_null("payload")
            .string("status", 16)
            .int("attempts")
            .int("max_attempts")
            .timestamp("run_at")
            .timestamp_null("locked_until")
            .text("last_error")
            .index(&["status", "run_at"])
            .finish(m)
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            m.drop_table(
                Table::drop()
                    .table(Alias::new(*table))
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
