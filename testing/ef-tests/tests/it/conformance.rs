//! The full conformance runs: every Prague/Osaka blockchain test, and every case of the other
//! post-merge networks (Paris, Shanghai, Cancun and the fork transitions), through both paths.

use cairn_ef_tests::{fixtures_dir, run};

#[test]
fn eest_blockchain_tests() {
    let Some(dir) = fixtures_dir() else {
        eprintln!("skipping conformance: CAIRN_FIXTURES is not set");
        return;
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let report = run(&dir.join("eest/blockchain_tests"), threads).expect("fixtures readable");
    eprintln!("{report}");
    let t = report.totals();
    assert_eq!(t.failed, 0, "conformance failures");
    assert_eq!(t.passed, 3600, "every Prague/Osaka case must run and pass");
}

#[test]
fn eest_post_merge_blockchain_tests() {
    let Some(dir) = fixtures_dir() else {
        eprintln!("skipping post-merge conformance: CAIRN_FIXTURES is not set");
        return;
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let report =
        run(&dir.join("eest-post-merge/blockchain_tests"), threads).expect("fixtures readable");
    eprintln!("{report}");
    let t = report.totals();
    assert_eq!(t.failed, 0, "conformance failures");
    assert_eq!(
        (t.passed, t.skipped),
        (1749, 0),
        "every Paris, Shanghai, Cancun and transition case must run and pass"
    );
}

/// A pre-merge network is out of scope: the runner skips it and says why, and a block under
/// it is refused by both paths' header checks with the same reason.
#[test]
fn pre_merge_networks_are_refused() {
    let Some(dir) = fixtures_dir() else {
        eprintln!("skipping pre-merge refusal: CAIRN_FIXTURES is not set");
        return;
    };
    let folder = dir.join("eest-post-merge/blockchain_tests/paris/security");
    let file = &cairn_ef_tests::fixture_files(&folder).unwrap()[0];
    let (_, mut test) = cairn_ef_tests::load_cases(file)
        .unwrap()
        .into_iter()
        .find(|(name, _)| name.contains("fork_Paris"))
        .expect("a Paris case");
    assert!(matches!(
        cairn_ef_tests::case::run_blockchain_test(&test, |_, _| {}),
        cairn_ef_tests::case::Outcome::Passed { .. }
    ));
    test.network = "London".into();
    match cairn_ef_tests::case::run_blockchain_test(&test, |_, _| {}) {
        cairn_ef_tests::case::Outcome::Skipped(reason) => assert!(
            reason.contains("London is before the merge: pre-merge networks are out of scope"),
            "{reason}"
        ),
        other => panic!("a London chain must be skipped, got {other:?}"),
    }
    // The full path refuses the London chain's first block with the same reason.
    let chain_file = cairn_ef_tests::case::chain_file(&test).unwrap();
    let mut chain = chain_file.genesis_chain().unwrap();
    let err = chain.execute(&chain_file.block(0).unwrap()).unwrap_err();
    assert!(
        err.to_string()
            .contains("pre-merge networks are out of scope"),
        "{err}"
    );
}

/// The zkEVM fixtures' Amsterdam blocks cannot be executed with the EVM crates in use (their
/// conformance cases are reported as skipped), but their `executionWitness` objects are
/// real EEST witnesses: every one must decode, index (every node and code hashed, the header
/// chain checked) and, where the fixture says the block is valid, end at the block's parent.
#[test]
fn eest_zkevm_witnesses_decode_and_index() {
    let Some(dir) = fixtures_dir() else {
        eprintln!("skipping zkEVM witness decoding: CAIRN_FIXTURES is not set");
        return;
    };
    let files = cairn_ef_tests::fixture_files(&dir.join("eest/blockchain_tests_zkevm")).unwrap();
    let (mut valid, mut invalid, mut rejected_early, mut nodes) = (0usize, 0usize, 0usize, 0usize);
    for file in files {
        for (name, test) in cairn_ef_tests::load_cases(&file).unwrap() {
            for (i, fb) in test.blocks.iter().enumerate() {
                let Some(witness) = fb.execution_witness.clone() else {
                    continue;
                };
                let expected_ok = fb
                    .stateless_output_bytes
                    .as_ref()
                    .and_then(|b| b.get(32))
                    .is_some_and(|f| *f == 1);
                let block = cairn_primitives::decode_block(&fb.rlp);
                let indexed = cairn_witness::json::from_value(witness)
                    .map_err(|e| e.to_string())
                    .and_then(|w| {
                        let maps =
                            cairn_witness::WitnessMaps::new(&w).map_err(|e| e.to_string())?;
                        Ok((w.state.len(), maps.parent_hash()))
                    });
                if expected_ok {
                    let (count, parent) =
                        indexed.unwrap_or_else(|e| panic!("{name} block {i}: {e}"));
                    assert_eq!(
                        Some(parent),
                        block.ok().map(|b| b.header.parent_hash),
                        "{name} block {i}"
                    );
                    nodes += count;
                    valid += 1;
                } else {
                    invalid += 1;
                    rejected_early += usize::from(indexed.is_err());
                }
            }
        }
    }
    eprintln!(
        "zkEVM witnesses: {valid} valid blocks decoded and indexed ({nodes} nodes); {invalid} corrupted, {rejected_early} of them rejected before execution"
    );
    assert!(valid > 100, "the zkEVM fixtures were read");
}
