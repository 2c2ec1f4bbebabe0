//! A chain held in full: canonical headers, a hash-addressed store of every trie node ever
//! written (so the state at any past block can be read and proven), and the flat state at
//! the head.

use crate::{
    error::{ExecError, Result},
    state::{FlatAccount, FlatDb, FlatState},
    witness::{Recorder, WitnessKind},
};
use alloy_consensus::{
    BlockBody, EMPTY_OMMER_ROOT_HASH, Header, ReceiptEnvelope, TxReceipt,
    proofs::{calculate_receipt_root, calculate_transaction_root, calculate_withdrawals_root},
};
use alloy_eips::{
    eip1559::{BaseFeeParams, INITIAL_BASE_FEE, calc_next_block_base_fee},
    eip4895::{Withdrawal, Withdrawals},
};
use alloy_evm::block::BlockExecutionResult;
use alloy_hardforks::EthereumHardforks;
use alloy_primitives::{Address, B256, Bloom, Bytes, U256, keccak256, map::B256Map};
use alloy_trie::{EMPTY_ROOT_HASH, KECCAK_EMPTY};
use cairn_primitives::{Block, ChainConfig, ExecutionWitness, ProgramOutput, TransactionSigned};
use cairn_stateless::{
    BlockSummary, StatelessError, check_outcome, consensus, execute_block_phases, recover_senders,
};
use cairn_witness::{AccountDiff, AccountFields, StateDiff, StateTrie};
use revm::{
    database::{State, states::bundle_state::BundleRetention},
    inspector::NoOpInspector,
};
use std::collections::BTreeMap;

/// An account of a genesis (or test `pre`) allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenesisAccount {
    /// Nonce.
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Code (empty for none).
    pub code: Bytes,
    /// Storage (zero values are ignored).
    pub storage: BTreeMap<U256, U256>,
}

/// What importing a block produced.
#[derive(Debug, Clone)]
pub struct ExecutedBlock {
    /// Block hash.
    pub hash: B256,
    /// Gas used.
    pub gas_used: u64,
    /// Receipts, in transaction order.
    pub receipts: Vec<ReceiptEnvelope>,
    /// State root after the block.
    pub state_root: B256,
    /// The block's net state change.
    pub diff: StateDiff,
}

/// Fields a block builder chooses (the rest follow from the parent and execution).
#[derive(Debug, Clone, Default)]
pub struct BlockAttributes {
    /// Block timestamp (must exceed the parent's).
    pub timestamp: u64,
    /// Fee recipient.
    pub beneficiary: Address,
    /// PREVRANDAO.
    pub prev_randao: B256,
    /// Gas limit (within 1/1024 of the parent's).
    pub gas_limit: u64,
    /// Withdrawals (Shanghai onwards).
    pub withdrawals: Vec<Withdrawal>,
    /// EIP-4788 parent beacon block root (Cancun onwards).
    pub parent_beacon_block_root: B256,
    /// Extra data (at most 32 bytes).
    pub extra_data: Bytes,
}

/// The outcome of generating a witness by running the stateless program against the full
/// state: the witness is whatever that run read (see [`WitnessKind`] for what the run is
/// made to read).
#[derive(Debug)]
pub struct WitnessRun {
    /// The witness (also for a block that failed: what was read up to the failure).
    pub witness: ExecutionWitness,
    /// The stateless program's verdict while recording: its output and per-block figures.
    pub result: std::result::Result<(ProgramOutput, Vec<BlockSummary>), StatelessError>,
}

/// A chain held in full.
#[derive(Debug, Clone)]
pub struct Chain {
    config: ChainConfig,
    first_number: u64,
    headers: Vec<Header>,
    hashes: Vec<B256>,
    nodes: B256Map<Bytes>,
    flat: FlatState,
}

/// The state root of a genesis allocation.
///
/// # Errors
/// Only on an internal trie failure.
pub fn genesis_state_root(
    alloc: impl IntoIterator<Item = (Address, GenesisAccount)>,
) -> Result<B256> {
    genesis_state(alloc).map(|(_, _, root)| root)
}

fn genesis_state(
    alloc: impl IntoIterator<Item = (Address, GenesisAccount)>,
) -> Result<(FlatState, B256Map<Bytes>, B256)> {
    let mut flat = FlatState::default();
    let mut diff = StateDiff::default();
    for (address, account) in alloc {
        let code_hash = if account.code.is_empty() {
            KECCAK_EMPTY
        } else {
            keccak256(&account.code)
        };
        if !account.code.is_empty() {
            flat.codes.insert(code_hash, account.code.clone());
        }
        let fields = AccountFields {
            nonce: account.nonce,
            balance: account.balance,
            code_hash,
        };
        let storage: BTreeMap<U256, U256> = account
            .storage
            .into_iter()
            .filter(|(_, v)| !v.is_zero())
            .collect();
        diff.accounts.insert(
            address,
            AccountDiff {
                info: Some(fields),
                storage_wiped: true,
                storage,
            },
        );
    }
    flat.apply(&diff);
    let mut trie = StateTrie::new(EMPTY_ROOT_HASH);
    trie.record_written();
    let mut nodes = B256Map::default();
    let root = trie.apply(&diff, &mut nodes)?;
    for node in trie.take_written() {
        nodes.insert(keccak256(&node), node);
    }
    Ok((flat, nodes, root))
}

