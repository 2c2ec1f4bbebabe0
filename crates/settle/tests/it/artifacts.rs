//! The committed artifacts and vectors are what the sources and rules give today; both
//! verifiers agree with every vector.

use crate::common::anvil;
use cairn_settle::{
    Error,
    contracts::{ARTIFACTS, CairnRollup, artifacts_dir, binding_abi, compile, public_values_abi},
    l1::Ctx,
    vectors::{committed, generate, outcome, vectors_path},
};

/// Set to regenerate the committed files instead of comparing.
const UPDATE: &str = "CAIRN_UPDATE_CONTRACTS";

fn update() -> bool {
    std::env::var(UPDATE).is_ok_and(|v| v == "1")
}

#[test]
fn artifacts_match_a_fresh_compile() {
    let Some(fresh) = cairn_devtools::require(compile().map_err(|e| match e {
        Error::Tool(t) => t,
        other => panic!("{other}"),
    })) else {
        return;
    };
    for (name, _, committed) in ARTIFACTS {
        let fresh = &fresh[*name];
        if update() {
            let path = artifacts_dir().join(format!("{name}.json"));
            let text = serde_json::to_string_pretty(fresh).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
            continue;
        }
        let committed: serde_json::Value = serde_json::from_str(committed).unwrap();
        for field in ["abi", "bytecode", "deployedBytecode"] {
            assert!(
                committed[field] == fresh[field],
                "contracts/settlement/artifacts/{name}.json: {field} differs from a fresh compile; \
                 run `{UPDATE}=1 cargo test -p cairn-settle --test it artifacts` and commit"
            );
        }
    }
}

#[test]
fn committed_vectors_are_the_generators() {
    let fresh = generate().unwrap();
    if update() {
        let text = serde_json::to_string_pretty(&fresh).unwrap() + "\n";
        std::fs::write(vectors_path(), text).unwrap();
        return;
    }
    assert_eq!(
        committed().unwrap(),
        fresh,
        "{}: run `{UPDATE}=1 cargo test -p cairn-settle --test it vectors` and commit",
        vectors_path().display()
    );
}

#[test]
fn vectors_cover_every_rule_on_both_sides() {
    let vectors = committed().unwrap();
    assert!(vectors.len() > 40, "{} vectors", vectors.len());
    for expect in [
        "ok",
        "LeafCounts",
        "SiblingCount(Before)",
        "SiblingCount(After)",
        "NotLastLeaf(Before)",
        "NotLastLeaf(After)",
        "LeafNotUnderRoot(Before)",
        "LeafNotUnderRoot(After)",
        "Range",
    ] {
        assert!(
            vectors.iter().any(|v| v.expect == expect),
            "no vector expects {expect}"
        );
    }
}

#[test]
fn rust_verifier_agrees_with_every_vector() {
    for v in committed().unwrap() {
        let (pv, binding) = v.decode().unwrap();
        assert_eq!(outcome(binding.verify(&pv)), v.expect, "{}", v.name);
    }
}

/// The Solidity error name a vector's outcome stands for.
fn solidity_name(expect: &str) -> String {
    match expect {
        "ok" => "ok".into(),
        other => format!("Binding{}", other.split('(').next().unwrap_or_default()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solidity_verifier_agrees_with_every_vector() {
    let Some(anvil) = anvil() else { return };
    let s = crate::common::stack(&anvil.url()).await;
    let ctx = Ctx {
        batch: 0,
        kind: cairn_settle::TxKind::Verify,
    };
    let mut checked = 0;
    for v in committed().unwrap() {
        let (pv, binding) = v.decode().unwrap();
        let call = CairnRollup::verifyBindingCall {
            pv: public_values_abi(&pv),
            binding: binding_abi(&binding),
        };
        let got = match s.l1.call(s.rollup(), &call, None, ctx).await {
            Ok(roots) => {
                assert_eq!(roots.rootBefore, binding.rootBefore, "{}", v.name);
                assert_eq!(roots.rootAfter, binding.rootAfter, "{}", v.name);
                "ok".to_string()
            }
            Err(Error::WouldRevert { revert, .. }) => {
                // The side too, where the error has one.
                let text = revert.to_string();
                if let Some(side) = v.expect.split('(').nth(1) {
                    // `BindingSide` is a uint8 in the ABI: 0 before, 1 after.
                    let code = if side.starts_with("Before") { 0 } else { 1 };
                    assert!(
                        text.contains(&format!("side: {code}")),
                        "{}: {text}",
                        v.name
                    );
                }
                revert.name()
            }
            Err(e) => panic!("{}: {e}", v.name),
        };
        assert_eq!(got, solidity_name(&v.expect), "{}", v.name);
        checked += 1;
    }
    println!("{checked} vectors: Solidity and Rust agree");
}
