//! Template messages: the account's templates, sending one or many, and
//! their delivery reports.

pub mod fields;
pub mod job;
pub mod routes;
pub mod service;
