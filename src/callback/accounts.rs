//! The callback's view of accounts: each account with its crypto and its
//! compiled reply rules, cached in memory. Admin writes invalidate an entry;
//! entries also expire, so instances sharing a database converge.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use chrono::{DateTime, Utc};

use super::rule_match::{DailyWindow, Keywords};
use crate::entity::enums::{MatchType, ReplyMode, ReplyType};
use crate::entity::{accounts, auto_replies};
use crate::wechat::{Article, MessageCrypto, Reply, ReplyFields};

const TTL: Duration = Duration::from_secs(60);
const MAX_ENTRIES: usize = 10_000;

#[derive(Clone, Debug)]
pub struct Rule {
    pub id: i64,
    /// The `keyword` field as saved: one keyword (or pattern) per line.
    pub keyword: String,
    pub match_type: MatchType,
    /// The first reply; with `more`, the one a rule sending all answers with.
    pub reply: Reply,
    /// The replies after the first.
    pub more: Vec<Reply>,
    pub mode: ReplyMode,
    keywords: Keywords,
    /// When it answers; `None`: all day.
    window: Option<DailyWindow>,
}

impl Rule {
    /// A rule that answers all day (for follow and default rules the
    /// keywords are not compared).
    pub fn new(id: i64, keyword: String, match_type: MatchType, reply: Reply) -> Option<Self> {
        let keywords = Keywords::compile(&keyword, match_type)?;
        Some(Self {
            id,
            keyword,
            match_type,
            reply,
            more: Vec::new(),
            mode: ReplyMode::All,
            keywords,
            window: None,
        })
    }

    /// Whether a text matches one of the keywords (ASCII case ignored for
    /// exact and substring keywords).
    pub fn matches(&self, text: &str) -> bool {
        self.keywords.matches(text, &text.to_lowercase())
    }

    /// What the rule answers a message with: its first reply, or when it
    /// picks at random, any one of its replies.
    pub fn answer(&self) -> &Reply {
        if self.mode == ReplyMode::Random && !self.more.is_empty() {
            let pick = rand::Rng::gen_range(&mut rand::thread_rng(), 0..=self.more.len());
            if pick > 0 {
                return &self.more[pick - 1];
            }
        }
        &self.reply
    }

    /// The replies that follow the answer as customer-service messages (a
    /// rule sending all of its replies).
    pub fn followups(&self) -> &[Reply] {
        match self.mode {
            ReplyMode::All => &self.more,
            ReplyMode::Random => &[],
        }
    }

    /// Whether the rule answers at `at` (its daily window).
    pub fn answers_at(&self, at: DateTime<Utc>) -> bool {
        self.window.is_none_or(|window| window.contains(at))
    }
}

/// An account's enabled rules, highest priority first.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub follow: Vec<Rule>,
    pub keyword: Vec<Rule>,
    pub default: Vec<Rule>,
}

impl Rules {
    /// The enabled rule `id`, of whichever kind.
    pub fn by_id(&self, id: i64) -> Option<&Rule> {
        self.follow
            .iter()
            .chain(&self.keyword)
            .chain(&self.default)
            .find(|rule| rule.id == id)
    }

    /// Rows that cannot answer (a reply or pattern that does not build, a
    /// broken window: only rows written around the admin API) are left out.
    pub fn compile(rows: &[auto_replies::Model]) -> Self {
        let mut rules = Rules::default();
        for row in rows.iter().filter(|r| r.status == 1) {
            let Some(reply) = reply_of(&row.first_reply()) else {
                continue;
            };
            let Some(more) = row
                .more_replies()
                .ok()
                .and_then(|more| more.iter().map(reply_of).collect::<Option<Vec<_>>>())
            else {
                continue;
            };
            let match_type = MatchType::from_code(row.match_type).unwrap_or(MatchType::Exact);
            let Some(mut rule) = Rule::new(row.id, row.keyword.clone(), match_type, reply) else {
                continue;
            };
            let Ok(window) = DailyWindow::parse(&row.active_from, &row.active_until) else {
                continue;
            };
            rule.window = window;
            rule.more = more;
            rule.mode = ReplyMode::from_code(row.reply_mode).unwrap_or(ReplyMode::All);
            match ReplyType::from_code(row.reply_type) {
                Some(ReplyType::Follow) => rules.follow.push(rule),
                Some(ReplyType::Keyword) => rules.keyword.push(rule),
                Some(ReplyType::Default) => rules.default.push(rule),
                None => {}
            }
        }
        rules
    }

    /// The first keyword rule (by priority) that matches `text` and answers at `at`.
    pub fn keyword_match(&self, text: &str, at: DateTime<Utc>) -> Option<&Rule> {
        let lowered = text.to_lowercase();
        self.keyword
            .iter()
            .find(|rule| rule.keywords.matches(text, &lowered) && rule.answers_at(at))
    }

    /// The first rule of `rules` (by priority) that answers at `at`.
    pub fn first_at(rules: &[Rule], at: DateTime<Utc>) -> Option<&Rule> {
        rules.iter().find(|rule| rule.answers_at(at))
    }
}

