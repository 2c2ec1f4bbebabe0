//! `cairn serve --datadir <DIR>`: the JSON-RPC API (`qm_*`, `eth_*`,
//! `debug_executionWitness`) over a data directory written by `cairn replay --datadir`.

use crate::{Error, Result};
use cairn_exec::commit::{Node, node::GENESIS_FILE};
use cairn_rpc::{Limits, ServeConfig};
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, RwLock},
    time::Duration,
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
    /// What one request, and all requests together, may cost the server.
    #[command(flatten)]
    pub limits: RpcLimitArgs,
    /// Which witness `debug_executionWitness` answers with.
    #[arg(long, env = "CAIRN_WITNESS", value_enum, default_value_t = crate::chain::WitnessChoice::Complete)]
    pub witness: crate::chain::WitnessChoice,
}

/// The server's bounds (`cairn_rpc::Limits`), with reth's flag names where reth has the
/// same bound. Sizes are in MiB, as reth's.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Limits")]
pub struct RpcLimitArgs {
    /// Largest request body, in MiB; a larger one gets HTTP 413.
    #[arg(
        long = "rpc.max-request-size",
        env = "CAIRN_RPC_MAX_REQUEST_SIZE",
        value_name = "MIB",
        value_parser = clap::value_parser!(u32).range(1..4096),
        default_value_t = Limits::default().max_request_body_size / Limits::MIB
    )]
    pub max_request_size: u32,
    /// Largest answer to one request (a whole batch included), in MiB; a larger one becomes
    /// an error.
    #[arg(
        long = "rpc.max-response-size",
        env = "CAIRN_RPC_MAX_RESPONSE_SIZE",
        value_name = "MIB",
        value_parser = clap::value_parser!(u32).range(1..4096),
        default_value_t = Limits::default().max_response_body_size / Limits::MIB
    )]
    pub max_response_size: u32,
    /// Answers held in memory at once, across all clients, in MiB; an answer that would go
    /// over gets "server busy" (-32005) instead, so memory stays bounded under any load.
    #[arg(
        long = "rpc.max-total-response-size",
        env = "CAIRN_RPC_MAX_TOTAL_RESPONSE_SIZE",
        value_name = "MIB",
        value_parser = clap::value_parser!(u64).range(1..),
        default_value_t = (Limits::default().max_total_response_size / Limits::MIB as usize) as u64
    )]
    pub max_total_response_size: u64,
    /// Open connections at once, and requests in flight at once (HTTP/2 carries several per
    /// connection); more get HTTP 429.
    #[arg(
        long = "rpc.max-connections",
        env = "CAIRN_RPC_MAX_CONNECTIONS",
        value_name = "COUNT",
        default_value_t = Limits::default().max_connections
    )]
    pub max_connections: u32,
    /// Requests in one batch; a larger batch is refused.
    #[arg(
        long = "rpc.max-batch-size",
        env = "CAIRN_RPC_MAX_BATCH_SIZE",
        value_name = "COUNT",
        default_value_t = Limits::default().max_batch_len
    )]
    pub max_batch_size: u32,
    /// Storage keys in one eth_getProof.
    #[arg(
        long = "rpc.max-proof-keys",
        env = "CAIRN_RPC_MAX_PROOF_KEYS",
        value_name = "COUNT",
        default_value_t = Limits::default().max_storage_keys
    )]
    pub max_proof_keys: usize,
    /// Requests reading the node (proofs, blocks, leaves, witnesses) running at once; the
    /// others wait, within their time budget.
    #[arg(
        long = "rpc.max-read-requests",
        env = "CAIRN_RPC_MAX_READ_REQUESTS",
        value_name = "COUNT",
        default_value_t = Limits::default().max_concurrent_work
    )]
    pub max_read_requests: usize,
    /// Calls (qm_call, and qm_verifyProof of a call proof) running at once, in a pool of
    /// their own so that calls cannot starve the other methods.
    #[arg(
        long = "rpc.max-tracing-requests",
        env = "CAIRN_RPC_MAX_TRACING_REQUESTS",
        value_name = "COUNT",
        default_value_t = Limits::default().max_concurrent_calls
    )]
    pub max_tracing_requests: usize,
    /// Highest gas a call runs with (qm_call asking for more runs with this much).
    #[arg(
        long = "rpc.gascap",
        env = "CAIRN_RPC_GASCAP",
        value_name = "GAS",
        value_parser = clap::value_parser!(u64).range(1..),
        default_value_t = Limits::default().gas_cap
    )]
    pub gas_cap: u64,
    /// Wall-clock budget of one call's execution (e.g. `5s`, `500ms`); past it the EVM stops
    /// and the call gets -32005.
    #[arg(
        long = "rpc.evm-timeout",
        visible_alias = "rpc.evmtimeout",
        env = "CAIRN_RPC_EVM_TIMEOUT",
        value_name = "DURATION",
        default_value_t = DurationArg(Limits::default().evm_timeout)
    )]
    pub evm_timeout: DurationArg,
    /// Time budget of one request (a batch is one request), waiting included; past it the
    /// calls not yet answered get -32005.
    #[arg(
        long = "rpc.request-timeout",
        env = "CAIRN_RPC_REQUEST_TIMEOUT",
        value_name = "DURATION",
        default_value_t = DurationArg(Limits::default().request_timeout)
    )]
    pub request_timeout: DurationArg,
    /// qm_call proofs kept for qm_callProof in DATADIR/calls (the oldest go first).
    #[arg(
        long = "rpc.max-stored-calls",
        env = "CAIRN_RPC_MAX_STORED_CALLS",
        value_name = "COUNT",
        default_value_t = Limits::default().max_stored_calls
    )]
    pub max_stored_calls: usize,
    /// MiB of qm_call proofs kept (the oldest go first).
    #[arg(
        long = "rpc.max-stored-calls-size",
        env = "CAIRN_RPC_MAX_STORED_CALLS_SIZE",
        value_name = "MIB",
        default_value_t = Limits::default().max_stored_call_bytes / u64::from(Limits::MIB)
    )]
    pub max_stored_calls_size: u64,
}

