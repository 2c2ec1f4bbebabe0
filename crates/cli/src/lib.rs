//! The `cairn` command line: one clap [`Args`](clap::Args) type per
//! concern, and the code each command runs. `bin/cairn` only parses,
//! installs a tracing subscriber and maps [`Error`] to an exit code.
//!
//! Commands read their inputs through [`input`] (whole, within `--max-input-size`, `-` for
//! stdin) and print through [`output`] (a closed stdout ends the output quietly, not the
//! program).
//!
//! ```
//! use cairn_cli::{Cli, Command};
//! use clap::Parser;
//!
//! let cli = Cli::try_parse_from(["cairn", "qmtree", "inspect", "/var/lib/cairn/qmtree"])?;
//! assert!(matches!(cli.command, Command::Qmtree(_)));
//! # Ok::<(), clap::Error>(())
//! ```

#![cfg_attr(not(test), warn(unused_crate_dependencies))]
// Everything printed goes through `output` (`out!`, `outln!`), which handles a closed pipe.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod output;

pub mod bench;
pub mod chain;
pub mod conformance;
pub mod devchain;
mod error;
pub mod input;
pub mod prover;
pub mod qmtree;
pub mod query;
pub mod remote;
pub mod replay;
pub mod serve;
pub mod settle;
pub mod validate;

pub use error::{Error, Result};

/// `cairn`: prove Ethereum execution.
#[derive(Debug, clap::Parser)]
#[command(name = "cairn", version, about = "Cairn: prove Ethereum execution", long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Replay a chain (default: the embedded dev chain): per block, generate the witness from
    /// the full state, import the block, validate it statelessly from the witness alone.
    Replay(replay::ReplayArgs),
    /// Validate a block (or batch) from its witness: `cairn validate <bundle.json>`.
    Validate(validate::ValidateArgs),
    /// Run the official fixtures through both paths and report pass/fail/skip per folder.
    Conformance(conformance::ConformanceArgs),
    /// Measure stateless validation against bare execution on the same blocks.
    Bench(bench::BenchArgs),
    /// Generate the deterministic development chain.
    Devchain(devchain::DevchainArgs),
    /// The QMTree, the append-only execution commitment tree: bench, inspect a store, verify proofs.
    Qmtree(qmtree::Args),
    /// Serve the JSON-RPC API (`qm_*`, `eth_*`, `cairn_*`, `debug_executionWitness`) over a
    /// data directory written by `cairn replay --datadir`, until SIGINT or SIGTERM.
    Serve(serve::ServeArgs),
    /// Prove blocks A..B of a data directory with one or more backends and write a `.seg`
    /// proof file (public values, QMTree binding, proofs).
    Prove(prover::ProveArgs),
    /// Verify a `.seg` file: binding, every proof, and the multi-proof policy.
    Verify(prover::VerifyArgs),
    /// Proof files: `cairn seg inspect F.seg`.
    Seg(prover::SegArgs),
    /// Serve a backend over eth-act/ere's zkVM server interface (twirp), until SIGINT or
    /// SIGTERM.
    ProverServer(prover::ProverServerArgs),
    /// The attest backend's key: `cairn attest keygen --keystore F`.
    Attest(prover::AttestCmdArgs),
    /// Settle proved batches on L1: follow a directory of .seg files, check each batch against
    /// the multi-proof policy, then commitBatch and verifyBatch on the rollup, in order,
    /// restart-safe. `--dev` runs it all on anvil; `cairn settle bench` prints the figures.
    Settle(settle::SettleArgs),
    /// Deploy the rollup and its verifiers to an L1 from a configuration file; prints the
    /// addresses as JSON (the input of `cairn settle --deployment`).
    Deploy(settle::DeployArgs),
    /// Prove historical data (a header, account, storage slot, Solidity mapping entry,
    /// transaction, receipt or log field at a block) from a data directory or a JSON-RPC
    /// node; verify proofs; build the block-hash MMR of a node's chain.
    Query(query::QueryArgs),
}

impl Cli {
    /// Runs the parsed command.
    ///
    /// # Errors
    /// Whatever the command reports; each is one line when displayed.
    pub fn run(self) -> Result<()> {
        match self.command {
            Command::Replay(args) => replay::run(args),
            Command::Validate(args) => validate::run(args),
            Command::Conformance(args) => conformance::run(args),
            Command::Bench(args) => bench::run(args),
            Command::Devchain(args) => devchain::run(args),
            Command::Qmtree(args) => qmtree::run(args),
            Command::Serve(args) => serve::run(args),
            Command::Prove(args) => prover::run_prove(args),
            Command::Verify(args) => prover::run_verify(args),
            Command::Seg(args) => prover::run_seg(args),
            Command::ProverServer(args) => prover::run_prover_server(args),
            Command::Attest(args) => prover::run_attest(args),
            Command::Settle(args) => settle::run_settle(args),
            Command::Deploy(args) => settle::run_deploy(args),
            Command::Query(args) => query::run(args),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn qmtree_commands_parse() {
        use clap::Parser;
        let cli = Cli::try_parse_from([
            "cairn", "qmtree", "bench", "--leaves", "10", "--json", "x.json",
        ])
        .unwrap();
        let Command::Qmtree(qmtree::Args {
            command: qmtree::QmtreeCommand::Bench(b),
        }) = cli.command
        else {
            panic!("not bench")
        };
        assert_eq!((b.leaves, b.block_size), (10, 200));
        assert!(
            Cli::try_parse_from(["cairn", "qmtree", "verify-proof", "p.bin"]).is_err(),
            "--root is required"
        );
    }
}
