//! Development aids: the fake WeChat API server (`wxmp sandbox`, tests) and
//! `wxmp simulate`, which plays WeChat against a running server.

pub mod fake_wechat;
pub mod simulate;
