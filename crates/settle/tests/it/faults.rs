//! A misbehaving L1: an RPC that is down, answers garbage or lies, a transaction that
//! reverts after its estimate passed, a nonce taken by another sender, a sender without
//! funds. Typed errors, retries where they help, and never a batch recorded as settled that
//! the rollup did not accept.

use crate::common::{anvil, chain, client, fast, stack};
use alloy_primitives::{Address, B256, Bytes, keccak256};
use alloy_provider::{Provider, RootProvider};
use alloy_sol_types::SolCall;
use cairn_devtools::ANVIL_KEYS;
use cairn_settle::{
    Error, L1, L1Options, RunOptions, SegDir, Settler, Step, TxKind,
    contracts::CairnRollup,
    deploy::deploy,
    dev::{dev_attesters, dev_config, write_seg},
    l1::{Ctx, KeySource, load_signer},
    settler::read_tip,
};
use serde_json::{Value, json};
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// What the proxy does with requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Passes everything to anvil.
    Forward,
    /// Drops every connection (the endpoint is down).
    Down,
    /// Answers every request with bytes that are not JSON.
    Garbage,
    /// Says the chain id is 1.
    LieChainId,
    /// Swallows transactions (answering their hash) and answers their receipt with a
    /// fabricated success without logs.
    LieReceipts,
    /// Says the rollup has settled five batches.
    LieTip,
}

#[derive(Clone)]
struct Proxy {
    url: String,
    mode: Arc<Mutex<Mode>>,
    swallowed: Arc<Mutex<HashSet<B256>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let proxy = Self {
            url,
            mode: Arc::new(Mutex::new(Mode::Forward)),
            swallowed: Arc::new(Mutex::new(HashSet::new())),
        };
        let p = proxy.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (p, upstream) = (p.clone(), upstream.clone());
                tokio::spawn(async move {
                    let _ = p.serve(socket, &upstream).await;
                });
            }
        });
        proxy
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn mode(&self) -> Mode {
        *self.mode.lock().unwrap()
    }

    /// Serves HTTP/1.1 requests on one connection (keep-alive).
    async fn serve(&self, mut socket: TcpStream, upstream: &str) -> std::io::Result<()> {
        let mut buf = Vec::new();
        loop {
            let Some((header_end, len)) = read_request(&mut socket, &mut buf).await? else {
                return Ok(());
            };
            let body = buf[header_end..header_end + len].to_vec();
            buf.drain(..header_end + len);
            if self.mode() == Mode::Down {
                return Ok(());
            }
            let answer = self.answer(&body, upstream).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                answer.len()
            );
            socket.write_all(response.as_bytes()).await?;
            socket.write_all(&answer).await?;
        }
    }

    async fn answer(&self, body: &[u8], upstream: &str) -> Vec<u8> {
        let mode = self.mode();
        if mode == Mode::Garbage {
            return b"<html>502 bad gateway, or so</html>".to_vec();
        }
        let request: Value = serde_json::from_slice(body).unwrap_or_default();
        let method = request["method"].as_str().unwrap_or_default();
        let id = request["id"].clone();
        let reply = |result: Value| json!({"jsonrpc": "2.0", "id": id, "result": result});
        match (mode, method) {
            (Mode::LieChainId, "eth_chainId") => return reply(json!("0x1")).to_string().into(),
            (Mode::LieReceipts, "eth_sendRawTransaction") => {
                let raw =
                    alloy_primitives::hex::decode(request["params"][0].as_str().unwrap()).unwrap();
                let hash = keccak256(&raw);
                self.swallowed.lock().unwrap().insert(hash);
                return reply(json!(hash)).to_string().into();
            }
            (Mode::LieTip, "eth_call") => {
                let data = request["params"][0]["input"]
                    .as_str()
                    .or(request["params"][0]["data"].as_str())
                    .unwrap_or_default();
                let selector = alloy_primitives::hex::encode_prefixed(
                    CairnRollup::lastVerifiedBatchCall::SELECTOR,
                );
                if data.starts_with(&selector) {
                    return reply(json!(format!("0x{:064x}", 5))).to_string().into();
                }
            }
            (Mode::LieReceipts, "eth_getTransactionReceipt") => {
                let hash: B256 = request["params"][0].as_str().unwrap().parse().unwrap();
                if self.swallowed.lock().unwrap().contains(&hash) {
                    let head = forward(
                        upstream,
                        &json!({"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest", false]}),
                    )
                    .await;
                    let block = &head["result"];
                    let receipt = json!({
                        "transactionHash": hash,
                        "transactionIndex": "0x0",
                        "blockHash": block["hash"],
                        "blockNumber": block["number"],
                        "from": Address::ZERO,
                        "to": Address::ZERO,
                        "cumulativeGasUsed": "0x5208",
                        "gasUsed": "0x5208",
                        "contractAddress": null,
                        "logs": [],
                        "logsBloom": format!("0x{}", "00".repeat(256)),
                        "type": "0x2",
                        "status": "0x1",
                        "effectiveGasPrice": "0x1",
                    });
                    return reply(receipt).to_string().into();
                }
            }
            _ => {}
        }
        forward(upstream, &request).await.to_string().into()
    }
}

