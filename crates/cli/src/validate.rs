//! `cairn validate <bundle.json>`: validate a block (or batch) from its witness alone.

use crate::{Error, Result, input::InputArgs, outln};
use cairn_stateless::{WitnessRules, index_witness, validate_indexed_with};
use std::{path::PathBuf, time::Instant};

/// Arguments of `cairn validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The bundle: `{"chain": <config> | "mainnet", "blocks": ["0x<block rlp>", ..],
    /// "witness": <reth, geth or EEST witness JSON>}`, or `-` to read it from stdin.
    /// `cairn replay --bundle-dir` writes such bundles.
    pub bundle: PathBuf,
    /// Print the program output as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Input size limit.
    #[command(flatten)]
    pub input: InputArgs,
    /// Reject a witness that only Cairn could use: the code of every account that existed
    /// before the batch must be in the witness's codes (code deployed in the batch with the
    /// same hash does not count), and each block's updates are applied in sorted key order
    /// (as reth does), so a missing collapse sibling is an error.
    #[arg(long)]
    pub strict_witness: bool,
}

/// Runs `cairn validate`.
///
/// # Errors
/// [`Error::Bundle`] for malformed input, [`Error::Invalid`] for a block that fails
/// validation (the message names the block and the check).
pub fn run(args: ValidateArgs) -> Result<()> {
    let started = Instant::now();
    let text = args.input.read_text(&args.bundle)?;
    let input = cairn_witness::json::input_from_json(&text).map_err(|source| Error::Bundle {
        path: args.bundle.clone(),
        source,
    })?;
    let parsed = started.elapsed();

    let started = Instant::now();
    let maps = index_witness(&input)?;
    let indexed = started.elapsed();
    let started = Instant::now();
    let rules = if args.strict_witness {
        WitnessRules::STRICT
    } else {
        WitnessRules::CAIRN
    };
    let validated = validate_indexed_with(&input, maps, rules)?;
    let executed = started.elapsed();

    let out = validated.output;
    if args.json {
        crate::output::print_json(&out)?;
        return Ok(());
    }
    let txs: usize = validated.blocks.iter().map(|b| b.transactions).sum();
    let first = validated.blocks.first().map_or(0, |b| b.number);
    let mgas = out.total_gas_used as f64 / executed.as_secs_f64().max(1e-9) / 1e6;
    let w = &input.witness;
    outln!(
        "valid{}: blocks {first}..={} ({} blocks, {txs} txs, {} gas) on chain {}",
        if args.strict_witness {
            " (strict witness)"
        } else {
            ""
        },
        out.last_block_number,
        validated.blocks.len(),
        out.total_gas_used,
        out.chain_id
    )?;
    outln!("  pre-state root   {}", out.initial_state_root)?;
    outln!("  post-state root  {}", out.final_state_root)?;
    outln!("  last block hash  {}", out.last_block_hash)?;
    outln!(
        "  witness          {} nodes, {} codes, {} headers, {} bytes",
        w.state.len(),
        w.codes.len(),
        w.headers.len(),
        w.byte_size()
    )?;
    outln!(
        "  timings          parse {:.2} ms, index {:.2} ms, execute+verify {:.2} ms ({mgas:.1} Mgas/s)",
        parsed.as_secs_f64() * 1e3,
        indexed.as_secs_f64() * 1e3,
        executed.as_secs_f64() * 1e3
    )?;
    Ok(())
}
