//! Durable background jobs in the `jobs` table: they survive restarts, are
//! retried with backoff, keep their last error, and give up after a bounded
//! number of attempts. Any instance may run any job; a claim in SQL makes
//! sure only one does.
//!
//! Each kind of job implements [`Job`] in its own domain (`fans::job`,
//! `templates::job`, `media::download`); `server.rs` lists them all in one
//! [`Registry`] that the [`worker`] runs from.

pub mod queue;
pub mod routes;
pub mod worker;

pub use queue::{new_job, payload_account, save_payload};
pub use worker::worker;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::Notify;

use crate::entity::jobs;
use crate::state::AppState;

pub const MAX_ATTEMPTS: i32 = 6;

pub const PENDING: &str = "pending";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

/// Why a job attempt failed; kept in `jobs.last_error`, and the job retried.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error(transparent)]
    WeChat(#[from] crate::wxapi::WxError),
    #[error("{0}")]
    Failed(String),
}

impl From<String> for JobError {
    fn from(message: String) -> Self {
        JobError::Failed(message)
    }
}

impl From<&str> for JobError {
    fn from(message: &str) -> Self {
        JobError::Failed(message.to_string())
    }
}

pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'a>>;

/// One kind of background job. Runs may repeat (after a crash or a retry),
/// so a run must be safe to do again: resume from the payload's progress.
pub trait Job {
    /// Stored in `jobs.kind`.
    const NAME: &'static str;
    fn run<'a>(state: &'a AppState, job: &'a jobs::Model) -> JobFuture<'a>;
}

/// Every job kind the worker runs, by name.
#[derive(Default)]
pub struct Registry {
    kinds: HashMap<&'static str, for<'a> fn(&'a AppState, &'a jobs::Model) -> JobFuture<'a>>,
}

impl Registry {
    pub fn register<J: Job>(mut self) -> Self {
        self.kinds.insert(J::NAME, J::run);
        self
    }

    async fn run(&self, state: &AppState, job: &jobs::Model) -> Result<(), JobError> {
        match self.kinds.get(job.kind.as_str()) {
            Some(run) => run(state, job).await,
            None => Err(JobError::Failed(format!(
                "no handler for job kind {:?}",
                job.kind
            ))),
        }
    }
}

/// Wakes the worker when a job was enqueued, so it need not wait for its poll.
#[derive(Clone, Default)]
pub struct JobSignal(Arc<Notify>);

impl JobSignal {
    pub fn notify(&self) {
        self.0.notify_one();
    }

    async fn notified(&self) {
        self.0.notified().await
    }
}
