//! Block execution with alloy-evm's Ethereum block executor on revm: environment, receipts,
//! and the checks of the execution outcome against the header.

use crate::error::{Result, StatelessError};
use alloc::{borrow::Cow, boxed::Box, vec::Vec};
use alloy_consensus::{
    Eip658Value, Header, ReceiptEnvelope, TxReceipt, TxType,
    proofs::calculate_receipt_root,
    transaction::{Recovered, SignerRecoverable},
};
use alloy_eips::eip7685::EMPTY_REQUESTS_HASH;
use alloy_evm::{
    Evm, EvmEnv,
    block::{BlockExecutionError, BlockExecutionResult, BlockExecutor},
    eth::{
        EthBlockExecutionCtx, EthBlockExecutor, EthEvmBuilder, EthEvmContext,
        receipt_builder::{ReceiptBuilder, ReceiptBuilderCtx},
        spec::EthExecutorSpec,
    },
};
use alloy_hardforks::{EthereumHardfork, EthereumHardforks, ForkCondition};
use alloy_primitives::{Address, Bloom, Bytes};
use alloy_trie::KECCAK_EMPTY;
use cairn_primitives::{Block, ChainConfig, TransactionSigned};
use revm::{
    Database, Inspector,
    database::State,
    interpreter::{CreateInputs, CreateOutcome, Gas, InstructionResult, InterpreterResult},
    primitives::constants::CALL_STACK_LIMIT,
};

/// Whether an account holds any storage, for the EIP-7610 create-collision rule.
///
/// revm treats a CREATE target as colliding only when it has code or a nonce; EIP-7610 also
/// makes an address with non-empty storage collide. The database knows the storage root (or
/// the slots), so it answers.
pub trait StorageProbe {
    /// Whether `address` currently has non-empty storage.
    fn has_storage(&mut self, address: Address) -> bool;
}

impl<S: cairn_witness::WitnessSource> StorageProbe for cairn_witness::WitnessDb<S> {
    fn has_storage(&mut self, address: Address) -> bool {
        Self::has_storage(self, address)
    }
}

/// Inspector that applies EIP-7610: a CREATE whose target has no code and a zero nonce but
/// non-empty storage fails as a collision, exactly as revm fails one with code or a nonce
/// (the caller's nonce is bumped, the target is warmed, all gas given to the frame is
/// consumed).
#[derive(Debug, Clone, Copy, Default)]
pub struct Eip7610;

impl<'a, DB> Inspector<EthEvmContext<&'a mut State<DB>>> for Eip7610
where
    DB: Database + StorageProbe,
{
    fn create(
        &mut self,
        ctx: &mut EthEvmContext<&'a mut State<DB>>,
        inputs: &mut CreateInputs,
    ) -> Option<CreateOutcome> {
        use revm::context_interface::{
            ContextTr, JournalTr, journaled_state::account::JournaledAccountTr,
        };
        if ctx.journal().depth() >= CALL_STACK_LIMIT as usize {
            return None;
        }
        let caller = inputs.caller();
        let (nonce, balance) = {
            let account = ctx.journal_mut().load_account(caller).ok()?;
            (account.info.nonce, account.info.balance)
        };
        if balance < inputs.value() || nonce == u64::MAX {
            return None;
        }
        let target = inputs.created_address(nonce);
        {
            let account = ctx.journal_mut().load_account(target).ok()?;
            if account.info.code_hash != KECCAK_EMPTY || account.info.nonce != 0 {
                return None;
            }
        }
        if !has_storage(ctx.journal_mut().db_mut(), target) {
            return None;
        }
        ctx.journal_mut()
            .load_account_mut(caller)
            .ok()?
            .bump_nonce();
        Some(CreateOutcome {
            result: InterpreterResult {
                result: InstructionResult::CreateCollision,
                gas: Gas::new_with_regular_gas_and_reservoir(
                    inputs.gas_limit(),
                    inputs.reservoir(),
                ),
                output: Bytes::new(),
            },
            address: None,
            charged_create_state_gas: inputs.charged_create_state_gas(),
        })
    }
}

/// Whether `address` has non-empty storage at this point of the block.
///
/// Once revm's state cache knows an account's whole storage (the account was destroyed by a
/// pre-Cancun SELFDESTRUCT or created earlier in the block, or does not exist), the cache is
/// the answer: the database still holds the storage as of the block's start, which a
/// SELFDESTRUCT earlier in the block has discarded. Otherwise the database answers.
fn has_storage<DB: Database + StorageProbe>(state: &mut State<DB>, address: Address) -> bool {
    match state.cache.accounts.get(&address) {
        Some(cached) if cached.status.is_storage_known() => cached
            .account
            .as_ref()
            .is_some_and(|a| a.storage.values().any(|v| !v.is_zero())),
        _ => state.database.has_storage(address),
    }
}

