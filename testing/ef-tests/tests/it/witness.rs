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
