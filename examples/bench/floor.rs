//! The storage floor: what committing the rows wxmp writes per message costs
//! with nothing else in the way. One connection to a fresh SQLite file with
//! wxmp's schema (WAL, `synchronous=NORMAL`, a checkpoint every
//! `--checkpoint-pages`), prepared statements, transactions of 64 messages;
//! per message the received row with its raw XML, the fan's upsert and the
//! reply row: one multi-row statement per table and batch (`--per-row`: one
//! statement per row, which shows what the driver's per-statement hop costs).

use std::io::Write;
use std::str::FromStr;
use std::time::{Duration, Instant};

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::sqlx::{self, Connection};

use sea_orm::{ActiveModelTrait, IntoActiveModel};

use crate::workload;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 10_000)]
    checkpoint_pages: u32,
    /// One statement per row (3 per message) instead of one per table and batch.
    #[arg(long)]
    per_row: bool,
    #[arg(long)]
    results: std::path::PathBuf,
}

const BATCH: u64 = 64;

const COLUMNS: &str = "INSERT INTO wx_messages (id, account_id, openid, msg_id, msg_type, direction, content, pic_url, \
    event_type, event_key, is_auto_reply, media_id, thumb_media_id, format, recognition, location_x, location_y, scale, \
    label, link_title, link_description, link_url, raw_xml, reply_to, local_path, dedupe_key, create_time, answered_by, \
    handled, created_at, updated_at) VALUES ";
const VALUES: &str = "(?, 1, ?, ?, 'text', ?, ?, '', '', '', ?, '', '', '', '', NULL, NULL, 0, '', '', '', '', ?, ?, '', ?, ?, ?, ?, ?, ?)";
const ON_MESSAGE_CONFLICT: &str = " ON CONFLICT (account_id, dedupe_key) DO NOTHING";

const FAN_COLUMNS: &str = "INSERT INTO wx_users (id, account_id, openid, unionid, nickname, headimgurl, subscribe_status, \
    message_count, remark, subscribe_scene, qr_scene, last_interact_time, created_at, updated_at) VALUES ";
const FAN_VALUES: &str = "(?, 1, ?, '', '', '', 1, ?, '', '', '', ?, ?, ?)";
const ON_FAN_CONFLICT: &str = " ON CONFLICT (account_id, openid) DO UPDATE SET \
    message_count = wx_users.message_count + excluded.message_count, \
    last_interact_time = excluded.last_interact_time, updated_at = excluded.updated_at";

type Time = chrono::DateTime<chrono::Utc>;
/// A fan of the batch: (id if new, openid, messages, last at).
type Fan = (i64, String, i32, Time);

/// A row of wx_messages (received or reply) as wxmp fills it for a text.
struct Row {
    id: i64,
    openid: String,
    msg_id: Option<i64>,
    direction: i16,
    content: String,
    is_auto_reply: i16,
    raw_xml: String,
    reply_to: Option<i64>,
    dedupe_key: Option<String>,
    create_time: Option<Time>,
    answered_by: &'static str,
    handled: i16,
    at: Time,
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn bind_row<'q>(query: Query<'q>, r: &'q Row) -> Query<'q> {
    query
        .bind(r.id)
        .bind(&r.openid)
        .bind(r.msg_id)
        .bind(r.direction)
        .bind(&r.content)
        .bind(r.is_auto_reply)
        .bind(&r.raw_xml)
        .bind(r.reply_to)
        .bind(&r.dedupe_key)
        .bind(r.create_time)
        .bind(r.answered_by)
        .bind(r.handled)
        .bind(r.at)
        .bind(r.at)
}

fn statement(head: &str, values: &str, rows: usize, tail: &str) -> String {
    let mut sql = String::from(head);
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(values);
    }
    sql.push_str(tail);
    sql
}

