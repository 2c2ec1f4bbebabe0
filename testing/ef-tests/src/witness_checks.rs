//! Checks on a witness that validates: every item is needed (minimality), and tampering is
//! either rejected or harmless (robustness). Used by the conformance tests.

use cairn_primitives::{ExecutionWitness, ProgramInput, ProgramOutput};
use cairn_stateless::{UpdateOrder, WitnessRules, validate, validate_with_rules};

/// Which list of the witness an item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `state` trie nodes.
    State,
    /// `codes`.
    Codes,
    /// `headers`.
    Headers,
}

fn list(w: &mut ExecutionWitness, part: Part) -> &mut Vec<alloy_primitives::Bytes> {
    match part {
        Part::State => &mut w.state,
        Part::Codes => &mut w.codes,
        Part::Headers => &mut w.headers,
    }
}

/// [`list`] for reading.
fn items(w: &ExecutionWitness, part: Part) -> &[alloy_primitives::Bytes] {
    match part {
        Part::State => &w.state,
        Part::Codes => &w.codes,
        Part::Headers => &w.headers,
    }
}

fn with_witness(input: &ProgramInput, f: impl FnOnce(&mut ExecutionWitness)) -> ProgramInput {
    let mut input = input.clone();
    f(&mut input.witness);
    input
}

/// Removes each item in turn; every removal must make validation fail. Returns the
/// surplus items found (empty for a minimal witness).
pub fn surplus_items(input: &ProgramInput) -> Vec<(Part, usize)> {
    surplus_items_under(input, &[WitnessRules::CAIRN])
}

/// The rules a complete witness is made for: pre-state code only from the witness, and each
/// of the update orders (every item of a complete witness is needed by at least one).
pub fn every_order() -> Vec<WitnessRules> {
    UpdateOrder::ALL
        .into_iter()
        .map(|order| WitnessRules {
            prestate_code_from_source: true,
            order,
            reach_all_orders: false,
        })
        .collect()
}

/// Removes each item in turn; an item is surplus when validation under every one of
/// `rules` still accepts the witness without it.
pub fn surplus_items_under(input: &ProgramInput, rules: &[WitnessRules]) -> Vec<(Part, usize)> {
    let mut surplus = Vec::new();
    for part in [Part::State, Part::Codes, Part::Headers] {
        let n = items(&input.witness, part).len();
        for i in 0..n {
            let reduced = with_witness(input, |w| {
                list(w, part).remove(i);
            });
            if rules
                .iter()
                .all(|r| validate_with_rules(&reduced, *r).is_ok())
            {
                surplus.push((part, i));
            }
        }
    }
    surplus
}

/// Applies tampering (drop an item, add a stray node, flip a byte in a node, a code and a
/// header) chosen from `seed`; each must be rejected or give exactly `expected`. Returns a
/// description of every tampering that was accepted with a different output.
pub fn tampering_accepted(
    input: &ProgramInput,
    expected: &ProgramOutput,
    seed: u64,
) -> Vec<String> {
    let mut bad = Vec::new();
    let pick = |n: usize, salt: u64| {
        (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(salt) % n.max(1) as u64) as usize
    };
    let mut cases: Vec<(String, ProgramInput)> = Vec::new();
    for part in [Part::State, Part::Codes, Part::Headers] {
        let n = items(&input.witness, part).len();
        if n == 0 {
            continue;
        }
        let i = pick(n, part as u64);
        cases.push((
            format!("drop {part:?}[{i}]"),
            with_witness(input, |w| {
                list(w, part).remove(i);
            }),
        ));
        let item_len = items(&input.witness, part)[i].len();
        let at = pick(item_len, 7 + part as u64);
        cases.push((
            format!("flip byte {at} of {part:?}[{i}]"),
            with_witness(input, |w| {
                let item = &mut list(w, part)[i];
                let mut bytes = item.to_vec();
                if let Some(b) = bytes.get_mut(at) {
                    *b ^= 0x5a;
                }
                *item = bytes.into();
            }),
        ));
    }
    let stray = alloy_primitives::Bytes::from(alloy_rlp::encode(vec![
            alloy_primitives::Bytes::from_static(
                b"stray"
            );
            2
        ]));
    cases.push((
        "add a stray node".into(),
        with_witness(input, |w| w.state.push(stray.clone())),
    ));
    cases.push((
        "duplicate the first node".into(),
        with_witness(input, |w| {
            if let Some(first) = w.state.first().cloned() {
                w.state.push(first);
            }
        }),
    ));
    for (what, tampered) in cases {
        if let Ok(out) = validate(&tampered)
            && out != *expected
        {
            bad.push(format!("{what}: accepted with output {out:?}"));
        }
    }
    bad
}
