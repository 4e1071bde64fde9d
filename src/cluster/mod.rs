//! Running several instances on one database: each instance leases its own
//! Snowflake worker id and says who it is (`instance`), and drops its cached
//! configuration when another instance changed it (`changes`). The
//! primitives (leases, epochs) are in `db`; the job queue, token refresh and
//! callback dedupe coordinate through the database on their own.

pub mod changes;
pub mod instance;
pub mod routes;
