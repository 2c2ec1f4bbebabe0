//! `cairn query`: proofs of historical data (headers, accounts, storage, Solidity mappings,
//! transactions, receipts, logs) from a data directory or any JSON-RPC node, their
//! verification, the block-hash MMR of another node's chain, and the figures.

use crate::{Error, Result, outln};
use alloy_primitives::{Address, B256, U256};
use cairn_exec::commit::{Node, node::GENESIS_FILE};
use cairn_history::{
    AccountField, HeaderField, HistorySource, LogField, MappingKey, Mmr, MmrAt, MmrFile,
    MmrStorage, QueryProof, ReceiptField, RpcSource, RpcSourceConfig, Subquery, TxField, Verified,
    prove_query, verify_query,
};
use clap::Subcommand;
use std::{
    path::{Path, PathBuf},
    time::Duration,
};

pub mod bench;

/// Arguments of `cairn query`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  cairn query --rpc http://127.0.0.1:8545 --block 120 storage 0xabc… 0x0\n  cairn query --datadir data/ --block 5 mapping 0xabc… 3 string:alice\n  cairn query verify proof.json --rpc http://127.0.0.1:8545"
)]
pub struct QueryArgs {
    /// Where the data comes from: a data directory (`cairn replay --datadir`), whose proofs
    /// are anchored to its block-hash MMR.
    #[arg(long, env = "CAIRN_DATADIR", global = true, conflicts_with = "rpc")]
    pub datadir: Option<PathBuf>,
    /// Where the data comes from: an Ethereum JSON-RPC node (`eth_getProof`,
    /// `eth_getBlockByNumber`, `eth_getBlockReceipts`).
    #[arg(long, env = "CAIRN_RPC_URL", global = true)]
    pub rpc: Option<String>,
    /// With --rpc: a block-hash MMR file of the node's chain (`cairn query mmr build`) to
    /// anchor the proof to.
    #[arg(long, global = true)]
    pub mmr: Option<PathBuf>,
    /// With --rpc: cache answers about blocks 64 or more below the head in this directory.
    #[arg(long, env = "CAIRN_CACHE_DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
    /// The block (a number, decimal or 0x hex; default: the source's newest block).
    #[arg(long, global = true)]
    pub block: Option<String>,
    /// Where to write the proof.
    #[arg(long, global = true, default_value = "proof.json")]
    pub out: PathBuf,
    /// What to prove or check.
    #[command(subcommand)]
    pub command: QueryCommand,
}

/// `cairn query` subcommands.
#[derive(Debug, Subcommand)]
pub enum QueryCommand {
    /// A header field: parentHash, stateRoot, transactionsRoot, receiptsRoot, logsBloom,
    /// number, gasLimit, gasUsed, timestamp, extraData, mixHash, baseFeePerGas,
    /// withdrawalsRoot, blobGasUsed, excessBlobGas, parentBeaconBlockRoot, requestsHash,
    /// hash, …
    Header {
        /// The field (name or code).
        field: HeaderField,
        /// 32-byte word of logsBloom or extraData.
        #[arg(long, default_value_t = 0)]
        item: u64,
    },
    /// An account field: nonce, balance, storageRoot or codeHash.
    Account {
        /// The account.
        address: Address,
        /// The field.
        #[arg(default_value = "balance")]
        field: AccountField,
    },
    /// A storage slot of a contract.
    Storage {
        /// The contract.
        address: Address,
        /// The slot: 0x hex of at most 32 bytes, or decimal.
        slot: String,
    },
    /// An entry of a Solidity mapping (nested: one key per level).
    Mapping {
        /// The contract.
        address: Address,
        /// The mapping's declared slot: 0x hex of at most 32 bytes, or decimal.
        slot: String,
        /// Keys, outermost first, as kind:value: address:0x…, uint:42, int:-1, bool:true,
        /// bytes32:0x… (any bytesN), string:alice, bytes:0x….
        #[arg(required = true)]
        keys: Vec<MappingKey>,
    },
    /// A transaction field by index: type, chainId, nonce, gasLimit, to, value, dataLength,
    /// selector, dataWord (--item), maxFeePerGas, maxPriorityFeePerGas, maxFeePerBlobGas,
    /// blobHashCount, blobHash (--item), accessListLength, authorizationListLength, v, r, s,
    /// hash.
    Tx {
        /// Transaction index in the block.
        index: u64,
        /// The field.
        field: TxField,
        /// Calldata word or blob-hash index.
        #[arg(long, default_value_t = 0)]
        item: u64,
    },
    /// A receipt field by transaction index: type, status, cumulativeGasUsed, logsBloom
    /// (--item), logCount.
    Receipt {
        /// Transaction index in the block.
        index: u64,
        /// The field.
        field: ReceiptField,
        /// logsBloom word.
        #[arg(long, default_value_t = 0)]
        item: u64,
    },
    /// A field of one log of a receipt: address, topicCount, topic (--item), dataLength,
    /// dataWord (--item).
    Log {
        /// Transaction index in the block.
        tx_index: u64,
        /// Log index within the receipt.
        log_index: u64,
        /// The field.
        field: LogField,
        /// Topic index or data word.
        #[arg(long, default_value_t = 0)]
        item: u64,
    },
    /// Several subqueries at once, from a JSON file holding an array of them (`{"type":
    /// "storage", "block": "0x10", "address": …, "slot": …}`, …).
    File {
        /// The JSON file.
        file: PathBuf,
    },
    /// Verify a proof file; with --datadir or --rpc, also check that its blocks (or its
    /// MMR) are that node's.
    Verify(VerifyArgs),
    /// The block-hash MMR of a JSON-RPC node's chain.
    #[command(subcommand)]
    Mmr(MmrCommand),
    /// Measure proof sizes, native verification time, and MMR append rate and proof size.
    Bench(bench::BenchArgs),
}

