//! Stand-ins for the services wxmp talks to, for tests, examples and `wxmp sandbox`.
pub mod fake_pay;
