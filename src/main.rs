//! The Minicom server: config → store → first admin → router → serve, with a
//! graceful shutdown on Ctrl-C or SIGTERM.

use anyhow::Context;
use leptos::config::get_configuration;
use minicom::server::{self, config::Config, store::Store};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "agent") {
        // Team management from the command line; the environment picks the
        // database as for the server.
        let config = Config::load(Vec::new())?.context("unexpected --help")?;
        let store = Store::open_with(&config.database_url, config.durability)
            .await
            .with_context(|| format!("could not open the database at {}", config.database_url))?;
        let result = server::cli::agent_command(&store, &args[1..]).await;
        store.close().await;
        return result;
    }
    if args.first().is_some_and(|a| a == "contact") {
        let config = Config::load(Vec::new())?.context("unexpected --help")?;
        return server::erase::command(&config, &args[1..]).await;
    }
    if args
        .first()
        .is_some_and(|a| a == "backup" || a == "restore")
    {
        let config = Config::load(Vec::new())?.context("unexpected --help")?;
        // Warnings (files not restored, a file system that cannot lock) on stderr.
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
            .init();
        return server::backup::command(&config, &args).await;
    }
    let Some(config) = Config::load(args)? else {
        print!("{}", server::config::HELP);
        return Ok(());
    };
    // Before anything is opened: a deployment that cannot work as set up is
    // refused with what to change.
    config.check_instances(server::store::Engine::of(&config.database_url)?)?;
    // Logs go to stderr; stdout carries only the start-up banner.
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .context("MINICOM_LOG is not a valid log filter (try `info`)")?;
    if config.log_json {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init();
    }
    // Every socket is a file: take all the unprivileged limit allows.
    match server::fd_limit::raise() {
        Ok((before, after, hard)) => tracing::info!(
            soft_before = before,
            soft = after,
            hard,
            sockets = server::fd_limit::socket_budget(),
            "open-file limit"
        ),
        Err(err) => tracing::warn!(
            %err,
            "could not raise the open-file limit; fewer sockets fit (see `ulimit -n`)"
        ),
    }

    let mut leptos = get_configuration(Some("Leptos.toml"))
        .context("could not read Leptos.toml; run minicom from the project folder")?
        .leptos_options;
    leptos.site_addr = config.addr;

    // Bound before the first admin is made: a busy port must not swallow
    // the one-time password.
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| {
            format!(
                "could not listen on {} (is another server running there?)",
                config.addr
            )
        })?;
    let store = Store::open_with(&config.database_url, config.durability)
        .await
        .with_context(|| format!("could not open the database at {}", config.database_url))?;
    let admin = std::sync::Arc::new(std::sync::Mutex::new(
        server::ensure_admin(&store, &config).await?,
    ));
    let addr = config.addr;
    // Printed once everything has started, so the first admin's one-time
    // password is the last thing on the screen.
    let ready = {
        let admin = admin.clone();
        move || {
            tracing::info!("Minicom is serving http://{addr}");
            println!(
                "Minicom is running: messenger demo http://{addr}/ · inbox http://{addr}/inbox"
            );
            print_first_admin(&admin);
        }
    };
    let served =
        server::serve_announced(config, store, leptos, listener, shutdown_signal(), ready).await;
    // Start-up failed after the admin was made: the password is shown anyway
    // (it exists nowhere else).
    print_first_admin(&admin);
    served?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Prints the first admin's login, once: the password is taken out.
fn print_first_admin(admin: &std::sync::Mutex<Option<server::NewAdmin>>) {
    let Some(admin) = admin.lock().ok().and_then(|mut a| a.take()) else {
        return;
    };
    let line = "=".repeat(64);
    println!("{line}");
    println!("  First start: created the admin account");
    println!("    email:    {}", admin.email);
    match &admin.generated_password {
        Some(password) => {
            println!("    password: {password}");
            println!("  This password is shown only once. Sign in at /inbox.");
        }
        None => println!("    password: (from MINICOM_ADMIN_PASSWORD)"),
    }
    println!("{line}");
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
