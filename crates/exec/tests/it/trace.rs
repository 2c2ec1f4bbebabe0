//! `transitionHash` on real blocks: one commitment per top-level execution, independent
//! recomputation from the recorded steps, and bisection to the first differing chunk.

use alloy_consensus::{SignableTransaction, Transaction as _, TxEip1559};
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256, keccak256};
use alloy_trie::KECCAK_EMPTY;
use cairn_exec::{
    BlockAttributes, Chain, GenesisAccount,
    commit::trace::{
        CHUNK_STEPS, ChunkTree, CommitmentSink, CommittedTrace, RecordLog, RecordedTrace,
        StepRecord, TraceCommitment, TransitionInspector, first_differing_chunk, hash,
    },
    devchain::{DevChainParams, generate, genesis_header},
    genesis_state_root,
};
use cairn_primitives::{Block, ChainConfig, EthereumHardfork, TransactionSigned};
use cairn_stateless::{StorageProbe, execute_block, recover_senders};
use k256::ecdsa::SigningKey;
use revm::{
    Database, Inspector,
    bytecode::Bytecode,
    context_interface::{ContextTr, JournalTr},
    database::State,
    handler::FrameResult,
    interpreter::{FrameInput, Interpreter},
    state::AccountInfo,
};
use std::{collections::BTreeMap, convert::Infallible};

/// A revm database over a chain's flat state at its head.
#[derive(Debug)]
struct Db<'a>(&'a Chain);

impl StorageProbe for Db<'_> {
    fn has_storage(&mut self, address: Address) -> bool {
        self.0
            .account(&address)
            .is_some_and(|a| !a.storage.is_empty())
    }
}

