//! Custom menus: WeChat's rules for them, the editor's tree with the replies
//! of click buttons, publishing to and pulling from WeChat.

pub mod routes;
pub mod rules;
pub mod service;
pub mod tree;
