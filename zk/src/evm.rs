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

/// The wrapper of a storage proof pair (`verify(uint256[],uint256[])`): `proof` is `[n,
/// storage proof (n words), keccak shard proof]`, `target_circuit_final_pair` the storage
/// circuit's instances, whose last is the Keccak commitment; the Keccak shard verifier gets
/// that same word as its only instance, which is what ties the Keccak table to the storage
/// proof.
pub const COMPONENTS_WRAPPER_SOL: &str = r#"
/// Kroma's ZKVerifier interface over the two snark-verifier generated verifiers of a Cairn
/// storage proof: the storage circuit and the Keccak shard that proves its Keccak promises.
contract CairnZkStorageVerifier {
    address public immutable storageVerifier;
    address public immutable keccakVerifier;
    uint256 public immutable numInstances;

    constructor(address storageVerifier_, address keccakVerifier_, uint256 numInstances_) {
        storageVerifier = storageVerifier_;
        keccakVerifier = keccakVerifier_;
        numInstances = numInstances_;
    }

    /// proof = [n, storage proof (n words), keccak shard proof];
    /// target_circuit_final_pair = the storage circuit's public instances (blockHash hi/lo,
    /// blockNumber, address, slot hi/lo, value hi/lo, keccak commitment).
    function verify(uint256[] calldata proof, uint256[] calldata target_circuit_final_pair)
        external
        view
        returns (bool)
    {
        if (target_circuit_final_pair.length != numInstances || proof.length == 0) return false;
        uint256 n = proof[0];
        if (n == 0 || n >= proof.length - 1) return false;
        uint256[] memory storageProof = proof[1:1 + n];
        uint256[] memory keccakProof = proof[1 + n:];
        (bool ok, ) = storageVerifier.staticcall(abi.encodePacked(target_circuit_final_pair, storageProof));
        if (!ok) return false;
        (ok, ) = keccakVerifier.staticcall(
            abi.encodePacked(target_circuit_final_pair[numInstances - 1], keccakProof)
        );
        return ok;
    }
}
"#;

/// One Solidity file with the storage and Keccak shard verifiers (renamed
/// `StorageHalo2Verifier`, `KeccakHalo2Verifier`) and their [`COMPONENTS_WRAPPER_SOL`].
pub fn components_source(storage_sol: &str, keccak_sol: &str) -> String {
    let body = |sol: &str, name: &str| {
        sol.replace("contract Halo2Verifier", &format!("contract {name}"))
            .replace("// SPDX-License-Identifier: MIT", "")
            .replace("pragma solidity ^0.8.19;", "")
    };
    format!(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.19;\n{}\n{}\n{}",
        body(storage_sol, "StorageHalo2Verifier"),
        body(keccak_sol, "KeccakHalo2Verifier"),
        COMPONENTS_WRAPPER_SOL
    )
}

/// The proof and instances the components wrapper takes for a storage proof pair (EVM
/// transcripts).
///
/// # Errors
/// [`ZkError::Evm`] for proofs of the Poseidon transcript or not made of 32-byte words.
pub fn components_calldata(proofs: &crate::storage::StorageProofs) -> Result<(Vec<u8>, Vec<B256>)> {
    if proofs.transcript != crate::snark::Transcript::Evm {
        return Err(ZkError::Evm {
            reason: "component proofs use the Poseidon transcript (made for aggregation); prove without --aggregate for the EVM".into(),
        });
    }
    if proofs.storage_proof.len() % 32 != 0 || proofs.keccak_proof.len() % 32 != 0 {
        return Err(ZkError::Evm {
            reason: "proofs are not sequences of 32-byte words".into(),
        });
    }
    let mut proof = U256::from(proofs.storage_proof.len() / 32)
        .to_be_bytes::<32>()
        .to_vec();
    proof.extend_from_slice(&proofs.storage_proof);
    proof.extend_from_slice(&proofs.keccak_proof);
    Ok((proof, proofs.storage_instances.clone()))
}

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
        let proof =
            PlonkVerifier::<SHPLONK>::read_proof(&dk, &protocol, &instances, &mut transcript)
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

/// Creation bytecode of the generated verifier(s) and of the wrapper.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// Generated verifiers' creation code (one for an aggregated proof; storage then Keccak
    /// shard for a proof pair).
    pub verifiers: Vec<Bytes>,
    /// Wrapper creation code (without constructor arguments).
    pub wrapper: Bytes,
    /// Runtime size of each verifier in bytes.
    pub runtime_sizes: Vec<usize>,
}