impl Database for Db<'_> {
    type Error = Infallible;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Infallible> {
        Ok(self.0.account(&address).map(|a| AccountInfo {
            balance: a.fields.balance,
            nonce: a.fields.nonce,
            code_hash: a.fields.code_hash,
            code: None,
            ..Default::default()
        }))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Infallible> {
        Ok(self
            .0
            .code(&code_hash)
            .and_then(|code| Bytecode::new_raw_checked(code.clone()).ok())
            .unwrap_or_default())
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Infallible> {
        Ok(self
            .0
            .account(&address)
            .and_then(|a| a.storage.get(&index))
            .copied()
            .unwrap_or_default())
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Infallible> {
        Ok(self.0.hash(number).unwrap_or_default())
    }
}

/// Counts `step_end` calls per top-level execution: an independent step count.
#[derive(Debug, Default)]
struct StepCounter(Vec<u64>);

impl<CTX: ContextTr> Inspector<CTX> for StepCounter {
    fn step_end(&mut self, _interp: &mut Interpreter, _context: &mut CTX) {
        if let Some(steps) = self.0.last_mut() {
            *steps += 1;
        }
    }

    fn frame_start(
        &mut self,
        context: &mut CTX,
        _frame_input: &mut FrameInput,
    ) -> Option<FrameResult> {
        if context.journal().depth() == 0 {
            self.0.push(0);
        }
        None
    }
}

type Recording = TransitionInspector<(CommitmentSink, RecordLog)>;

fn recording() -> Recording {
    TransitionInspector::with_sink((CommitmentSink::keeping_chunk_hashes(), RecordLog::default()))
}

/// Executes `block` on `chain`'s head state with every execution traced; returns the traces
/// with their records, checked against each other.
fn trace_block(chain: &Chain, block: &Block) -> Vec<(CommittedTrace, RecordedTrace)> {
    let txs = recover_senders(block).unwrap();
    let mut inspector = recording();
    let mut state = State::builder().with_database(Db(chain)).build();
    execute_block(chain.config(), block, &txs, &mut state, &mut inspector).unwrap();
    let (sink, log) = inspector.sink_mut();
    let traces = sink.take_completed();
    assert_eq!(traces.len(), log.traces.len());
    let traces: Vec<_> = traces
        .into_iter()
        .zip(std::mem::take(&mut log.traces))
        .collect();
    for (trace, recorded) in &traces {
        // Recomputed from the records, chunk by chunk, and per the specification.
        assert_eq!(&recorded.commit(true), trace);
        assert_eq!(trace.commitment.steps, recorded.len() as u64);
        for (k, chunk_hash) in trace.chunk_hashes.iter().enumerate() {
            assert_eq!(hash(recorded.chunk(k as u64).unwrap()), *chunk_hash);
        }
        assert_eq!(
            TraceCommitment::from_chunk_hashes(trace.commitment.steps, &trace.chunk_hashes),
            Some(trace.commitment)
        );
        for record in recorded.records() {
            assert_eq!(
                StepRecord::decode(record).map(|(_, used)| used),
                Some(record.len())
            );
        }
    }
    traces
}

#[test]
fn every_system_call_and_transaction_gets_one_commitment() {
    let file = generate(DevChainParams {
        seed: 11,
        blocks: 3,
        txs_per_block: 15,
    })
    .unwrap();
    let mut chain = file.genesis_chain().unwrap();
    for index in 0..file.blocks.len() {
        let block = file.block(index).unwrap();
        let txs = recover_senders(&block).unwrap();
        let n = txs.len();

        // Traced with system calls: EIP-2935, EIP-4788, the transactions, EIP-7002, EIP-7251.
        let mut inspector = TransitionInspector::new();
        let counter = inspector.counter();
        let mut steps = StepCounter::default();
        let mut state = State::builder().with_database(Db(&chain)).build();
        let outcome = execute_block(
            chain.config(),
            &block,
            &txs,
            &mut state,
            (&mut inspector, &mut steps),
        )
        .unwrap();
        let commitments = inspector.take_completed();
        assert_eq!(
            commitments.len(),
            2 + n + 2,
            "block {}",
            block.header.number
        );
        assert_eq!(counter.get(), commitments.len() as u64);
        assert_eq!(
            steps.0,
            commitments.iter().map(|c| c.steps).collect::<Vec<_>>()
        );
        for system_call in [0, 1, n + 2, n + 3] {
            assert!(
                commitments[system_call].steps > 0,
                "system contracts run code"
            );
        }
        let has_code = |chain: &Chain, to: &Address| {
            chain
                .account(to)
                .is_some_and(|a| a.fields.code_hash != KECCAK_EMPTY)
        };
        let mut codeless_before = Vec::new();
        for (tx, commitment) in block.body.transactions.iter().zip(&commitments[2..]) {
            match tx.kind() {
                TxKind::Create => assert!(commitment.steps > 0),
                TxKind::Call(to) => codeless_before.push((to, *commitment, !has_code(&chain, &to))),
            }
            assert_eq!(commitment.chunks, commitment.steps.div_ceil(CHUNK_STEPS));
        }
        assert!(commitments[2..2 + n].iter().any(|c| c.steps > 0));
        assert!(commitments.iter().map(|c| c.steps).sum::<u64>() > 0);

        // Records recomputed independently give the same commitments.
        let traced = trace_block(&chain, &block);
        assert_eq!(
            traced.iter().map(|(t, _)| t.commitment).collect::<Vec<_>>(),
            commitments
        );

        // A second run, with the trace inspector alone, gives the same commitments.
        let mut plain = TransitionInspector::new();
        let mut state = State::builder().with_database(Db(&chain)).build();
        let plain_outcome =
            execute_block(chain.config(), &block, &txs, &mut state, &mut plain).unwrap();
        assert_eq!(plain.take_completed(), commitments);
        assert_eq!(plain.counter().get(), (n + 4) as u64);

        // Tracing changes nothing in the execution.
        let executed = chain.execute(&block).unwrap();
        // A call to an account without code before and after the block runs no step.
        for (to, commitment, codeless) in codeless_before {
            if codeless && !has_code(&chain, &to) {
                assert_eq!(commitment, TraceCommitment::EMPTY);
            }
        }
        for o in [&outcome, &plain_outcome] {
            assert_eq!(o.gas_used, executed.gas_used);
            assert_eq!(o.receipts, executed.receipts);
        }
    }
}

// --- bisection ---

const SLOT_A: u64 = 0x100;
const SLOT_B: u64 = 0x300;

/// Counts `first` down, reads slot 0, then either drops it (`use_slot = false`: the traces
/// differ in that one step) or counts it down too (the traces differ from there on, and in
/// length).
fn looper(first: u16, use_slot: bool) -> Bytes {
    let count_down = |start: u8| [0x5b, 0x60, 1, 0x90, 0x03, 0x80, 0x60, start, 0x57];
    let mut code = vec![0x61];
    code.extend(first.to_be_bytes());
    code.extend(count_down(3));
    code.extend([0x50, 0x5f, 0x54]); // POP, PUSH0, SLOAD
    if !use_slot {
        code.extend([0x50, 0x61]); // POP, PUSH2 first
        code.extend(first.to_be_bytes());
    }
    let start = code.len() as u8;
    code.extend(count_down(start));
    code.push(0x00);
    code.into()
}

const DROPS: Address = Address::repeat_byte(0xd1);
const USES: Address = Address::repeat_byte(0xd2);

fn key() -> SigningKey {
    SigningKey::from_slice(&[0x42; 32]).unwrap()
}

/// A chain whose genesis holds the system contracts, a funded sender and the two loopers
/// with `slot` in slot 0.
fn chain_with_slot(slot: u64) -> Chain {
    let sender = Address::from_public_key(key().verifying_key());
    let mut alloc = BTreeMap::new();
    alloc.insert(
        sender,
        GenesisAccount {
            balance: U256::from(10u128.pow(21)),
            ..Default::default()
        },
    );
    for (address, code) in [
        (
            alloy_eips::eip4788::BEACON_ROOTS_ADDRESS,
            alloy_eips::eip4788::BEACON_ROOTS_CODE.clone(),
        ),
        (
            alloy_eips::eip2935::HISTORY_STORAGE_ADDRESS,
            alloy_eips::eip2935::HISTORY_STORAGE_CODE.clone(),
        ),
        (
            alloy_eips::eip7002::WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
            alloy_eips::eip7002::WITHDRAWAL_REQUEST_PREDEPLOY_CODE.clone(),
        ),
        (
            alloy_eips::eip7251::CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
            alloy_eips::eip7251::CONSOLIDATION_REQUEST_PREDEPLOY_CODE.clone(),
        ),
    ] {
        alloc.insert(
            address,
            GenesisAccount {
                nonce: 1,
                code,
                ..Default::default()
            },
        );
    }
    for (address, use_slot) in [(DROPS, false), (USES, true)] {
        let storage = [(U256::ZERO, U256::from(slot))].into_iter().collect();
        alloc.insert(
            address,
            GenesisAccount {
                nonce: 1,
                code: looper(512, use_slot),
                storage,
                ..Default::default()
            },
        );
    }
    let genesis = genesis_header(genesis_state_root(alloc.clone()).unwrap());
    Chain::from_genesis(
        ChainConfig::at_genesis(7, EthereumHardfork::Osaka),
        genesis,
        alloc,
    )
    .unwrap()
}

fn call(nonce: u64, to: Address) -> TransactionSigned {
    let tx = TxEip1559 {
        chain_id: 7,
        nonce,
        gas_limit: 300_000,
        max_fee_per_gas: 50_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        ..Default::default()
    };
    let (sig, recid) = key()
        .sign_prehash_recoverable(tx.signature_hash().as_slice())
        .unwrap();
    tx.into_signed(Signature::from((sig, recid))).into()
}

/// Index of the first record where two traces differ (a missing record counts).
fn first_differing_step(a: &RecordedTrace, b: &RecordedTrace) -> Option<usize> {
    (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))
}

#[test]
fn bisection_locates_the_first_differing_chunk() {
    let (chain_a, chain_b) = (chain_with_slot(SLOT_A), chain_with_slot(SLOT_B));
    let attrs = BlockAttributes {
        timestamp: 12,
        beneficiary: Address::repeat_byte(0xc0),
        prev_randao: keccak256("randao"),
        gas_limit: 36_000_000,
        withdrawals: Vec::new(),
        parent_beacon_block_root: keccak256("beacon"),
        extra_data: Bytes::new(),
    };
    let block = chain_a
        .build_block(attrs, vec![call(0, DROPS), call(1, USES)])
        .unwrap();
    // The same block, run on the two pre-states.
    let (a, b) = (trace_block(&chain_a, &block), trace_block(&chain_b, &block));
    assert_eq!(a.len(), 6);
    assert_eq!(b.len(), 6);
    for system_call in [0, 1, 4, 5] {
        assert_eq!(
            a[system_call].0, b[system_call].0,
            "system calls do not read the slot"
        );
    }

    for (tx, single_step) in [(2, true), (3, false)] {
        let ((ta, ra), (tb, rb)) = (&a[tx], &b[tx]);
        assert_ne!(ta.commitment.root, tb.commitment.root);
        // The first differing step, from the records alone: the SLOAD.
        let step = first_differing_step(ra, rb).unwrap();
        let sload = StepRecord::decode(ra.get(step).unwrap()).unwrap().0;
        assert_eq!(sload.op, 0x54);
        assert_eq!(sload.pushes, vec![U256::from(SLOT_A)]);
        assert!(
            step as u64 >= 3 * CHUNK_STEPS,
            "the difference is deep in the trace"
        );
        let differing: Vec<usize> = (0..ra.len().max(rb.len()))
            .filter(|&i| ra.get(i) != rb.get(i))
            .collect();
        if single_step {
            // SLOAD pushes the value, the next step (POP) pops it: nothing else differs.
            assert_eq!(differing, [step, step + 1]);
            assert_eq!(
                StepRecord::decode(ra.get(step + 1).unwrap()).unwrap().0.op,
                0x50
            );
            assert_eq!((step as u64 + 1) / CHUNK_STEPS, step as u64 / CHUNK_STEPS);
            assert_eq!(ta.commitment.steps, tb.commitment.steps);
        } else {
            assert!(differing.len() > 1000);
            assert!(tb.commitment.chunks > ta.commitment.chunks);
            assert!(
                ChunkTree::new(&tb.chunk_hashes).depth() > ChunkTree::new(&ta.chunk_hashes).depth()
            );
        }

        // The descent over the two trees finds the chunk holding that step.
        let chunk = step as u64 / CHUNK_STEPS;
        assert_eq!(
            first_differing_chunk(&ta.chunk_hashes, &tb.chunk_hashes),
            Some(chunk)
        );
        assert_eq!(
            first_differing_chunk(&tb.chunk_hashes, &ta.chunk_hashes),
            Some(chunk)
        );
        assert_eq!(
            ta.chunk_hashes[..chunk as usize],
            tb.chunk_hashes[..chunk as usize]
        );

        // Each side proves its chunk against its own commitment, and only there.
        let (pa, pb) = (
            ChunkTree::new(&ta.chunk_hashes).proof(chunk).unwrap(),
            ChunkTree::new(&tb.chunk_hashes).proof(chunk).unwrap(),
        );
        let (ha, hb) = (
            ta.chunk_hashes[chunk as usize],
            tb.chunk_hashes[chunk as usize],
        );
        assert_ne!(ha, hb);
        assert!(pa.verify(&ta.commitment, ha));
        assert!(pb.verify(&tb.commitment, hb));
        assert!(!pa.verify(&ta.commitment, hb));
        assert!(!pb.verify(&tb.commitment, ha));
        if single_step {
            // Same shape, same other chunks: the paths agree and only the leaf differs.
            assert_eq!(pa.siblings, pb.siblings);
        }
        // Replaying that chunk alone shows the difference: the chunk bytes hash to the leaves.
        assert_eq!(hash(ra.chunk(chunk).unwrap()), ha);
        assert_eq!(hash(rb.chunk(chunk).unwrap()), hb);
        // Earlier chunks agree in both traces.
        for k in 0..chunk {
            assert_eq!(ra.chunk(k), rb.chunk(k));
        }
    }
}
