//! Bad requests answer JSON-RPC errors with codes and clear messages, limits hold, and the
//! server keeps answering afterwards.

use crate::{BLOCKS, Fixture, client, rpc_error};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_serde::storage::JsonStorageKey;
use cairn_exec::commit::CallRequest;
use cairn_qmtree::{Proof, RangeProof};
use cairn_rpc::{BlockParam, DebugApiClient, EthApiClient, Limits, ProofInput, QmApiClient, codes};
use jsonrpsee::core::{
    client::{ClientT, Error as ClientError},
    rpc_params,
};
use serde_json::{Value, json};

/// Sends a raw request and returns its error code and message (with the parser's `data`).
async fn raw(
    fx: &Fixture,
    method: &str,
    params: jsonrpsee::core::params::ArrayParams,
) -> (i32, String) {
    rpc_error(fx.client.request::<Value, _>(method, params).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_params_are_json_rpc_errors_and_the_server_keeps_answering() {
    let fx = Fixture::new().await;
    let invalid = codes::INVALID_PARAMS;
    let cases: Vec<(&str, jsonrpsee::core::params::ArrayParams, i32, &str)> = vec![
        (
            "qm_getRoot",
            rpc_params!["pending"],
            invalid,
            "not supported",
        ),
        ("qm_getRoot", rpc_params!["safe"], invalid, "not supported"),
        (
            "qm_getRoot",
            rpc_params!["0xnothex"],
            invalid,
            "not a block",
        ),
        ("qm_getRoot", rpc_params![12], invalid, "not a block"),
        (
            "qm_getRoot",
            rpc_params!["0x10000000000000000"],
            invalid,
            "not a block",
        ),
        ("qm_getRoot", rpc_params![], invalid, ""),
        (
            "qm_getRoot",
            rpc_params!["0x99"],
            codes::UNKNOWN_BLOCK,
            "unknown block 153",
        ),
        ("qm_getLeaf", rpc_params!["seven"], invalid, ""),
        ("qm_getLeaf", rpc_params![-1], invalid, ""),
        (
            "qm_getLeaf",
            rpc_params![1_000_000],
            codes::UNKNOWN_TX_NUM,
            "unknown txNum 1000000",
        ),
        (
            "qm_getProof",
            rpc_params![1, "0x99"],
            codes::UNKNOWN_BLOCK,
            "unknown block",
        ),
        (
            "qm_verifyProof",
            rpc_params![json!({"type": "bogus"}), B256::ZERO],
            invalid,
            "qmtree proof",
        ),
        (
            "qm_verifyProof",
            rpc_params![42, B256::ZERO],
            invalid,
            "not a proof",
        ),
        ("qm_verifyProof", rpc_params!["0x01", "0x1234"], invalid, ""),
        (
            "qm_verifyProof",
            rpc_params!["0x", B256::ZERO],
            invalid,
            "empty",
        ),
        (
            "qm_verifyProof",
            rpc_params![json!({"blockNumber": 1}), B256::ZERO],
            invalid,
            "call proof",
        ),
        ("qm_call", rpc_params![json!({"to": "0x12"})], invalid, ""),
        (
            "qm_call",
            rpc_params![CallRequest::default(), "0x99"],
            codes::UNKNOWN_BLOCK,
            "unknown block",
        ),
        ("qm_callProof", rpc_params!["0x1234"], invalid, ""),
        (
            "qm_callProof",
            rpc_params![B256::repeat_byte(5)],
            codes::UNKNOWN_CALL,
            "no qm_call proof",
        ),
        ("eth_getBlockByNumber", rpc_params!["latest"], invalid, ""),
        (
            "eth_getBlockByNumber",
            rpc_params!["finalized", false],
            invalid,
            "not supported",
        ),
        (
            "eth_getProof",
            rpc_params![Address::ZERO, Vec::<B256>::new()],
            invalid,
            "",
        ),
        (
            "eth_getProof",
            rpc_params!["0xabc", Vec::<B256>::new(), "latest"],
            invalid,
            "",
        ),
        (
            "eth_getProof",
            rpc_params![Address::ZERO, ["zz"], "latest"],
            invalid,
            "",
        ),
        (
            "eth_getProof",
            rpc_params![Address::ZERO, Vec::<B256>::new(), "0x99"],
            codes::UNKNOWN_BLOCK,
            "unknown block",
        ),
        (
            "debug_executionWitness",
            rpc_params![json!({"blockNumber": 1})],
            invalid,
            "not a block",
        ),
        ("qm_noSuchMethod", rpc_params![], -32601, ""),
    ];
    for (method, params, code, needle) in cases {
        let (got, message) = raw(&fx, method, params).await;
        assert_eq!(got, code, "{method}: {message}");
        assert!(
            message.contains(needle),
            "{method}: {message:?} lacks {needle:?}"
        );
    }

    // A range proof without the older root.
    let range = Proof::Range(RangeProof {
        old_size: 1,
        new_size: 1,
        nodes: vec![],
    });
    let (code, message) = rpc_error(
        fx.client
            .verify_proof(ProofInput::Tree(range), B256::ZERO, None)
            .await,
    );
    assert_eq!(code, invalid);
    assert!(message.contains("oldRoot"), "{message}");

    // The EVM refusing a call: value from an account without funds.
    let broke = CallRequest {
        from: Some(Address::repeat_byte(0xde)),
        to: Some(Address::repeat_byte(0xad)),
        value: Some(U256::from(10).pow(U256::from(18))),
        ..Default::default()
    };
    let (code, message) = rpc_error(fx.client.call(broke, None).await);
    assert_eq!(code, codes::CALL_FAILED, "{message}");
    assert!(
        message.contains(&format!("call at block {BLOCKS}")),
        "{message}"
    );

    // Too many storage keys.
    let keys = vec![JsonStorageKey::from(U256::ZERO); Limits::default().max_storage_keys + 1];
    let (code, message) = rpc_error(
        fx.client
            .get_proof(Address::ZERO, keys, BlockParam::Latest)
            .await,
    );
    assert_eq!(code, invalid);
    assert!(message.contains("storage keys"), "{message}");

    // A body that is not JSON-RPC at all.
    let response = post(&fx.server.url(), "{not json").await;
    assert!(response.contains("-32700"), "parse error: {response}");
    let response = post(
        &fx.server.url(),
        &format!(
            "[{}]",
            vec![r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}"#; 65].join(",")
        ),
    )
    .await;
    assert!(
        response.contains("error"),
        "batch over the limit: {response}"
    );

    // Still answering.
    assert_eq!(fx.client.block_number().await.unwrap().to::<u64>(), BLOCKS);
    assert_eq!(
        fx.client
            .root(BlockParam::Latest)
            .await
            .unwrap()
            .block_number,
        BLOCKS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_requests_and_responses_are_refused() {
    let limits = Limits {
        max_request_body_size: 64 * 1024,
        max_response_body_size: 2 * 1024,
        ..Limits::default()
    };
    let fx = Fixture::with_limits(limits).await;
    // A request whose declared length is over the bound is refused with HTTP 413 before
    // its body is read.
    let response = post_head(&fx.server.url(), 1 << 20).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    // The typed client sending a 100 KiB "proof" is refused too (with the 413, or with the
    // connection reset when the server closes it with the body unread).
    let huge = Bytes::from(vec![1u8; 100 * 1024]);
    let err = fx
        .client
        .verify_proof(ProofInput::Binary(huge), B256::ZERO, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Transport(_)),
        "refused unread: {err:?}"
    );
    // The server closes that connection; a new one is served. A witness larger than the
    // response bound is an error, and small requests are still answered.
    let c = client(&fx.server.url());
    let (code, message) = rpc_error(c.execution_witness(BlockParam::Latest).await);
    assert_eq!(code, -32008, "{message}");
    assert!(message.contains("too big"), "{message}");
    assert_eq!(c.block_number().await.unwrap().to::<u64>(), BLOCKS);
}

/// The head of a POST declaring `len` body bytes, without the body; returns the response.
async fn post_head(url: &str, len: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = vec![0; 4096];
    let n = stream.read(&mut response).await.unwrap();
    String::from_utf8_lossy(&response[..n]).into_owned()
}

/// A raw HTTP POST, for bodies the typed client cannot send.
async fn post(url: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}
