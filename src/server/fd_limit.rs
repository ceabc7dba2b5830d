//! The open-file limit: every socket is a file descriptor.
//!
//! At start the server raises its soft limit to the hard limit (the most an
//! unprivileged process may have), and keeps a reserve below it for the
//! database, pages and sign-ins: past the budget, new sockets are refused with
//! a close reason instead of failing to accept.

/// Descriptors kept free for everything that is not a WebSocket: the database
/// and its journal, page and asset requests, sign-ins, the listener.
pub const RESERVE: u64 = 256;

/// The soft and hard limits on open files, where the platform has them.
#[cfg(unix)]
pub fn current() -> Option<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into the struct we pass.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    // `rlim_t` is u64 on Linux but not on every Unix.
    #[allow(clippy::unnecessary_cast)]
    let limits = (limit.rlim_cur as u64, limit.rlim_max as u64);
    ok.then_some(limits)
}

#[cfg(not(unix))]
pub fn current() -> Option<(u64, u64)> {
    None
}

/// Raises the soft limit to the hard limit. Returns `(before, after, hard)`.
#[cfg(unix)]
pub fn raise() -> std::io::Result<(u64, u64, u64)> {
    let (soft, hard) = current().ok_or_else(std::io::Error::last_os_error)?;
    if soft >= hard {
        return Ok((soft, soft, hard));
    }
    let limit = libc::rlimit {
        rlim_cur: hard as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: setrlimit only reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((soft, hard, hard))
}

#[cfg(not(unix))]
pub fn raise() -> std::io::Result<(u64, u64, u64)> {
    Err(std::io::Error::other("no open-file limit on this platform"))
}

/// How many WebSockets fit under the current soft limit.
pub fn socket_budget() -> usize {
    current().map_or(usize::MAX, |(soft, _)| {
        soft.saturating_sub(RESERVE).max(1) as usize
    })
}

/// Whether an accept failed because this process (or the system) has no file
/// descriptor left.
pub fn is_out_of_files(err: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
    }
    #[cfg(not(unix))]
    {
        let _ = err;
        false
    }
}

/// The server's listener: like axum's, but when the process runs out of file
/// descriptors it says so plainly (once every 10 s, not once per attempt) and
/// retries after 50 ms, instead of stalling every accept for a second.
pub struct Listener {
    inner: tokio::net::TcpListener,
    last_warning: Option<std::time::Instant>,
}

impl Listener {
    pub fn new(inner: tokio::net::TcpListener) -> Self {
        Self {
            inner,
            last_warning: None,
        }
    }
}

impl axum::serve::Listener for Listener {
    type Io = tokio::net::TcpStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let err = match self.inner.accept().await {
                Ok(accepted) => return accepted,
                Err(err) => err,
            };
            if is_out_of_files(&err) {
                let due = self
                    .last_warning
                    .is_none_or(|at| at.elapsed() > std::time::Duration::from_secs(10));
                if due {
                    self.last_warning = Some(std::time::Instant::now());
                    tracing::error!(
                        limit = ?current(),
                        "out of file descriptors: new connections wait until some close; \
                         raise the open-file limit (ulimit -n) or lower MINICOM_MAX_SOCKETS"
                    );
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            } else if !matches!(
                err.kind(),
                std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
            ) {
                tracing::warn!(%err, "could not accept a connection");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}
