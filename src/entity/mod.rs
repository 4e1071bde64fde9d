//! sea-orm entities, one file per table.

pub mod accounts;
pub mod admins;
pub mod audit_log;
pub mod auto_replies;
pub mod canned_replies;
pub mod cluster_epochs;
pub mod cluster_leases;
pub mod conversation_notes;
pub mod conversations;
pub mod enums;
pub mod jobs;
pub mod materials;
pub mod menu_live;
pub mod menus;
pub mod messages;
pub mod pay_notifications;
pub mod pay_orders;
pub mod pay_refunds;
pub mod plugin_config;
pub mod plugin_counters;
pub mod plugin_settings;
pub mod plugin_state;
pub mod template_logs;
pub mod templates;
pub mod users;
