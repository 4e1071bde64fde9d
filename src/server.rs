//! Wiring: database → state → router → listener, with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::path::HttpMethod;

use crate::config::Config;
use crate::entity::admins;
use crate::error::{ok, ApiResult, AppError};
use crate::http::openapi::{Api, Operation};
use crate::state::AppState;

/// Connects, migrates, creates the first admin when there is none, and
/// returns the state the server runs on.
pub async fn bootstrap(config: Config) -> anyhow::Result<AppState> {
    // Before anything is counted: counts made without a recorder are lost.
    crate::telemetry::handle();
    let db = crate::db::connect(&config.database_url).await?;
    crate::db::migrate(&db).await?;
    let state = AppState::new(config, db)?;
    crate::cluster::instance::join(&state).await?;
    ensure_first_admin(&state).await?;
    let report = state.plugins.rescan().await;
    tracing::info!(dir = %state.plugins.dir().display(), loaded = ?report.loaded, failed = report.failed.len(), "plugins");
    // The lease now says which plugin versions this instance runs.
    crate::cluster::instance::renew(&state).await;
    Ok(state)
}

async fn ensure_first_admin(state: &AppState) -> anyhow::Result<()> {
    if admins::Entity::find().count(&state.db).await? > 0 {
        return Ok(());
    }
    let username = state.config.admin_user.clone();
    if !crate::auth::valid_username(&username) {
        anyhow::bail!(
            "WXMP_ADMIN_USER={username:?} is not valid: 1–64 letters, digits, '.', '_' or '-'"
        );
    }
    let (password, generated) = match &state.config.admin_password {
        Some(password) => (password.clone(), false),
        None => (random_password(), true),
    };
    if let Err(reason) = crate::auth::check_password_strength(&password) {
        anyhow::bail!("WXMP_ADMIN_PASSWORD is not valid: {reason}");
    }
    let created = crate::auth::create_admin(
        &state.db,
        &state.ids,
        &username,
        &password,
        crate::auth::ROLE_ADMIN,
        Vec::new(),
    )
    .await;
    if let Err(error) = created {
        // Instances starting together: another one created it first.
        if admins::Entity::find().count(&state.db).await? > 0 {
            return Ok(());
        }
        anyhow::bail!("cannot create the first admin: {error}");
    }
    if generated {
        // Printed once, on purpose: this is the only time it exists in clear.
        eprintln!(
            "\n  wxmp: created the first admin\n    user:     {username}\n    password: {password}\n  \
             Change it after signing in (POST /auth/password). It is not shown again.\n"
        );
    } else {
        tracing::info!(%username, "created the first admin from WXMP_ADMIN_USER / WXMP_ADMIN_PASSWORD");
    }
    Ok(())
}

fn random_password() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, 20)
}

/// The whole HTTP surface of wxmp.
pub fn router(state: AppState) -> Router {
    let api = Api::default()
        .route(
            Operation::new(
                HttpMethod::Get,
                "/healthz",
                "health",
                "The process is alive",
            )
            .public(),
            get(|| async { ok(json!({ "status": "alive" })) }),
        )
        .route(
            Operation::new(HttpMethod::Get, "/readyz", "health", "The database answers")
                .public()
                .may_fail_with(&[503]),
            get(readyz),
        );
    let api = crate::auth::routes::register(api);
    let api = crate::admins::routes::register(api);
    let api = crate::admin::routes::register(api);
    let api = crate::accounts::routes::register(api);
    let api = crate::admin::dashboard::register(api);
    let api = crate::callback::routes::register(api);
    let api = crate::plugins::routes::register(api);
    let api = crate::plugins::state_routes::register(api);
    let api = crate::plugins::settings_routes::register(api);
    let api = crate::plugins::source_routes::register(api);
    let api = crate::menus::routes::register(api);
    let api = crate::messages::routes::register(api);
    let api = crate::inbox::routes::register(api);
    let api = crate::templates::routes::register(api);
    let api = crate::materials::routes::register(api);
    let api = crate::fans::routes::register(api);
    let api = crate::jobs::routes::register(api);
    let api = crate::webpages::routes::register(api);
    let api = crate::pay::routes::register(api);
    let api = crate::files::routes::register(api);
    let api = crate::audit::routes::register(api);
    let api = crate::cluster::routes::register(api);
    let api = crate::telemetry::routes::register(api);
    let (routes, document) = api.into_parts();
    let document = std::sync::Arc::new(document);
    let max_body = state.config.max_body_bytes;
    let request_timeout = std::time::Duration::from_secs(state.config.request_timeout_secs);
    routes
        .route(
            "/api-docs/openapi.json",
            get(move || {
                let document = document.clone();
                async move { Json(document.as_ref().clone()) }
            }),
        )
        .merge(crate::ui::router())
        // Inside the routing, where the matched route template is known.
        .route_layer(axum::middleware::from_fn(crate::telemetry::track_requests))
        .fallback(|| async { AppError::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async {
            AppError::MethodNotAllowed("this endpoint does not accept that method".into())
        })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                // The handler reads the body inside this future: a slow body counts.
                tokio::time::timeout(request_timeout, next.run(request))
                    .await
                    .unwrap_or_else(|_| {
                        AppError::RequestTimeout(format!(
                            "the request was not complete within {} s",
                            request_timeout.as_secs()
                        ))
                        .into_response()
                    })
            },
        ))
        .layer(CatchPanicLayer::custom(|_| -> Response {
            AppError::Internal("a request handler panicked".into()).into_response()
        }))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn readyz(State(state): State<AppState>) -> ApiResult {
    state
        .db
        .execute_unprepared("SELECT 1")
        .await
        .map_err(|e| AppError::Unavailable(format!("database: {e}")))?;
    Ok(ok(
        json!({ "status": "ready", "database": format!("{:?}", state.db.get_database_backend()) }),
    ))
}

