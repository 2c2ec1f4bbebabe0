//! The L1 client: calls, transactions signed here with explicit nonces, broadcast, and
//! receipts with a confirmation depth, over alloy's provider, with every RPC failure classified
//! (retried with backoff when the endpoint is down or answers garbage; typed otherwise).

use crate::{
    contracts::Revert,
    error::{Error, Result, TxKind},
};
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::{BlockId, BlockNumberOrTag, eip2718::Encodable2718};
use alloy_primitives::{Address, B256, Bytes, TxKind as To, U256};
use alloy_provider::{Provider, RootProvider};
use alloy_rpc_types_eth::{Log, TransactionReceipt, TransactionRequest};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolCall;
use alloy_transport::{RpcError, TransportError};
use std::{
    future::{Future, IntoFuture},
    path::Path,
    str::FromStr,
    time::Duration,
};
use tokio::time::{Instant, sleep, timeout};
use tracing::{debug, warn};

/// How the client waits and retries.
#[derive(Debug, Clone)]
pub struct L1Options {
    /// Blocks a receipt must be buried under (1: the block that holds it is enough).
    pub confirmations: u64,
    /// Interval between receipt polls.
    pub poll_interval: Duration,
    /// Deadline of one RPC request.
    pub rpc_timeout: Duration,
    /// Attempts per RPC request when the endpoint is down or answers garbage.
    pub rpc_attempts: u32,
    /// First backoff delay (doubled after each failed attempt).
    pub backoff_initial: Duration,
    /// Largest backoff delay.
    pub backoff_max: Duration,
    /// A pending transaction is broadcast again after this long without a receipt.
    pub rebroadcast_after: Duration,
    /// Give up waiting for a receipt after this long ([`Error::NotMined`]; the settler keeps
    /// the transaction and waits again).
    pub receipt_timeout: Duration,
    /// Gas limit = estimate × (100 + margin) / 100.
    pub gas_margin_percent: u64,
    /// Fees = the node's EIP-1559 estimate × this / 100.
    pub fee_percent: u64,
}

impl Default for L1Options {
    fn default() -> Self {
        Self {
            confirmations: 1,
            poll_interval: Duration::from_millis(500),
            rpc_timeout: Duration::from_secs(10),
            rpc_attempts: 6,
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(8),
            rebroadcast_after: Duration::from_secs(30),
            receipt_timeout: Duration::from_secs(600),
            gas_margin_percent: 25,
            fee_percent: 100,
        }
    }
}

/// Where the L1 signing key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// An Ethereum v3 keystore file and its password.
    Keystore {
        /// The file.
        path: std::path::PathBuf,
        /// The password.
        password: Vec<u8>,
    },
    /// A hex private key (from an environment variable).
    PrivateKey(String),
}

/// Loads the L1 signing key.
///
/// # Errors
/// [`Error::Key`] for an unreadable keystore, a wrong password or a malformed key (the key
/// itself never appears in the error).
pub fn load_signer(source: &KeySource) -> Result<PrivateKeySigner> {
    match source {
        KeySource::Keystore { path, password } => {
            PrivateKeySigner::decrypt_keystore(path, password).map_err(|e| Error::Key {
                reason: format!("keystore {}: {e}", path.display()),
            })
        }
        KeySource::PrivateKey(hex) => {
            PrivateKeySigner::from_str(hex.trim()).map_err(|_| Error::Key {
                reason: "the private key is not 32 bytes of hex".into(),
            })
        }
    }
}

/// Reads a password file's first line.
///
/// # Errors
/// [`Error::Io`].
pub fn read_password(path: &Path) -> Result<Vec<u8>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text.lines().next().unwrap_or_default().as_bytes().to_vec())
}

/// A signed transaction, ready to broadcast (and to broadcast again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    /// Its hash.
    pub hash: B256,
    /// The sender's nonce it uses.
    pub nonce: u64,
    /// The EIP-2718 encoding.
    pub raw: Bytes,
    /// The recipient (`None`: a contract creation).
    pub to: Option<Address>,
    /// The calldata (or init code).
    pub input: Bytes,
}