impl RpcLimitArgs {
    /// The limits these flags set.
    pub fn limits(&self) -> Limits {
        let mib = u64::from(Limits::MIB);
        Limits {
            max_request_body_size: self.max_request_size.saturating_mul(Limits::MIB),
            max_response_body_size: self.max_response_size.saturating_mul(Limits::MIB),
            max_total_response_size: usize::try_from(
                self.max_total_response_size.saturating_mul(mib),
            )
            .unwrap_or(usize::MAX),
            max_connections: self.max_connections,
            max_batch_len: self.max_batch_size,
            max_storage_keys: self.max_proof_keys,
            max_concurrent_work: self.max_read_requests,
            max_concurrent_calls: self.max_tracing_requests,
            gas_cap: self.gas_cap,
            evm_timeout: self.evm_timeout.0,
            request_timeout: self.request_timeout.0,
            max_stored_calls: self.max_stored_calls,
            max_stored_call_bytes: self.max_stored_calls_size.saturating_mul(mib),
        }
    }
}

/// A duration flag: `30s`, `500ms`, `2m`, or plain seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationArg(pub Duration);

impl std::str::FromStr for DurationArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
            Some(at) => s.split_at(at),
            None => (s, "s"),
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("{s:?} is not a duration: give e.g. 30s, 500ms or 2m"))?;
        let d = match unit.trim() {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            other => return Err(format!("unknown unit {other:?} in {s:?}: use ms, s or m")),
        };
        if d.is_zero() {
            return Err("a zero duration would refuse everything".into());
        }
        Ok(Self(d))
    }
}

impl std::fmt::Display for DurationArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0.as_millis();
        if ms.is_multiple_of(1000) {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
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
        limits: args.limits.limits(),
        calls_dir: Some(dir.join("calls")),
        witness: args.witness.into(),
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
        let printed = crate::outln!("listening on {}", server.url()).and_then(|()| {
            std::io::Write::flush(&mut crate::output::Stdout).map_err(crate::output::stdout_error)
        });
        if let Err(e) = printed {
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
        assert_eq!(
            args.limits.limits(),
            Limits::default(),
            "the flags' defaults are the library's"
        );
        let cli = Cli::try_parse_from([
            "cairn",
            "serve",
            "--datadir",
            "/d",
            "--rpc.max-request-size",
            "2",
            "--rpc.evmtimeout",
            "250ms",
            "--rpc.request-timeout",
            "2m",
            "--rpc.gascap",
            "1000000",
            "--rpc.max-batch-size",
            "8",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let limits = args.limits.limits();
        assert_eq!(limits.max_request_body_size, 2 << 20);
        assert_eq!(limits.evm_timeout, Duration::from_millis(250));
        assert_eq!(limits.request_timeout, Duration::from_secs(120));
        assert_eq!((limits.gas_cap, limits.max_batch_len), (1_000_000, 8));
        for bad in [
            ["--rpc.max-request-size", "0"],
            ["--rpc.max-request-size", "4096"],
            ["--rpc.request-timeout", "0s"],
            ["--rpc.request-timeout", "5h"],
            ["--rpc.gascap", "0"],
        ] {
            let mut argv = vec!["cairn", "serve", "--datadir", "/d"];
            argv.extend(bad);
            assert!(Cli::try_parse_from(argv).is_err(), "{bad:?}");
        }
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
        let nope = dir.path().join("nope");
        let cli =
            Cli::try_parse_from(["cairn", "serve", "--datadir", nope.to_str().unwrap()]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let e = run(args).unwrap_err();
        assert!(matches!(e, Error::NoDataDir { .. }), "{e}");
        assert!(!dir.path().join("nope").exists(), "serve creates nothing");
    }
}
