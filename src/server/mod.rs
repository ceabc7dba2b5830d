//! Server-only code: configuration, the HTTP router, the WebSocket handler, the
//! hub, the bus, the store, and the team's workflow (`workflow`: the rules for
//! resolving, snoozing and assigning, the snooze clock, the lists' counts).
//!
//! A message travels `ws` (check, decode) → `store` (commit, then ack) → `bus`
//! (publish) → `hub` (fan out to local sockets).

pub mod api;
pub mod assistant;
pub mod auth;
pub mod auto_assign;
pub mod backup;
pub mod blocks;
pub mod bus;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod connections;
pub mod contacts;
pub mod due;
pub mod email;
pub mod erase;
pub mod fd_limit;
pub mod files;
pub mod help;
pub mod http;
pub mod hub;
pub mod identity;
pub mod labels;
pub mod limits;
pub mod metrics;
pub mod outbound;
pub mod presence;
pub mod publish;
pub mod queue;
pub mod search;
pub mod store;
pub mod transcript;
pub mod typing;
pub mod visitors;
pub mod webhooks;
pub mod widget;
pub mod workflow;
pub mod workspace;
pub mod ws;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use axum::serve::ListenerExt;
use leptos::config::LeptosOptions;

use self::bus::Event;
use self::bus::{Bus, LocalBus};
use self::config::Config;
use self::hub::Hub;
use self::store::{Role, Store, StoreError};
use self::typing::Typing;

/// What every handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub hub: Arc<Hub>,
    pub bus: Arc<dyn Bus>,
    /// Who is online, on this instance and (with Redis) on the others.
    pub presence: Arc<presence::Presence>,
    pub typing: Arc<Typing>,
    pub sign_ins: Arc<limits::SignInThrottle>,
    /// New visitors per address per hour.
    pub new_visitors: Arc<limits::NewVisitors>,
    /// Verifies visitors' `user_hash` (see `identity`).
    pub identity_secret: Arc<String>,
    /// Only verified visitors may chat (the admins' switch, or the config).
    pub require_verified: Arc<std::sync::atomic::AtomicBool>,
    pub config: Arc<Config>,
    /// The settings admins change on the Settings page (the messenger's
    /// look, which sites may embed it).
    pub workspace: Arc<workspace::Workspace>,
    /// The team's workflow switches and the tasks that wake snoozes and
    /// count the inbox lists.
    pub workflow: Arc<workflow::Workflow>,
    pub leptos: LeptosOptions,
    pub metrics: Arc<metrics::Metrics>,
    /// The AI assistant, unless switched off in the configuration.
    pub assistant: Option<Arc<assistant::Assistant>>,
    /// Most WebSockets at once; past it new ones are refused (close 1013).
    pub socket_budget: usize,
    /// Files in conversations: where they are kept, their limits.
    pub files: Arc<files::Files>,
    /// The REST API's per-token rates.
    pub api: Arc<api::Api>,
    /// Webhook endpoints and their deliverer's wake-up.
    pub webhooks: Arc<webhooks::Webhooks>,
    /// Email follow-up's wake-up (when `config.email` is set).
    pub mailer: Arc<email::Mailer>,
    /// Work that must finish before the server stops (each socket's
    /// finisher: committed sends still to publish).
    pub tasks: tokio_util::task::TaskTracker,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// The setting key of the admins' "only verified visitors may chat" switch.
pub const REQUIRE_VERIFIED: &str = "require_verified_identity";

/// The setting naming this deployment in a Redis shared with others.
const DEPLOYMENT_ID: &str = "deployment_id";

/// How long shutdown waits for sockets to close before giving up on them.
const DRAIN: Duration = Duration::from_secs(5);

/// The first admin's login, when this start created it.
pub struct NewAdmin {
    pub email: String,
    /// Set when the password was generated (it is shown once, never stored).
    pub generated_password: Option<String>,
}

/// Creates the first admin when the database has no agent yet.
pub async fn ensure_admin(store: &Store, config: &Config) -> Result<Option<NewAdmin>, StoreError> {
    if store.count_agents().await? > 0 {
        return Ok(None);
    }
    let generated_password = match &config.admin_password {
        Some(_) => None,
        None => Some(auth::generate_password()),
    };
    let password = config
        .admin_password
        .clone()
        .or_else(|| generated_password.clone())
        .unwrap_or_default();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| StoreError::Corrupt(format!("password hashing stopped: {e}")))?
        .map_err(|e| StoreError::Corrupt(format!("password hashing failed: {e}")))?;
    if let Err(err) = store
        .create_agent(&config.admin_email, "Admin", &hash, Role::Admin)
        .await
    {
        // Several instances starting at once on a new database: one of
        // them made the admin first, and its log shows the password.
        if store.count_agents().await? > 0 {
            return Ok(None);
        }
        return Err(err);
    }
    Ok(Some(NewAdmin {
        email: config.admin_email.clone(),
        generated_password,
    }))
}

