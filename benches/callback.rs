//! The callback's protocol work per message, without HTTP or the database:
//! verify signatures, decrypt, parse, build the reply, encrypt it.
//!
//! `cargo bench --bench callback`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use wxmp::wechat::{reply, signature, InboundMessage, MessageCrypto, Reply};

const TOKEN: &str = "callbacktoken";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APP_ID: &str = "wx5823bf96d3bd56c7";

fn message() -> String {
    "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></FromUserName>\
     <CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好，请问营业时间？]]></Content>\
     <MsgId>24379462389478234</MsgId></xml>"
        .to_string()
}

fn bench(c: &mut Criterion) {
    let crypto = MessageCrypto::new(KEY, APP_ID).unwrap();
    let plain = message();
    let encrypted = crypto.encrypt(&plain);
    let (timestamp, nonce) = ("1700000000", "1320562132");
    let signature = signature::sign(&[TOKEN, timestamp, nonce]);
    let msg_signature = signature::sign(&[TOKEN, timestamp, nonce, &encrypted]);
    let body = format!("<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>");

    c.bench_function("verify signature + msg_signature", |b| {
        b.iter(|| {
            assert!(signature::verify(
                black_box(&signature),
                &[TOKEN, timestamp, nonce]
            ));
            assert!(signature::verify(
                black_box(&msg_signature),
                &[TOKEN, timestamp, nonce, &encrypted]
            ));
        })
    });
    c.bench_function("decrypt", |b| {
        b.iter(|| crypto.decrypt(black_box(&encrypted)).unwrap())
    });
    c.bench_function("parse message", |b| {
        b.iter(|| InboundMessage::parse(black_box(&plain)).unwrap())
    });
    let answer = Reply::Text {
        content: "您好，我们的营业时间是 9:00–18:00 🕘".into(),
    };
    c.bench_function("build + encrypt + sign reply", |b| {
        b.iter(|| {
            let xml = answer.to_xml(
                "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                "gh_0123456789ab",
                1_700_000_001,
            );
            let sealed = crypto.encrypt(&xml);
            let sig = signature::sign(&[TOKEN, timestamp, nonce, &sealed]);
            reply::encrypted_envelope(&sealed, &sig, timestamp, nonce)
        })
    });
    c.bench_function("whole protocol path (AES request → AES reply)", |b| {
        b.iter(|| {
            assert!(signature::verify(&signature, &[TOKEN, timestamp, nonce]));
            let outer = wxmp::wechat::xml::parse(black_box(&body)).unwrap();
            let inner = outer.get("Encrypt").unwrap();
            assert!(signature::verify(
                &msg_signature,
                &[TOKEN, timestamp, nonce, inner]
            ));
            let message = InboundMessage::parse(&crypto.decrypt(inner).unwrap()).unwrap();
            let xml = answer.to_xml(&message.from_user, &message.to_user, message.create_time);
            let sealed = crypto.encrypt(&xml);
            let sig = signature::sign(&[TOKEN, timestamp, nonce, &sealed]);
            reply::encrypted_envelope(&sealed, &sig, timestamp, nonce)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
