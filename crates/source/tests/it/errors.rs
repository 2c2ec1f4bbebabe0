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
