//! Development aids: the fake WeChat API server and the fake WeChat Pay
//! server (`wxmp sandbox`, tests, examples), and `wxmp simulate`, which plays
//! WeChat against a running server.

pub mod fake_pay;
pub mod fake_wechat;
pub mod simulate;
