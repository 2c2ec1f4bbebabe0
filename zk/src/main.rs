//! `cairn-zk`: Halo2 proofs of historical Ethereum storage, verified natively and on an EVM.

use std::{path::PathBuf, process::ExitCode, time::Instant};

use alloy_primitives::{Address, B256, U256};
use cairn_zk::{
    Prover, StorageConfig, StorageProofFile, StorageWitness, ZkError, devchain, evm, rpc::Rpc,
};
use clap::{Args, Parser, Subcommand};

/// Halo2 (axiom-eth) proofs of Ethereum storage: prove, verify natively, generate and use
/// the EVM verifier.
///
/// KZG parameters: a ceremony file `kzg_bn254_<k>.srs` (k >= the circuit's) in the params
/// directory is used when present; otherwise INSECURE dev parameters are generated from a
/// public seed (anyone can forge proofs with them) and every command says so.
#[derive(Debug, Parser)]
#[command(name = "cairn-zk", version)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Common {
    /// Directory of KZG parameters (ceremony `kzg_bn254_<k>.srs`, or the cached insecure dev
    /// ones).
    #[arg(
        long,
        global = true,
        env = "CAIRN_ZK_PARAMS",
        default_value = "zk-data/params"
    )]
    params_dir: PathBuf,
    /// Directory where proving and verifying keys are cached (one folder per configuration).
    #[arg(
        long,
        global = true,
        env = "CAIRN_ZK_KEYS",
        default_value = "zk-data/keys"
    )]
    keys_dir: PathBuf,
    /// Circuit configuration: `dev` (proof depth 6, k = 16; dev chains, CI) or `mainnet`
    /// (account depth 14, storage depth 13, k = 17).
    #[arg(long, global = true, env = "CAIRN_ZK_CONFIG", default_value = "dev")]
    config: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Prove a statement.
    Prove {
        #[command(subcommand)]
        what: ProveWhat,
    },
    /// Verify a proof file natively (component proofs, their Keccak commitment, the
    /// aggregated proof and its pairing).
    Verify {
        /// The proof file.
        proof: PathBuf,
        /// Also verify the aggregated proof on this EVM node (deploys the verifier from its
        /// first unlocked account, e.g. anvil's).
        #[arg(long)]
        rpc: Option<String>,
    },
    /// Write the Solidity verifier: one file with the generated verifier(s) and the wrapper
    /// exposing `verify(uint256[] proof, uint256[] target_circuit_final_pair)`
    /// (`CairnZkStorageVerifier` for proof pairs, `CairnZkVerifier` with `--aggregated`).
    EvmVerifier {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// The verifier of aggregated proofs (`prove storage --aggregate`).
        #[arg(long)]
        aggregated: bool,
    },
    /// Fetch a storage witness (header and `eth_getProof`) and verify it natively.
    Witness {
        #[command(flatten)]
        query: Query,
        /// Output file (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Every circuit of the configuration from cold keys on the bundled reference witness:
    /// k, keygen, prove and verify time, proof size, peak memory; with a dev chain (anvil is
    /// started) the EVM verifier's size, deployment and verification gas.
    Bench {
        /// Skip the EVM figures (no anvil, no solc).
        #[arg(long)]
        no_evm: bool,
    },
    /// Start an anvil dev chain with a small storage contract and print a query to prove
    /// (block, address, slot) until Ctrl-C.
    Devchain,
}

#[derive(Debug, Subcommand)]
enum ProveWhat {
    /// Slot(s) of an account at a block: header hashed in-circuit, account proof into
    /// stateRoot, storage proof into storageRoot.
    Storage {
        #[command(flatten)]
        query: Query,
        /// Read the witness from this file (from `cairn-zk witness`) instead of a node.
        #[arg(long, conflicts_with_all = ["rpc", "datadir"])]
        witness: Option<PathBuf>,
        /// Output proof file.
        #[arg(long)]
        out: PathBuf,
        /// Also aggregate the two proofs into one (snark-verifier; slower, one EVM verifier).
        #[arg(long)]
        aggregate: bool,
    },
}

#[derive(Debug, Args)]
struct Query {
    /// JSON-RPC endpoint serving `eth_getProof` and `eth_getBlockByNumber`.
    #[arg(long, env = "CAIRN_ZK_RPC")]
    rpc: Option<String>,
    /// A Cairn data directory (`cairn replay --datadir`): serve it with `cairn serve
    /// --datadir D` and pass its address as `--rpc`.
    #[arg(long)]
    datadir: Option<PathBuf>,
    /// Block number (hex `0x..` or decimal).
    #[arg(long, value_parser = parse_quantity)]
    block: Option<u64>,
    /// Account address.
    #[arg(long)]
    address: Option<Address>,
    /// Storage slot (32-byte hex or a decimal/hex number); repeat for several.
    #[arg(long, value_parser = parse_slot)]
    slot: Vec<B256>,
}

fn parse_quantity(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).map_err(|e| e.to_string()),
        None => s
            .parse()
            .map_err(|e: std::num::ParseIntError| e.to_string()),
    }
}

