//! Messages we send and show: customer-service replies, the rows that record
//! every reply, and one fan's conversation.

pub mod routes;
pub mod service;