/// Serves Minicom on `listener` until `shutdown` resolves, then drains in
/// order: stops accepting, asks every socket to reconnect (close 1012), waits
/// for them to close and for every committed send to be published, then stops
/// the hub and closes the database (its writer finishes what it holds).
pub async fn serve(
    config: Config,
    store: Store,
    leptos: LeptosOptions,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_announced(config, store, leptos, listener, shutdown, || {}).await
}

/// [`serve`], calling `ready` once everything has started (the assistant's
/// model loaded) and connections are about to be accepted: what it prints is
/// the last thing a newcomer sees.
pub async fn serve_announced(
    config: Config,
    store: Store,
    leptos: LeptosOptions,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: impl FnOnce() + Send,
) -> std::io::Result<()> {
    // Several deployments may share one Redis: each keeps to keys and a
    // channel named after an id its database holds.
    let prefix = match &config.redis_url {
        Some(_) => {
            let id = store
                .setting_if_absent(DEPLOYMENT_ID, &auth::new_token())
                .await
                .map_err(|err| {
                    std::io::Error::other(format!("could not read the settings: {err}"))
                })?;
            format!("minicom:{id}:")
        }
        None => String::new(),
    };
    let bus: Arc<dyn Bus> = match &config.redis_url {
        Some(url) => Arc::new(bus::RedisBus::connect(url, &prefix).await.map_err(|err| {
            std::io::Error::other(format!(
                "could not reach the Redis bus at MINICOM_REDIS_URL: {err}. Start Redis or fix the URL"
            ))
        })?),
        None => Arc::new(LocalBus::new()),
    };
    // Counts every instance shares, each on its own connection to Redis.
    let (sign_ins, new_visitors) = match &config.redis_url {
        Some(url) => (
            limits::SignInThrottle::shared(
                &config.limits,
                prefix.clone(),
                redis_link(url, "sign-in throttling").await?,
            ),
            limits::NewVisitors::shared(
                &config.limits,
                prefix.clone(),
                redis_link(url, "counting new visitors").await?,
            ),
        ),
        None => (
            limits::SignInThrottle::new(&config.limits),
            limits::NewVisitors::new(&config.limits),
        ),
    };
    let presence = Arc::new(match &config.redis_url {
        Some(url) => presence::Presence::shared(url, prefix.clone())
            .await
            .map_err(|err| {
                std::io::Error::other(format!(
                    "could not reach Redis at MINICOM_REDIS_URL for presence: {err}"
                ))
            })?,
        None => presence::Presence::local(),
    });
    let metrics = Arc::new(metrics::Metrics {
        db_commit: store.commit_latency(),
        ..Default::default()
    });
    let hub = Arc::new(Hub::new(
        metrics.clone(),
        config.limits.socket_queue_bytes,
        config.limits.typing_expires,
    ));
    let (stop_hub, hub_stopped) = tokio::sync::oneshot::channel::<()>();
    let hub_task = tokio::spawn({
        let hub = hub.clone();
        let events = bus.subscribe();
        async move {
            tokio::select! {
                () = hub.run(events) => {}
                _ = hub_stopped => {}
            }
        }
    });
    let data_dir = store::data_dir(&config.database_url);
    let identity_secret =
        identity::load_or_create_secret(config.identity_secret.as_deref(), &store, &data_dir)
            .await
            .map_err(|err| {
                std::io::Error::other(format!(
                    "could not read or create the identity secret: {err}"
                ))
            })?;
    let require_verified = cluster::require_verified(config.require_verified, &store)
        .await
        .map_err(|err| std::io::Error::other(format!("could not read the settings: {err}")))?;
    let workspace = Arc::new(
        workspace::Workspace::load(&store, config.allowed_origins.clone())
            .await
            .map_err(|err| std::io::Error::other(format!("could not read the settings: {err}")))?,
    );
    let workflow = Arc::new(
        workflow::Workflow::load(&store)
            .await
            .map_err(|err| std::io::Error::other(format!("could not read the settings: {err}")))?,
    );
    tokio::spawn(workspace::run_clock(
        workspace.clone(),
        hub.clone(),
        hub.shutdown_signal(),
    ));
    let typing = Arc::new(Typing::new(config.limits.typing_expires));
    tokio::spawn(expire_typing(
        typing.clone(),
        bus.clone(),
        hub.shutdown_signal(),
    ));
    let assistant_enabled = cluster::assistant_enabled(&store).await.unwrap_or(true);
    let assistant_config = config.assistant.clone();
    let assistant = tokio::task::spawn_blocking(move || {
        assistant::Assistant::from_config(&assistant_config, assistant_enabled)
    })
    .await
    .map_err(|err| std::io::Error::other(format!("the assistant did not start: {err}")))?
    .map(Arc::new);
    let socket_budget = config
        .max_sockets
        .unwrap_or(usize::MAX)
        .min(fd_limit::socket_budget());
    let files = Arc::new(files::Files::configured(&config, &store));
    if let Some(schedule) = config.backup.clone() {
        let place = backup::Place::of(&config).map_err(|err| {
            std::io::Error::other(format!("MINICOM_BACKUP_DIR is set, but {err}"))
        })?;
        // Before the first scrape can come: the age reads infinite until the
        // first backup.
        metrics
            .backups_scheduled
            .store(true, std::sync::atomic::Ordering::Relaxed);
        tokio::spawn(backup::run_schedule(
            place,
            schedule,
            metrics.clone(),
            hub.shutdown_signal(),
        ));
    }
    tokio::spawn(files::run_sweeper(
        files.clone(),
        store.clone(),
        hub.shutdown_signal(),
    ));
    let api = Arc::new(api::Api::new(&config.limits));
    let webhooks = Arc::new(
        webhooks::Webhooks::load(config.webhooks.clone(), &store)
            .await
            .map_err(|err| std::io::Error::other(format!("could not read the webhooks: {err}")))?,
    );
    let state = AppState {
        store: store.clone(),
        hub: hub.clone(),
        bus,
        presence: presence.clone(),
        typing,
        sign_ins: Arc::new(sign_ins),
        new_visitors: Arc::new(new_visitors),
        identity_secret: Arc::new(identity_secret),
        require_verified: Arc::new(require_verified.into()),
        config: Arc::new(config),
        workspace,
        workflow,
        leptos,
        metrics,
        assistant,
        socket_budget,
        files,
        api,
        webhooks,
        mailer: Arc::default(),
        tasks: tokio_util::task::TaskTracker::new(),
    };
    tokio::spawn(
        presence
            .clone()
            .run_heartbeat(state.clone(), hub.shutdown_signal()),
    );
    tokio::spawn(cluster::run(
        state.clone(),
        state.bus.subscribe(),
        hub.shutdown_signal(),
    ));
    tokio::spawn(workflow::run_counts(state.clone(), hub.shutdown_signal()));
    tokio::spawn(webhooks::run(state.clone(), hub.shutdown_signal()));
    tokio::spawn(email::run(state.clone(), hub.shutdown_signal()));
    if let Some(days) = state.config.retention_days {
        tokio::spawn(erase::run_retention(
            state.clone(),
            days,
            hub.shutdown_signal(),
        ));
    }
    tokio::spawn(assistant::Assistant::run_take_overs(
        state.clone(),
        hub.shutdown_signal(),
    ));
    tokio::spawn(workflow::run_snooze_clock(
        state.clone(),
        hub.shutdown_signal(),
    ));
    let tasks = state.tasks.clone();
    let header_deadline = state.config.limits.header_deadline;
    let app = http::router(state);
    let stopping = {
        let hub = hub.clone();
        async move {
            shutdown.await;
            tracing::info!("shutting down: closing sockets and finishing writes");
            hub.begin_shutdown();
        }
    };
    // Chat frames are small and latency matters: no Nagle delay on any socket.
    let listener = fd_limit::Listener::new(listener).tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(%err, "could not disable Nagle's algorithm on a connection");
        }
    });
    ready();
    connections::serve(listener, app, header_deadline, stopping).await?;
    // The people here reconnect to other instances, which count them there.
    presence.leave(&hub).await;
    let deadline = tokio::time::Instant::now() + DRAIN;
    while hub.socket_count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Sends already read still commit and publish (the hub still delivers,
    // to sockets of other instances in a cluster).
    tasks.close();
    if tokio::time::timeout_at(deadline + DRAIN, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "shutdown: some committed messages were not published in time; clients will see them when they resume"
        );
    }
    let _ = stop_hub.send(());
    let _ = hub_task.await;
    store.close().await;
    Ok(())
}

/// A connection to Redis for `purpose`, or why there is none.
async fn redis_link(url: &str, purpose: &str) -> std::io::Result<bus::Link> {
    bus::Link::connect(url).await.map_err(|err| {
        std::io::Error::other(format!(
            "could not reach Redis at MINICOM_REDIS_URL for {purpose}: {err}"
        ))
    })
}

/// Announces the end of typing states nobody refreshed (a closed or crashed
/// tab), until the server stops.
async fn expire_typing(
    typing: Arc<Typing>,
    bus: Arc<dyn Bus>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut sweep = tokio::time::interval(typing::SWEEP);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = sweep.tick() => {}
            _ = async { let _ = shutdown.wait_for(|stopping| *stopping).await; } => return,
        }
        for stopped in typing.expired(tokio::time::Instant::now()) {
            let event = Event::Typing {
                contact_id: stopped.contact,
                conversation_id: stopped.conversation,
                person: stopped.person,
                typing: false,
            };
            if let Err(err) = bus.publish(event).await {
                tracing::error!(%err, "could not announce that typing stopped");
            }
        }
    }
}