/// Arguments of `cairn query verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The proof file (JSON, as `cairn query` writes it).
    pub file: PathBuf,
    /// The MMR root to trust (the proof must be anchored to it).
    #[arg(long)]
    pub mmr_root: Option<B256>,
    /// A block hash to trust, as NUMBER=HASH (repeatable).
    #[arg(long = "block-hash", value_parser = parse_block_hash)]
    pub block_hashes: Vec<(u64, B256)>,
}

/// `cairn query mmr` subcommands.
#[derive(Debug, Subcommand)]
pub enum MmrCommand {
    /// Build (or extend) an MMR file from the genesis by walking the --rpc node's headers,
    /// each checked to hash to its block hash and to name its predecessor.
    Build {
        /// The MMR file (created, or extended from where it ends).
        file: PathBuf,
        /// Blocks to hold: 0 to this block (default: the node's newest).
        #[arg(long)]
        to: Option<String>,
    },
    /// The inclusion proof of --block in an MMR file (or the --datadir node's MMR).
    Proof {
        /// The MMR file (omit with --datadir).
        file: Option<PathBuf>,
    },
}

fn parse_block_hash(s: &str) -> std::result::Result<(u64, B256), String> {
    let (n, h) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: give NUMBER=HASH"))?;
    let n = parse_number(n).ok_or_else(|| format!("{n:?} is not a block number"))?;
    let h = h
        .parse()
        .map_err(|e| format!("{h:?} is not a 32-byte hash: {e}"))?;
    Ok((n, h))
}

/// A number in decimal or 0x hex.
fn parse_number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// A slot: 0x hex of at most 32 bytes (left-padded), or a decimal number.
pub fn parse_slot(s: &str) -> Result<B256> {
    let bad = |reason: String| Error::BadSlot {
        value: s.to_string(),
        reason,
    };
    if let Some(hex) = s.strip_prefix("0x") {
        let digits = if hex.len() % 2 == 1 {
            format!("0{hex}")
        } else {
            hex.to_string()
        };
        let bytes = alloy_primitives::hex::decode(&digits).map_err(|e| bad(e.to_string()))?;
        if bytes.len() > 32 {
            return Err(bad(format!(
                "it is {} bytes; a storage slot is at most 32",
                bytes.len()
            )));
        }
        Ok(B256::left_padding_from(&bytes))
    } else {
        let n: U256 = s
            .parse()
            .map_err(|e: alloy_primitives::ruint::ParseError| bad(e.to_string()))?;
        Ok(B256::from(n))
    }
}

/// The source a command reads: a data directory's node or a JSON-RPC node.
// One per command, so the size of its largest variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Source {
    Node(Box<Node>),
    Rpc(Box<RpcSource>, Option<Mmr<MmrFile>>),
}

