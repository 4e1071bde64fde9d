//! wxmp: runs WeChat Official Accounts. This crate builds the whole server
//! from a [`config::Config`]; `main.rs` is only the command line around it.
//!
//! # Layout
//!
//! Dependencies point one way: routes → services → (WeChat clients,
//! entities, db, job queue). Only `server.rs` composes the routers.
//!
//! - [`server`]: the router of every module, start-up and graceful shutdown; the job registry
//! - [`state`]: `AppState`, what every request can reach
//! - [`config`], [`error`], [`ids`] (Snowflake), [`db`] (connect, migrate, `now()`)
//! - [`http`]: body parsing, extractors whose rejections are envelopes, the public base URL, and the OpenAPI document built beside the router
//! - [`auth`]: passwords, JWTs, roles, the `CurrentAdmin` extractor, sign-in
//! - [`admins`]: admin management and password changes
//! - [`audit`]: the audit trail of every change, with secrets masked
//! - [`entity`]: one sea-orm entity per table, and the stored codes as enums
//! - [`wechat`]: the pure callback protocol: signatures, envelope, XML, typed messages, replies
//! - [`wxapi`]: the WeChat API client: tokens, tickets, OAuth, errors with hints
//! - [`callback`]: the callback pipeline: routes, flow, record, store, inflight, chain, built-in handlers
//! - [`messages`]: customer-service replies, reply rows, conversations
//! - [`inbox`]: conversations with read marks, assignment, notes and canned replies; live events over SSE
//! - [`menus`]: WeChat's menu rules, publishing and pulling menus, what is live on WeChat
//! - [`materials`]: upload checks, media and news drafts on WeChat, sync
//! - [`templates`]: template messages, one or in bulk (a job); their fields' labels and types
//! - [`fans`]: fans as stored, synced from WeChat (a job)
//! - [`webpages`]: OAuth and JS-SDK for the account's web pages
//! - [`media`]: image downloads of received messages (a job)
//! - [`outbound`]: requests made on behalf of a message or a script: allowlisted hosts, checked addresses and redirects, capped bodies
//! - [`files`]: files in the data directory, served to admins
//! - [`text`]: the one rule for U+0000 in text that reaches the database
//! - [`pay`]: WeChat Pay v3: crypto and states (no I/O), client, ledger, service, orders, refunds, qrcode, notify, routes
//! - [`plugins`]: Rhai plugins: engine, script API, registry, watcher, handler, dry run, state, counters, routes
//! - [`accounts`]: archive, restore, and delete an account with all its data
//! - [`admin`]: the generic CRUD of the `wx_*` resources, and the dashboard
//! - [`jobs`]: the durable job queue, its worker and the `Job` trait
//! - [`ui`]: the admin web UI, embedded
//! - [`dev`]: the fake WeChat and fake WeChat Pay (`wxmp sandbox` serves both) and `wxmp simulate`

pub mod accounts;
pub mod admin;
pub mod admins;
pub mod audit;
pub mod auth;
pub mod callback;
pub mod cluster;
pub mod config;
pub mod db;
pub mod dev;
pub mod entity;
pub mod error;
pub mod fans;
pub mod files;
pub mod http;
pub mod ids;
pub mod inbox;
pub mod jobs;
pub mod logging;
pub mod materials;
pub mod media;
pub mod menus;
pub mod messages;
pub mod outbound;
pub mod pay;
pub mod plugins;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod templates;
pub mod text;
pub mod ui;
pub mod webpages;
pub mod wechat;
pub mod wxapi;

pub use server::{bootstrap, router, serve, Running};