/// [`ChainConfig`] as the executor's chain specification.
#[derive(Debug, Clone, Copy)]
pub struct ChainSpec<'a>(pub &'a ChainConfig);

impl EthereumHardforks for ChainSpec<'_> {
    fn ethereum_fork_activation(&self, fork: EthereumHardfork) -> ForkCondition {
        self.0.ethereum_fork_activation(fork)
    }
}

impl EthExecutorSpec for ChainSpec<'_> {
    fn deposit_contract_address(&self) -> Option<Address> {
        self.0.deposit_contract
    }
}

/// Builds receipts for Cairn's block transaction type.
#[derive(Debug, Clone, Copy, Default)]
pub struct CairnReceiptBuilder;

impl ReceiptBuilder for CairnReceiptBuilder {
    type Transaction = TransactionSigned;
    type Receipt = ReceiptEnvelope;

    fn build_receipt<E: alloy_evm::Evm>(
        &self,
        ctx: ReceiptBuilderCtx<'_, TxType, E>,
    ) -> ReceiptEnvelope {
        let receipt = alloy_consensus::Receipt {
            status: Eip658Value::Eip658(ctx.result.is_success()),
            cumulative_gas_used: ctx.cumulative_gas_used,
            logs: ctx.result.into_logs(),
        }
        .with_bloom();
        match ctx.tx_type {
            TxType::Legacy => ReceiptEnvelope::Legacy(receipt),
            TxType::Eip2930 => ReceiptEnvelope::Eip2930(receipt),
            TxType::Eip1559 => ReceiptEnvelope::Eip1559(receipt),
            TxType::Eip4844 => ReceiptEnvelope::Eip4844(receipt),
            TxType::Eip7702 => ReceiptEnvelope::Eip7702(receipt),
        }
    }
}

/// The EVM environment (spec, chain id, block fields, blob fee) for a block.
pub fn evm_env(chain: &ChainConfig, header: &Header) -> EvmEnv {
    EvmEnv::for_eth_block(
        header,
        ChainSpec(chain),
        chain.chain_id,
        chain.blob_params_at(header.timestamp),
    )
}

/// The executor context for a block (parent hash, beacon root, ommers, withdrawals).
pub fn block_ctx(block: &Block) -> EthBlockExecutionCtx<'_> {
    EthBlockExecutionCtx {
        parent_hash: block.header.parent_hash,
        parent_beacon_block_root: block.header.parent_beacon_block_root,
        ommers: &block.body.ommers,
        withdrawals: block
            .body
            .withdrawals
            .as_ref()
            .map(|w| Cow::Borrowed(w.as_slice())),
        extra_data: block.header.extra_data.clone(),
        tx_count_hint: Some(block.body.transactions.len()),
        slot_number: block.header.slot_number,
    }
}

/// Recovers every sender (EIP-2 low-s enforced).
///
/// # Errors
/// [`StatelessError::Signature`] naming the block and transaction index.
pub fn recover_senders(block: &Block) -> Result<Vec<Recovered<&TransactionSigned>>> {
    block
        .body
        .transactions
        .iter()
        .enumerate()
        .map(|(index, tx)| {
            tx.recover_signer()
                .map(|signer| Recovered::new_unchecked(tx, signer))
                .map_err(|source| StatelessError::Signature {
                    block: block.header.number,
                    index,
                    source,
                })
        })
        .collect()
}

/// Executes a block's system calls, transactions and withdrawals on `state`, with an
/// inspector watching every transaction.
///
/// # Errors
/// The executor's error (invalid transaction, failed system call, database error).
pub fn execute_block<'a, DB, I>(
    chain: &ChainConfig,
    block: &Block,
    txs: &[Recovered<&TransactionSigned>],
    state: &'a mut State<DB>,
    inspector: I,
) -> Result<BlockExecutionResult<ReceiptEnvelope>, BlockExecutionError>
where
    DB: Database<Error: core::error::Error + Send + Sync + 'static>
        + core::fmt::Debug
        + StorageProbe,
    I: Inspector<EthEvmContext<&'a mut State<DB>>>,
{
    execute_block_phases(chain, block, txs, state, inspector, |_| {})
}

/// A point between the phases of a block's execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The pre-block system calls (EIP-2935, EIP-4788) are done.
    PreBlock,
    /// Transaction `index` is done.
    Transaction(usize),
    /// The post-block work (EIP-7002 / EIP-7251 system calls, withdrawals) is done.
    PostBlock,
}

