//! Fans: as stored, synced from WeChat by a background job.

pub mod job;
pub mod routes;
pub mod service;
