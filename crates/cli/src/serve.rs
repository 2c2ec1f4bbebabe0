//! `cairn serve --datadir <DIR>`: the JSON-RPC API (`qm_*`, `eth_*`,
//! `debug_executionWitness`) over a data directory written by `cairn replay --datadir`.

use crate::{Error, Result};
use cairn_exec::commit::{Node, node::GENESIS_FILE};
use cairn_rpc::{Limits, ServeConfig};
use std::{
    io::Write,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, RwLock},
};

/// Arguments of `cairn serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The data directory to serve (written by `cairn replay <CHAIN> --datadir <DIR>`).
    #[arg(long, env = "CAIRN_DATADIR")]
    pub datadir: PathBuf,
    /// Address to listen on for JSON-RPC over HTTP (port 0 picks a free port).
    #[arg(
        long = "http.addr",
        env = "CAIRN_HTTP_ADDR",
        default_value = "127.0.0.1:8545"
    )]
    pub http_addr: SocketAddr,
    /// Largest request body accepted, in bytes.
    #[arg(long = "http.max-request-size", default_value_t = Limits::default().max_request_body_size)]
    pub max_request_size: u32,
    /// Largest response body sent, in bytes (larger answers become an error).
    #[arg(long = "http.max-response-size", default_value_t = Limits::default().max_response_body_size)]
    pub max_response_size: u32,
    /// Open connections at once.
    #[arg(long = "http.max-connections", default_value_t = Limits::default().max_connections)]
    pub max_connections: u32,
}

/// Runs `cairn serve`: opens the data directory (re-executing its chain), serves until
/// SIGINT or SIGTERM, then stops cleanly.
///
/// # Errors
/// [`Error::NoDataDir`] when the directory holds no node; data-directory errors; the
/// address cannot be listened on.
pub fn run(args: ServeArgs) -> Result<()> {
    let dir = &args.datadir;
    if !dir.join(GENESIS_FILE).is_file() {
        return Err(Error::NoDataDir { path: dir.clone() });
    }
    let node = Node::open(dir, None)?;
    let head = node.head_number();
    tracing::info!(target: "cairn::serve", datadir = %dir.display(), head, "opened data directory");
    let config = ServeConfig {
        limits: Limits {
            max_request_body_size: args.max_request_size,
            max_response_body_size: args.max_response_size,
            max_connections: args.max_connections,
            ..Limits::default()
        },
        calls_dir: Some(dir.join("calls")),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Runtime { source })?;
    runtime.block_on(async move {
        // Handlers first: a signal that arrives once the address is printed must stop the
        // server cleanly, not kill the process.
        let shutdown = ShutdownSignal::install()?;
        let server = cairn_rpc::serve(args.http_addr, Arc::new(RwLock::new(node)), config).await?;
        tracing::info!(target: "cairn::serve", url = %server.url(), head, "listening");
        // One line on stdout, so scripts (and tests) learn the port when given port 0.
        let mut stdout = std::io::stdout();
        let printed = writeln!(stdout, "listening on {}", server.url());
        if let Err(e) = printed.and_then(|()| stdout.flush()) {
            tracing::warn!(target: "cairn::serve", error = %e, "cannot print the address");
        }
        shutdown.recv().await?;
        tracing::info!(target: "cairn::serve", "shutting down");
        server.stop();
        server.stopped().await;
        Ok(())
    })
}

/// SIGINT and SIGTERM, caught from the moment [`ShutdownSignal::install`] returns.
pub(crate) struct ShutdownSignal {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    pub(crate) fn install() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let install = |kind| signal(kind).map_err(|source| Error::Signal { source });
            Ok(Self {
                term: install(SignalKind::terminate())?,
                int: install(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Resolves on the first SIGINT or SIGTERM.
    pub(crate) async fn recv(mut self) -> Result<()> {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => {}
                _ = self.int.recv() => {}
            }
            Ok(())
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c()
                .await
                .map_err(|source| Error::Signal { source })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cli, Command};
    use clap::Parser;

    #[test]
    fn parses_with_defaults_and_typed_address() {
        let cli = Cli::try_parse_from([
            "cairn",
            "serve",
            "--datadir",
            "/d",
            "--http.addr",
            "127.0.0.1:0",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.http_addr, "127.0.0.1:0".parse().unwrap());
        assert_eq!(args.max_connections, Limits::default().max_connections);
        assert!(
            Cli::try_parse_from([
                "cairn",
                "serve",
                "--datadir",
                "/d",
                "--http.addr",
                "localhost"
            ])
            .is_err()
        );
    }

    #[test]
    fn a_missing_data_directory_is_one_error() {
        let dir = tempfile::tempdir().unwrap();
        let args = ServeArgs {
            datadir: dir.path().join("nope"),
            http_addr: "127.0.0.1:0".parse().unwrap(),
            max_request_size: 1,
            max_response_size: 1,
            max_connections: 1,
        };
        let e = run(args).unwrap_err();
        assert!(matches!(e, Error::NoDataDir { .. }), "{e}");
        assert!(!dir.path().join("nope").exists(), "serve creates nothing");
    }
}