/// Like [`execute_block`], calling `on_phase` after the pre-block system calls, after each
/// transaction, and after the post-block work (e.g. to attribute state commits to them).
///
/// # Errors
/// See [`execute_block`].
pub fn execute_block_phases<'a, DB, I>(
    chain: &ChainConfig,
    block: &Block,
    txs: &[Recovered<&TransactionSigned>],
    state: &'a mut State<DB>,
    inspector: I,
    mut on_phase: impl FnMut(Phase),
) -> Result<BlockExecutionResult<ReceiptEnvelope>, BlockExecutionError>
where
    DB: Database<Error: core::error::Error + Send + Sync + 'static>
        + core::fmt::Debug
        + StorageProbe,
    I: Inspector<EthEvmContext<&'a mut State<DB>>>,
{
    execute_block_observed(chain, block, txs, state, inspector, |phase, _| {
        on_phase(phase);
    })
}

/// Like [`execute_block_phases`], with the state at each point too (e.g. to drop cached
/// code between transactions).
///
/// # Errors
/// See [`execute_block`].
pub fn execute_block_observed<'a, DB, I>(
    chain: &ChainConfig,
    block: &Block,
    txs: &[Recovered<&TransactionSigned>],
    state: &'a mut State<DB>,
    inspector: I,
    mut on_phase: impl FnMut(Phase, &mut State<DB>),
) -> Result<BlockExecutionResult<ReceiptEnvelope>, BlockExecutionError>
where
    DB: Database<Error: core::error::Error + Send + Sync + 'static>
        + core::fmt::Debug
        + StorageProbe,
    I: Inspector<EthEvmContext<&'a mut State<DB>>>,
{
    #[cfg(feature = "native-crypto")]
    crate::kzg::install();
    let env = evm_env(chain, &block.header);
    let inner = EthEvmBuilder::new(state, env)
        .activate_inspector((Eip7610, inspector))
        .build()
        .into_inner();
    let evm = InspectingEvm {
        inner,
        inspect: true,
    };
    let mut executor =
        EthBlockExecutor::new(evm, block_ctx(block), ChainSpec(chain), CairnReceiptBuilder);
    executor.apply_pre_execution_changes()?;
    on_phase(Phase::PreBlock, executor.evm_mut().db_mut());
    for (index, tx) in txs.iter().enumerate() {
        executor.execute_transaction(tx)?;
        on_phase(Phase::Transaction(index), executor.evm_mut().db_mut());
    }
    if chain.is_prague_active_at_timestamp(block.header.timestamp) {
        require_request_contracts(alloy_evm::Evm::db_mut(executor.evm_mut()))?;
    }
    let (evm, result) = executor.finish()?;
    let (db, _) = evm.finish();
    on_phase(Phase::PostBlock, db);
    Ok(result)
}

/// EIP-7002 and EIP-7251: a block whose withdrawal- or consolidation-request contract has no
/// code when its system call is due (after the transactions) is invalid. alloy-evm 0.39 calls
/// an empty account, which succeeds with no output, so the block would pass with no
/// requests. (A call that reverts or halts is already an error there.)
fn require_request_contracts<DB>(state: &mut State<DB>) -> Result<(), BlockExecutionError>
where
    DB: Database<Error: core::error::Error + Send + Sync + 'static>,
{
    use alloy_eips::{
        eip7002::WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
        eip7251::CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
    };
    use alloy_evm::block::BlockValidationError;
    for address in [
        WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
        CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
    ] {
        let account = state.basic(address).map_err(BlockExecutionError::other)?;
        if account.is_some_and(|a| a.code_hash != KECCAK_EMPTY) {
            continue;
        }
        let message = alloc::format!("no code at {address}");
        return Err(if address == WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS {
            BlockValidationError::WithdrawalRequestsContractCall { message }
        } else {
            BlockValidationError::ConsolidationRequestsContractCall { message }
        }
        .into());
    }
    Ok(())
}

