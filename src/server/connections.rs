//! Accepting HTTP connections, with deadlines a slow client cannot stretch.
//!
//! `axum::serve` reads request headers for as long as a client cares to
//! dribble them, so a slow-loris holds sockets forever. This loop is the same
//! thing with hyper's header-read deadline switched on: a request's headers
//! must arrive within the deadline (`Limits::header_deadline`), or the
//! connection is closed. (A
//! WebSocket that stops reading is the socket writer's business: see
//! `ws`.) Graceful shutdown as in axum: stop accepting, let each
//! connection finish its request, then return.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::watch;
use tower::ServiceExt;

/// Serves `app` on `listener` until `shutdown` resolves, then waits for the
/// open connections to finish their requests (upgraded WebSockets close
/// themselves: the hub tells them).
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    header_deadline: Duration,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    let (stop_tx, stop_rx) = watch::channel(false);
    let (open_tx, open_rx) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let (io, remote) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let mut stopping = stop_rx.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let service = tower::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(remote));
                app.clone().oneshot(request)
            });
            // HTTP/1.1 only (WebSockets upgrade from it): its header deadline
            // runs from the moment the connection is accepted, so a client
            // that sends nothing at all is cut off too.
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_deadline)
                .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = crate::server::ws::stopping(&mut stopping) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(open);
        });
    }
    drop(listener);
    stop_tx.send_replace(true);
    drop(open_rx);
    // Every connection task holds a receiver; closed() resolves when all are gone.
    open_tx.closed().await;
    Ok(())
}