/// Reads one request into `buf`; returns the header length and the body length.
async fn read_request(
    socket: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<(usize, usize)>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return Ok(Some((end + 4, len)));
            }
        }
        let mut chunk = [0u8; 8192];
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// One JSON-RPC request to anvil.
async fn forward(upstream: &str, request: &Value) -> Value {
    let addr = upstream.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.unwrap();
    let body = request.to_string();
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let start = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    serde_json::from_slice(&out[start..]).unwrap()
}

async fn l1_via(url: &str, key: &str, opts: L1Options) -> Result<L1, Error> {
    L1::connect(
        url,
        load_signer(&KeySource::PrivateKey(key.into())).unwrap(),
        None,
        opts,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_or_garbage_rpc_is_retried_then_reported() {
    let Some(anvil) = anvil() else { return };
    let proxy = Proxy::start(anvil.url()).await;
    for (mode, expect) in [(Mode::Down, "unavailable"), (Mode::Garbage, "garbage")] {
        proxy.set(mode);
        let started = std::time::Instant::now();
        let err = l1_via(&proxy.url, ANVIL_KEYS[0], fast()).await.unwrap_err();
        match (&err, mode) {
            (Error::RpcUnavailable { attempts: 3, .. }, Mode::Down) => {}
            (
                Error::RpcGarbage {
                    method: "eth_chainId",
                    ..
                },
                Mode::Garbage,
            ) => {}
            _ => panic!("{mode:?}: {err}"),
        }
        assert!(err.is_transient());
        assert!(err.to_string().contains(expect), "{err}");
        // Three attempts with backoff in between: it did wait.
        assert!(started.elapsed() >= Duration::from_millis(100));
    }
    // Nothing listening at all.
    let err = l1_via("http://127.0.0.1:9", ANVIL_KEYS[0], fast())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RpcUnavailable { .. }), "{err}");
    let err = l1_via("not a url", ANVIL_KEYS[0], fast())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");

    // The settler gets over an outage: down in the middle, back later.
    proxy.set(Mode::Forward);
    let s = stack(&anvil.url()).await;
    let c = chain();
    let dir = tempfile::tempdir().unwrap();
    write_seg(dir.path(), &s.seg(c.batch(1, 2))).unwrap();
    write_seg(dir.path(), &s.seg(c.batch(3, 4))).unwrap();
    let via = l1_via(&proxy.url, ANVIL_KEYS[0], fast()).await.unwrap();
    let mut settler = Settler::new(
        via,
        s.deployment.clone(),
        &dir.path().join("settle.db"),
        SegDir::new(dir.path()).unwrap(),
    )
    .await
    .unwrap();
    assert!(matches!(settler.step().await.unwrap(), Step::Settled(..)));
    proxy.set(Mode::Down);
    let err = settler.step().await.unwrap_err();
    assert!(matches!(err, Error::RpcUnavailable { .. }), "{err}");
    // `run` with a bound on consecutive failures reports it ...
    let bounded = RunOptions {
        exit_when_idle: true,
        max_transient_failures: Some(1),
        ..RunOptions::default()
    };
    assert!(matches!(
        settler.run(&bounded, |_| {}).await,
        Err(Error::RpcUnavailable { .. })
    ));
    // ... and without one keeps trying until the endpoint is back.
    let back = proxy.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        back.set(Mode::Forward);
    });
    let unbounded = RunOptions {
        exit_when_idle: true,
        ..RunOptions::default()
    };
    settler.run(&unbounded, |_| {}).await.unwrap();
    assert!(settler.stats().transient_failures >= 1);
    assert_eq!(settler.store().last_settled().unwrap(), 2);
    assert_eq!(read_tip(&s.l1, s.rollup()).await.unwrap().last_verified, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_rpc_never_gets_a_batch_recorded() {
    let Some(anvil) = anvil() else { return };
    let proxy = Proxy::start(anvil.url()).await;
    let s = stack(&anvil.url()).await;

    // Another chain id: refused before anything else.
    proxy.set(Mode::LieChainId);
    let signer = load_signer(&KeySource::PrivateKey(ANVIL_KEYS[0].into())).unwrap();
    let err = L1::connect(&proxy.url, signer, Some(s.deployment.l1_chain_id), fast())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongL1Chain {
                expected: 31337,
                got: 1,
                ..
            }
        ),
        "{err}"
    );
    let via = l1_via(&proxy.url, ANVIL_KEYS[0], fast()).await.unwrap();
    let store = tempfile::tempdir().unwrap();
    let err = Settler::new(
        via,
        s.deployment.clone(),
        &store.path().join("settle.db"),
        SegDir::new(store.path()).unwrap(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::WrongL1Chain { .. }), "{err}");

    // Transactions swallowed and receipts of success made up.
    proxy.set(Mode::Forward);
    let c = chain();
    let dir = tempfile::tempdir().unwrap();
    write_seg(dir.path(), &s.seg(c.batch(1, 2))).unwrap();
    let via = l1_via(&proxy.url, ANVIL_KEYS[0], fast()).await.unwrap();
    let mut settler = Settler::new(
        via,
        s.deployment.clone(),
        &dir.path().join("settle.db"),
        SegDir::new(dir.path()).unwrap(),
    )
    .await
    .unwrap();
    proxy.set(Mode::LieReceipts);
    let err = settler.step().await.unwrap_err();
    assert!(
        matches!(&err, Error::RpcInconsistent { what, .. } if what.contains("BatchCommitted")),
        "{err}"
    );
    assert!(!err.is_transient());
    assert_eq!(settler.store().last_settled().unwrap(), 0);
    let tip = read_tip(&s.l1, s.rollup()).await.unwrap();
    assert_eq!((tip.last_committed, tip.last_verified), (0, 0));

    // Batches claimed settled that the rollup never committed (nor has events of).
    proxy.set(Mode::LieTip);
    let err = settler.step().await.unwrap_err();
    assert!(
        matches!(&err, Error::RpcInconsistent { what, .. } if what.contains("batch 5 settled")),
        "{err}"
    );
    assert_eq!(settler.store().last_settled().unwrap(), 0);
}