/// Every kind of background job, by name.
fn job_registry() -> crate::jobs::Registry {
    crate::jobs::Registry::default()
        .register::<crate::media::DownloadImage>()
        .register::<crate::callback::followups::RuleFollowups>()
        .register::<crate::plugins::timers::PluginTimer>()
        .register::<crate::plugins::actions::PluginAction>()
        .register::<crate::fans::job::SyncFans>()
        .register::<crate::templates::job::SendTemplates>()
}

/// How long a stopping instance lets the running job finish.
const JOB_DRAIN: std::time::Duration = std::time::Duration::from_secs(30);

/// A background task that ends with the server, also when the serving
/// future is dropped.
struct Background(tokio::task::JoinHandle<()>);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Serves on `listener` until `shutdown` resolves, then drains: requests in
/// flight finish, no new job is claimed while the running one finishes, and
/// the worker id is given back.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_jobs, jobs_stopping) = tokio::sync::watch::channel(false);
    let mut worker = Background(tokio::spawn(crate::jobs::worker(
        state.clone(),
        job_registry(),
        jobs_stopping,
    )));
    let _background = [
        Background(tokio::spawn(state.plugins.clone().watch())),
        Background(tokio::spawn(crate::cluster::instance::heartbeat(
            state.clone(),
        ))),
        Background(tokio::spawn(crate::cluster::changes::follow(state.clone()))),
        Background(tokio::spawn(crate::plugins::state::sweep_forever(
            state.db.clone(),
        ))),
        Background(tokio::spawn(crate::plugins::cron::fire_forever(
            state.clone(),
        ))),
        Background(tokio::spawn(crate::db::checkpoint::checkpoint_forever(
            state.db.clone(),
        ))),
        Background(tokio::spawn({
            let counters = state.plugins.runtime().counters.clone();
            async move {
                if let Some(counters) = counters {
                    counters.run().await;
                }
            }
        })),
    ];
    // A request head, like a whole request, has the request timeout.
    let header_timeout = std::time::Duration::from_secs(state.config.request_timeout_secs);
    let hub = state.inbox.clone();
    let shutdown = async move {
        shutdown.await;
        // Open event streams end, or the graceful shutdown would wait for them.
        hub.close();
    };
    crate::http::serve::serve(listener, router(state.clone()), header_timeout, shutdown).await;
    // Replies are recorded behind their answers: write what is queued.
    if let Err(error) = state.store.flush().await {
        tracing::warn!(%error, "replies of the last moments not recorded");
    }
    let _ = stop_jobs.send(true);
    if tokio::time::timeout(JOB_DRAIN, &mut worker.0)
        .await
        .is_err()
    {
        // Cut off: another instance takes the job up when its lease runs out.
        tracing::warn!("the running job did not finish within {JOB_DRAIN:?}; leaving it");
    }
    if let Some(counters) = &state.plugins.runtime().counters {
        if let Err(error) = counters.flush().await {
            tracing::warn!(%error, "plugin counters of the last seconds not written");
        }
    }
    crate::cluster::instance::leave(&state).await;
    Ok(())
}

/// A server started in the background (tests, examples, `wxmp serve`).
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Bootstraps and serves `config` on its listen address (port 0 picks a free port).
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| {
                anyhow::anyhow!("cannot listen on {} (WXMP_LISTEN): {e}", config.listen)
            })?;
        let state = bootstrap(config).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(state.clone(), listener, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            state,
            stop: Some(stop),
            task,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await??;
        Ok(())
    }
}