/// One batch: the received rows, the reply rows, and per fan (id, openid,
/// messages, at).
fn batch(n: &mut u64, id: &mut i64) -> (Vec<Row>, Vec<Row>, Vec<Fan>) {
    let (mut received, mut replies, mut fans) = (Vec::new(), Vec::new(), Vec::<Fan>::new());
    for _ in 0..BATCH {
        let at = chrono::Utc::now();
        let msgid = 5_000_000_000 + *n as i64;
        let message = workload::message(*n, msgid as u64, at.timestamp());
        let openid = format!("o_bench_fan_{:06}", *n % workload::FANS);
        let reply_xml = format!(
            "<xml><ToUserName><![CDATA[{openid}]]></ToUserName><FromUserName><![CDATA[{}]]></FromUserName>\
             <CreateTime>{}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{}]]></Content></xml>",
            workload::ORIGINAL_ID,
            at.timestamp(),
            message.expected
        );
        match fans.iter_mut().find(|f| f.1 == openid) {
            Some(fan) => (fan.2, fan.3) = (fan.2 + 1, at),
            None => fans.push((*id + 1, openid.clone(), 1, at)),
        }
        replies.push(Row {
            id: *id + 2,
            openid: openid.clone(),
            msg_id: None,
            direction: 0,
            content: message.expected,
            is_auto_reply: 1,
            raw_xml: reply_xml,
            reply_to: Some(*id),
            dedupe_key: None,
            create_time: None,
            answered_by: "keyword",
            handled: 1,
            at,
        });
        received.push(Row {
            id: *id,
            openid,
            msg_id: Some(msgid),
            direction: 1,
            content: message.content,
            is_auto_reply: 0,
            raw_xml: message.xml,
            reply_to: None,
            dedupe_key: Some(format!("msg:{msgid}")),
            create_time: Some(at),
            answered_by: "",
            handled: 0,
            at,
        });
        *n += 1;
        *id += 3;
    }
    (received, replies, fans)
}

pub async fn floor(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}/floor.db?mode=rwc", dir.path().display());
    let schema = wxmp::db::connect(&url).await?;
    wxmp::db::migrate(&schema).await?;
    let now = wxmp::db::now();
    wxmp::entity::accounts::Model {
        id: 1,
        app_id: workload::APP_ID.into(),
        original_id: workload::ORIGINAL_ID.into(),
        created_at: now,
        updated_at: now,
        ..Default::default()
    }
    .into_active_model()
    .reset_all()
    .insert(&schema)
    .await?;
    schema.close().await?;
    let options = SqliteConnectOptions::from_str(&url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .pragma("wal_autocheckpoint", args.checkpoint_pages.to_string());
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    let (mut n, mut id) = (0u64, 1_000i64);
    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    while Instant::now() < until {
        let (received, replies, fans) = batch(&mut n, &mut id);
        let mut txn = conn.begin().await?;
        if args.per_row {
            let one = format!("{COLUMNS}{VALUES}{ON_MESSAGE_CONFLICT}");
            let fan_sql = format!("{FAN_COLUMNS}{FAN_VALUES}{ON_FAN_CONFLICT}");
            for (r, reply) in received.iter().zip(&replies) {
                bind_row(sqlx::query(&one), r).execute(&mut *txn).await?;
                let fan = fans
                    .iter()
                    .find(|f| f.1 == r.openid)
                    .expect("every sender is a fan");
                sqlx::query(&fan_sql)
                    .bind(fan.0)
                    .bind(&fan.1)
                    .bind(1)
                    .bind(r.at)
                    .bind(r.at)
                    .bind(r.at)
                    .execute(&mut *txn)
                    .await?;
                bind_row(sqlx::query(&one), reply)
                    .execute(&mut *txn)
                    .await?;
            }
        } else {
            for rows in [&received, &replies] {
                let sql = statement(COLUMNS, VALUES, rows.len(), ON_MESSAGE_CONFLICT);
                let mut query = sqlx::query(&sql);
                for r in rows.iter() {
                    query = bind_row(query, r);
                }
                query.execute(&mut *txn).await?;
            }
            let sql = statement(FAN_COLUMNS, FAN_VALUES, fans.len(), ON_FAN_CONFLICT);
            let mut query = sqlx::query(&sql);
            for (fan_id, openid, count, at) in &fans {
                query = query
                    .bind(fan_id)
                    .bind(openid)
                    .bind(count)
                    .bind(at)
                    .bind(at)
                    .bind(at);
            }
            query.execute(&mut *txn).await?;
        }
        txn.commit().await?;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let label = if args.per_row {
        "floor-per-row"
    } else {
        "floor"
    };
    let line = format!("{label}\t1\t{rate:.0}\t-\t-\t-\t-\t0\t-\t-\t-\n");
    print!("{line}");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&args.results)?
        .write_all(line.as_bytes())?;
    Ok(())
}
