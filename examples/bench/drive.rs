//! The load generator (one HTTP/1.1 keep-alive connection per task, each
//! request a new signed and encrypted message with a unique MsgId) and the
//! HTTP reference server.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;
use wxmp::wechat::{signature, xml, MessageCrypto};

use crate::workload::{self, APP_ID, KEY, ORIGINAL_ID, TOKEN};

#[derive(clap::Args)]
pub struct Args {
    /// host:port of the server.
    #[arg(long)]
    addr: SocketAddr,
    #[arg(
        long,
        default_value = "/wechat/official_account/callback/wxbench000000001"
    )]
    path: String,
    #[arg(long, default_value_t = 16)]
    conns: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// The server's process, for its CPU and peak RSS.
    #[arg(long)]
    pid: Option<u32>,
    #[arg(long)]
    label: String,
    /// MsgIds of this run start here (each run of a benchmark its own range).
    #[arg(long, default_value_t = 1_000_000_000)]
    msgid_base: u64,
    /// Check every reply's status, and decrypt and verify every 16th.
    #[arg(long)]
    check: bool,
    /// Appends the MsgId of every request answered 200.
    #[arg(long)]
    answered: Option<std::path::PathBuf>,
    /// Appends one tab-separated result line.
    #[arg(long)]
    results: std::path::PathBuf,
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: u64,
    answered: Vec<u64>,
    first_error: Option<String>,
}

pub async fn drive(args: Args) -> anyhow::Result<()> {
    let crypto = Arc::new(MessageCrypto::new(KEY, APP_ID)?);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let window = (
        start + Duration::from_secs(args.warmup),
        start + Duration::from_secs(args.warmup + args.seconds),
    );
    let args = Arc::new(args);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.conns {
        tasks.spawn(connection(
            args.clone(),
            crypto.clone(),
            next.clone(),
            window,
        ));
    }
    tokio::time::sleep_until(window.0).await;
    let (server0, own0) = (args.pid.map(cpu_ticks), cpu_ticks_self());
    tokio::time::sleep_until(window.1).await;
    let (server1, own1) = (args.pid.map(cpu_ticks), cpu_ticks_self());
    let mut tally = Tally::default();
    while let Some(done) = tasks.join_next().await {
        let t = done??;
        tally.latencies_us.extend(t.latencies_us);
        tally.errors += t.errors;
        tally.answered.extend(t.answered);
        tally.first_error = tally.first_error.or(t.first_error);
    }
    let l = &mut tally.latencies_us;
    l.sort_unstable();
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .map_or(0.0, |us| f64::from(*us) / 1000.0)
    };
    let secs = args.seconds as f64;
    let cpu = |a: Option<Option<u64>>, b: Option<Option<u64>>| match (a.flatten(), b.flatten()) {
        (Some(a), Some(b)) => format!("{:.0}", (b - a) as f64 / secs),
        _ => "-".into(),
    };
    let rss = args
        .pid
        .and_then(peak_rss_kib)
        .map_or("-".into(), |k| format!("{:.0}", k as f64 / 1024.0));
    let line = format!(
        "{}\t{}\t{:.0}\t{:.2}\t{:.2}\t{:.2}\t{:.2}\t{}\t{}\t{}\t{}\n",
        args.label,
        args.conns,
        l.len() as f64 / secs,
        pct(0.50),
        pct(0.90),
        pct(0.99),
        l.last().map_or(0.0, |us| f64::from(*us) / 1000.0),
        tally.errors,
        cpu(server0, server1),
        rss,
        cpu(Some(own0), Some(own1)),
    );
    print!("{line}");
    if let Some(error) = &tally.first_error {
        println!("  first error: {error}");
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&args.results)?
        .write_all(line.as_bytes())?;
    if let Some(path) = &args.answered {
        let mut file = std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        );
        for msgid in &tally.answered {
            writeln!(file, "{msgid}")?;
        }
    }
    Ok(())
}

