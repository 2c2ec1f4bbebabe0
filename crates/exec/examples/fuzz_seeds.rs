//! Writes the seed corpora of the fuzz targets (`fuzz/`) from a small development chain:
//! one folder per target under the given directory.
//!
//! ```sh
//! cargo run -q -p cairn-exec --example fuzz_seeds -- fuzz/corpus
//! ```
//!
//! - `block_rlp/`: each block's RLP;
//! - `witness_json/`: each block's witness in the reth, geth and EEST JSON forms;
//! - `validate_bundle/`: a validation bundle (blocks, witness, chain) per block, and one for
//!   a batch of two blocks;
//! - `qmtree_proof/`: inclusion and range proofs of the committed chain, binary and JSON.

use cairn_exec::{
    commit::Node,
    devchain::{DevChainParams, generate},
};
use cairn_primitives::ProgramInput;
use cairn_witness::json::{WitnessFormat, input_to_json, to_value};
use std::{error::Error, fs, path::Path};

fn main() -> Result<(), Box<dyn Error>> {
    let out = std::env::args_os()
        .nth(1)
        .ok_or("usage: fuzz_seeds <corpus dir>")?;
    let out = Path::new(&out);
    let write = |target: &str, name: String, bytes: &[u8]| -> std::io::Result<()> {
        let dir = out.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(name), bytes)
    };
    // Few transactions per block: small inputs run (and mutate) fast.
    let file = generate(DevChainParams {
        seed: 5,
        blocks: 6,
        txs_per_block: 4,
    })?;
    let mut chain = file.genesis_chain()?;
    let mut node = Node::in_memory(&file)?;
    let mut seeds = 0;
    for (index, raw) in file.blocks.iter().enumerate() {
        let block = file.block(index)?;
        let number = block.header.number;
        write("block_rlp", format!("block-{number}.rlp"), raw)?;
        let run = chain.witness(std::slice::from_ref(&block))?;
        for (format, name) in [
            (WitnessFormat::Reth, "reth"),
            (WitnessFormat::Geth, "geth"),
            (WitnessFormat::Eest, "eest"),
        ] {
            let json = to_value(&run.witness, format)?;
            write(
                "witness_json",
                format!("{name}-{number}.json"),
                json.to_string().as_bytes(),
            )?;
        }
        let input = ProgramInput {
            chain: file.chain.clone(),
            blocks: vec![block.clone()],
            witness: run.witness,
        };
        let bundle = input_to_json(&input, WitnessFormat::Reth)?;
        write(
            "validate_bundle",
            format!("block-{number}.json"),
            bundle.to_string().as_bytes(),
        )?;
        seeds += 5;
        chain.execute(&block)?;
        node.import(&block)?;
    }
    // A batch of the first two blocks, from one witness.
    let batch_chain = file.genesis_chain()?;
    let blocks = vec![file.block(0)?, file.block(1)?];
    let run = batch_chain.witness(&blocks)?;
    let input = ProgramInput {
        chain: file.chain,
        blocks,
        witness: run.witness,
    };
    write(
        "validate_bundle",
        "batch-1-2.json".into(),
        input_to_json(&input, WitnessFormat::Reth)?
            .to_string()
            .as_bytes(),
    )?;
    seeds += 1;

    let tree = node.tree();
    let head = node.head_number();
    let leaves = tree.leaf_count();
    for tx_num in [0, 1, leaves / 2, leaves - 1] {
        let proof = cairn_qmtree::Proof::Inclusion(tree.proof(tx_num, head)?);
        write(
            "qmtree_proof",
            format!("leaf-{tx_num}.bin"),
            &proof.to_bytes(),
        )?;
        write(
            "qmtree_proof",
            format!("leaf-{tx_num}.json"),
            proof.to_json().as_bytes(),
        )?;
        seeds += 2;
    }
    for (from, to) in [(0, head), (1, 3), (head - 1, head)] {
        let proof = cairn_qmtree::Proof::Range(tree.range_proof(from, to)?);
        write(
            "qmtree_proof",
            format!("range-{from}-{to}.bin"),
            &proof.to_bytes(),
        )?;
        write(
            "qmtree_proof",
            format!("range-{from}-{to}.json"),
            proof.to_json().as_bytes(),
        )?;
        seeds += 2;
    }
    println!("wrote {seeds} seeds under {}", out.display());
    Ok(())
}
