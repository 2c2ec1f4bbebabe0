use cairn_exec::devchain::{DevChainParams, generate};
use cairn_primitives::ProgramInput;

fn small() -> cairn_exec::ChainFile {
    generate(DevChainParams {
        seed: 7,
        blocks: 6,
        txs_per_block: 20,
    })
    .expect("generator builds valid blocks")
}

#[test]
fn generation_is_deterministic() {
    let a = small();
    let b = small();
    assert_eq!(a, b);
    assert_eq!(a.blocks.len(), 6);
}

#[test]
fn every_block_validates_from_its_generated_witness() {
    let file = small();
    let mut chain = file.genesis_chain().unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for i in 0..file.blocks.len() {
        let block = file.block(i).unwrap();
        for tx in &block.body.transactions {
            kinds.insert(alloy_consensus::Typed2718::ty(tx));
        }
        let run = chain.witness(std::slice::from_ref(&block)).unwrap();
        run.result.as_ref().expect("recording run validates");
        let again = chain.witness(std::slice::from_ref(&block)).unwrap();
        assert_eq!(
            again.witness, run.witness,
            "witness generation is deterministic"
        );
        let executed = chain.execute(&block).unwrap();
        let input = ProgramInput {
            chain: file.chain.clone(),
            blocks: vec![block.clone()],
            witness: run.witness,
        };
        let out = cairn_stateless::validate(&input).unwrap();
        assert_eq!(out.final_state_root, executed.state_root);
        assert_eq!(out.last_block_hash, executed.hash);
        assert_eq!(out.total_gas_used, executed.gas_used);
        assert_eq!(cairn_stateless::validate_strict(&input).unwrap(), out);
    }
    assert_eq!(
        kinds,
        [0u8, 1, 2, 3, 4].into_iter().collect(),
        "all five transaction types appear"
    );
}

#[test]
fn a_batch_validates_from_one_witness() {
    let file = small();
    let mut chain = file.genesis_chain().unwrap();
    let blocks: Vec<_> = (0..file.blocks.len())
        .map(|i| file.block(i).unwrap())
        .collect();
    let run = chain.witness(&blocks).unwrap();
    let (recorded, _) = run.result.expect("recording run validates");
    for b in &blocks {
        chain.execute(b).unwrap();
    }
    let input = ProgramInput {
        chain: file.chain,
        blocks,
        witness: run.witness,
    };
    let out = cairn_stateless::validate(&input).unwrap();
    assert_eq!(out, recorded);
    assert_eq!(out.final_state_root, chain.head().state_root);
    assert_eq!(out.last_block_hash, chain.head_hash());
    assert_eq!(cairn_stateless::validate_strict(&input).unwrap(), out);
}

/// On the embedded dev chain, Cairn's minimal witnesses are not enough for other clients
/// (both causes occur: a pre-state contract's code found by hash from an in-batch deployment,
/// and a collapse sibling that only writes-first order avoids), and strict validation says
/// so; the complete witnesses hold every minimal item and pass strict validation and every
/// update order.
#[test]
fn complete_witnesses_pass_strict_validation_where_minimal_ones_fail() {
    use cairn_exec::WitnessKind;
    use cairn_stateless::{StatelessError, UpdateOrder, WitnessRules};
    use cairn_witness::{WitnessError, json::WitnessFormat};

    let file = cairn_exec::ChainFile::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/devchain.json"),
    )
    .unwrap();
    let mut chain = file.genesis_chain().unwrap();
    let (mut missing_code, mut missing_node, mut extra_items) = (0, 0, 0);
    for i in 0..file.blocks.len() {
        let block = file.block(i).unwrap();
        let input = |kind| ProgramInput {
            chain: file.chain.clone(),
            blocks: vec![block.clone()],
            witness: chain
                .witness_with(std::slice::from_ref(&block), kind)
                .unwrap()
                .witness,
        };
        let (minimal, complete) = (input(WitnessKind::Minimal), input(WitnessKind::Complete));
        let out = cairn_stateless::validate(&minimal).unwrap();
        // No new requirement on inputs: the minimal witness, in reth's and geth's JSON forms,
        // is accepted as before.
        for format in [WitnessFormat::Reth, WitnessFormat::Geth] {
            let value = cairn_witness::json::to_value(&minimal.witness, format).unwrap();
            let reread = ProgramInput {
                witness: cairn_witness::json::from_value(value).unwrap(),
                ..minimal.clone()
            };
            assert_eq!(cairn_stateless::validate(&reread).unwrap(), out);
        }
        match cairn_stateless::validate_strict(&minimal) {
            Ok(strict) => assert_eq!(strict, out),
            Err(StatelessError::WitnessIncomplete { source, .. }) => match source {
                WitnessError::MissingCode { .. } => missing_code += 1,
                WitnessError::Storage { .. } | WitnessError::Account { .. } => missing_node += 1,
                other => panic!("block {}: {other}", i + 1),
            },
            Err(e) => panic!("block {}: {e}", i + 1),
        }
        let (m, c) = (&minimal.witness, &complete.witness);
        assert!(
            m.state.iter().all(|n| c.state.contains(n)),
            "block {}",
            i + 1
        );
        assert!(
            m.codes.iter().all(|n| c.codes.contains(n)),
            "block {}",
            i + 1
        );
        assert_eq!(m.headers, c.headers);
        extra_items += c.item_count() - m.item_count();
        assert_eq!(cairn_stateless::validate(&complete).unwrap(), out);
        for order in UpdateOrder::ALL {
            let rules = WitnessRules {
                prestate_code_from_source: true,
                order,
                reach_all_orders: false,
            };
            let got = cairn_stateless::validate_with_rules(&complete, rules);
            assert_eq!(
                got.as_ref().ok(),
                Some(&out),
                "block {} {order}: {got:?}",
                i + 1
            );
        }
        chain.execute(&block).unwrap();
    }
    assert!(
        missing_code > 0,
        "a pre-state code shared with a deployment"
    );
    assert!(
        missing_node > 0,
        "a collapse sibling that sorted order needs"
    );
    assert!(extra_items >= missing_code + missing_node);
}