async fn connection(
    args: Arc<Args>,
    crypto: Arc<MessageCrypto>,
    next: Arc<AtomicU64>,
    (from, until): (Instant, Instant),
) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    let mut sender = None;
    while Instant::now() < until {
        if sender.is_none() {
            let stream = tokio::net::TcpStream::connect(args.addr).await?;
            stream.set_nodelay(true)?;
            let (s, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            sender = Some(s);
        }
        let n = next.fetch_add(1, Ordering::Relaxed);
        let msgid = args.msgid_base + n;
        let now = chrono::Utc::now().timestamp();
        let workload::Message { xml, expected, .. } = workload::message(n, msgid, now);
        let encrypted = crypto.encrypt(&xml);
        let (timestamp, nonce) = (now.to_string(), format!("{}", 7_000_000 + n));
        let uri = format!(
            "{}?signature={}&timestamp={timestamp}&nonce={nonce}&encrypt_type=aes&msg_signature={}",
            args.path,
            signature::sign(&[TOKEN, &timestamp, &nonce]),
            signature::sign(&[TOKEN, &timestamp, &nonce, &encrypted])
        );
        let body = format!(
            "<xml><ToUserName><![CDATA[{ORIGINAL_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        );
        let request = hyper::Request::post(uri)
            .header(hyper::header::HOST, args.addr.to_string())
            .header(hyper::header::CONTENT_TYPE, "text/xml")
            .body(Full::new(Bytes::from(body)))?;
        let sent = Instant::now();
        let outcome = async {
            let s = sender.as_mut().expect("connected above");
            let response = s.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, anyhow::Error>((status, body))
        }
        .await;
        let elapsed = sent.elapsed();
        let result = match outcome {
            Ok((status, body)) if status.is_success() => {
                if args.check {
                    check_reply(&crypto, &body, &expected, n.is_multiple_of(16))
                } else {
                    Ok(())
                }
            }
            Ok((status, body)) => Err(anyhow::anyhow!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            )),
            Err(error) => {
                sender = None;
                Err(error)
            }
        };
        let counted = sent >= from && sent < until;
        match result {
            Ok(()) => {
                tally.answered.push(msgid);
                if counted {
                    tally
                        .latencies_us
                        .push(elapsed.as_micros().min(u32::MAX as u128) as u32);
                }
            }
            Err(error) => {
                if counted {
                    tally.errors += 1;
                }
                tally
                    .first_error
                    .get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
    Ok(tally)
}

/// Every reply is an encrypted envelope; `full`: its signature verified,
/// decrypted and its text checked.
fn check_reply(
    crypto: &MessageCrypto,
    body: &[u8],
    expected: &str,
    full: bool,
) -> anyhow::Result<()> {
    let text = std::str::from_utf8(body)?;
    anyhow::ensure!(text.starts_with("<xml>"), "not a reply: {text:?}");
    if !full {
        return Ok(());
    }
    let outer = xml::parse(text)?;
    let field = |name: &str| outer.get(name).unwrap_or_default();
    anyhow::ensure!(
        signature::verify(
            field("MsgSignature"),
            &[TOKEN, field("TimeStamp"), field("Nonce"), field("Encrypt")]
        ),
        "the reply's MsgSignature does not verify"
    );
    let reply = crypto.decrypt(field("Encrypt"))?;
    anyhow::ensure!(
        reply.contains(expected),
        "reply {reply:?} lacks {expected:?}"
    );
    Ok(())
}

/// utime + stime of a process, in clock ticks (1/100 s).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn cpu_ticks_self() -> Option<u64> {
    cpu_ticks(std::process::id())
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The HTTP bound: every POST body read, one fixed reply the size of an
/// encrypted one.
pub async fn http_reference(listen: SocketAddr) -> anyhow::Result<()> {
    let crypto = MessageCrypto::new(KEY, APP_ID)?;
    let reply = format!(
        "<xml><Encrypt><![CDATA[{}]]></Encrypt><MsgSignature><![CDATA[0000000000000000000000000000000000000000]]></MsgSignature>\
         <TimeStamp>1700000000</TimeStamp><Nonce><![CDATA[0123456789abcdef]]></Nonce></xml>",
        crypto.encrypt(&"<xml>reply</xml>".repeat(20))
    );
    let reply: &'static str = Box::leak(reply.into_boxed_str());
    let app = axum::Router::new().fallback(axum::routing::post(move |body: String| async move {
        std::hint::black_box(body);
        (
            [(
                hyper::header::CONTENT_TYPE,
                "application/xml; charset=utf-8",
            )],
            reply,
        )
    }));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
