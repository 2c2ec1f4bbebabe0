//! Nodes that fail: a node that never answers is a timeout naming the method; a range that
//! cannot have a parent is refused.

use cairn_primitives::ChainConfig;
use cairn_source::{BodySource, ProofRpc, Rpc, RpcOptions, SourceError, WitnessProvider};
use std::{sync::Arc, time::Duration};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_node_is_a_timeout_naming_the_method() {
    // A socket that accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for conn in listener.incoming().take(2) {
            conns.push(conn);
        }
        std::thread::sleep(Duration::from_secs(3));
    });
    let rpc = Rpc::new(
        &format!("http://{addr}"),
        RpcOptions {
            timeout: Duration::from_millis(300),
            attempts: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let rpc = Arc::new(rpc);
    let proofs = ProofRpc::new(Arc::clone(&rpc), ChainConfig::mainnet(), BodySource::Json);
    match proofs.program_input(5, 5).await {
        Err(SourceError::Timeout {
            method, attempts, ..
        }) => {
            assert_eq!(method, "eth_getBlockByNumber");
            assert_eq!(attempts, 2);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // One retry (with backoff) after the first timeout; nothing answered.
    assert_eq!(rpc.stats().retries, 1);
    assert_eq!(rpc.stats().calls, 0);
    match proofs.program_input(0, 3).await {
        Err(SourceError::BadRange { first: 0, last: 3 }) => {}
        other => panic!("expected BadRange, got {other:?}"),
    }
    held.join().unwrap();
}

/// A node that refuses (here `cairn serve` allowing one request in flight, taken by another
/// client whose body never ends: HTTP 429): retried with backoff, then a typed error naming
/// the method; once the other client goes away, the retries get through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_node_is_retried_then_a_transport_error() {
    use cairn_exec::{commit::Node, devchain};
    use cairn_rpc::{Limits, ServeConfig, serve};
    use std::sync::RwLock;

    let file = devchain::generate(devchain::DevChainParams {
        seed: 3,
        blocks: 1,
        txs_per_block: 1,
    })
    .unwrap();
    let mut node = Node::in_memory(&file).unwrap();
    node.import(&file.block(0).unwrap()).unwrap();
    let config = ServeConfig {
        limits: Limits {
            max_connections: 1,
            ..Limits::default()
        },
        ..ServeConfig::default()
    };
    let server = serve(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(RwLock::new(node)),
        config,
    )
    .await
    .unwrap();
    let options = RpcOptions {
        attempts: 2,
        ..Default::default()
    };
    // A request whose body is announced and never sent holds the one slot.
    let mut holder = std::net::TcpStream::connect(server.local_addr()).unwrap();
    std::io::Write::write_all(
        &mut holder,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    )
    .unwrap();
    // Until the server has taken it (one attempt per probe, no retries).
    let probe = Rpc::new(
        &server.url(),
        RpcOptions {
            attempts: 1,
            ..Default::default()
        },
    )
    .unwrap();
    for _ in 0..100 {
        if probe.call_value("eth_blockNumber", &[]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let refused = Rpc::new(&server.url(), options).unwrap();
    match refused.call_value("eth_blockNumber", &[]).await {
        Err(SourceError::Transport {
            method, attempts, ..
        }) => {
            assert_eq!(method, "eth_blockNumber");
            assert_eq!(attempts, 2);
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert_eq!(refused.stats().retries, 1);

    drop(holder);
    let patient = Rpc::new(
        &server.url(),
        RpcOptions {
            attempts: 6,
            ..Default::default()
        },
    )
    .unwrap();
    let number: serde_json::Value = patient.call("eth_blockNumber", vec![]).await.unwrap();
    assert_eq!(number, serde_json::json!("0x1"));
    server.stop();
}
