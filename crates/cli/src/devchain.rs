//! `cairn devchain`: generate the deterministic development chain.

use crate::{Result, outln};
use cairn_exec::devchain::{DevChainParams, generate};
use std::path::PathBuf;

/// Arguments of `cairn devchain`.
#[derive(Debug, clap::Args)]
pub struct DevchainArgs {
    /// Where to write the chain file.
    #[arg(long)]
    pub out: PathBuf,
    /// RNG seed (the same seed gives the same chain, byte for byte).
    #[arg(long, default_value_t = DevChainParams::default().seed)]
    pub seed: u64,
    /// Blocks after genesis.
    #[arg(long, default_value_t = DevChainParams::default().blocks)]
    pub blocks: usize,
    /// Random transactions per block (besides scripted deployments and delegations).
    #[arg(long, default_value_t = DevChainParams::default().txs_per_block)]
    pub txs: usize,
}

/// Runs `cairn devchain`.
///
/// # Errors
/// File errors naming the path.
pub fn run(args: DevchainArgs) -> Result<()> {
    let file = generate(DevChainParams {
        seed: args.seed,
        blocks: args.blocks,
        txs_per_block: args.txs,
    })?;
    file.save(&args.out)?;
    let size = std::fs::metadata(&args.out)
        .map(|m| m.len())
        .unwrap_or_default();
    outln!(
        "wrote {} blocks ({size} bytes) to {}",
        file.blocks.len(),
        args.out.display()
    )?;
    Ok(())
}
