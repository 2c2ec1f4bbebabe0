//! The EVM verifier: snark-verifier's generated Solidity (Yul in a fallback function) for a
//! verifying key, behind a thin wrapper with the interface the settlement router calls (the
//! one Kroma's `ZKVerifier` has):
//!
//! ```solidity
//! function verify(uint256[] calldata proof, uint256[] calldata target_circuit_final_pair)
//!     external view returns (bool);
//! ```
//!
//! `target_circuit_final_pair` are the proof's public instances (for an aggregated proof,
//! the 12 limbs of the KZG accumulator, the final pair the verifier checks with one pairing,
//! then the statement's instances), and `proof` the proof bytes as 32-byte words. The wrapper
//! passes `instances ‖ proof` to the generated verifier and answers whether it accepted.
//!
//! Compiled with solc-js through standard JSON, with three known traps avoided: the generated
//! `pragma solidity 0.8.19;` is relaxed to `^0.8.19` (solc-js here is 0.8.30), the optimizer
//! is off (its defaults fail with "Stack too deep"), and `viaIR` is never used (it compiles
//! these verifiers into contracts that always revert; a test keeps checking that a valid proof
//! is accepted).

use std::rc::Rc;

use alloy_primitives::{Address, B256, Bytes, U256, hex};
use axiom_eth::{
    halo2_proofs::{
        halo2curves::bn256::{Bn256, Fq, Fr, G1Affine},
        plonk::VerifyingKey,
        poly::{commitment::ParamsProver, kzg::commitment::ParamsKZG},
    },
    snark_verifier::{
        loader::evm::EvmLoader,
        system::halo2::{Config, compile, transcript::evm::EvmTranscript},
        verifier::SnarkVerifier,
    },
    snark_verifier_sdk::{PlonkVerifier, SHPLONK},
};
use serde_json::{Value, json};

use crate::{
    error::{Result, ZkError},
    rpc::Rpc,
};

/// The wrapper contract (`verify(uint256[],uint256[])`).
pub const WRAPPER_SOL: &str = r#"// SPDX-License-Identifier: MIT
pragma solidity ^0.8.19;

/// Kroma's ZKVerifier interface over a snark-verifier generated Halo2 verifier, whose
/// fallback takes `instances || proof` (32-byte words) and reverts unless the proof verifies.
contract CairnZkVerifier {
    address public immutable halo2Verifier;
    uint256 public immutable numInstances;

    constructor(address verifier, uint256 instances) {
        halo2Verifier = verifier;
        numInstances = instances;
    }

    function verify(uint256[] calldata proof, uint256[] calldata target_circuit_final_pair)
        external
        view
        returns (bool)
    {
        if (target_circuit_final_pair.length != numInstances) return false;
        (bool ok, ) = halo2Verifier.staticcall(abi.encodePacked(target_circuit_final_pair, proof));
        return ok;
    }
}
"#;

/// Generates the Solidity verifier of `vk` (SHPLONK, Keccak transcript) with
/// `num_instance` instances per column; `accumulator` when the circuit is an aggregation
/// circuit whose first 12 instances are a KZG accumulator (then the verifier also does the
/// deferred pairing).
///
/// # Errors
/// [`ZkError::Evm`] when snark-verifier cannot build the verifier for the key.
pub fn generate_solidity(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instance: Vec<usize>,
    accumulator: bool,
) -> Result<String> {
    crate::snark::guarded("evm-verifier", "generate", || {
        let accumulator_indices = accumulator.then(|| (0..12).map(|i| (0, i)).collect());
        let protocol = compile(
            params,
            vk,
            Config::kzg()
                .with_num_instance(num_instance.clone())
                .with_accumulator_indices(accumulator_indices),
        );
        let dk = (params.get_g()[0], params.g2(), params.s_g2()).into();
        let loader = EvmLoader::new::<Fq, Fr>();
        let protocol = protocol.loaded(&loader);
        let mut transcript = EvmTranscript::<_, Rc<EvmLoader>, _, _>::new(&loader);
        let instances = transcript.load_instances(num_instance);
        let proof = PlonkVerifier::<SHPLONK>::read_proof(&dk, &protocol, &instances, &mut transcript)
            .map_err(|e| format!("{e:?}"))?;
        PlonkVerifier::<SHPLONK>::verify(&dk, &protocol, &instances, &proof)
            .map_err(|e| format!("{e:?}"))?;
        Ok::<_, String>(relax_pragma(&loader.solidity_code()))
    })?
    .map_err(|reason| ZkError::Evm { reason })
}

