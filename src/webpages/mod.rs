//! The account's own web pages opened in WeChat: OAuth and the JS-SDK.

pub mod routes;