/// A mined, confirmed transaction.
#[derive(Debug, Clone)]
pub struct Mined {
    /// The receipt.
    pub receipt: TransactionReceipt,
    /// Its block.
    pub block: u64,
    /// Whether it succeeded.
    pub success: bool,
}

impl Mined {
    /// The receipt's logs.
    pub fn logs(&self) -> &[Log] {
        self.receipt.inner.logs()
    }
}

/// Which batch and transaction an operation is for (for errors).
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// The rollup batch (0 for deployment).
    pub batch: u64,
    /// Which transaction.
    pub kind: TxKind,
}

/// A JSON-RPC refusal, before it becomes an [`Error`].
#[derive(Debug)]
struct Refusal {
    code: i64,
    message: String,
    revert: Option<Bytes>,
}

impl Refusal {
    fn decoded(&self) -> Revert {
        Revert::decode(self.revert.as_ref().map_or(&[][..], |b| b.as_ref()))
    }
}

/// How one RPC attempt failed.
enum Failure {
    /// Down, timed out, HTTP error: try again.
    Transient(String),
    /// Not a valid answer: try again, then report garbage.
    Garbage(String),
    /// A JSON-RPC error answer.
    Refused(Refusal),
}

fn classify(error: TransportError) -> Failure {
    match error {
        RpcError::ErrorResp(payload) => Failure::Refused(Refusal {
            code: payload.code,
            message: payload.message.to_string(),
            revert: payload.as_revert_data(),
        }),
        RpcError::DeserError { err, text } => {
            let text = &text[..text.floor_char_boundary(200)];
            Failure::Garbage(format!("{err}: {text}"))
        }
        RpcError::NullResp => Failure::Garbage("null response".into()),
        RpcError::Transport(kind) if kind.is_non_retryable() => {
            Failure::Garbage(format!("non-retryable transport error: {kind}"))
        }
        RpcError::Transport(kind) => Failure::Transient(kind.to_string()),
        other => Failure::Garbage(other.to_string()),
    }
}

/// The L1 client.
#[derive(Debug, Clone)]
pub struct L1 {
    provider: RootProvider,
    url: String,
    signer: PrivateKeySigner,
    chain_id: u64,
    opts: L1Options,
}

impl L1 {
    /// Connects to `url` with `signer`; checks the chain id when `expected_chain` is given.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed URL; [`Error::RpcUnavailable`] /
    /// [`Error::RpcGarbage`]; [`Error::WrongL1Chain`].
    pub async fn connect(
        url: &str,
        signer: PrivateKeySigner,
        expected_chain: Option<u64>,
        opts: L1Options,
    ) -> Result<Self> {
        let parsed = url::Url::parse(url).map_err(|e| Error::Config {
            path: url.into(),
            reason: format!("not an RPC URL: {e}"),
        })?;
        let mut l1 = Self {
            provider: RootProvider::new_http(parsed),
            url: url.to_string(),
            signer,
            chain_id: 0,
            opts,
        };
        let chain_id = l1
            .rpc("eth_chainId", || l1.provider.get_chain_id())
            .await
            .map_err(|f| l1.refused("eth_chainId", f))?;
        if let Some(expected) = expected_chain
            && expected != chain_id
        {
            return Err(Error::WrongL1Chain {
                url: url.to_string(),
                expected,
                got: chain_id,
            });
        }
        l1.chain_id = chain_id;
        Ok(l1)
    }

    /// The sender's address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The L1 chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The options.
    pub fn options(&self) -> &L1Options {
        &self.opts
    }

