//! [`Limits`]: what one client, one request and all requests together may cost the server.

use std::time::Duration;

/// Bounds on the work and memory requests can cause. Every method is subject to the
/// request, response, time and batch bounds (they are enforced around the methods, not in
/// them); the others apply to the methods named.
///
/// # Memory
///
/// What the server holds beyond the node itself is bounded by:
/// - answers waiting to be sent: at most [`max_total_response_size`](Self::max_total_response_size)
///   bytes of JSON across all connections (one answer, or one batch, at most
///   [`max_response_body_size`](Self::max_response_body_size)); a batch's answer is built
///   in a buffer that grows by doubling, so it may occupy up to twice its length;
/// - answers being built: one per running method, at most
///   [`max_concurrent_work`](Self::max_concurrent_work) +
///   [`max_concurrent_calls`](Self::max_concurrent_calls) at once;
/// - request bodies: at most [`max_connections`](Self::max_connections) requests at once,
///   each read whole (and copied once) up to
///   [`max_request_body_size`](Self::max_request_body_size).
///
/// With the defaults, 16 concurrent batches of 64 `eth_getProof` with 1,024 storage keys
/// each (1.5 MB per answer, 1.5 GB in all) keep the server under 640 MiB (measured 340 to
/// 490 MB; the load test in `bin/cairn/tests/it/serve.rs` checks the ceiling). Without these
/// bounds the same requests took it to 1.5 GB, and more clients took it further.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body in bytes (a call proof given to `qm_verifyProof` carries a
    /// witness, so this is not tiny). A larger body is refused with HTTP 413, unread when
    /// its declared length says so.
    pub max_request_body_size: u32,
    /// Largest answer in bytes, for one call or a whole batch (`debug_executionWitness` of a
    /// full block is the largest single answer). A larger answer becomes an error.
    pub max_response_body_size: u32,
    /// Bytes of answers held at once across all connections, from the moment an answer is
    /// built until it is sent. An answer that would go over is replaced by a "server busy"
    /// error (`-32005`), so memory stays bounded however many clients ask at once.
    pub max_total_response_size: usize,
    /// Open connections at once, and requests in flight at once (an HTTP/2 connection can
    /// carry several); more are refused (HTTP 429).
    pub max_connections: u32,
    /// Requests in one batch; a larger batch is refused.
    pub max_batch_len: u32,
    /// Storage keys in one `eth_getProof`.
    pub max_storage_keys: usize,
    /// Requests that read the node (proofs, blocks, leaves, witnesses) running at once; the
    /// rest wait their turn within their time budget.
    pub max_concurrent_work: usize,
    /// Calls (`qm_call`, and `qm_verifyProof` of a call proof, which re-executes it) running
    /// at once, in a pool of their own so that calls cannot starve the other methods.
    pub max_concurrent_calls: usize,
    /// Highest gas limit a call runs with: a `qm_call` asking for more (or for the block's
    /// gas limit when that is higher) runs with this much; a call proof whose call had more
    /// is not re-executed.
    pub gas_cap: u64,
    /// Wall-clock budget of one call's execution; past it the EVM is stopped and the call
    /// fails with `-32005`.
    pub evm_timeout: Duration,
    /// Time budget of one HTTP request (a batch is one request), from its arrival to its
    /// answer, waiting for a worker included. Past it, the calls not yet answered get
    /// `-32005`; a body still arriving gets HTTP 408.
    pub request_timeout: Duration,
    /// `qm_call` proofs kept for `qm_callProof` (the oldest go first).
    pub max_stored_calls: usize,
    /// Bytes of `qm_call` proofs kept (their JSON); the oldest go first. A proof larger than
    /// this is answered but not kept.
    pub max_stored_call_bytes: u64,
}

impl Limits {
    /// One mebibyte, the unit of the byte limits' command-line flags.
    pub const MIB: u32 = 1024 * 1024;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // reth's defaults for the request and response sizes and the gas cap.
            max_request_body_size: 15 * Self::MIB,
            max_response_body_size: 160 * Self::MIB,
            max_total_response_size: 256 * Self::MIB as usize,
            max_connections: 128,
            max_batch_len: 64,
            max_storage_keys: 1024,
            max_concurrent_work: 4,
            max_concurrent_calls: 2,
            gas_cap: 50_000_000,
            evm_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            max_stored_calls: 10_000,
            max_stored_call_bytes: 1024 * u64::from(Self::MIB),
        }
    }
}