/// Compiles the verifier of an aggregated proof and its wrapper (see [`compile_source`]).
///
/// # Errors
/// As [`compile_source`].
pub fn compile_contracts(verifier_sol: &str) -> Result<Compiled> {
    let source = format!(
        "{verifier_sol}\n{}",
        WRAPPER_SOL.replace(
            "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.19;\n",
            ""
        )
    );
    compile_source(&source, &["Halo2Verifier"], "CairnZkVerifier")
}

/// Compiles a file of generated verifiers and a wrapper with solc-js (standard JSON,
/// optimizer off, EVM version Cancun, no viaIR).
///
/// # Errors
/// [`ZkError::Tool`] when solc-js is missing or reports errors; [`ZkError::Evm`] for an
/// unusable output.
pub fn compile_source(source: &str, verifiers: &[&str], wrapper: &str) -> Result<Compiled> {
    let input = json!({
        "language": "Solidity",
        "sources": {
            "Verifier.sol": {"content": source},
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
        hex::decode(hex_code)
            .map(Bytes::from)
            .map_err(|e| ZkError::Evm {
                reason: format!("{file}:{name} {which}: {e}"),
            })
    };
    Ok(Compiled {
        verifiers: verifiers
            .iter()
            .map(|v| code("Verifier.sol", v, "bytecode"))
            .collect::<Result<_>>()?,
        wrapper: code("Verifier.sol", wrapper, "bytecode")?,
        runtime_sizes: verifiers
            .iter()
            .map(|v| code("Verifier.sol", v, "deployedBytecode").map(|c| c.len()))
            .collect::<Result<_>>()?,
    })
}

/// A deployed verifier on a dev chain.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// The generated verifiers.
    pub verifiers: Vec<Address>,
    /// The wrapper (`verify(uint256[],uint256[])`).
    pub wrapper: Address,
    /// Gas used deploying the verifiers and the wrapper.
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
    let mut deploy_gas = 0;
    let mut verifiers = Vec::with_capacity(compiled.verifiers.len());
    let mut wrapper_code = compiled.wrapper.to_vec();
    for code in &compiled.verifiers {
        let (verifier, gas) = send_create(rpc, from, code)?;
        deploy_gas += gas;
        verifiers.push(verifier);
        wrapper_code.extend_from_slice(B256::left_padding_from(verifier.as_slice()).as_slice());
    }
    wrapper_code.extend_from_slice(&U256::from(num_instances).to_be_bytes::<32>());
    let (wrapper, gas) = send_create(rpc, from, &wrapper_code)?;
    Ok(Deployed {
        verifiers,
        wrapper,
        deploy_gas: deploy_gas + gas,
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
    let address: Address =
        serde_json::from_value(receipt["contractAddress"].clone()).map_err(|e| ZkError::Evm {
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
            reason: format!(
                "proof of {} bytes is not a sequence of 32-byte words",
                proof.len()
            ),
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
pub fn verify_on_chain(
    rpc: &Rpc,
    wrapper: Address,
    proof: &[u8],
    instances: &[B256],
) -> Result<OnChain> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pragma_is_relaxed() {
        assert_eq!(
            relax_pragma("pragma solidity 0.8.19;\ncontract A {}"),
            "pragma solidity ^0.8.19;\ncontract A {}"
        );
    }

    #[test]
    fn calldata_is_the_abi_encoding_of_two_dynamic_arrays() {
        let proof = [7u8; 64];
        let instances = [B256::repeat_byte(1)];
        let data = verify_calldata(&proof, &instances).unwrap();
        assert_eq!(
            &data[..4],
            &alloy_primitives::keccak256("verify(uint256[],uint256[])")[..4]
        );
        let word = |i: usize| U256::from_be_slice(&data[4 + 32 * i..4 + 32 * (i + 1)]);
        assert_eq!(word(0), U256::from(64)); // offset of proof
        assert_eq!(word(1), U256::from(64 + 32 + 64)); // offset of instances
        assert_eq!(word(2), U256::from(2)); // proof words
        assert_eq!(word(5), U256::from(1)); // instance count
        assert_eq!(data.len(), 4 + 32 * 7);
        assert!(verify_calldata(&[0u8; 33], &instances).is_err());
    }
}
