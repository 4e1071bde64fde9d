//! Development aids: the fake WeChat API server and the fake WeChat Pay
//! server (tests, examples), `sandbox`, which serves both for `wxmp sandbox`,
//! and `wxmp simulate`, which plays WeChat against a running server.

pub mod fake_pay;
pub mod fake_wechat;
pub mod sandbox;
pub mod simulate;
