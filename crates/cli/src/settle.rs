//! `cairn settle` (settle proved batches on L1), `cairn settle bench`, and `cairn deploy`.

use crate::{Error, Result, out, outln};
use cairn_settle::{
    DeployConfig, Deployment, KeySource, L1, L1Options, RunOptions, SegDir, Settler, Step,
    bench::{self, SettleRow},
    dev::{DevOptions, dev_attesters, dev_chain_params, dev_node, run_dev},
    l1::{load_signer, read_password},
};
use std::{path::PathBuf, time::Duration};

/// The L1 endpoint and key.
#[derive(Debug, Clone, clap::Args)]
pub struct L1Args {
    /// L1 JSON-RPC endpoint (HTTP).
    #[arg(long = "rpc", env = "CAIRN_L1_RPC")]
    pub rpc: Option<String>,
    /// Ethereum v3 keystore (JSON) of the L1 account that sends the transactions.
    #[arg(long, env = "CAIRN_L1_KEYSTORE")]
    pub keystore: Option<PathBuf>,
    /// File whose first line is the keystore's password (otherwise the
    /// CAIRN_L1_KEYSTORE_PASSWORD environment variable).
    #[arg(long, env = "CAIRN_L1_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,
    /// The L1 account's private key, hex (instead of a keystore; prefer the environment
    /// variable to the flag, which other users can see).
    #[arg(long, env = "CAIRN_L1_PRIVATE_KEY", hide_env_values = true)]
    pub private_key: Option<String>,
    /// Blocks a receipt must be buried under before a transaction counts as done (1: the
    /// block holding it). Raise it on a real L1, where blocks can be reorganised.
    #[arg(long, env = "CAIRN_L1_CONFIRMATIONS", default_value_t = 1)]
    pub confirmations: u64,
    /// Deadline of one L1 RPC request, in seconds.
    #[arg(long = "rpc-timeout", default_value_t = 10)]
    pub rpc_timeout: u64,
    /// Attempts per L1 RPC request while the endpoint is down (with exponential backoff).
    #[arg(long = "rpc-attempts", default_value_t = 6)]
    pub rpc_attempts: u32,
}

impl L1Args {
    fn options(&self) -> L1Options {
        L1Options {
            confirmations: self.confirmations.max(1),
            rpc_timeout: Duration::from_secs(self.rpc_timeout.max(1)),
            rpc_attempts: self.rpc_attempts.max(1),
            ..L1Options::default()
        }
    }

    fn key(&self) -> Result<KeySource> {
        if let Some(path) = &self.keystore {
            let password = match &self.password_file {
                Some(file) => read_password(file)?,
                None => std::env::var("CAIRN_L1_KEYSTORE_PASSWORD")
                    .map(String::into_bytes)
                    .map_err(|_| cairn_settle::Error::Key {
                        reason: format!(
                            "keystore {} needs a password: --password-file or CAIRN_L1_KEYSTORE_PASSWORD",
                            path.display()
                        ),
                    })?,
            };
            return Ok(KeySource::Keystore {
                path: path.clone(),
                password,
            });
        }
        match &self.private_key {
            Some(key) => Ok(KeySource::PrivateKey(key.clone())),
            None => Err(cairn_settle::Error::Key {
                reason: "no L1 key: give --keystore (with a password) or CAIRN_L1_PRIVATE_KEY"
                    .into(),
            }
            .into()),
        }
    }

    async fn connect(&self, expected_chain: Option<u64>) -> Result<L1> {
        let rpc = self
            .rpc
            .as_deref()
            .ok_or_else(|| cairn_settle::Error::Config {
                path: PathBuf::from("--rpc"),
                reason: "no L1 RPC endpoint: give --rpc or CAIRN_L1_RPC".into(),
            })?;
        let signer = load_signer(&self.key()?)?;
        Ok(L1::connect(rpc, signer, expected_chain, self.options()).await?)
    }
}

/// Arguments of `cairn settle`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SettleArgs {
    /// `bench`: gas and latency figures.
    #[command(subcommand)]
    pub command: Option<SettleCommand>,
    /// The dev setup: start anvil, deploy the contracts (two attest signer sets as two
    /// required proof types), prove the embedded dev chain (or --datadir's) in batches with
    /// both dev attesters, settle every batch, print the figures, and exit. The dev keys are
    /// public: nothing they sign means anything outside a dev chain.
    #[arg(long)]
    pub dev: bool,
    /// With --dev: batches to settle.
    #[arg(long, default_value_t = 10, requires = "dev")]
    pub batches: u64,
    /// With --dev: blocks per batch.
    #[arg(long, default_value_t = 5, requires = "dev")]
    pub batch_blocks: u64,
    /// With --dev: the chain to settle (a `cairn replay --datadir` directory) instead of the
    /// embedded dev chain.
    #[arg(long, requires = "dev")]
    pub datadir: Option<PathBuf>,
    /// The deployment to settle on (the JSON `cairn deploy` prints).
    #[arg(long, env = "CAIRN_DEPLOYMENT", conflicts_with = "dev")]
    pub deployment: Option<PathBuf>,
    /// Follow the `.seg` files of this directory (with --dev: where they are written;
    /// default a temporary directory).
    #[arg(long, env = "CAIRN_SEG_DIR")]
    pub seg_dir: Option<PathBuf>,
    /// The settler's SQLite store (default: settle.db in the .seg directory).
    #[arg(long, env = "CAIRN_SETTLE_STORE")]
    pub store: Option<PathBuf>,
    /// Exit once no proof file continues the settled chain (instead of waiting for one).
    #[arg(long)]
    pub exit_when_idle: bool,
    /// Exit after settling this many batches.
    #[arg(long)]
    pub max_batches: Option<u64>,
    /// Seconds between looks at the .seg directory while waiting.
    #[arg(long, default_value_t = 2)]
    pub poll: u64,
    /// Exit with the error after this many consecutive failures of the L1 RPC (default: keep
    /// retrying).
    #[arg(long)]
    pub max_failures: Option<u64>,
    /// The L1.
    #[command(flatten)]
    pub l1: L1Args,
}