/// The generated source pins `pragma solidity 0.8.19;`; solc-js here is newer.
pub fn relax_pragma(source: &str) -> String {
    source.replace("pragma solidity 0.8.19;", "pragma solidity ^0.8.19;")
}

/// Creation bytecode of the generated verifier and of the wrapper.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// `Halo2Verifier` creation code.
    pub verifier: Bytes,
    /// `CairnZkVerifier` creation code (without constructor arguments).
    pub wrapper: Bytes,
    /// Runtime size of the verifier in bytes.
    pub verifier_runtime_size: usize,
}

/// Compiles the generated verifier and the wrapper with solc-js (standard JSON, optimizer
/// off, EVM version Cancun, no viaIR).
///
/// # Errors
/// [`ZkError::Tool`] when solc-js is missing or reports errors; [`ZkError::Evm`] for an
/// unusable output.
pub fn compile_contracts(verifier_sol: &str) -> Result<Compiled> {
    let input = json!({
        "language": "Solidity",
        "sources": {
            "Halo2Verifier.sol": {"content": verifier_sol},
            "CairnZkVerifier.sol": {"content": WRAPPER_SOL},
        },
        "settings": {
            "optimizer": {"enabled": false},
            "evmVersion": "cancun",
            "outputSelection": {"*": {"*": ["evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    });
    let out = cairn_devtools::solc_standard_json(&input)?;
    let code = |file: &str, name: &str, which: &str| -> Result<Bytes> {
        let hex_code = out["contracts"][file][name]["evm"][which]["object"]
            .as_str()
            .ok_or_else(|| ZkError::Evm {
                reason: format!("solc output has no {which} for {file}:{name}"),
            })?;
        hex::decode(hex_code).map(Bytes::from).map_err(|e| ZkError::Evm {
            reason: format!("{file}:{name} {which}: {e}"),
        })
    };
    Ok(Compiled {
        verifier: code("Halo2Verifier.sol", "Halo2Verifier", "bytecode")?,
        wrapper: code("CairnZkVerifier.sol", "CairnZkVerifier", "bytecode")?,
        verifier_runtime_size: code("Halo2Verifier.sol", "Halo2Verifier", "deployedBytecode")?.len(),
    })
}

/// A deployed verifier on a dev chain.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// The generated verifier.
    pub verifier: Address,
    /// The wrapper (`verify(uint256[],uint256[])`).
    pub wrapper: Address,
    /// Gas used deploying the verifier.
    pub deploy_gas: u64,
}

/// Deploys `compiled` from the node's first unlocked account (anvil's dev accounts).
///
/// # Errors
/// [`ZkError::Rpc`], [`ZkError::Evm`] when a deployment fails.
pub fn deploy(rpc: &Rpc, compiled: &Compiled, num_instances: usize) -> Result<Deployed> {
    let accounts: Vec<Address> = rpc.call("eth_accounts", vec![])?;
    let from = *accounts.first().ok_or_else(|| ZkError::Evm {
        reason: "the node has no unlocked account to deploy from".into(),
    })?;
    let (verifier, deploy_gas) = send_create(rpc, from, &compiled.verifier)?;
    let mut wrapper_code = compiled.wrapper.to_vec();
    wrapper_code.extend_from_slice(B256::left_padding_from(verifier.as_slice()).as_slice());
    wrapper_code.extend_from_slice(&U256::from(num_instances).to_be_bytes::<32>());
    let (wrapper, _) = send_create(rpc, from, &wrapper_code)?;
    Ok(Deployed {
        verifier,
        wrapper,
        deploy_gas,
    })
}

fn send_create(rpc: &Rpc, from: Address, code: &[u8]) -> Result<(Address, u64)> {
    let tx: B256 = rpc.call(
        "eth_sendTransaction",
        vec![json!({"from": from, "data": Bytes::copy_from_slice(code), "gas": "0x1c9c380"})],
    )?;
    let receipt = wait_receipt(rpc, tx)?;
    if receipt["status"] != "0x1" {
        return Err(ZkError::Evm {
            reason: format!("deployment {tx} failed: {receipt}"),
        });
    }
    let address: Address = serde_json::from_value(receipt["contractAddress"].clone()).map_err(|e| ZkError::Evm {
        reason: format!("deployment {tx}: no contract address ({e})"),
    })?;
    let gas = quantity(&receipt["gasUsed"]);
    Ok((address, gas))
}

fn wait_receipt(rpc: &Rpc, tx: B256) -> Result<Value> {
    for _ in 0..600 {
        let receipt: Option<Value> = rpc.call("eth_getTransactionReceipt", vec![json!(tx)])?;
        if let Some(r) = receipt {
            return Ok(r);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(ZkError::Evm {
        reason: format!("transaction {tx} not mined within 60 s"),
    })
}

fn quantity(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or_default()
}

/// The calldata of `verify(uint256[] proof, uint256[] target_circuit_final_pair)`.
pub fn verify_calldata(proof: &[u8], instances: &[B256]) -> Result<Bytes> {
    if proof.len() % 32 != 0 {
        return Err(ZkError::Evm {
            reason: format!("proof of {} bytes is not a sequence of 32-byte words", proof.len()),
        });
    }
    // selector of verify(uint256[],uint256[])
    let selector = &alloy_primitives::keccak256("verify(uint256[],uint256[])")[..4];
    let proof_words = proof.len() / 32;
    let mut data = selector.to_vec();
    let word = |n: usize| U256::from(n).to_be_bytes::<32>();
    data.extend_from_slice(&word(64));
    data.extend_from_slice(&word(64 + 32 + proof.len()));
    data.extend_from_slice(&word(proof_words));
    data.extend_from_slice(proof);
    data.extend_from_slice(&word(instances.len()));
    for i in instances {
        data.extend_from_slice(i.as_slice());
    }
    Ok(data.into())
}

/// What the chain said about one proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnChain {
    /// `verify(...)` returned true.
    pub accepted: bool,
    /// Gas of a transaction calling `verify` (eth_estimateGas; includes the 21,000 base and
    /// calldata), when accepted.
    pub gas: Option<u64>,
}

/// Calls `verify(proof, instances)` on the wrapper.
///
/// # Errors
/// [`ZkError::Rpc`], [`ZkError::Evm`].
pub fn verify_on_chain(rpc: &Rpc, wrapper: Address, proof: &[u8], instances: &[B256]) -> Result<OnChain> {
    let data = verify_calldata(proof, instances)?;
    let call = json!({"to": wrapper, "data": data, "gas": "0x1c9c380"});
    let ret: Bytes = rpc.call("eth_call", vec![call.clone(), json!("latest")])?;
    if ret.len() != 32 {
        return Err(ZkError::Evm {
            reason: format!("verify returned {} bytes, expected a bool", ret.len()),
        });
    }
    let accepted = ret[31] == 1 && ret[..31].iter().all(|b| *b == 0);
    let gas = if accepted {
        let g: alloy_primitives::U64 = rpc.call("eth_estimateGas", vec![call])?;
        Some(g.to())
    } else {
        None
    };
    Ok(OnChain { accepted, gas })
}
