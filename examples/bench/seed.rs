//! A fresh database for a run, its account and rules, and the check after
//! the run that every answered request was stored with its reply.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect,
};
use wxmp::entity::{accounts, auto_replies, messages};

use crate::workload::{self, APP_ID, KEY, ORIGINAL_ID, TOKEN};

pub async fn createdb(server_url: &str, name: &str, drop: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "database name {name:?}: letters, digits and _ only"
    );
    let db = sea_orm::Database::connect(server_url).await?;
    let verb = if drop { "DROP" } else { "CREATE" };
    db.execute_unprepared(&format!("{verb} DATABASE {name}"))
        .await?;
    Ok(())
}

pub async fn seed(database_url: &str, plugins_dir: Option<&std::path::Path>) -> anyhow::Result<()> {
    let db = wxmp::db::connect(database_url).await?;
    let ids = wxmp::ids::IdGenerator::new(1);
    let now = wxmp::db::now();
    let account_id = ids.next_id()?;
    accounts::Model {
        id: account_id,
        app_id: APP_ID.into(),
        account_name: "bench".into(),
        original_id: ORIGINAL_ID.into(),
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
    .insert(&db)
    .await?;
    let rule = |reply_type: i16, keyword: String, match_type: i16, content: String| {
        Ok::<_, anyhow::Error>(auto_replies::Model {
            id: ids.next_id()?,
            account_id,
            reply_type,
            keyword,
            match_type,
            message_type: "text".into(),
            content,
            status: 1,
            created_at: now,
            updated_at: now,
            ..Default::default()
        })
    };
    let mut rows = Vec::new();
    for i in 0..workload::RULES {
        let match_type = if i % 2 == 0 { 1 } else { 2 };
        rows.push(rule(
            2,
            workload::keyword(i),
            match_type,
            workload::rule_reply(i),
        )?);
    }
    rows.push(rule(3, String::new(), 1, workload::DEFAULT_REPLY.into())?);
    for row in rows {
        row.into_active_model().reset_all().insert(&db).await?;
    }
    if let Some(dir) = plugins_dir {
        std::fs::create_dir_all(dir)?;
        for name in ["pass_a", "pass_b"] {
            // Before the keyword rules (200), so both run for every text.
            std::fs::write(
                dir.join(format!("{name}.rhai")),
                format!(
                    "const PLUGIN = #{{ name: \"{name}\", priority: 250, messages: [\"text\"] }};\n\n\
                     fn on_message(msg, ctx) {{\n    ()\n}}\n"
                ),
            )?;
        }
    }
    Ok(())
}

/// Each answered MsgId (one per line in `answered`) has exactly one received
/// row, and that row exactly one reply.
pub async fn verify(database_url: &str, answered: &std::path::Path) -> anyhow::Result<()> {
    let db = wxmp::db::connect(database_url).await?;
    let received: Vec<(Option<i64>, i64)> = messages::Entity::find()
        .select_only()
        .column(messages::Column::MsgId)
        .column(messages::Column::Id)
        .filter(messages::Column::Direction.eq(1))
        .into_tuple()
        .all(&db)
        .await?;
    let replies: Vec<Option<i64>> = messages::Entity::find()
        .select_only()
        .column(messages::Column::ReplyTo)
        .filter(messages::Column::Direction.eq(0))
        .into_tuple()
        .all(&db)
        .await?;
    let mut by_msgid: HashMap<i64, Vec<i64>> = HashMap::new();
    for (msgid, id) in &received {
        by_msgid
            .entry(msgid.unwrap_or_default())
            .or_default()
            .push(*id);
    }
    let mut reply_count: HashMap<i64, u32> = HashMap::new();
    for to in replies.iter().flatten() {
        *reply_count.entry(*to).or_default() += 1;
    }
    let text = std::fs::read_to_string(answered)?;
    let (mut checked, mut bad) = (0usize, Vec::new());
    for line in text.lines().filter(|l| !l.is_empty()) {
        let msgid: i64 = line.parse()?;
        checked += 1;
        match by_msgid.get(&msgid).map(Vec::as_slice) {
            Some([id]) => match reply_count.get(id).copied().unwrap_or(0) {
                1 => {}
                n => bad.push(format!("MsgId {msgid}: {n} reply rows")),
            },
            Some(ids) => bad.push(format!("MsgId {msgid}: {} received rows", ids.len())),
            None => bad.push(format!("MsgId {msgid}: no received row")),
        }
    }
    println!(
        "verify: {checked} answered requests; {} received rows, {} reply rows in the database; {} problems",
        received.len(),
        replies.len(),
        bad.len()
    );
    for problem in bad.iter().take(10) {
        println!("  {problem}");
    }
    anyhow::ensure!(
        bad.is_empty(),
        "stored rows do not match the answered requests"
    );
    Ok(())
}
