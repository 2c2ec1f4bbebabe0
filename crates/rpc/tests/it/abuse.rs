//! A hostile client: JSON-RPC 2.0 edge cases, HTTP bodies that lie or never end, extra
//! parameters, calls that loop, answers larger than the server's memory budget. Each gets a
//! clear error, and the server keeps serving everything else.

use crate::{Fixture, reference, rpc_error};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_serde::storage::JsonStorageKey;
use cairn_exec::commit::CallRequest;
use cairn_rpc::{BlockParam, EthApiClient, Limits, METHODS, QmApiClient, codes};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends raw bytes as one HTTP/1.1 exchange; returns the status and the body.
async fn exchange(url: &str, head: &str, body: &[u8]) -> (u16, String) {
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = head.replace("{addr}", addr);
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (and close) before it has read everything.
    let _ = stream.write_all(body).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"));
    (status, body.to_string())
}

/// A JSON POST with a correct `Content-Length`.
async fn post(url: &str, body: &str) -> (u16, Value) {
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {{addr}}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let (status, body) = exchange(url, &head, body.as_bytes()).await;
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body:?}"));
    (status, value)
}

/// A body sent in chunks of `chunk` bytes (`Transfer-Encoding: chunked`, no length).
fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for part in body.chunks(chunk) {
        out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

const CHUNKED_HEAD: &str = "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_rpc_edge_cases_get_proper_errors() {
    let fx = Fixture::new().await;
    let url = fx.server.url();

    // An id that is an object, an array, negative or fractional: -32600 with a null id, not
    // the bare `null` of a notification.
    for id in [
        json!({"a": 1}),
        json!([1]),
        json!(-1),
        json!(1.5),
        json!(true),
    ] {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "eth_blockNumber", "params": []});
        let (status, v) = post(&url, &body.to_string()).await;
        assert_eq!(status, 200);
        assert_eq!(v["error"]["code"], codes::INVALID_REQUEST, "id {id}: {v}");
        assert_eq!(v["id"], Value::Null, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("id must be"),
            "{v}"
        );
    }
    // In a batch, that entry alone is an error; a true notification gets no answer.
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"},
        {"jsonrpc": "2.0", "id": {"a": 1}, "method": "eth_blockNumber"},
        {"jsonrpc": "2.0", "method": "eth_blockNumber"},
        {"jsonrpc": "2.0", "id": "x", "method": "qm_getLeaf", "params": ["0x0", 1]},
    ]);
    let (_, v) = post(&url, &batch.to_string()).await;
    let answers = v.as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(answers.len(), 3, "{v}");
    assert_eq!(
        (&answers[0]["id"], &answers[0]["result"]),
        (&json!(1), &json!("0x4"))
    );
    assert_eq!(answers[1]["error"]["code"], codes::INVALID_REQUEST, "{v}");
    assert_eq!(answers[2]["id"], "x");
    assert_eq!(answers[2]["error"]["code"], codes::INVALID_PARAMS, "{v}");
    // A notification alone still gets nothing to read (jsonrpsee's `null`).
    let (status, v) = post(&url, r#"{"jsonrpc":"2.0","method":"eth_blockNumber"}"#).await;
    assert_eq!((status, v), (200, Value::Null));

    // Extra parameters, for every method: one more than it takes by position, or an unknown
    // name.
    for (method, params) in METHODS {
        let too_many = vec![Value::Null; params.len() + 1];
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": too_many});
        let (_, v) = post(&url, &body.to_string()).await;
        assert_eq!(v["error"]["code"], codes::INVALID_PARAMS, "{method}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("{method} takes at most {}", params.len())),
            "{message}"
        );
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": {"bogus": 1}});
        let (_, v) = post(&url, &body.to_string()).await;
        assert_eq!(v["error"]["code"], codes::INVALID_PARAMS, "{method}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("\"bogus\""),
            "{v}"
        );
    }
    // By name, camelCase or snake_case, within the list.
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "qm_getProof",
        "params": {"txNum": "0x1", "block": "latest"}});
    let (_, v) = post(&url, &body.to_string()).await;
    assert_eq!(v["result"]["txNum"], "0x1", "{v}");

    // txNum: a hex quantity or a JSON number; the answers use hex quantities throughout.
    for tx_num in [json!("0x5"), json!(5)] {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "qm_getLeaf", "params": [tx_num]});
        let (_, v) = post(&url, &body.to_string()).await;
        assert_eq!(v["result"]["txNum"], "0x5", "{v}");
        assert!(
            v["result"]["blockNumber"]
                .as_str()
                .unwrap()
                .starts_with("0x"),
            "{v}"
        );
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": "qm_getProof", "params": [tx_num, "0x2"]});
        let (_, v) = post(&url, &body.to_string()).await;
        let r = &v["result"];
        assert_eq!(
            (&r["txNum"], &r["blockNumber"]),
            (&json!("0x5"), &json!("0x2")),
            "{v}"
        );
        assert!(r["leafCount"].as_str().unwrap().starts_with("0x"), "{v}");
        assert_eq!(r["proof"]["txNum"], "0x5", "{v}");
    }
    for bad in [
        json!("5"),
        json!("0x"),
        json!(-5),
        json!(5.5),
        json!("0x1ffffffffffffffff"),
    ] {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "qm_getLeaf", "params": [bad]});
        let (_, v) = post(&url, &body.to_string()).await;
        assert_eq!(v["error"]["code"], codes::INVALID_PARAMS, "{bad}: {v}");
    }
    let (_, v) = post(
        &url,
        r#"{"jsonrpc":"2.0","id":1,"method":"qm_getRoot","params":["latest"]}"#,
    )
    .await;
    for field in ["blockNumber", "firstTxNum", "lastTxNum", "leafCount"] {
        assert!(
            v["result"][field].as_str().unwrap().starts_with("0x"),
            "{field}: {v}"
        );
    }
    assert_eq!(fx.client.block_number().await.unwrap().to::<u64>(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_lie_or_never_end_get_4xx_not_500() {
    let limits = Limits {
        max_request_body_size: 64 * 1024,
        ..Limits::default()
    };
    let fx = Fixture::with_limits(limits).await;
    let url = fx.server.url();
    let call = br#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"#;

    // Chunked, within the limit: served.
    let (status, body) = exchange(&url, CHUNKED_HEAD, &chunked(call, 7)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"result\":\"0x4\""), "{body}");
    // Chunked past the limit (no length to refuse it by): 413, not 500. (Only a little past
    // it, so that the server has read everything when it answers and closes.)
    let mut big = b"[".to_vec();
    big.extend(std::iter::repeat_n(b' ', 65 * 1024));
    let (status, body) = exchange(&url, CHUNKED_HEAD, &chunked(&big, 16 * 1024)).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("-32007") || body.contains("too big"),
        "{body}"
    );
    // One chunk that declares more than the limit.
    let mut huge = format!("{:x}\r\n", 10 << 20).into_bytes();
    huge.extend_from_slice(&[b' '; 65 * 1024]);
    let (status, _) = exchange(&url, CHUNKED_HEAD, &huge).await;
    assert_eq!(status, 413);
    // A broken chunk encoding: 400.
    let (status, body) = exchange(&url, CHUNKED_HEAD, b"zz\r\n{}\r\n0\r\n\r\n").await;
    assert_eq!(status, 400, "{body}");
    // A declared length beyond u32: 413 unread.
    let head = "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n";
    let (status, _) = exchange(&url, head, b"").await;
    assert_eq!(status, 413);
    // Still answering.
    assert_eq!(fx.client.block_number().await.unwrap().to::<u64>(), 4);
}

