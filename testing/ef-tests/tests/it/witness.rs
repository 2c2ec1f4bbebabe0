//! Generated witnesses are minimal (every node, code and header is needed) and robust
//! (tampering is rejected or harmless), on a deterministic sample of the EEST cases.

use cairn_ef_tests::{
    case::{Outcome, run_blockchain_test},
    fixtures_dir, sampled_cases,
    witness_checks::{surplus_items, tampering_accepted},
};
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
        let mut kept = Vec::new();
        let outcome = run_blockchain_test(&test, |block, config| {
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
            "{name}: {outcome:?}"
        );
        for (b, input) in kept.iter().take(2).enumerate() {
            let expected = cairn_stateless::validate(input).unwrap();
            for (part, i) in surplus_items(input) {
                problems.push(format!("{name} block {b}: {part:?}[{i}] is surplus"));
            }
            for bad in tampering_accepted(input, &expected, index as u64) {
                problems.push(format!("{name} block {b}: {bad}"));
            }
            blocks_checked += 1;
            items_checked += input.witness.item_count();
        }
    }
    eprintln!(
        "witness checks: {blocks_checked} blocks, {items_checked} witness items removed one by one, {} problems",
        problems.len()
    );
    assert!(
        blocks_checked > 100,
        "the sample must be substantial, got {blocks_checked}"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}