impl Source {
    fn open(args: &QueryArgs) -> Result<Self> {
        match (&args.datadir, &args.rpc) {
            (Some(dir), _) => {
                if !dir.join(GENESIS_FILE).is_file() {
                    return Err(Error::NoDataDir { path: dir.clone() });
                }
                tracing::info!(target: "cairn::query", datadir = %dir.display(), "opening the data directory (re-executes its chain)");
                Ok(Self::Node(Box::new(Node::open(dir, None)?)))
            }
            (None, Some(url)) => {
                let config = RpcSourceConfig {
                    cache_dir: args.cache_dir.clone(),
                    ..RpcSourceConfig::new(url.clone())
                };
                let source = RpcSource::new(config).map_err(|e| Error::History(e.into()))?;
                let mmr = match &args.mmr {
                    Some(path) => Some(Mmr::open_file(path).map_err(|e| Error::History(e.into()))?),
                    None => None,
                };
                Ok(Self::Rpc(Box::new(source), mmr))
            }
            (None, None) => Err(Error::NoSource),
        }
    }

    fn head(&self) -> Result<u64> {
        match self {
            Self::Node(node) => Ok(node.head_number()),
            Self::Rpc(rpc, _) => rpc.head().map_err(|e| Error::History(e.into())),
        }
    }

    fn prove(&self, subqueries: &[Subquery]) -> Result<QueryProof> {
        Ok(match self {
            Self::Node(node) => {
                prove_query(node.as_ref(), subqueries, node.mmr().map(MmrAt::current))?
            }
            Self::Rpc(rpc, mmr) => {
                prove_query(rpc.as_ref(), subqueries, mmr.as_ref().map(MmrAt::current))?
            }
        })
    }
}

/// Runs `cairn query`.
///
/// # Errors
/// A bad argument, an unreachable or lying source, an invalid proof: each one line.
pub fn run(args: QueryArgs) -> Result<()> {
    match &args.command {
        QueryCommand::Verify(v) => return verify(&args, v),
        QueryCommand::Mmr(cmd) => return mmr(&args, cmd),
        QueryCommand::Bench(b) => return bench::run(b),
        QueryCommand::File { file } => {
            let bytes = std::fs::read(file).map_err(|source| Error::Io {
                path: file.clone(),
                source,
            })?;
            let subqueries: Vec<Subquery> =
                serde_json::from_slice(&bytes).map_err(|source| Error::ProofFile {
                    path: file.clone(),
                    source,
                })?;
            let source = Source::open(&args)?;
            return prove_and_write(&args, &source, &subqueries);
        }
        _ => {}
    }
    let source = Source::open(&args)?;
    let block = match &args.block {
        Some(b) => parse_number(b).ok_or_else(|| Error::BadBlock { value: b.clone() })?,
        None => source.head()?,
    };
    let sq = match &args.command {
        QueryCommand::Header { field, item } => Subquery::Header {
            block,
            field: *field,
            item: *item,
        },
        QueryCommand::Account { address, field } => Subquery::Account {
            block,
            address: *address,
            field: *field,
        },
        QueryCommand::Storage { address, slot } => Subquery::Storage {
            block,
            address: *address,
            slot: parse_slot(slot)?,
        },
        QueryCommand::Mapping {
            address,
            slot,
            keys,
        } => Subquery::Mapping {
            block,
            address: *address,
            slot: parse_slot(slot)?,
            keys: keys.clone(),
        },
        QueryCommand::Tx { index, field, item } => Subquery::Tx {
            block,
            index: *index,
            field: *field,
            item: *item,
        },
        QueryCommand::Receipt { index, field, item } => Subquery::Receipt {
            block,
            index: *index,
            field: *field,
            item: *item,
        },
        QueryCommand::Log {
            tx_index,
            log_index,
            field,
            item,
        } => Subquery::Log {
            block,
            tx_index: *tx_index,
            log_index: *log_index,
            field: *field,
            item: *item,
        },
        QueryCommand::File { .. }
        | QueryCommand::Verify(_)
        | QueryCommand::Mmr(_)
        | QueryCommand::Bench(_) => unreachable!("handled above"),
    };
    prove_and_write(&args, &source, &[sq])
}

