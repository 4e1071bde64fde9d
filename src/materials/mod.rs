//! Materials: uploaded files, temporary and permanent media on WeChat, news drafts.

pub mod files;
pub mod html;
pub mod routes;
pub mod service;
pub mod sync;
