//! What an admin does with a whole official account beyond editing it:
//! archive it (disabled and hidden from the console's pickers, its data kept,
//! reversible) or delete it with every row that belongs to it, once the admin
//! has typed its name.
//!
//! - [`service`]: the rows an account holds, archive / restore, purge;
//! - [`routes`]: the endpoints.

pub mod routes;
pub mod service;
