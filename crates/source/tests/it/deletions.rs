//! Both deletion cases in both kinds of trie, on a chain built for them (Shanghai, where
//! SELFDESTRUCT still deletes an account), served by `cairn serve`, whose tries follow the
//! rules: the `eth_getProof` builder repairs exactly the expected nodes per block, and its
//! inputs validate to the node's own outputs.

use crate::validate;
use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, Header, SignableTransaction, TxEip1559};
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles};
use cairn_exec::{
    AllocEntry, BlockAttributes, Chain, ChainFile, GenesisAccount, WitnessKind,
    commit::Node,
    devchain::{STORE_RUNTIME, deploy_code},
    genesis_state_root,
};
use cairn_primitives::{ChainConfig, EthereumHardfork, TransactionSigned};
use cairn_rpc::{ServeConfig, serve};
use cairn_source::{
    BodySource, ExecutionWitnessRpc, LocalNode, ProofRpc, Rpc, RpcOptions, WitnessProvider,
};
use k256::ecdsa::SigningKey;
use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

const CHAIN_ID: u64 = 1337;

fn nibbles(x: impl AsRef<[u8]>) -> Nibbles {
    Nibbles::unpack(keccak256(x))
}

fn slot_nibbles(slot: U256) -> Nibbles {
    nibbles(B256::from(slot))
}

/// The first slot from 1 whose hashed key starts with `prefix` and whose next nibble is not
/// `avoid`.
fn slot_with(prefix: &[u8], avoid: Option<u8>) -> U256 {
    (1u64..)
        .map(U256::from)
        .find(|s| {
            let n = slot_nibbles(*s);
            prefix.iter().enumerate().all(|(i, p)| n.get(i) == Some(*p))
                && n.get(prefix.len()) != avoid
        })
        .unwrap()
}

/// An address whose hashed form starts with `prefix`, its next nibble not `avoid`.
fn address_with(prefix: &[u8], avoid: Option<u8>) -> Address {
    (1u64..)
        .map(|i| Address::from_word(keccak256(i.to_be_bytes())))
        .find(|a| {
            let n = nibbles(a);
            prefix.iter().enumerate().all(|(i, p)| n.get(i) == Some(*p))
                && n.get(prefix.len()) != avoid
        })
        .unwrap()
}

fn stores(pairs: &[(U256, U256)]) -> Bytes {
    let mut out = Vec::new();
    for (slot, value) in pairs {
        out.extend_from_slice(&slot.to_be_bytes::<32>());
        out.extend_from_slice(&value.to_be_bytes::<32>());
    }
    out.into()
}

struct Sender {
    key: SigningKey,
    nonce: u64,
}

impl Sender {
    fn tx(&mut self, to: Option<Address>, input: Bytes) -> TransactionSigned {
        let tx = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce: self.nonce,
            gas_limit: 500_000,
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: to.map_or(TxKind::Create, TxKind::Call),
            value: U256::ZERO,
            access_list: Default::default(),
            input,
        };
        self.nonce += 1;
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(tx.signature_hash().as_slice())
            .unwrap();
        tx.into_signed(Signature::from((sig, recid))).into()
    }
}

