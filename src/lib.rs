//! wxmp: runs WeChat Official Accounts. This crate builds the whole server
//! from a [`config::Config`]; `main.rs` is only the command line around it.

pub mod admin;
pub mod api;
pub mod auth;
pub mod config;
pub mod db;
pub mod dev;
pub mod entity;
pub mod error;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod pay;
pub mod pipeline;
pub mod plugins;
pub mod sandbox;
pub mod server;
pub mod simulate;
pub mod state;
pub mod ui;
pub mod wechat;
pub mod wxapi;

pub use server::{bootstrap, router, serve, Running};