pub(crate) struct Run {
    pub(crate) outcome: BlockExecutionResult<ReceiptEnvelope>,
    pub(crate) diff: StateDiff,
    pub(crate) codes: Vec<(B256, Bytes)>,
    pub(crate) state_root: B256,
    pub(crate) new_nodes: Vec<Bytes>,
}

impl Chain {
    /// Builds the genesis state and checks it against the genesis header's state root.
    ///
    /// # Errors
    /// [`ExecError::GenesisStateRoot`] when the allocation does not match.
    pub fn from_genesis(
        config: ChainConfig,
        genesis: Header,
        alloc: impl IntoIterator<Item = (Address, GenesisAccount)>,
    ) -> Result<Self> {
        let (flat, nodes, root) = genesis_state(alloc)?;
        if root != genesis.state_root {
            return Err(ExecError::GenesisStateRoot {
                got: root,
                expected: genesis.state_root,
            });
        }
        let hash = genesis.hash_slow();
        Ok(Self {
            config,
            first_number: genesis.number,
            headers: vec![genesis],
            hashes: vec![hash],
            nodes,
            flat,
        })
    }

    /// The chain configuration.
    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// The head header.
    pub fn head(&self) -> &Header {
        self.headers.last().expect("a chain always has its genesis")
    }

    /// Hash of the head.
    pub fn head_hash(&self) -> B256 {
        *self.hashes.last().expect("a chain always has its genesis")
    }

    /// The canonical header with this number.
    pub fn header(&self, number: u64) -> Option<&Header> {
        self.index(number).map(|i| &self.headers[i])
    }

    /// The canonical hash of block `number`.
    pub fn hash(&self, number: u64) -> Option<B256> {
        self.index(number).map(|i| self.hashes[i])
    }

    fn index(&self, number: u64) -> Option<usize> {
        let i = usize::try_from(number.checked_sub(self.first_number)?).ok()?;
        (i < self.headers.len()).then_some(i)
    }

    /// The account at the head.
    pub fn account(&self, address: &Address) -> Option<&FlatAccount> {
        self.flat.accounts.get(address)
    }

