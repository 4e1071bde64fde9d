//! Custom menus: WeChat's rules for them, publishing to and pulling from WeChat.

pub mod routes;
pub mod rules;
pub mod service;