    /// Runs one RPC request with the deadline, retrying transient failures with backoff.
    async fn rpc<T, F, Fut>(
        &self,
        method: &'static str,
        f: F,
    ) -> std::result::Result<T, std::result::Result<Refusal, Error>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::result::Result<T, TransportError>>,
    {
        let mut delay = self.opts.backoff_initial;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match timeout(self.opts.rpc_timeout, f()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(e)) => classify(e),
                Err(_) => Failure::Transient(format!(
                    "no answer within {} ms",
                    self.opts.rpc_timeout.as_millis()
                )),
            };
            let (reason, garbage) = match failure {
                Failure::Refused(r) => return Err(Ok(r)),
                Failure::Transient(reason) => (reason, false),
                Failure::Garbage(reason) => (reason, true),
            };
            if attempt >= self.opts.rpc_attempts {
                return Err(Err(if garbage {
                    Error::RpcGarbage {
                        url: self.url.clone(),
                        method,
                        reason,
                    }
                } else {
                    Error::RpcUnavailable {
                        url: self.url.clone(),
                        method,
                        attempts: attempt,
                        reason,
                    }
                }));
            }
            warn!(target: "cairn::settle", url = %self.url, method, attempt, %reason, retry_in_ms = delay.as_millis() as u64, "L1 RPC failed; retrying");
            sleep(delay).await;
            delay = (delay * 2).min(self.opts.backoff_max);
        }
    }

    /// Turns a refusal into [`Error::RpcRefused`].
    fn refused(&self, method: &'static str, f: std::result::Result<Refusal, Error>) -> Error {
        match f {
            Ok(r) => Error::RpcRefused {
                url: self.url.clone(),
                method,
                code: r.code,
                message: r.message,
            },
            Err(e) => e,
        }
    }

    /// The latest block number.
    ///
    /// # Errors
    /// RPC errors.
    pub async fn block_number(&self) -> Result<u64> {
        self.rpc("eth_blockNumber", || self.provider.get_block_number())
            .await
            .map_err(|f| self.refused("eth_blockNumber", f))
    }

    /// The sender's nonce: transactions mined (`pending = false`) or also pending.
    ///
    /// # Errors
    /// RPC errors.
    pub async fn nonce(&self, pending: bool) -> Result<u64> {
        let address = self.address();
        self.rpc("eth_getTransactionCount", || {
            let call = self.provider.get_transaction_count(address);
            if pending {
                call.pending().into_future()
            } else {
                call.latest().into_future()
            }
        })
        .await
        .map_err(|f| self.refused("eth_getTransactionCount", f))
    }

    /// An account's balance.
    ///
    /// # Errors
    /// RPC errors.
    pub async fn balance(&self, address: Address) -> Result<U256> {
        self.rpc("eth_getBalance", || {
            self.provider.get_balance(address).into_future()
        })
        .await
        .map_err(|f| self.refused("eth_getBalance", f))
    }

    /// The code at an address.
    ///
    /// # Errors
    /// RPC errors.
    pub async fn code(&self, address: Address) -> Result<Bytes> {
        self.rpc("eth_getCode", || {
            self.provider.get_code_at(address).into_future()
        })
        .await
        .map_err(|f| self.refused("eth_getCode", f))
    }

    /// `eth_call` of `call` on `to` (at `block`, default latest), decoded; a revert is
    /// [`Error::WouldRevert`] for `ctx`.
    ///
    /// # Errors
    /// [`Error::WouldRevert`]; [`Error::RpcGarbage`] for an answer that does not decode; RPC
    /// errors.
    pub async fn call<C: SolCall>(
        &self,
        to: Address,
        call: &C,
        block: Option<u64>,
        ctx: Ctx,
    ) -> Result<C::Return> {
        let raw = self
            .call_raw(to, call.abi_encode().into(), block, ctx)
            .await?;
        C::abi_decode_returns(&raw).map_err(|e| Error::RpcGarbage {
            url: self.url.clone(),
            method: "eth_call",
            reason: format!("{} returned {raw}: {e}", C::SIGNATURE),
        })
    }

    /// `eth_call` with raw calldata from the sender.
    ///
    /// # Errors
    /// As [`L1::call`].
    pub async fn call_raw(
        &self,
        to: Address,
        input: Bytes,
        block: Option<u64>,
        ctx: Ctx,
    ) -> Result<Bytes> {
        let request = TransactionRequest::default()
            .from(self.address())
            .to(to)
            .input(input.into());
        let block = block.map_or(BlockId::latest(), |n| BlockId::Number(n.into()));
        match self
            .rpc("eth_call", || {
                self.provider
                    .call(request.clone())
                    .block(block)
                    .into_future()
            })
            .await
        {
            Ok(out) => Ok(out),
            Err(Ok(r)) if is_revert(&r) => Err(Error::WouldRevert {
                batch: ctx.batch,
                kind: ctx.kind,
                revert: Box::new(r.decoded()),
            }),
            Err(f) => Err(self.refused("eth_call", f)),
        }
    }

    /// `eth_estimateGas` of a transaction, then gas fees, then a signed EIP-1559 transaction
    /// with `nonce`. A transaction that would revert is refused here, before anything is sent.
    ///
    /// # Errors
    /// [`Error::WouldRevert`], [`Error::InsufficientFunds`], RPC errors.
    pub async fn prepare(
        &self,
        to: Option<Address>,
        input: Bytes,
        nonce: u64,
        ctx: Ctx,
    ) -> Result<SignedTx> {
        let estimate = self.estimate_gas(to, input.clone(), ctx).await?;
        let fees = self
            .rpc("eth_feeHistory", || self.provider.estimate_eip1559_fees())
            .await
            .map_err(|f| self.refused("eth_feeHistory", f))?;
        let mut tx = TxEip1559 {
            chain_id: self.chain_id,
            nonce,
            gas_limit: estimate.saturating_mul(100 + self.opts.gas_margin_percent) / 100,
            max_fee_per_gas: fees.max_fee_per_gas * u128::from(self.opts.fee_percent) / 100,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas
                * u128::from(self.opts.fee_percent)
                / 100,
            to: to.map_or(To::Create, To::Call),
            value: U256::ZERO,
            access_list: Default::default(),
            input: input.clone(),
        };
        let signature = self
            .signer
            .sign_hash_sync(&tx.signature_hash())
            .map_err(|e| Error::Key {
                reason: format!("signing failed: {e}"),
            })?;
        // Keep the chain id explicit even if the signer were to change it.
        tx.chain_id = self.chain_id;
        let envelope: TxEnvelope = tx.into_signed(signature).into();
        Ok(SignedTx {
            hash: *envelope.tx_hash(),
            nonce,
            raw: envelope.encoded_2718().into(),
            to,
            input,
        })
    }

    /// `eth_estimateGas` of a transaction from the sender (21,000 and calldata included).
    ///
    /// # Errors
    /// [`Error::WouldRevert`], [`Error::InsufficientFunds`], RPC errors.
    pub async fn estimate_gas(&self, to: Option<Address>, input: Bytes, ctx: Ctx) -> Result<u64> {
        let mut request = TransactionRequest::default()
            .from(self.address())
            .input(input.into());
        request.to = Some(to.map_or(To::Create, To::Call));
        match self
            .rpc("eth_estimateGas", || {
                self.provider.estimate_gas(request.clone()).into_future()
            })
            .await
        {
            Ok(gas) => Ok(gas),
            Err(Ok(r)) if is_revert(&r) => Err(Error::WouldRevert {
                batch: ctx.batch,
                kind: ctx.kind,
                revert: Box::new(r.decoded()),
            }),
            Err(Ok(r)) if is_insufficient_funds(&r.message) => {
                Err(self.no_funds(ctx, r.message).await)
            }
            Err(f) => Err(self.refused("eth_estimateGas", f)),
        }
    }

    async fn no_funds(&self, ctx: Ctx, message: String) -> Error {
        let address = self.address();
        let balance = self.balance(address).await.unwrap_or_default();
        Error::InsufficientFunds {
            address,
            batch: ctx.batch,
            kind: ctx.kind,
            balance,
            message,
        }
    }

    /// Broadcasts a signed transaction. A node that already has it is fine; a nonce that is
    /// already used is fine when it is this transaction's, and [`Error::NonceTaken`]
    /// otherwise.
    ///
    /// # Errors
    /// [`Error::NonceTaken`], [`Error::InsufficientFunds`], [`Error::WouldRevert`], RPC
    /// errors.
    pub async fn broadcast(&self, tx: &SignedTx, ctx: Ctx) -> Result<()> {
        let refusal = match self
            .rpc("eth_sendRawTransaction", || async {
                self.provider
                    .send_raw_transaction(&tx.raw)
                    .await
                    .map(|pending| *pending.tx_hash())
            })
            .await
        {
            Ok(hash) if hash == tx.hash => return Ok(()),
            Ok(hash) => {
                return Err(Error::RpcInconsistent {
                    url: self.url.clone(),
                    what: format!("eth_sendRawTransaction of {} answered hash {hash}", tx.hash),
                });
            }
            Err(Ok(r)) => r,
            Err(Err(e)) => return Err(e),
        };
        let message = refusal.message.to_lowercase();
        // Nodes word "I have it" differently (geth: "already known", anvil: "transaction
        // already imported"); whatever the words, a node that holds the transaction has it.
        if message.contains("already known")
            || message.contains("known transaction")
            || message.contains("already imported")
            || self.knows(tx.hash).await?
        {
            return Ok(());
        }
        if message.contains("nonce too low")
            || message.contains("replacement transaction underpriced")
            || message.contains("nonce has already been used")
        {
            // Ours, mined already? Then nothing was lost.
            if self.receipt(tx.hash).await?.is_some() {
                return Ok(());
            }
            return Err(Error::NonceTaken {
                address: self.address(),
                nonce: tx.nonce,
                batch: ctx.batch,
                kind: ctx.kind,
                tx: tx.hash,
            });
        }
        if is_insufficient_funds(&message) {
            return Err(self.no_funds(ctx, refusal.message).await);
        }
        if is_revert(&refusal) {
            return Err(Error::WouldRevert {
                batch: ctx.batch,
                kind: ctx.kind,
                revert: Box::new(refusal.decoded()),
            });
        }
        Err(self.refused("eth_sendRawTransaction", Ok(refusal)))
    }

    /// Whether the node holds a transaction (pending or mined).
    ///
    /// # Errors
    /// RPC errors.
    pub async fn knows(&self, hash: B256) -> Result<bool> {
        let found = self
            .rpc("eth_getTransactionByHash", || {
                self.provider.get_transaction_by_hash(hash).into_future()
            })
            .await
            .map_err(|f| self.refused("eth_getTransactionByHash", f))?;
        Ok(found.is_some())
    }

    /// The receipt of a transaction, if it is mined; checks that it is the receipt asked for.
    ///
    /// # Errors
    /// [`Error::RpcInconsistent`] for a receipt of another transaction or without a block;
    /// RPC errors.
    pub async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        let receipt = self
            .rpc("eth_getTransactionReceipt", || {
                self.provider.get_transaction_receipt(hash)
            })
            .await
            .map_err(|f| self.refused("eth_getTransactionReceipt", f))?;
        if let Some(r) = &receipt {
            if r.transaction_hash != hash {
                return Err(Error::RpcInconsistent {
                    url: self.url.clone(),
                    what: format!(
                        "asked the receipt of {hash}, got one of {}",
                        r.transaction_hash
                    ),
                });
            }
            if r.block_number.is_none() || r.block_hash.is_none() {
                return Err(Error::RpcInconsistent {
                    url: self.url.clone(),
                    what: format!("the receipt of {hash} has no block"),
                });
            }
        }
        Ok(receipt)
    }

    /// The hash of a block, if the node has it.
    ///
    /// # Errors
    /// RPC errors.
    pub async fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        let block = self
            .rpc("eth_getBlockByNumber", || {
                self.provider
                    .get_block_by_number(BlockNumberOrTag::Number(number))
                    .into_future()
            })
            .await
            .map_err(|f| self.refused("eth_getBlockByNumber", f))?;
        Ok(block.map(|b| b.header.hash))
    }

    /// Waits until `tx` is mined and buried under the confirmation depth, broadcasting it again
    /// while it is pending; a receipt whose block left the chain (a reorganisation) is waited
    /// for again.
    ///
    /// # Errors
    /// [`Error::NonceTaken`] when another transaction of the sender was mined with its nonce;
    /// [`Error::NotMined`] after [`L1Options::receipt_timeout`]; RPC errors.
    pub async fn confirm(&self, tx: &SignedTx, ctx: Ctx) -> Result<Mined> {
        let started = Instant::now();
        let mut last_broadcast = Instant::now();
        let mut mined_in = None;
        loop {
            if let Some(receipt) = self.receipt(tx.hash).await? {
                let block = receipt.block_number.unwrap_or_default();
                mined_in = Some(block);
                let head = self.block_number().await?;
                if head + 1 >= block + self.opts.confirmations {
                    // Still in the canonical chain at that height?
                    if self.block_hash(block).await? == receipt.block_hash {
                        let success = receipt.status();
                        return Ok(Mined {
                            receipt,
                            block,
                            success,
                        });
                    }
                    debug!(target: "cairn::settle", tx = %tx.hash, block, "receipt's block left the chain; waiting again");
                }
            } else if self.nonce(false).await? > tx.nonce {
                // The nonce is used. Ours may have been mined between the two requests: look
                // once more before calling it taken.
                if self.receipt(tx.hash).await?.is_none() {
                    return Err(Error::NonceTaken {
                        address: self.address(),
                        nonce: tx.nonce,
                        batch: ctx.batch,
                        kind: ctx.kind,
                        tx: tx.hash,
                    });
                }
                continue;
            } else if last_broadcast.elapsed() >= self.opts.rebroadcast_after {
                debug!(target: "cairn::settle", tx = %tx.hash, "no receipt yet; broadcasting again");
                self.broadcast(tx, ctx).await?;
                last_broadcast = Instant::now();
            }
            if started.elapsed() >= self.opts.receipt_timeout {
                if let Some(block) = mined_in {
                    return Err(Error::NotConfirmed {
                        batch: ctx.batch,
                        kind: ctx.kind,
                        tx: tx.hash,
                        block,
                        confirmations: self.opts.confirmations,
                        waited_s: started.elapsed().as_secs(),
                    });
                }
                return Err(Error::NotMined {
                    batch: ctx.batch,
                    kind: ctx.kind,
                    tx: tx.hash,
                    waited_s: started.elapsed().as_secs(),
                });
            }
            sleep(self.opts.poll_interval).await;
        }
    }

    /// Why a mined transaction reverted: its call replayed on the state of its block.
    pub async fn revert_reason(&self, tx: &SignedTx, block: u64, ctx: Ctx) -> Revert {
        let Some(to) = tx.to else {
            return Revert::Other(Bytes::new());
        };
        match self.call_raw(to, tx.input.clone(), Some(block), ctx).await {
            Err(Error::WouldRevert { revert, .. }) => *revert,
            _ => Revert::Other(Bytes::new()),
        }
    }

    /// Logs of `address` in blocks `from..=to` with `topic0`.
    ///
    /// # Errors
    /// RPC errors.
    pub async fn logs(
        &self,
        address: Address,
        topic0: B256,
        from: u64,
        to: u64,
    ) -> Result<Vec<Log>> {
        let filter = alloy_rpc_types_eth::Filter::new()
            .address(address)
            .event_signature(topic0)
            .from_block(from)
            .to_block(to);
        self.rpc("eth_getLogs", || self.provider.get_logs(&filter))
            .await
            .map_err(|f| self.refused("eth_getLogs", f))
    }
}

fn is_revert(r: &Refusal) -> bool {
    r.revert.is_some() || r.code == 3 || r.message.to_lowercase().contains("revert")
}

fn is_insufficient_funds(message: &str) -> bool {
    let m = message.to_lowercase();
    m.contains("insufficient funds") || m.contains("insufficient balance")
}
