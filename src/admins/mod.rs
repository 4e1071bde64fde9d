//! Admin users as a resource: adding, editing and deleting them (admin role
//! only) and changing one's own password, each recorded in the audit trail.
//! Signing in and the token checks are `auth`.

pub mod routes;