/// The committed sample chain is exactly what the generator makes with its defaults, so
/// README command 1 runs on data anyone can regenerate (`cairn devchain --out ...`).
#[test]
fn committed_dev_chain_is_the_default_generation() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/devchain.json");
    let committed = cairn_exec::ChainFile::load(&path).expect("testdata/devchain.json");
    assert_eq!(committed, generate(DevChainParams::default()).unwrap());
}

/// The typed-transaction envelopes of a block's RLP: (transaction index, offset of the string
/// header, length of that header).
fn typed_envelopes(raw: &[u8]) -> Vec<(usize, usize, usize)> {
    use alloy_rlp::Header;
    let offset = |part: &[u8]| part.as_ptr() as usize - raw.as_ptr() as usize;
    let mut buf = raw;
    Header::decode(&mut buf).unwrap(); // the block's list
    let header = Header::decode(&mut buf).unwrap(); // the block header's list
    buf = &buf[header.payload_length..];
    let txs = Header::decode(&mut buf).unwrap();
    let mut list = &buf[..txs.payload_length];
    let mut out = Vec::new();
    let mut index = 0;
    while !list.is_empty() {
        let at = offset(list);
        let item = Header::decode(&mut list).unwrap();
        if !item.list {
            out.push((index, at, offset(list) - at));
        }
        list = &list[item.payload_length..];
        index += 1;
    }
    out
}

/// A typed transaction's envelope whose string header declares another length than its
/// payload (e.g. `0xb8ff` or `0xb873` where `0xb877` is right) must not decode as the same
/// block: alloy-eips 2.5 accepts some of these, Cairn's one block decoder refuses all, naming
/// the block and transaction.
#[test]
fn envelope_length_mutations_are_refused() {
    use cairn_primitives::{BlockPart, PrimitivesError, decode_block};
    let file = small();
    let (mut tried, mut lenient) = (0, 0);
    for (index, raw) in file.blocks.iter().enumerate() {
        let number = index as u64 + 1;
        decode_block(raw).expect("the generated block is canonical");
        let envelopes = typed_envelopes(raw);
        assert!(
            !envelopes.is_empty(),
            "block {number} has typed transactions"
        );
        for (tx, at, len) in envelopes {
            let last = at + len - 1; // the length's lowest byte
            let right = raw[last];
            for wrong in [
                0xff,
                right.wrapping_sub(4),
                right.wrapping_add(1),
                right.wrapping_sub(1),
            ] {
                if wrong == right || (len == 2 && wrong < 56) {
                    continue;
                }
                let mut mutated = raw.to_vec();
                mutated[last] = wrong;
                tried += 1;
                let alloy = alloy_rlp::decode_exact::<cairn_primitives::Block>(&mutated);
                let err = decode_block(&mutated).unwrap_err();
                if alloy.is_ok() {
                    lenient += 1;
                    assert_eq!(
                        err,
                        PrimitivesError::BlockNotCanonical {
                            number,
                            offset: last,
                            part: BlockPart::Transaction(tx),
                            got: Some(wrong),
                            canonical: Some(right),
                        }
                    );
                } else {
                    assert!(
                        matches!(err, PrimitivesError::BlockRlp { number: Some(n), .. } if n == number),
                        "{err}"
                    );
                }
                let mut file = file.clone();
                file.blocks[index] = mutated.into();
                let err = file.block(index).unwrap_err().to_string();
                assert!(
                    err.starts_with(&format!("chain file block {index} "))
                        && err.contains(&format!("block {number} ")),
                    "{err}"
                );
            }
        }
    }
    eprintln!("{tried} envelope-length mutations refused; alloy alone accepted {lenient}");
    // alloy-eips 2.5's `network_decode` checks the byte after the string header instead of
    // the header, so some of these decode there; should an upgrade fix that, this goes.
    assert!(lenient > 0, "the mutations include ones alloy accepts");
}
