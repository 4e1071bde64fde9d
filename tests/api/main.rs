//! wxmp's test suite as one binary: each module tests one part of the server
//! as a user would, over HTTP (and, in `ui`, in a browser) against a server
//! of its own on a fresh database. `helpers` starts them; `wechat` plays
//! WeChat's side of the callback.

mod helpers;
mod wechat;

mod accounts;
mod audit;
mod auth;
mod callback;
mod cluster;
mod dashboard;
mod faults;
mod hostile;
mod inbox;
mod inbox_live;
mod interop;
mod layering;
mod media;
mod menu_replies;
mod metrics;
mod news_drafts;
mod pay;
mod plugin_actions;
mod plugin_dry_run;
mod plugin_http;
mod plugin_schedules;
mod plugin_settings;
mod plugin_source;
mod plugin_state;
mod plugin_test_files;
mod plugin_timers;
mod plugins;
mod rejections;
mod reply_rules;
mod reply_sets;
mod resources;
mod secrets;
mod server;
mod ui;
mod wxapi;