fn prove_and_write(args: &QueryArgs, source: &Source, subqueries: &[Subquery]) -> Result<()> {
    let proof = source.prove(subqueries)?;
    let json = serde_json::to_vec_pretty(&proof).map_err(|source| Error::Json { source })?;
    std::fs::write(&args.out, &json).map_err(|source| Error::Io {
        path: args.out.clone(),
        source,
    })?;
    for sq in &proof.subqueries {
        tracing::info!(target: "cairn::query", subquery = %sq.subquery, result = %sq.result, "proven");
        outln!("{}", sq.result)?;
    }
    let anchor = match proof.mmr {
        Some(m) => format!("MMR of {} blocks, root {}", m.size, m.root),
        None => "block hashes (no MMR)".into(),
    };
    tracing::info!(target: "cairn::query", out = %args.out.display(), results_root = %proof.results_root, anchor, bytes = json.len(), "proof written");
    Ok(())
}

fn read_proof(path: &Path) -> Result<QueryProof> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| Error::ProofFile {
        path: path.to_path_buf(),
        source,
    })
}

fn verify(args: &QueryArgs, v: &VerifyArgs) -> Result<()> {
    let proof = read_proof(&v.file)?;
    let verified: Verified = verify_query(&proof)?;
    // The anchors must be the ones the caller trusts.
    if let Some(root) = v.mmr_root {
        match verified.mmr {
            Some(m) if m.root == root => {}
            Some(m) => {
                return Err(Error::Anchor {
                    reason: format!("the proof is anchored to MMR root {}, not {root}", m.root),
                });
            }
            None => {
                return Err(Error::Anchor {
                    reason: "the proof is not anchored to an MMR".into(),
                });
            }
        }
    }
    for (n, hash) in &v.block_hashes {
        match verified.blocks.iter().find(|(b, _)| b == n) {
            Some((_, h)) if h == hash => {}
            Some((_, h)) => {
                return Err(Error::Anchor {
                    reason: format!("block {n} is {h} in the proof, not {hash}"),
                });
            }
            None => {
                return Err(Error::Anchor {
                    reason: format!("the proof has no block {n}"),
                });
            }
        }
    }
    let mut checked = Vec::new();
    if args.datadir.is_some() || args.rpc.is_some() {
        let source = Source::open(args)?;
        match (&source, verified.mmr) {
            (Source::Node(node), Some(anchor)) => {
                let mmr = node.mmr().ok_or_else(|| Error::Anchor {
                    reason: "the data directory's node has no MMR".into(),
                })?;
                let ours = mmr
                    .root_at(anchor.size)
                    .map_err(|e| Error::History(e.into()))?;
                if ours != anchor.root {
                    return Err(Error::Anchor {
                        reason: format!(
                            "the MMR root of the node's first {} blocks is {ours}, the proof's {}",
                            anchor.size, anchor.root
                        ),
                    });
                }
                checked.push(format!("MMR root at {} blocks", anchor.size));
            }
            _ => {
                for (n, hash) in &verified.blocks {
                    let theirs = match &source {
                        Source::Node(node) => node.chain().hash(*n),
                        Source::Rpc(rpc, _) => rpc
                            .header(*n)
                            .map_err(|e| Error::History(e.into()))?
                            .map(|h| h.hash),
                    };
                    if theirs != Some(*hash) {
                        return Err(Error::Anchor {
                            reason: format!(
                                "block {n} is {hash} in the proof, {} on the node",
                                theirs.map_or("unknown".into(), |h| h.to_string())
                            ),
                        });
                    }
                }
                checked.push(format!("{} block hash(es)", verified.blocks.len()));
            }
        }
    }
    if v.mmr_root.is_some() {
        checked.push("MMR root given".into());
    }
    if !v.block_hashes.is_empty() {
        checked.push("block hashes given".into());
    }
    for (sq, r) in proof.subqueries.iter().zip(&verified.results) {
        outln!("{r}  {}", sq.subquery)?;
    }
    outln!("resultsRoot {}", verified.results_root)?;
    if checked.is_empty() {
        let anchors = match verified.mmr {
            Some(m) => format!("MMR root {} ({} blocks)", m.root, m.size),
            None => verified
                .blocks
                .iter()
                .map(|(n, h)| format!("block {n} = {h}"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        outln!(
            "valid against {anchors}: trust these, or pass --mmr-root, --block-hash, --datadir or --rpc"
        )?;
    } else {
        outln!("valid; anchors checked: {}", checked.join(", "))?;
    }
    Ok(())
}

fn mmr(args: &QueryArgs, cmd: &MmrCommand) -> Result<()> {
    match cmd {
        MmrCommand::Build { file, to } => {
            let url = args.rpc.clone().ok_or(Error::NoSource)?;
            let rpc = RpcSource::new(RpcSourceConfig {
                cache_dir: args.cache_dir.clone(),
                timeout: Duration::from_secs(60),
                ..RpcSourceConfig::new(url)
            })
            .map_err(|e| Error::History(e.into()))?;
            let to = match to {
                Some(t) => parse_number(t).ok_or_else(|| Error::BadBlock { value: t.clone() })?,
                None => rpc.head().map_err(|e| Error::History(e.into()))?,
            };
            let mut mmr = Mmr::open_file(file).map_err(|e| Error::History(e.into()))?;
            let from = mmr.leaves();
            let started = std::time::Instant::now();
            let mut last_log = std::time::Instant::now();
            rpc.extend_mmr(&mut mmr, to + 1, |size| {
                if last_log.elapsed() > Duration::from_secs(2) {
                    tracing::info!(target: "cairn::query", blocks = size, to = to + 1, "walking headers");
                    last_log = std::time::Instant::now();
                }
            })?;
            mmr.storage().sync().map_err(|e| Error::History(e.into()))?;
            tracing::info!(target: "cairn::query", added = mmr.leaves() - from, secs = started.elapsed().as_secs_f64(), "MMR extended");
            outln!(
                "{} blocks (0..={}), root {}",
                mmr.leaves(),
                mmr.leaves().saturating_sub(1),
                mmr.root()
            )
        }
        MmrCommand::Proof { file } => {
            let block = args
                .block
                .as_ref()
                .map(|b| parse_number(b).ok_or_else(|| Error::BadBlock { value: b.clone() }))
                .transpose()?;
            let print =
                |mmr_leaves: u64, proof: cairn_history::MmrProof, root: B256, leaf: B256| {
                    let json = serde_json::json!({
                        "blockNumber": format!("{:#x}", proof.index),
                        "blockHash": leaf,
                        "mmrSize": format!("{mmr_leaves:#x}"),
                        "mmrRoot": root,
                        "proof": proof,
                    });
                    outln!("{json:#}")
                };
            let proof_of =
                |mmr: &dyn Fn(u64) -> Result<(u64, cairn_history::MmrProof, B256, B256)>| {
                    let (size, proof, root, leaf) = mmr(block.unwrap_or(u64::MAX))?;
                    print(size, proof, root, leaf)
                };
            match (file, &args.datadir) {
                (Some(path), _) => {
                    let mmr = Mmr::open_file(path).map_err(|e| Error::History(e.into()))?;
                    proof_of(&|b| mmr_proof(&mmr, b))
                }
                (None, Some(_)) => {
                    let Source::Node(node) = Source::open(args)? else {
                        unreachable!("a data directory opens a node")
                    };
                    let mmr = node.mmr().ok_or_else(|| Error::Anchor {
                        reason: "the data directory's node has no MMR".into(),
                    })?;
                    proof_of(&|b| mmr_proof(mmr, b))
                }
                (None, None) => Err(Error::NoSource),
            }
        }
    }
}

/// Proof of block `block` (`u64::MAX`: the newest) in the whole MMR.
fn mmr_proof<S: MmrStorage>(
    mmr: &Mmr<S>,
    block: u64,
) -> Result<(u64, cairn_history::MmrProof, B256, B256)> {
    let size = mmr.leaves();
    let block = if block == u64::MAX {
        size.saturating_sub(1)
    } else {
        block
    };
    let e = |e: cairn_history::MmrError| Error::History(e.into());
    let proof = mmr.proof(block, size).map_err(e)?;
    Ok((size, proof, mmr.root(), mmr.leaf(block).map_err(e)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_parse() {
        assert_eq!(parse_slot("0x0").unwrap(), B256::ZERO);
        assert_eq!(parse_slot("3").unwrap(), B256::with_last_byte(3));
        assert_eq!(parse_slot("0x0102").unwrap()[30..], [1, 2]);
        let long = format!("0x{}", "11".repeat(33));
        let e = parse_slot(&long).unwrap_err().to_string();
        assert!(e.contains("33 bytes"), "{e}");
        assert!(parse_slot("0xzz").is_err());
        assert!(parse_slot("-1").is_err());
    }
}