/// A stack whose proposer is anvil's account 1 (the owner stays account 0).
async fn stack_with_proposer(url: &str, proposer: Address) -> cairn_settle::Deployment {
    let owner = client(url, 0).await;
    let mut config = dev_config(&dev_attesters());
    config.proposer = Some(proposer);
    deploy(&owner, &config, chain().anchor).await.unwrap()
}

async fn rpc(url: &str, method: &'static str, params: Value) -> Value {
    let provider: RootProvider = RootProvider::new_http(url.parse().unwrap());
    provider
        .raw_request::<_, Value>(method.into(), params)
        .await
        .unwrap()
}

/// Waits until `address` has `n` pending transactions.
async fn wait_pending(l1: &L1, n: u64) {
    for _ in 0..500 {
        if l1.nonce(true).await.unwrap() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no pending transaction");
}

/// Mines a block, turns automining back on, and keeps mining until the settler is done (a
/// transaction sent just before automining resumed would otherwise wait for the next one).
async fn mine_until_done<T>(
    url: &str,
    handle: std::thread::JoinHandle<T>,
) -> std::thread::JoinHandle<T> {
    rpc(url, "evm_mine", json!([])).await;
    rpc(url, "evm_setAutomine", json!([true])).await;
    while !handle.is_finished() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        rpc(url, "evm_mine", json!([])).await;
    }
    handle
}