/// `cairn settle` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SettleCommand {
    /// On anvil: settle dev-chain batches (gas of commitBatch and verifyBatch, latency per
    /// batch), then the binding alone and a two-attest verifyBatch against tree size.
    Bench(BenchArgs),
}

/// Arguments of `cairn settle bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Dev-chain batches to settle.
    #[arg(long, default_value_t = 10)]
    pub batches: u64,
    /// Blocks per batch.
    #[arg(long, default_value_t = 5)]
    pub batch_blocks: u64,
    /// Tree sizes as powers of two (default 10,12,…,32).
    #[arg(long, value_delimiter = ',')]
    pub log2_sizes: Vec<u32>,
}

/// Arguments of `cairn deploy`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The deployment configuration (TOML: chain, proof types, signers; see `cairn_settle::deploy`).
    #[arg(long)]
    pub config: PathBuf,
    /// Also write the deployment JSON to this file (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The L1.
    #[command(flatten)]
    pub l1: L1Args,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            path: PathBuf::from("tokio runtime"),
            source,
        })
}

/// Runs `cairn deploy`: prints the deployment as JSON on stdout.
///
/// # Errors
/// Configuration, key, RPC and transaction errors (one line each).
pub fn run_deploy(args: DeployArgs) -> Result<()> {
    let config = DeployConfig::load(&args.config)?;
    let anchor = config.anchor()?;
    let deployment = runtime()?.block_on(async {
        let l1 = args.l1.connect(None).await?;
        Ok::<_, Error>(cairn_settle::deploy(&l1, &config, anchor).await?)
    })?;
    let json = deployment.to_json();
    if let Some(out) = &args.out {
        deployment.save(out)?;
    }
    outln!("{json}")?;
    Ok(())
}

/// Runs `cairn settle`.
///
/// # Errors
/// Configuration, key, store, RPC and transaction errors (one line each); a proof file the
/// rollup would reject.
pub fn run_settle(args: SettleArgs) -> Result<()> {
    if let Some(SettleCommand::Bench(bench_args)) = args.command {
        return run_bench(bench_args);
    }
    if args.dev {
        return run_settle_dev(&args);
    }
    let path = args
        .deployment
        .clone()
        .ok_or_else(|| cairn_settle::Error::Config {
            path: PathBuf::from("--deployment"),
            reason: "give --deployment (the JSON of cairn deploy), or --dev".into(),
        })?;
    let deployment = Deployment::load(&path)?;
    let seg_dir = args
        .seg_dir
        .clone()
        .ok_or_else(|| cairn_settle::Error::Config {
            path: PathBuf::from("--seg-dir"),
            reason: "give --seg-dir, the directory of .seg files to follow".into(),
        })?;
    let store = args
        .store
        .clone()
        .unwrap_or_else(|| seg_dir.join("settle.db"));
    let run = RunOptions {
        exit_when_idle: args.exit_when_idle,
        idle_poll: Duration::from_secs(args.poll.max(1)),
        max_batches: args.max_batches,
        max_transient_failures: args.max_failures,
    };
    runtime()?.block_on(async {
        let l1 = args.l1.connect(Some(deployment.l1_chain_id)).await?;
        let mut settler = Settler::new(l1, deployment, &store, SegDir::new(&seg_dir)?).await?;
        settler
            .run(&run, |step| {
                if let Step::Settled(s, cost) = step {
                    // A closed stdout does not stop settlement; the record says what settled.
                    let _ = outln!(
                        "settled batch {} (blocks {}..={}): commit {} gas, verify {} gas, {:.0} ms, tx {}",
                        s.batch,
                        s.first_block,
                        s.last_block,
                        cost.commit_gas,
                        cost.verify_gas,
                        cost.latency.as_secs_f64() * 1e3,
                        s.verify_tx
                    );
                }
            })
            .await?;
        Ok(())
    })
}