/// Checks an execution outcome against the header: gas used, blob gas used, receipts root,
/// logs bloom, requests hash.
///
/// # Errors
/// The first mismatch, with what execution produced and what the header says.
pub fn check_outcome(
    chain: &ChainConfig,
    header: &Header,
    outcome: &BlockExecutionResult<ReceiptEnvelope>,
) -> Result<()> {
    let block = header.number;
    if outcome.gas_used != header.gas_used {
        return Err(StatelessError::GasUsedMismatch {
            block,
            got: outcome.gas_used,
            expected: header.gas_used,
        });
    }
    if chain.is_cancun_active_at_timestamp(header.timestamp)
        && header.blob_gas_used != Some(outcome.blob_gas_used)
    {
        return Err(StatelessError::BlobGasUsedMismatch {
            block,
            got: outcome.blob_gas_used,
            expected: header.blob_gas_used,
        });
    }
    let receipts_root = calculate_receipt_root(&outcome.receipts);
    if receipts_root != header.receipts_root {
        return Err(StatelessError::ReceiptsRootMismatch {
            block,
            got: receipts_root,
            expected: header.receipts_root,
        });
    }
    let bloom = outcome
        .receipts
        .iter()
        .fold(Bloom::ZERO, |acc, r| acc | r.bloom());
    if bloom != header.logs_bloom {
        return Err(StatelessError::LogsBloomMismatch {
            block,
            got: Box::new(bloom),
            expected: Box::new(header.logs_bloom),
        });
    }
    if chain.is_prague_active_at_timestamp(header.timestamp) {
        let got = outcome.requests.requests_hash();
        if header.requests_hash != Some(got) {
            return Err(StatelessError::RequestsHashMismatch {
                block,
                got,
                expected: header.requests_hash,
            });
        }
    } else if header.requests_hash.is_some() {
        return Err(StatelessError::RequestsHashMismatch {
            block,
            got: EMPTY_REQUESTS_HASH,
            expected: header.requests_hash,
        });
    }
    Ok(())
}

type InnerEvm<DB, I> = revm::context::Evm<
    EthEvmContext<DB>,
    I,
    revm::handler::instructions::EthInstructions<
        revm::interpreter::interpreter::EthInterpreter,
        EthEvmContext<DB>,
    >,
    alloy_evm::precompiles::PrecompilesMap,
    revm::handler::EthFrame,
>;

/// alloy-evm's `EthEvm`, except that the block's system calls (EIP-2935, EIP-4788, EIP-7002,
/// EIP-7251) are inspected like transactions: alloy-evm 0.39 runs them through revm's
/// non-inspecting path whatever the inspector, and a trace commitment must cover every
/// top-level execution.
struct InspectingEvm<DB: alloy_evm::Database, I> {
    inner: InnerEvm<DB, I>,
    inspect: bool,
}

impl<DB, I> alloy_evm::Evm for InspectingEvm<DB, I>
where
    DB: alloy_evm::Database,
    I: Inspector<EthEvmContext<DB>>,
{
    type DB = DB;
    type Tx = revm::context::TxEnv;
    type Error = revm::context_interface::result::EVMError<DB::Error>;
    type HaltReason = revm::context_interface::result::HaltReason;
    type Spec = revm::primitives::hardfork::SpecId;
    type BlockEnv = revm::context::BlockEnv;
    type Precompiles = alloy_evm::precompiles::PrecompilesMap;
    type Inspector = I;

    fn block(&self) -> &revm::context::BlockEnv {
        &self.inner.ctx.block
    }

    fn cfg_env(&self) -> &revm::context::CfgEnv<Self::Spec> {
        &self.inner.ctx.cfg
    }

    fn chain_id(&self) -> u64 {
        self.inner.ctx.cfg.chain_id
    }

    fn transact_raw(
        &mut self,
        tx: revm::context::TxEnv,
    ) -> Result<revm::context_interface::result::ResultAndState<Self::HaltReason>, Self::Error>
    {
        use revm::{ExecuteEvm, InspectEvm};
        if self.inspect {
            self.inner.inspect_tx(tx)
        } else {
            self.inner.transact(tx)
        }
    }

    fn transact_system_call(
        &mut self,
        caller: Address,
        contract: Address,
        data: Bytes,
    ) -> Result<revm::context_interface::result::ResultAndState<Self::HaltReason>, Self::Error>
    {
        use revm::{InspectSystemCallEvm, SystemCallEvm};
        if self.inspect {
            self.inner
                .inspect_system_call_with_caller(caller, contract, data)
        } else {
            self.inner.system_call_with_caller(caller, contract, data)
        }
    }

    fn finish(self) -> (DB, EvmEnv<Self::Spec>) {
        let revm::Context {
            block: block_env,
            cfg: cfg_env,
            journaled_state,
            ..
        } = self.inner.ctx;
        (journaled_state.database, EvmEnv { block_env, cfg_env })
    }

    fn set_inspector_enabled(&mut self, enabled: bool) {
        self.inspect = enabled;
    }

    fn components(&self) -> (&DB, &I, &alloy_evm::precompiles::PrecompilesMap) {
        (
            &self.inner.ctx.journaled_state.database,
            &self.inner.inspector,
            &self.inner.precompiles,
        )
    }

    fn components_mut(&mut self) -> (&mut DB, &mut I, &mut alloy_evm::precompiles::PrecompilesMap) {
        (
            &mut self.inner.ctx.journaled_state.database,
            &mut self.inner.inspector,
            &mut self.inner.precompiles,
        )
    }
}