    /// All live accounts at the head.
    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &FlatAccount)> {
        self.flat.accounts.iter()
    }

    /// Code by hash.
    pub fn code(&self, code_hash: &B256) -> Option<&Bytes> {
        self.flat.codes.get(code_hash)
    }

    /// The flat state at the head.
    pub fn flat_state(&self) -> &FlatState {
        &self.flat
    }

    /// Canonical block hashes, from [`Chain::first_number`] to the head.
    pub fn canonical_hashes(&self) -> &[B256] {
        &self.hashes
    }

    /// Number of the oldest block held (the genesis).
    pub fn first_number(&self) -> u64 {
        self.first_number
    }

    /// Every trie node ever written, by hash.
    pub fn nodes(&self) -> &B256Map<Bytes> {
        &self.nodes
    }

    /// The state tries at the root of block `number`, for reads and proofs at that block,
    /// together with the node store they read from.
    ///
    /// # Errors
    /// [`ExecError::UnknownBlock`] when the block is not canonical.
    pub fn state_at(&self, number: u64) -> Result<(StateTrie, &B256Map<Bytes>)> {
        let header = self
            .header(number)
            .ok_or(ExecError::UnknownBlock { number })?;
        Ok((StateTrie::new(header.state_root), &self.nodes))
    }

    /// Executes `block` on the flat state: header and body rules, senders, execution,
    /// outcome checks; then its changes go into the tries and the root must match.
    fn run(&self, block: &Block, check_header: bool) -> Result<Run> {
        let txs = self.prepare(block, check_header)?;
        let mut state = self.flat_db_state();
        let outcome =
            execute_block_phases(&self.config, block, &txs, &mut state, NoOpInspector, |_| {})
                .map_err(|e| execution_error(block, e))?;
        self.finish_run(block, check_header, state, outcome)
    }

    /// Imports a block like [`Chain::execute`] with `inspector` tracing each of its EVM
    /// executions (system calls and transactions, in execution order): `transitionHash`
    /// alone, without the other commitments, or the step records themselves with a
    /// [`RecordLog`](crate::commit::trace::RecordLog) sink.
    ///
    /// # Errors
    /// As [`Chain::execute`].
    pub fn execute_traced<S: crate::commit::trace::StepSink>(
        &mut self,
        block: &Block,
        inspector: &mut crate::commit::trace::TransitionInspector<S>,
    ) -> Result<ExecutedBlock> {
        let txs = self.prepare(block, true)?;
        let mut state = self.flat_db_state();
        let outcome =
            execute_block_phases(&self.config, block, &txs, &mut state, inspector, |_| {})
                .map_err(|e| execution_error(block, e))?;
        let run = self.finish_run(block, true, state, outcome)?;
        Ok(self.import(block, run))
    }

    /// The block must extend the head; then header and body rules (unless building), then
    /// the senders.
    pub(crate) fn prepare<'b>(
        &self,
        block: &'b Block,
        check_header: bool,
    ) -> Result<Vec<alloy_consensus::transaction::Recovered<&'b TransactionSigned>>> {
        let number = block.header.number;
        if block.header.parent_hash != self.head_hash() {
            return Err(ExecError::NotOnHead {
                number,
                parent_hash: block.header.parent_hash,
                head: self.head_hash(),
            });
        }
        let consensus = |source| StatelessError::Consensus {
            block: number,
            source,
        };
        if check_header {
            consensus::validate_header(&self.config, &block.header, self.head(), self.head_hash())
                .map_err(consensus)?;
            consensus::validate_body(&self.config, block).map_err(consensus)?;
        }
        Ok(recover_senders(block)?)
    }

    /// revm's `State` over the flat state at the head, recording the block's changes.
    pub(crate) fn flat_db_state(&self) -> State<FlatDb<'_>> {
        State::builder()
            .with_database(FlatDb {
                state: &self.flat,
                hashes: &self.hashes,
                first: self.first_number,
            })
            .with_bundle_update()
            .build()
    }

    /// After execution: outcome checks, the block's changes into the tries, the root check.
    pub(crate) fn finish_run(
        &self,
        block: &Block,
        check_header: bool,
        mut state: State<FlatDb<'_>>,
        outcome: BlockExecutionResult<ReceiptEnvelope>,
    ) -> Result<Run> {
        let header = &block.header;
        let number = header.number;
        if check_header {
            check_outcome(&self.config, header, &outcome)?;
        }
        state.merge_transitions(BundleRetention::PlainState);
        let bundle = state.take_bundle();
        let diff = StateDiff::from_bundle(&bundle);
        let codes = bundle
            .contracts
            .iter()
            .map(|(hash, code)| (*hash, code.original_bytes()))
            .collect();
        let mut trie = StateTrie::new(self.head().state_root);
        trie.record_written();
        let mut nodes = &self.nodes;
        let state_root = trie.apply(&diff, &mut nodes)?;
        if check_header && state_root != header.state_root {
            return Err(StatelessError::StateRootMismatch {
                block: number,
                got: state_root,
                expected: header.state_root,
            }
            .into());
        }
        Ok(Run {
            outcome,
            diff,
            codes,
            state_root,
            new_nodes: trie.take_written(),
        })
    }

    /// Imports a block on top of the head. On error nothing changes.
    ///
    /// # Errors
    /// [`ExecError::NotOnHead`], or [`ExecError::Block`] naming the failed check.
    pub fn execute(&mut self, block: &Block) -> Result<ExecutedBlock> {
        let run = self.run(block, true)?;
        Ok(self.import(block, run))
    }

    /// Adds an executed block (its nodes, codes, state change and header).
    pub(crate) fn import(&mut self, block: &Block, run: Run) -> ExecutedBlock {
        for node in run.new_nodes {
            self.nodes.insert(keccak256(&node), node);
        }
        self.flat.codes.extend(run.codes);
        self.flat.apply(&run.diff);
        let hash = block.header.hash_slow();
        self.headers.push(block.header.clone());
        self.hashes.push(hash);
        tracing::debug!(target: "cairn::exec", number = block.header.number, gas_used = run.outcome.gas_used, "imported");
        ExecutedBlock {
            hash,
            gas_used: run.outcome.gas_used,
            receipts: run.outcome.receipts,
            state_root: run.state_root,
            diff: run.diff,
        }
    }

    /// Builds (but does not import) the next block from `txs`.
    ///
    /// # Errors
    /// [`ExecError::Block`] when a transaction is invalid on the head state.
    pub fn build_block(
        &self,
        attrs: BlockAttributes,
        txs: Vec<TransactionSigned>,
    ) -> Result<Block> {
        let parent = self.head();
        let ts = attrs.timestamp;
        let cfg = &self.config;
        let number = parent.number + 1;
        let base_fee_per_gas = cfg.is_london_active_at_block(number).then(|| {
            if cfg.is_london_active_at_block(parent.number) {
                calc_next_block_base_fee(
                    parent.gas_used,
                    parent.gas_limit,
                    parent.base_fee_per_gas.unwrap_or_default(),
                    BaseFeeParams::ethereum(),
                )
            } else {
                INITIAL_BASE_FEE
            }
        });
        let excess_blob_gas = cfg.blob_params_at(ts).map(|p| {
            // The parent is a block this chain built, so its blob fields are in range.
            cairn_primitives::next_excess_blob_gas(
                &p,
                parent.excess_blob_gas.unwrap_or(0),
                parent.blob_gas_used.unwrap_or(0),
                parent.base_fee_per_gas.unwrap_or(0),
            )
            .unwrap_or_default()
        });
        let shanghai = cfg.is_shanghai_active_at_timestamp(ts);
        let cancun = cfg.is_cancun_active_at_timestamp(ts);
        let withdrawals = shanghai.then(|| Withdrawals::new(attrs.withdrawals));
        let mut header = Header {
            parent_hash: self.head_hash(),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: attrs.beneficiary,
            transactions_root: calculate_transaction_root(&txs),
            difficulty: U256::ZERO,
            number,
            gas_limit: attrs.gas_limit,
            timestamp: ts,
            extra_data: attrs.extra_data,
            mix_hash: attrs.prev_randao,
            base_fee_per_gas,
            withdrawals_root: withdrawals.as_ref().map(|w| calculate_withdrawals_root(w)),
            excess_blob_gas,
            blob_gas_used: cancun.then_some(0),
            parent_beacon_block_root: cancun.then_some(attrs.parent_beacon_block_root),
            ..Default::default()
        };
        let mut block = Block {
            header: header.clone(),
            body: BlockBody {
                transactions: txs,
                ommers: vec![],
                withdrawals,
            },
        };
        let run = self.run(&block, false)?;
        header.gas_used = run.outcome.gas_used;
        header.receipts_root = calculate_receipt_root(&run.outcome.receipts);
        header.logs_bloom = run
            .outcome
            .receipts
            .iter()
            .fold(Bloom::ZERO, |acc, r| acc | r.bloom());
        header.state_root = run.state_root;
        if cancun {
            header.blob_gas_used = Some(run.outcome.blob_gas_used);
        }
        if cfg.is_prague_active_at_timestamp(ts) {
            header.requests_hash = Some(run.outcome.requests.requests_hash());
        }
        block.header = header;
        Ok(block)
    }

    /// Generates the [complete](WitnessKind::Complete) execution witness for consecutive
    /// `blocks` whose first block's parent is canonical here (the head, or any earlier block:
    /// every past state is kept), by running the stateless program against the full state
    /// and recording every trie node, code and ancestor header it reads.
    ///
    /// # Errors
    /// [`ExecError::UnknownBlock`] when the first block's parent is not canonical.
    pub fn witness(&self, blocks: &[Block]) -> Result<WitnessRun> {
        self.witness_with(blocks, WitnessKind::Complete)
    }

    /// [`Chain::witness`], complete or minimal.
    ///
    /// # Errors
    /// See [`Chain::witness`].
    pub fn witness_with(&self, blocks: &[Block], kind: WitnessKind) -> Result<WitnessRun> {
        let first = blocks
            .first()
            .map_or(self.head().number + 1, |b| b.header.number);
        let parent_number = first
            .checked_sub(1)
            .ok_or(ExecError::UnknownBlock { number: 0 })?;
        let parent = self.header(parent_number).ok_or(ExecError::UnknownBlock {
            number: parent_number,
        })?;
        let parent_hash = self.hash(parent_number).ok_or(ExecError::UnknownBlock {
            number: parent_number,
        })?;
        let mut recorder = Recorder::new(self, Some(parent_number));
        let db = cairn_witness::WitnessDb::new(&mut recorder, parent.state_root)
            .record_keys()
            .with_rules(kind.rules());
        let result = cairn_stateless::validate_inner(&self.config, blocks, parent, parent_hash, db);
        let (keys, result) = match result {
            Ok(v) => (
                v.db.keys().cloned().unwrap_or_default(),
                Ok((v.output, v.blocks)),
            ),
            Err(e) => (Default::default(), Err(e)),
        };
        Ok(WitnessRun {
            witness: recorder.into_witness(&keys),
            result,
        })
    }
}

/// A block executor error as the block's execution failure.
pub(crate) fn execution_error(
    block: &Block,
    e: alloy_evm::block::BlockExecutionError,
) -> ExecError {
    StatelessError::Execution {
        block: block.header.number,
        source: Box::new(e),
    }
    .into()
}