fn spawn_anvil() -> Result<cairn_devtools::Anvil> {
    cairn_devtools::Anvil::spawn(&[]).map_err(|e| cairn_settle::Error::from(e).into())
}

fn run_settle_dev(args: &SettleArgs) -> Result<()> {
    let tmp = tempfile::tempdir().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let seg_dir = args
        .seg_dir
        .clone()
        .unwrap_or_else(|| tmp.path().join("seg"));
    let store = args
        .store
        .clone()
        .unwrap_or_else(|| seg_dir.join("settle.db"));
    let anvil = spawn_anvil()?;
    tracing::info!(target: "cairn::settle", "anvil listening at {}", anvil.url());
    let opts = DevOptions {
        batches: args.batches,
        batch_blocks: args.batch_blocks,
        seg_dir: seg_dir.clone(),
        store,
        l1: L1Options {
            confirmations: 1,
            poll_interval: Duration::from_millis(50),
            ..L1Options::default()
        },
    };
    outln!(
        "{}",
        bench::settle_table(&[]).lines().next().unwrap_or_default()
    )?;
    let print_row = |row: &SettleRow| {
        let table = bench::settle_table(std::slice::from_ref(row));
        if let Some(line) = table.lines().nth(1) {
            let _ = outln!("{line}");
        }
    };
    let result = runtime()?.block_on(async {
        match &args.datadir {
            Some(dir) => {
                let node = cairn_exec::commit::Node::open(dir, None)?;
                Ok::<_, Error>(run_dev(&anvil.url(), &node, &opts, print_row).await?)
            }
            None => {
                // The embedded dev chain, as long as the batches need.
                let node = dev_node(cairn_exec::devchain::DevChainParams {
                    blocks: (args.batches * args.batch_blocks) as usize,
                    ..dev_chain_params()
                })?;
                Ok(run_dev(&anvil.url(), &node, &opts, print_row).await?)
            }
        }
    })?;
    let summary = bench::settle_table(&result.rows);
    if let Some(median) = summary.lines().last() {
        outln!("{median}")?;
    }
    outln!(
        "rollup {} on anvil chain {}",
        result.deployment.rollup,
        result.deployment.l1_chain_id
    )?;
    outln!(
        "settled through block {} (batch {}): state root {}, QMTree root {}",
        result.tip.last_block,
        result.tip.last_verified,
        result.tip.state_root,
        result.tip.qm_root
    )?;
    if result.tip.state_root != result.node_state_root || result.tip.qm_root != result.node_qm_root
    {
        return Err(cairn_settle::Error::RpcInconsistent {
            url: anvil.url(),
            what: format!(
                "the rollup holds state root {} and QMTree root {}, the node has {} and {}",
                result.tip.state_root,
                result.tip.qm_root,
                result.node_state_root,
                result.node_qm_root
            ),
        }
        .into());
    }
    outln!(
        "both match the node's roots at that block; .seg files in {}",
        seg_dir.display()
    )?;
    if args.seg_dir.is_none() {
        outln!("(a temporary directory, removed on exit: give --seg-dir to keep them)")?;
    }
    Ok(())
}

fn run_bench(args: BenchArgs) -> Result<()> {
    let tmp = tempfile::tempdir().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let anvil = spawn_anvil()?;
    let opts = DevOptions {
        batches: args.batches,
        batch_blocks: args.batch_blocks,
        seg_dir: tmp.path().join("seg"),
        store: tmp.path().join("settle.db"),
        l1: L1Options {
            confirmations: 1,
            poll_interval: Duration::from_millis(20),
            ..L1Options::default()
        },
    };
    let sizes: Vec<u64> = if args.log2_sizes.is_empty() {
        bench::default_sizes()
    } else {
        args.log2_sizes
            .iter()
            .filter(|k| (4..=62).contains(*k))
            .map(|k| 1u64 << k)
            .collect()
    };
    let params = cairn_exec::devchain::DevChainParams {
        blocks: (args.batches * args.batch_blocks) as usize,
        ..dev_chain_params()
    };
    let (run, sizes) = runtime()?.block_on(async {
        let node = dev_node(params)?;
        let run = run_dev(&anvil.url(), &node, &opts, |_| {}).await?;
        let l1 = cairn_settle::L1::connect(
            &anvil.url(),
            load_signer(&KeySource::PrivateKey(cairn_devtools::ANVIL_KEYS[1].into()))?,
            None,
            opts.l1.clone(),
        )
        .await?;
        let rows = bench::by_tree_size(&l1, &dev_attesters(), &sizes).await?;
        Ok::<_, Error>((run, rows))
    })?;
    outln!(
        "dev chain on anvil: {} batches of {} blocks, two attest proofs (two signer sets) each",
        args.batches,
        args.batch_blocks
    )?;
    out!("{}", bench::settle_table(&run.rows))?;
    outln!()?;
    outln!(
        "synthetic trees (10 blocks of 10 leaves at the end of the tree), binding alone and a two-attest batch:"
    )?;
    out!("{}", bench::size_table(&sizes))?;
    Ok(())
}
