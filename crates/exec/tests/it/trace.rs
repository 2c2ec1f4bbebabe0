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
pub(crate) struct Db<'a>(pub(crate) &'a Chain);

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

/// Three dev-chain blocks of 15 random transactions each.
fn sample_chain() -> cairn_exec::ChainFile {
    generate(DevChainParams {
        seed: 11,
        blocks: 3,
        txs_per_block: 15,
    })
    .unwrap()
}

#[test]
fn every_system_call_and_transaction_gets_one_commitment() {
    let file = sample_chain();
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

// --- replaying a chunk: the machine state folded from the records ---

/// The live machine state at the start of every step that completes, in the order steps
/// start: depth, opcode, stack (bottom first) and memory.
#[derive(Debug, Default)]
struct Snapshots {
    open: Option<Snapshot>,
    taken: Vec<Vec<Snapshot>>,
}

/// Depth, opcode, stack and memory at a step's start.
type Snapshot = (u64, u8, Vec<U256>, Vec<u8>);

impl<CTX: ContextTr> Inspector<CTX> for Snapshots {
    fn step(&mut self, interp: &mut Interpreter, _context: &mut CTX) {
        use revm::interpreter::interpreter_types::Jumps;
        self.open = Some((
            interp.input.depth as u64,
            interp.bytecode.opcode(),
            interp.stack.data().clone(),
            interp.memory.context_memory().to_vec(),
        ));
    }

    fn step_end(&mut self, _interp: &mut Interpreter, _context: &mut CTX) {
        if let (Some(open), Some(trace)) = (self.open.take(), self.taken.last_mut()) {
            trace.push(open);
        }
    }

    fn frame_start(
        &mut self,
        context: &mut CTX,
        _frame_input: &mut FrameInput,
    ) -> Option<FrameResult> {
        if context.journal().depth() == 0 {
            self.taken.push(Vec::new());
        }
        None
    }
}

/// CALL and CREATE steps complete when control comes back, so their records come later than
/// their start; every other step's record is in the order steps start.
fn suspends(op: u8) -> bool {
    matches!(op, 0xf0 | 0xf1 | 0xf2 | 0xf4 | 0xf5 | 0xfa)
}

/// Folding the records of every execution of real blocks reproduces the live stack and
/// memory before every step, so the state at any chunk boundary is known from the records
/// before it, and every record passes the fold's checks.
#[test]
fn folding_records_reproduces_the_machine_state_at_every_step() {
    use cairn_exec::commit::fold::TraceFold;
    let file = sample_chain();
    let mut chain = file.genesis_chain().unwrap();
    let (mut checked, mut calls, mut deepest) = (0usize, 0usize, 0usize);
    for index in 0..file.blocks.len() {
        let block = file.block(index).unwrap();
        let txs = recover_senders(&block).unwrap();
        let mut inspector = recording();
        let mut snapshots = Snapshots::default();
        let mut state = State::builder().with_database(Db(&chain)).build();
        execute_block(
            chain.config(),
            &block,
            &txs,
            &mut state,
            (&mut inspector, &mut snapshots),
        )
        .unwrap();
        let log = std::mem::take(&mut inspector.sink_mut().1.traces);
        assert_eq!(log.len(), snapshots.taken.len());
        for (trace, live) in log.iter().zip(&snapshots.taken) {
            assert_eq!(trace.len(), live.len());
            let mut live = live.iter().filter(|(_, op, ..)| !suspends(*op));
            let mut fold = TraceFold::new();
            for (i, bytes) in trace.records().enumerate() {
                let record = StepRecord::decode(bytes).unwrap().0;
                if suspends(record.op) {
                    calls += 1;
                } else {
                    let (depth, op, stack, memory) = live.next().unwrap();
                    let frame = fold
                        .frames()
                        .last()
                        .filter(|f| !f.ended && f.depth == *depth);
                    // A step that opens a frame starts from an empty one.
                    let (fold_stack, fold_memory) =
                        frame.map_or((&[][..], &[][..]), |f| (&f.stack[..], &f.memory[..]));
                    assert_eq!((record.op, record.depth), (*op, *depth), "step {i}");
                    assert_eq!(fold_stack, &stack[..], "stack before step {i}");
                    assert_eq!(fold_memory, &memory[..], "memory before step {i}");
                    checked += 1;
                }
                fold.apply(&record).unwrap_or_else(|e| panic!("{e}"));
                deepest = deepest.max(fold.frames().len());
            }
            assert!(live.next().is_none());
            // The chunk-by-chunk fold agrees with the step-by-step one.
            let chunks = trace.len().div_ceil(CHUNK_STEPS as usize) as u64;
            if chunks > 0 {
                let at_last = TraceFold::before_chunk(trace, chunks - 1).unwrap();
                assert_eq!(at_last.steps(), (chunks - 1) * CHUNK_STEPS);
            }
            assert!(TraceFold::before_chunk(trace, chunks + 1).is_err());
        }
        chain.execute(&block).unwrap();
    }
    assert!(checked > 10_000, "{checked} steps compared");
    // The dev chain's contracts do not call each other; the EEST sample folds nested frames
    // (testing/ef-tests, `eest_step_records_fold`).
    assert_eq!((calls, deepest), (0, 1));
}

/// A record that an EVM could not have produced is caught at the step that breaks.
#[test]
fn folding_rejects_records_that_do_not_follow() {
    use cairn_exec::commit::fold::{TraceFold, TraceFoldError};
    let file = sample_chain();
    let mut chain = file.genesis_chain().unwrap();
    let loads = |t: &RecordedTrace| {
        t.records()
            .any(|r| StepRecord::decode(r).unwrap().0.op == 0x51)
    };
    let mut found = None;
    for index in 0..file.blocks.len() {
        let block = file.block(index).unwrap();
        found = trace_block(&chain, &block)
            .into_iter()
            .map(|(_, t)| t)
            .find(|t| loads(t));
        if found.is_some() {
            break;
        }
        chain.execute(&block).unwrap();
    }
    let trace = found.expect("some execution loads from memory");
    let records: Vec<StepRecord> = trace
        .records()
        .map(|r| StepRecord::decode(r).unwrap().0)
        .collect();
    let fold_all = |records: &[StepRecord]| {
        let mut fold = TraceFold::new();
        records.iter().try_for_each(|r| fold.apply(r))
    };
    fold_all(&records).unwrap();

    // MLOAD pushing a word memory does not hold.
    let at = records.iter().position(|r| r.op == 0x51).unwrap();
    let mut bad = records.clone();
    bad[at].pushes[0] ^= U256::from(1);
    assert!(matches!(
        fold_all(&bad),
        Err(TraceFoldError::Inconsistent { step, op: 0x51, .. }) if step == at as u64
    ));

    // A PUSH of another value: the step that pops it finds a different item.
    let at = records
        .iter()
        .position(|r| (0x60..=0x7f).contains(&r.op))
        .unwrap();
    let mut bad = records.clone();
    bad[at].pushes[0] += U256::from(1);
    assert!(matches!(
        fold_all(&bad),
        Err(TraceFoldError::Inconsistent { step, .. }) if step > at as u64
    ));

    // A step at a depth no frame is open at.
    let mut bad = records;
    bad[1].depth = 5;
    assert!(matches!(
        fold_all(&bad),
        Err(TraceFoldError::Inconsistent { step: 1, .. })
    ));

    // Bytes that are not records.
    let mut fold = TraceFold::new();
    assert_eq!(
        fold.apply_chunk(&[0xff]),
        Err(TraceFoldError::Malformed { step: 0 })
    );
}