/// A contract creation whose init code loops until its gas runs out, slowly: 17 stack items,
/// then `JUMPDEST`, 32 × `SWAP16` (each step traced with 34 stack words), `PUSH1 34 JUMP`.
/// With the transaction gas cap of 2^24 it runs for far longer than the time budgets below.
fn endless() -> CallRequest {
    let mut code = [0x60, 0x00].repeat(17);
    code.push(0x5b);
    code.extend([0x9f; 32]);
    code.extend([0x60, 34, 0x56]);
    CallRequest {
        input: Bytes::from(code),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_bounded_by_gas_cap_and_evm_time() {
    // The EVM stops a looping call at its time budget (the gas would last far longer).
    let limits = Limits {
        evm_timeout: Duration::from_millis(20),
        ..Limits::default()
    };
    let fx = Fixture::with_limits(limits).await;
    let (code, message) = rpc_error(fx.client.call(endless(), None).await);
    assert_eq!(code, codes::LIMIT_EXCEEDED, "{message}");
    assert!(message.contains("ran past its time budget"), "{message}");

    // With a small gas cap the same call runs out of gas, and the proof says what it ran with.
    let cap = 100_000;
    let limits = Limits {
        gas_cap: cap,
        ..Limits::default()
    };
    let fx = Fixture::with_limits(limits).await;
    for gas in [None, Some(10_000_000)] {
        let request = CallRequest { gas, ..endless() };
        let proof = fx.client.call(request, None).await.unwrap();
        assert_eq!(proof.request.gas, Some(cap));
        assert!(!proof.result.success);
        assert_eq!(proof.result.gas_used, cap);
    }
    // A call within the cap keeps its own gas limit.
    let request = CallRequest {
        gas: Some(80_000),
        ..endless()
    };
    assert_eq!(
        fx.client.call(request, None).await.unwrap().request.gas,
        Some(80_000)
    );

    // A call proof whose call had more gas than this server's cap is not re-executed here:
    // that is a limit, not a verdict.
    let big = CallRequest {
        gas: Some(1_000_000),
        ..endless()
    };
    let proof = reference().call(&big, 4).unwrap();
    let root = fx.client.root(BlockParam::Latest).await.unwrap().root;
    let (code, message) = rpc_error(fx.client.verify_proof(proof.into(), root, None).await);
    assert_eq!(code, codes::LIMIT_EXCEEDED, "{message}");
    assert!(message.contains("gas cap"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_cannot_starve_the_other_methods() {
    // One call worker, busy with looping calls of 500 ms each; reads have workers of their
    // own.
    let limits = Limits {
        max_concurrent_calls: 1,
        evm_timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let fx = Fixture::with_limits(limits).await;
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let c = fx.client.clone();
            tokio::spawn(async move { c.call(endless(), None).await })
        })
        .collect();
    // Reads go on while the call pool is taken (each would otherwise wait seconds).
    for tx_num in 0..10u64 {
        fx.client.leaf_proof(tx_num.into(), None).await.unwrap();
    }
    let reads_done_with_calls_pending = calls.iter().filter(|c| !c.is_finished()).count();
    assert!(
        reads_done_with_calls_pending >= 2,
        "reads waited for the calls"
    );
    for c in calls {
        let (code, _) = rpc_error(c.await.unwrap());
        assert_eq!(code, codes::LIMIT_EXCEEDED);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_time_budget_answers_in_time() {
    let limits = Limits {
        request_timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let fx = Fixture::with_limits(limits).await;
    // A looping call: the request ends at its budget (the EVM stops with it).
    let (code, message) = rpc_error(fx.client.call(endless(), None).await);
    assert_eq!(code, codes::LIMIT_EXCEEDED, "{message}");
    assert!(message.contains("time budget"), "{message}");
    // In a batch, every call left when the budget is spent gets the same error.
    let mut batch =
        vec![json!({"jsonrpc": "2.0", "id": 0, "method": "qm_call", "params": [endless()]})];
    batch.extend((1..5).map(|id| json!({"jsonrpc": "2.0", "id": id, "method": "eth_blockNumber"})));
    let (_, v) = post(&fx.server.url(), &Value::from(batch).to_string()).await;
    let answers = v.as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(answers.len(), 5);
    for a in answers {
        assert_eq!(a["error"]["code"], codes::LIMIT_EXCEEDED, "{v}");
    }
    // Quick requests are unaffected.
    assert_eq!(fx.client.block_number().await.unwrap().to::<u64>(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_beyond_the_response_memory_are_busy_errors_and_memory_is_returned() {
    let limits = Limits {
        max_total_response_size: 64 * 1024,
        ..Limits::default()
    };
    let fx = Fixture::with_limits(limits).await;
    // One answer larger than all the response memory: "server busy", not an answer.
    let keys: Vec<JsonStorageKey> = (0..1024u64).map(|k| U256::from(k).into()).collect();
    let (code, message) = rpc_error(
        fx.client
            .get_proof(
                alloy_eips::eip2935::HISTORY_STORAGE_ADDRESS,
                keys,
                BlockParam::Latest,
            )
            .await,
    );
    assert_eq!(code, codes::LIMIT_EXCEEDED, "{message}");
    assert!(message.contains("server busy"), "{message}");
    // Answers give their memory back once sent: many more bytes than the budget, in turn.
    let mut sent = 0;
    while sent < 1 << 20 {
        let p = fx.client.leaf_proof(1.into(), None).await.unwrap();
        sent += serde_json::to_vec(&p).unwrap().len();
    }
    let keys = vec![JsonStorageKey::from(B256::ZERO); 4];
    fx.client
        .get_proof(Address::ZERO, keys, BlockParam::Latest)
        .await
        .unwrap();
}