fn parse_slot(s: &str) -> Result<B256, String> {
    if s.starts_with("0x") && s.len() == 66 {
        return s
            .parse()
            .map_err(|e: alloy_primitives::hex::FromHexError| e.to_string());
    }
    let n: U256 = s
        .parse()
        .map_err(|e: alloy_primitives::ruint::ParseError| e.to_string())?;
    Ok(B256::from(n))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cairn_zk::snark::install_panic_hook();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("cairn=info")),
        )
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn witness_of(query: &Query) -> Result<StorageWitness, ZkError> {
    if let Some(dir) = &query.datadir {
        return Err(ZkError::Rpc {
            url: dir.display().to_string(),
            method: "datadir",
            reason: "read a data directory through its node: run `cairn serve --datadir <D>` and pass --rpc http://127.0.0.1:8545".into(),
        });
    }
    let url = query.rpc.as_deref().ok_or_else(|| ZkError::Rpc {
        url: String::new(),
        method: "connect",
        reason: "give --rpc URL (or --witness FILE)".into(),
    })?;
    let missing = |what: &str| ZkError::Rpc {
        url: url.to_string(),
        method: "eth_getProof",
        reason: format!("--{what} is required"),
    };
    let block = query.block.ok_or_else(|| missing("block"))?;
    let address = query.address.ok_or_else(|| missing("address"))?;
    if query.slot.is_empty() {
        return Err(missing("slot"));
    }
    let rpc = Rpc::new(url)?;
    StorageWitness::fetch(&rpc, block, address, &query.slot)
}

fn run(cli: Cli) -> Result<(), ZkError> {
    let config = StorageConfig::preset(&cli.common.config).ok_or_else(|| ZkError::Key {
        path: cli.common.keys_dir.clone(),
        reason: format!(
            "unknown configuration {:?} (dev, mainnet)",
            cli.common.config
        ),
    })?;
    let mut prover = Prover::new(
        cli.common.params_dir.clone(),
        cli.common.keys_dir.clone(),
        config,
    );
    let started = Instant::now();
    match cli.command {
        Command::Prove {
            what:
                ProveWhat::Storage {
                    query,
                    witness,
                    out,
                    aggregate,
                },
        } => {
            let witness = match witness {
                Some(path) => StorageWitness::read(&path)?,
                None => witness_of(&query)?,
            };
            let file = prover.prove_storage(&witness, aggregate)?;
            file.write(&out)?;
            if file.params == "insecure-dev" {
                eprintln!(
                    "WARNING: proved with INSECURE dev KZG parameters (public seed): this proof convinces no one; use ceremony parameters for real use"
                );
            }
            print_timings(&prover, started);
            eprintln!(
                "proved block {} ({}) {} : {} slot(s) -> {}",
                file.claim.block_number,
                file.claim.block_hash,
                file.claim.address,
                file.claim.slots.len(),
                out.display()
            );
        }
        Command::Verify { proof, rpc } => {
            let file = StorageProofFile::read(&proof)?;
            prover.verify(&file)?;
            eprintln!(
                "native: valid ({} slot(s) of {} at block {})",
                file.claim.slots.len(),
                file.claim.address,
                file.claim.block_number
            );
            if let Some(url) = rpc {
                let rpc = Rpc::new(&url)?;
                let (deployed, outcome, _) = prover.verify_on_chain(&file, &rpc)?;
                if !outcome.accepted {
                    return Err(ZkError::Rejected {
                        circuit: "aggregation",
                        reason: format!(
                            "the EVM verifier at {} rejected the proof",
                            deployed.wrapper
                        ),
                    });
                }
                eprintln!(
                    "on chain: valid (verifier {} deployed for {} gas, verify {} gas)",
                    deployed.wrapper,
                    deployed.deploy_gas,
                    outcome.gas.unwrap_or_default()
                );
            }
            print_timings(&prover, started);
            println!("valid");
        }
        Command::EvmVerifier { out, aggregated } => {
            let sol = if aggregated {
                let sol = prover.evm_verifier()?;
                format!(
                    "{sol}\n{}",
                    evm::WRAPPER_SOL.replace(
                        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.19;\n",
                        ""
                    )
                )
            } else {
                prover.evm_verifier_components()?
            };
            std::fs::write(&out, &sol).map_err(|source| ZkError::Io {
                path: out.clone(),
                source,
            })?;
            print_timings(&prover, started);
            eprintln!(
                "wrote {} (compile with solc, optimizer off, no viaIR)",
                out.display()
            );
        }
        Command::Witness { query, out } => {
            let witness = witness_of(&query)?;
            let claim = witness.verify(prover.config().limits)?;
            let text = serde_json::to_string_pretty(&witness).expect("witness serializes");
            std::fs::write(&out, text).map_err(|source| ZkError::Io {
                path: out.clone(),
                source,
            })?;
            eprintln!(
                "verified natively: {} slot(s) of {} at block {} -> {}",
                claim.slots.len(),
                claim.address,
                claim.block_number,
                out.display()
            );
        }
        Command::Bench { no_evm } => {
            let chain = if no_evm {
                None
            } else {
                Some(devchain::DevChain::start()?)
            };
            let (rows, evm_row) = cairn_zk::bench::run(
                &cli.common.params_dir,
                prover.config(),
                chain.as_ref().map(|c| &c.rpc),
            )?;
            print!("{}", cairn_zk::bench::table(&rows, evm_row.as_ref()));
            eprintln!(
                "bench with INSECURE dev parameters unless a ceremony file is in the params dir; peak MiB is per phase (VmHWM)"
            );
        }
        Command::Devchain => {
            let chain = devchain::DevChain::start()?;
            println!("rpc {}", chain.url());
            println!(
                "prove: cairn-zk prove storage --rpc {} --block {} --address {} --slot 0 --out proof.json",
                chain.url(),
                chain.block,
                chain.contract
            );
            eprintln!("anvil runs until Ctrl-C");
            loop {
                std::thread::park();
            }
        }
    }
    Ok(())
}

fn print_timings(prover: &Prover, started: Instant) {
    for (phase, took) in &prover.timings.phases {
        eprintln!("  {phase:<44} {:>9.2} s", took.as_secs_f64());
    }
    eprintln!(
        "  {:<44} {:>9.2} s   (peak RSS {} MiB)",
        "total",
        started.elapsed().as_secs_f64(),
        cairn_zk::peak_rss_mib()
    );
}
