//! Writes the seed corpora of the prover's fuzz targets (`fuzz/`) from a small development
//! chain: one folder per target under the given directory.
//!
//! ```sh
//! cargo run -q -p cairn-prover --example fuzz_seeds -- fuzz/corpus
//! ```
//!
//! - `guest_input/`: the compact program input of each batch (the guest's stdin);
//! - `seg_reader/`: a `.seg` file per batch, with an `exec` proof.

use cairn_exec::{
    commit::Node,
    devchain::{DevChainParams, generate},
};
use cairn_prover::{
    BackendId, ExecBackend, PROGRAM_ID, Seg, SegProof, batch::from_node, encode_input,
};
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
    // The same small chain as cairn-exec's seeds: few transactions, fast mutations.
    let file = generate(DevChainParams {
        seed: 5,
        blocks: 6,
        txs_per_block: 4,
    })?;
    let mut node = Node::in_memory(&file)?;
    for index in 0..file.blocks.len() {
        node.import(&file.block(index)?)?;
    }
    let mut seeds = 0;
    for (first, last) in [(1, 1), (2, 3), (4, 6)] {
        let batch = from_node(&node, first, last)?;
        let input = encode_input(&batch.input);
        write("guest_input", format!("batch-{first}-{last}.bin"), &input)?;
        let seg = Seg {
            program_id: PROGRAM_ID,
            public_values: batch.public_values,
            binding: batch.binding,
            proofs: vec![SegProof {
                backend: BackendId::exec(),
                proof: ExecBackend::encode_proof(&PROGRAM_ID, &input),
            }],
        };
        write(
            "seg_reader",
            format!("batch-{first}-{last}.seg"),
            &seg.to_bytes()?,
        )?;
        seeds += 2;
    }
    println!("wrote {seeds} seeds under {}", out.display());
    Ok(())
}
