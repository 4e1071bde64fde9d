//! The workload: one AES account, 50 keyword rules (even ones exact, odd ones
//! contains) and a default reply; message `n` hits an exact rule when
//! `n % 4 == 0`, a contains rule when `n % 4 == 1`, else the default reply.

pub const TOKEN: &str = "benchtoken";
pub const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
pub const APP_ID: &str = "wxbench000000001";
pub const ORIGINAL_ID: &str = "gh_bench";
pub const RULES: usize = 50;
/// Distinct fans the messages come from.
pub const FANS: u64 = 2000;

pub fn keyword(rule: usize) -> String {
    format!("关键词{rule:02}号")
}

pub fn rule_reply(rule: usize) -> String {
    format!("第 {rule} 条规则的回复：营业时间 9:00–18:00，欢迎光临。")
}

pub const DEFAULT_REPLY: &str = "收到，我们会尽快回复您。";

const FILLER: &str =
    "这是一条压测用的文本消息，内容填充到接近真实消息的长度，不含任何规则的关键词。";

pub struct Message {
    pub xml: String,
    pub content: String,
    /// The text its reply must carry.
    pub expected: String,
}

/// Message `n` (MsgId `msgid`).
pub fn message(n: u64, msgid: u64, create_time: i64) -> Message {
    let (content, expected) = match n % 4 {
        0 => {
            let rule = (2 * ((n / 4) % 25)) as usize;
            (keyword(rule), rule_reply(rule))
        }
        1 => {
            let rule = (2 * ((n / 4) % 25) + 1) as usize;
            (
                format!("{FILLER}{} {n} {FILLER}", keyword(rule)),
                rule_reply(rule),
            )
        }
        _ => (format!("{FILLER} {n} {FILLER}"), DEFAULT_REPLY.to_string()),
    };
    let xml = format!(
        "<xml><ToUserName><![CDATA[{ORIGINAL_ID}]]></ToUserName><FromUserName><![CDATA[o_bench_fan_{:06}]]></FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[{content}]]></Content><MsgId>{msgid}</MsgId></xml>",
        n % FANS
    );
    Message {
        xml,
        content,
        expected,
    }
}
