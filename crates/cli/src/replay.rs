//! `cairn replay [CHAIN]`: every block generated a witness, imported, and validated from
//! the witness alone, with per-block figures.

use crate::{Error, Result, chain::ChainArgs};
use cairn_primitives::ProgramInput;
use std::path::PathBuf;

/// Arguments of `cairn replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The chain to replay.
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Also write a validation bundle per block (`block-<n>.json`, input of `cairn validate`).
    #[arg(long)]
    pub bundle_dir: Option<PathBuf>,
}

/// Runs `cairn replay`.
///
/// # Errors
/// The first block that fails, or a path disagreement, naming the block.
pub fn run(args: ReplayArgs) -> Result<()> {
    let file = args.chain.load()?;
    if let Some(dir) = &args.bundle_dir {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
    }
    println!(
        "{:>6} {:>4} {:>10} {:>6} {:>5} {:>9} {:>10} {:>10} {:>10} {:>9}",
        "block",
        "txs",
        "gas",
        "nodes",
        "codes",
        "witness",
        "generate",
        "execute",
        "validate",
        "Mgas/s"
    );
    let (mut gas, mut bytes, mut validate_s, mut blocks) = (0u64, 0usize, 0f64, 0usize);
    let mut bundle_error = None;
    let chain = cairn_exec::replay(&file, |row| {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        println!(
            "{:>6} {:>4} {:>10} {:>6} {:>5} {:>7.1}Ki {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>9.1}",
            row.number,
            row.transactions,
            row.gas_used,
            row.witness_nodes,
            row.witness_codes,
            row.witness_bytes as f64 / 1024.0,
            ms(row.witness_time),
            ms(row.execute_time),
            ms(row.validate_time),
            row.gas_used as f64 / row.validate_time.as_secs_f64().max(1e-9) / 1e6
        );
        gas += row.gas_used;
        bytes += row.witness_bytes;
        validate_s += row.validate_time.as_secs_f64();
        blocks += 1;
    })?;
    println!(
        "replayed {blocks} blocks, {gas} gas, {:.1} KiB of witnesses; stateless validation {:.1} ms in all ({:.1} Mgas/s); head {} state root {}",
        bytes as f64 / 1024.0,
        validate_s * 1e3,
        gas as f64 / validate_s.max(1e-9) / 1e6,
        chain.head_hash(),
        chain.head().state_root
    );
    if let Some(dir) = &args.bundle_dir {
        // Bundles are generated from the imported chain (every past state is kept).
        for index in 0..file.blocks.len() {
            let block = file.block(index)?;
            let number = block.header.number;
            let run = chain.witness(std::slice::from_ref(&block))?;
            let input = ProgramInput {
                chain: file.chain.clone(),
                blocks: vec![block],
                witness: run.witness,
            };
            let value = cairn_witness::json::input_to_json(
                &input,
                cairn_witness::json::WitnessFormat::Reth,
            )
            .map_err(|source| Error::Bundle {
                path: dir.clone(),
                source,
            })?;
            let path = dir.join(format!("block-{number}.json"));
            let text = serde_json::to_string(&value).map_err(|source| Error::Json { source })?;
            if let Err(source) = std::fs::write(&path, text) {
                bundle_error = Some(Error::Io { path, source });
                break;
            }
        }
        if let Some(e) = bundle_error {
            return Err(e);
        }
        println!("wrote {} bundles to {}", file.blocks.len(), dir.display());
    }
    Ok(())
}
