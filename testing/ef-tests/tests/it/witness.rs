//! Generated witnesses hold nothing surplus (a minimal one: every node, code and header is
//! needed by Cairn's validation; a complete one: every item is needed under at least one
//! update order with pre-state code taken only from the witness) and are robust (tampering
//! is rejected or harmless), on a deterministic sample of the EEST cases.

use cairn_ef_tests::{
    case::{Outcome, run_blockchain_test_with},
    fixtures_dir, sampled_cases,
    witness_checks::{every_order, surplus_items, surplus_items_under, tampering_accepted},
};
use cairn_exec::WitnessKind;
use cairn_primitives::ProgramInput;

/// Every `STRIDE`-th case of the suite is checked.
const STRIDE: usize = 25;

#[test]
fn generated_witnesses_are_minimal_and_tamper_evident() {
    let Some(dir) = fixtures_dir() else {
        eprintln!("skipping witness checks: CAIRN_FIXTURES is not set");
        return;
    };
    let (mut blocks_checked, mut items_checked) = (0usize, 0usize);
    let mut problems = Vec::new();
    for case in sampled_cases(&dir.join("eest/blockchain_tests"), STRIDE).unwrap() {
        let (index, name, test) = case.unwrap();
        for kind in [WitnessKind::Minimal, WitnessKind::Complete] {
            let mut kept = Vec::new();
            let outcome = run_blockchain_test_with(&test, kind, |block, config| {
                if block.valid {
                    kept.push(ProgramInput {
                        chain: config.clone(),
                        blocks: vec![block.block],
                        witness: block.witness,
                    });
                }
            });
            assert!(
                matches!(outcome, Outcome::Passed { .. }),
                "{name} ({kind}): {outcome:?}"
            );
            for (b, input) in kept.iter().take(2).enumerate() {
                let expected = cairn_stateless::validate(input).unwrap();
                let surplus = match kind {
                    WitnessKind::Minimal => surplus_items(input),
                    WitnessKind::Complete => surplus_items_under(input, &every_order()),
                };
                for (part, i) in surplus {
                    problems.push(format!(
                        "{name} block {b} ({kind}): {part:?}[{i}] is surplus"
                    ));
                }
                for bad in tampering_accepted(input, &expected, index as u64) {
                    problems.push(format!("{name} block {b} ({kind}): {bad}"));
                }
                blocks_checked += 1;
                items_checked += input.witness.item_count();
            }
        }
    }
    eprintln!(
        "witness checks: {blocks_checked} blocks (minimal and complete witnesses), {items_checked} witness items removed one by one, {} problems",
        problems.len()
    );
    assert!(
        blocks_checked > 100,
        "the sample must be substantial, got {blocks_checked}"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The EEST zkEVM witnesses against Cairn's rules, block by block, from each block's access
/// list (the Amsterdam blocks cannot be executed here). Prints the comparison (run with
/// `--nocapture`) and checks what it shows on every analysed block: the access lists
/// reproduce the headers' state roots; EEST's witness holds every node Cairn's minimal rules
/// read (EIP-8025 replays writes first, as Cairn does) and nothing else that is a state
/// node; Cairn's complete rules add nodes only in the replay-order cases, where sorted or
/// deletions-first order collapses a branch that writes first keeps.
#[test]
fn eest_zkevm_witnesses_against_cairn_rules() {
    let Some(dir) = fixtures_dir() else {
        eprintln!("skipping the zkEVM witness comparison: CAIRN_FIXTURES is not set");
        return;
    };
    let comparison =
        cairn_ef_tests::zkevm_compare::compare_zkevm(&dir.join("eest/blockchain_tests_zkevm"))
            .unwrap();
    eprintln!("{comparison}");
    let analysed: Vec<_> = comparison.analysed().collect();
    assert_eq!(
        analysed.len(),
        comparison.blocks.len(),
        "every valid block analysed"
    );
    assert!(analysed.len() > 200, "analysed {}", analysed.len());
    for b in &analysed {
        assert_eq!(b.minimal_not_eest, 0, "{b:?}");
        assert_eq!(b.eest_not_minimal, b.eest_not_prestate, "{b:?}");
        assert_eq!(b.eest_not_complete, b.eest_not_prestate, "{b:?}");
        if b.complete_not_eest > 0 {
            assert!(b.case.contains("insert_before_delete_order"), "{b:?}");
        }
    }
    assert!(analysed.iter().any(|b| b.complete_not_eest > 0));
    assert!(analysed.iter().any(|b| b.deployed_not_eest > 0));
}
