//! `debug_executionWitness`: reth's JSON form, and it validates statelessly.

use crate::{BLOCKS, Fixture, chain, reference, rpc_error};
use cairn_primitives::ProgramInput;
use cairn_rpc::{BlockParam, DebugApiClient, codes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execution_witnesses_validate_with_cairn_stateless() {
    let fx = Fixture::new().await;
    let file = chain();
    let reference = reference();
    for n in 1..=BLOCKS {
        let value = fx
            .client
            .execution_witness(BlockParam::Number(n))
            .await
            .unwrap();
        for field in ["state", "codes", "keys", "headers"] {
            assert!(
                value[field].is_array(),
                "block {n}: reth's form has `{field}`"
            );
        }
        assert!(
            value["headers"][0]
                .as_str()
                .is_some_and(|h| h.starts_with("0x")),
            "headers as RLP hex"
        );
        let witness = cairn_witness::json::from_value(value).unwrap();
        let input = ProgramInput {
            chain: file.chain.clone(),
            blocks: vec![file.block(n as usize - 1).unwrap()],
            witness,
        };
        let output = cairn_stateless::validate(&input).unwrap_or_else(|e| panic!("block {n}: {e}"));
        let header = reference.chain().header(n).unwrap();
        assert_eq!(output.final_state_root, header.state_root);
        assert_eq!(output.last_block_hash, reference.chain().hash(n).unwrap());
        // Complete by default: what other clients need too.
        let strict = cairn_stateless::validate_strict(&input);
        assert_eq!(strict.ok(), Some(output), "block {n}: strict validation");
        // A witness with a node missing does not validate under every update order (a
        // complete witness holds nodes that only some orders reach).
        let mut broken = input.clone();
        broken.witness.state.remove(0);
        assert!(
            cairn_stateless::UpdateOrder::ALL.into_iter().any(|order| {
                let rules = cairn_stateless::WitnessRules {
                    order,
                    ..cairn_stateless::WitnessRules::STRICT
                };
                cairn_stateless::validate_with_rules(&broken, rules).is_err()
            }),
            "block {n}: incomplete witness"
        );
    }
    let latest = fx
        .client
        .execution_witness(BlockParam::Latest)
        .await
        .unwrap();
    assert_eq!(
        latest,
        fx.client
            .execution_witness(BlockParam::Number(BLOCKS))
            .await
            .unwrap()
    );
    let (code, message) = rpc_error(fx.client.execution_witness(BlockParam::Earliest).await);
    assert_eq!(code, codes::INVALID_PARAMS, "{message}");
    assert!(message.contains("genesis"), "{message}");
    let (code, _) = rpc_error(
        fx.client
            .execution_witness(BlockParam::Number(BLOCKS + 1))
            .await,
    );
    assert_eq!(code, codes::UNKNOWN_BLOCK);
}