/// The reply one of a rule's replies describes (a news reply holds one article).
pub fn reply_of(r: &auto_replies::RuleReply) -> Option<Reply> {
    let articles = vec![Article {
        title: r.title.clone(),
        description: r.description.clone(),
        pic_url: r.pic_url.clone(),
        url: r.url.clone(),
    }];
    let fields = ReplyFields {
        content: r.content.clone(),
        media_id: r.media_id.clone(),
        title: r.title.clone(),
        description: r.description.clone(),
        music_url: r.music_url.clone(),
        hq_music_url: r.hq_music_url.clone(),
        thumb_media_id: r.thumb_media_id.clone(),
        articles,
    };
    Reply::from_fields(&r.message_type, fields)
}

/// One account as the callback needs it.
pub struct CallbackAccount {
    pub model: accounts::Model,
    /// Present when the account has a valid EncodingAESKey.
    pub crypto: Option<MessageCrypto>,
    pub rules: Rules,
}

impl std::fmt::Debug for CallbackAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackAccount")
            .field("app_id", &self.model.app_id)
            .finish_non_exhaustive()
    }
}

struct Entry {
    loaded: Instant,
    account: Arc<CallbackAccount>,
}

pub struct AccountCache {
    db: DatabaseConnection,
    /// "app:<app_id>" or "gh:<original_id>" → account.
    entries: RwLock<HashMap<String, Entry>>,
    /// Moves on every invalidation: a load that started before one may
    /// carry the old rows and is then not remembered.
    generation: std::sync::atomic::AtomicU64,
}

impl AccountCache {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            entries: RwLock::new(HashMap::new()),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn cached(&self, key: &str) -> Option<Arc<CallbackAccount>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|e| e.loaded.elapsed() < TTL)
            .map(|e| e.account.clone())
    }

    fn remember(&self, key: String, account: Arc<CallbackAccount>) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.loaded.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                loaded: Instant::now(),
                account,
            },
        );
    }

    /// Forgets an account (after an admin changed it or its rules).
    pub fn invalidate(&self, account_id: i64) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, e| e.account.model.id != account_id);
    }

    /// Forgets every account (another instance changed one).
    pub fn clear(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    pub async fn by_app_id(
        &self,
        app_id: &str,
    ) -> Result<Option<Arc<CallbackAccount>>, sea_orm::DbErr> {
        self.lookup(format!("app:{app_id}"), accounts::Column::AppId, app_id)
            .await
    }

    pub async fn by_original_id(
        &self,
        original_id: &str,
    ) -> Result<Option<Arc<CallbackAccount>>, sea_orm::DbErr> {
        self.lookup(
            format!("gh:{original_id}"),
            accounts::Column::OriginalId,
            original_id,
        )
        .await
    }

    async fn lookup(
        &self,
        key: String,
        column: accounts::Column,
        value: &str,
    ) -> Result<Option<Arc<CallbackAccount>>, sea_orm::DbErr> {
        if let Some(account) = self.cached(&key) {
            return Ok(Some(account));
        }
        if value.is_empty() {
            return Ok(None);
        }
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        let Some(model) = accounts::Entity::find()
            .filter(column.eq(value))
            .filter(accounts::Column::Status.eq(1))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let account = Arc::new(self.load(model).await?);
        if self.generation.load(std::sync::atomic::Ordering::SeqCst) == generation {
            self.remember(key, account.clone());
        }
        Ok(Some(account))
    }

    /// Every enabled account (for URL verification without an app id: rare).
    pub async fn all(&self) -> Result<Vec<Arc<CallbackAccount>>, sea_orm::DbErr> {
        let models = accounts::Entity::find()
            .filter(accounts::Column::Status.eq(1))
            .all(&self.db)
            .await?;
        let mut all = Vec::with_capacity(models.len());
        for model in models {
            match self.cached(&format!("app:{}", model.app_id)) {
                Some(account) => all.push(account),
                None => all.push(Arc::new(self.load(model).await?)),
            }
        }
        Ok(all)
    }

    async fn load(&self, model: accounts::Model) -> Result<CallbackAccount, sea_orm::DbErr> {
        let rows = auto_replies::Entity::find()
            .filter(auto_replies::Column::AccountId.eq(model.id))
            .filter(auto_replies::Column::Status.eq(1))
            .order_by_desc(auto_replies::Column::Priority)
            .order_by_asc(auto_replies::Column::Id)
            .all(&self.db)
            .await?;
        let crypto = MessageCrypto::new(&model.encoding_aes_key, &model.app_id).ok();
        Ok(CallbackAccount {
            crypto,
            rules: Rules::compile(&rows),
            model,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(keyword: &str, exact: bool) -> Rule {
        let reply = Reply::Text {
            content: "r".into(),
        };
        let match_type = if exact {
            MatchType::Exact
        } else {
            MatchType::Contains
        };
        Rule::new(1, keyword.into(), match_type, reply).unwrap()
    }

    #[test]
    fn matching() {
        assert!(rule("Hello", true).matches(" hello "));
        assert!(!rule("Hello", true).matches("hello there"));
        assert!(rule("价格", false).matches("请问价格多少"));
        assert!(rule("VIP", false).matches("i want vip"));
        assert!(!rule("", false).matches("anything"));
    }
}