/// The chain and the blocks where each case happens: (storage case 1, storage case 2,
/// account case 1, account case 2).
fn build() -> (ChainFile, [u64; 4]) {
    let key = SigningKey::from_slice(keccak256(b"cairn-source deletions").as_slice()).unwrap();
    let address = Address::from_public_key(key.verifying_key());
    let mut sender = Sender { key, nonce: 0 };
    let c = address.create(0);
    let d = address.create(1);
    // Self-destructing contracts, each alone under its first nibble: the nonces that give
    // such addresses are used, empty self-calls fill the nonces between.
    let mut used: Vec<u8> = [address, c, d]
        .iter()
        .map(|a| nibbles(a).get(0).unwrap())
        .collect();
    let mut alone = |from: u64| {
        (from..)
            .find(|n| !used.contains(&nibbles(address.create(*n)).get(0).unwrap()))
            .inspect(|n| used.push(nibbles(address.create(*n)).get(0).unwrap()))
            .unwrap()
    };
    let n1 = alone(2);
    let n2 = alone(n1 + 1);
    let (s1, s2) = (address.create(n1), address.create(n2));
    // Case 1 (accounts): y shares two nibbles with s1.
    let t1 = nibbles(s1);
    let y = address_with(&[t1.get(0).unwrap(), t1.get(1).unwrap()], t1.get(2));
    // Case 2 (accounts): under s2's first nibble, a branch holding y1 and y2.
    let t2 = nibbles(s2);
    let b = (t2.get(1).unwrap() + 1) % 16;
    let y1 = address_with(&[t2.get(0).unwrap(), b], None);
    let y2 = address_with(&[t2.get(0).unwrap(), b], nibbles(y1).get(2));

    let mut alloc = BTreeMap::new();
    let rich = U256::from(10u128.pow(21));
    for (a, balance) in [
        (address, rich),
        (y, U256::from(1)),
        (y1, U256::from(1)),
        (y2, U256::from(1)),
    ] {
        alloc.insert(
            a,
            AllocEntry {
                balance,
                ..Default::default()
            },
        );
    }
    let genesis_alloc: Vec<(Address, GenesisAccount)> = alloc
        .iter()
        .map(|(a, e)| {
            (
                *a,
                GenesisAccount {
                    balance: e.balance,
                    ..Default::default()
                },
            )
        })
        .collect();
    let config = ChainConfig::at_genesis(CHAIN_ID, EthereumHardfork::Shanghai);
    let genesis = Header {
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        state_root: genesis_state_root(genesis_alloc.clone()).unwrap(),
        transactions_root: EMPTY_ROOT_HASH,
        receipts_root: EMPTY_ROOT_HASH,
        gas_limit: 30_000_000,
        base_fee_per_gas: Some(1_000_000_000),
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        ..Default::default()
    };
    let mut chain = Chain::from_genesis(config.clone(), genesis.clone(), genesis_alloc).unwrap();
    let mut file = ChainFile {
        chain: config,
        genesis: alloy_rlp::encode(&genesis).into(),
        alloc,
        blocks: Vec::new(),
    };

    // Storage: in c, a1 and a2 share their first nibble (case 1 when a1 is cleared); in d,
    // d1 alone under its nibble and e1, e2 in a branch under another (case 2 when d1 is).
    let a1 = slot_with(&[], None);
    let x = slot_nibbles(a1).get(0).unwrap();
    let a2 = slot_with(&[x], slot_nibbles(a1).get(1));
    let o1 = slot_with(&[(x + 1) % 16], None);
    let o2 = slot_with(&[(x + 2) % 16], None);
    let d1 = slot_with(&[], None);
    let q = (slot_nibbles(d1).get(0).unwrap() + 1) % 16;
    let e1 = slot_with(&[q], None);
    let e2 = slot_with(&[q], slot_nibbles(e1).get(1));
    let one = U256::from(1);

    let mut blocks: Vec<Vec<TransactionSigned>> = Vec::new();
    let mut first = vec![
        sender.tx(None, deploy_code(STORE_RUNTIME)),
        sender.tx(None, deploy_code(STORE_RUNTIME)),
    ];
    while sender.nonce <= n2 {
        let code = if sender.nonce == n1 || sender.nonce == n2 {
            deploy_code(&[0x33, 0xff])
        } else {
            first.push(sender.tx(Some(address), Bytes::new()));
            continue;
        };
        first.push(sender.tx(None, code));
    }
    blocks.push(first);
    blocks.push(vec![
        sender.tx(
            Some(c),
            stores(&[(a1, one), (a2, one), (o1, one), (o2, one)]),
        ),
        sender.tx(Some(d), stores(&[(d1, one), (e1, one), (e2, one)])),
    ]);
    blocks.push(vec![sender.tx(Some(c), stores(&[(a1, U256::ZERO)]))]);
    blocks.push(vec![sender.tx(Some(d), stores(&[(d1, U256::ZERO)]))]);
    blocks.push(vec![sender.tx(Some(s1), Bytes::new())]);
    blocks.push(vec![sender.tx(Some(s2), Bytes::new())]);
    // A last block writing, clearing and reading again.
    blocks.push(vec![
        sender.tx(Some(c), stores(&[(a2, U256::from(7)), (o1, U256::ZERO)])),
    ]);

    for (i, txs) in blocks.into_iter().enumerate() {
        let number = i as u64 + 1;
        let attrs = BlockAttributes {
            timestamp: number * 12,
            beneficiary: address,
            prev_randao: keccak256(number.to_be_bytes()),
            gas_limit: chain.head().gas_limit,
            withdrawals: Vec::new(),
            parent_beacon_block_root: B256::ZERO,
            extra_data: Bytes::new(),
        };
        let block = chain.build_block(attrs, txs).unwrap();
        chain.execute(&block).unwrap();
        file.blocks.push(alloy_rlp::encode(&block).into());
    }
    for s in [s1, s2] {
        assert!(chain.account(&s).is_none(), "{s} was deleted");
    }
    (file, [3, 4, 5, 6])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_deletion_case_is_repaired_in_both_tries() {
    let (file, [storage1, storage2, account1, account2]) = build();
    let mut node = Node::in_memory(&file).unwrap();
    for i in 0..file.blocks.len() {
        node.import(&file.block(i).unwrap()).unwrap();
    }
    let last = file.blocks.len() as u64;
    let mut spans: Vec<(u64, u64)> = (1..=last).map(|n| (n, n)).collect();
    spans.push((2, last));
    let mut expected = Vec::new();
    let local = LocalNode::new(&node, WitnessKind::Complete);
    for (first, last) in &spans {
        expected.push(validate(&local.program_input(*first, *last).await.unwrap()));
    }

    let node = Arc::new(RwLock::new(node));
    let server = serve("127.0.0.1:0".parse().unwrap(), node, ServeConfig::default())
        .await
        .unwrap();
    let rpc = Arc::new(Rpc::new(&server.url(), RpcOptions::default()).unwrap());
    let proofs = ProofRpc::new(Arc::clone(&rpc), file.chain.clone(), BodySource::Json);
    let witness = ExecutionWitnessRpc::new(rpc, file.chain.clone(), BodySource::Json);
    for (&(first, last), expected) in spans.iter().zip(&expected) {
        let built = proofs.program_input(first, last).await.unwrap();
        assert_eq!(&validate(&built), expected, "blocks {first}..={last}");
        let served = witness.program_input(first, last).await.unwrap();
        assert_eq!(&validate(&served), expected, "blocks {first}..={last}");
        let s = built.stats;
        println!(
            "blocks {first}..={last}: repairs {}/{}, {} calls, proofs witness {} B vs debug_executionWitness {} B",
            s.repairs_leaf,
            s.repairs_branch,
            s.rpc.calls,
            built.input.witness.byte_size(),
            served.input.witness.byte_size()
        );
        let want = match first {
            // As one batch the storage tries are written from empty inside it (block 2):
            // only the account-trie deletions need nodes from outside.
            _ if first != last => (1, 1),
            n if n == storage1 || n == account1 => (1, 0),
            n if n == storage2 || n == account2 => (0, 1),
            _ => (0, 0),
        };
        assert_eq!(
            (s.repairs_leaf, s.repairs_branch),
            want,
            "blocks {first}..={last}"
        );
    }
    server.stop();
}
