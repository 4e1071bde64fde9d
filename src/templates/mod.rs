//! Template messages: the account's templates, sending one or many, and
//! their delivery reports.

pub mod job;
pub mod routes;
pub mod service;