/// Runs a settler on its own thread (it is not `Send`): `exit_when_idle`.
fn settle_in_thread(
    url: String,
    key: &'static str,
    deployment: cairn_settle::Deployment,
    dir: std::path::PathBuf,
) -> std::thread::JoinHandle<(Result<(), Error>, cairn_settle::settler::Stats, u64)> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l1 = l1_via(&url, key, fast()).await.unwrap();
            let mut settler = Settler::new(
                l1,
                deployment,
                &dir.join("settle.db"),
                SegDir::new(&dir).unwrap(),
            )
            .await
            .unwrap();
            let run = RunOptions {
                exit_when_idle: true,
                max_transient_failures: Some(5),
                ..RunOptions::default()
            };
            let result = settler.run(&run, |_| {}).await;
            let settled = settler.store().last_settled().unwrap();
            (result, settler.stats(), settled)
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_reverting_after_its_estimate_is_reported_not_recorded() {
    let Some(anvil) = anvil() else { return };
    let url = anvil.url();
    let proposer = client(&url, 1).await;
    let deployment = stack_with_proposer(&url, proposer.address()).await;
    let s = crate::common::Stack {
        l1: client(&url, 0).await,
        deployment: deployment.clone(),
        attesters: dev_attesters(),
    };
    let dir = tempfile::tempdir().unwrap();
    write_seg(dir.path(), &s.seg(chain().batch(1, 2))).unwrap();
    rpc(&url, "evm_setAutomine", json!([false])).await;
    let before = proposer.nonce(true).await.unwrap();
    let handle = settle_in_thread(
        url.clone(),
        ANVIL_KEYS[1],
        deployment.clone(),
        dir.path().into(),
    );
    // The settler's commit is in the pool: the owner replaces the proposer first (higher fee).
    wait_pending(&proposer, before + 1).await;
    let owner = L1::connect(
        &url,
        load_signer(&KeySource::PrivateKey(ANVIL_KEYS[0].into())).unwrap(),
        None,
        L1Options {
            fee_percent: 300,
            ..fast()
        },
    )
    .await
    .unwrap();
    let ctx = Ctx {
        batch: 0,
        kind: TxKind::Deploy,
    };
    let input: Bytes = CairnRollup::setProposerCall {
        proposer_: Address::repeat_byte(9),
    }
    .abi_encode()
    .into();
    let tx = owner
        .prepare(
            Some(deployment.rollup),
            input,
            owner.nonce(true).await.unwrap(),
            ctx,
        )
        .await
        .unwrap();
    owner.broadcast(&tx, ctx).await.unwrap();
    let handle = mine_until_done(&url, handle).await;
    let (result, _, settled) = handle.join().unwrap();
    let err = result.unwrap_err();
    match &err {
        Error::Reverted {
            batch: 1,
            kind: TxKind::Commit,
            revert,
            ..
        } => assert_eq!(revert.name(), "NotProposer", "{err}"),
        other => panic!("{other}"),
    }
    assert_eq!(settled, 0);
    let tip = read_tip(&s.l1, deployment.rollup).await.unwrap();
    assert_eq!((tip.last_committed, tip.last_verified), (0, 0));
    // The store kept the reverted transaction as such.
    let store = cairn_settle::Store::open(
        &dir.path().join("settle.db"),
        cairn_settle::store::Identity {
            l1_chain_id: 31337,
            rollup: deployment.rollup,
            sender: proposer.address(),
        },
    )
    .unwrap();
    let txs = store.all_txs().unwrap();
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0].state, cairn_settle::store::TxState::Reverted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_taken_by_another_sender_is_got_over() {
    let Some(anvil) = anvil() else { return };
    let url = anvil.url();
    let proposer = client(&url, 1).await;
    let deployment = stack_with_proposer(&url, proposer.address()).await;
    let s = crate::common::Stack {
        l1: client(&url, 0).await,
        deployment: deployment.clone(),
        attesters: dev_attesters(),
    };
    let dir = tempfile::tempdir().unwrap();
    write_seg(dir.path(), &s.seg(chain().batch(1, 2))).unwrap();
    rpc(&url, "evm_setAutomine", json!([false])).await;
    let nonce = proposer.nonce(true).await.unwrap();
    let handle = settle_in_thread(
        url.clone(),
        ANVIL_KEYS[1],
        deployment.clone(),
        dir.path().into(),
    );
    wait_pending(&proposer, nonce + 1).await;
    // Another process with the same key sends its own transaction with that nonce, paying more.
    let other = L1::connect(
        &url,
        load_signer(&KeySource::PrivateKey(ANVIL_KEYS[1].into())).unwrap(),
        None,
        L1Options {
            fee_percent: 300,
            ..fast()
        },
    )
    .await
    .unwrap();
    let ctx = Ctx {
        batch: 0,
        kind: TxKind::Deploy,
    };
    let tx = other
        .prepare(Some(Address::repeat_byte(3)), Bytes::new(), nonce, ctx)
        .await
        .unwrap();
    other.broadcast(&tx, ctx).await.unwrap();
    let handle = mine_until_done(&url, handle).await;
    let (result, stats, settled) = handle.join().unwrap();
    result.unwrap();
    assert!(stats.nonce_taken >= 1, "{stats:?}");
    assert_eq!(settled, 1);
    // The other transaction holds the nonce; the batch settled once, with later nonces.
    assert!(other.receipt(tx.hash).await.unwrap().unwrap().status());
    let tip = read_tip(&s.l1, deployment.rollup).await.unwrap();
    assert_eq!((tip.last_committed, tip.last_verified), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_without_funds_gets_a_typed_error() {
    let Some(anvil) = anvil() else { return };
    let url = anvil.url();
    let poor_key = format!("0x{}", "11".repeat(32));
    let poor = l1_via(&url, &poor_key, fast()).await.unwrap();
    let deployment = stack_with_proposer(&url, poor.address()).await;
    let s = crate::common::Stack {
        l1: client(&url, 0).await,
        deployment: deployment.clone(),
        attesters: dev_attesters(),
    };
    let dir = tempfile::tempdir().unwrap();
    write_seg(dir.path(), &s.seg(chain().batch(1, 2))).unwrap();
    let mut settler = Settler::new(
        poor,
        deployment.clone(),
        &dir.path().join("settle.db"),
        SegDir::new(dir.path()).unwrap(),
    )
    .await
    .unwrap();
    let run = RunOptions {
        exit_when_idle: true,
        ..RunOptions::default()
    };
    let err = settler.run(&run, |_| {}).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InsufficientFunds {
                batch: 1,
                kind: TxKind::Commit,
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.is_transient());
    assert_eq!(settler.store().last_settled().unwrap(), 0);
}
