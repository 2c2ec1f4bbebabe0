//! The JSON-RPC client every source talks through: an answer cache on disk, offline replay
//! of that cache, a rate limit, retries with backoff, and counters.

use crate::error::{Result, SourceError};
use alloy_primitives::keccak256;
use jsonrpsee::core::{ClientError, client::ClientT};
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// How to reach the node and how hard to push it.
#[derive(Debug, Clone)]
pub struct RpcOptions {
    /// Where answers are cached (`<dir>/<method>/<key>.json`); `None`: no cache.
    pub cache_dir: Option<PathBuf>,
    /// Answer only from the cache; a call it lacks is [`SourceError::NotCached`].
    pub offline: bool,
    /// At most this many requests per second (`None`: unlimited).
    pub rps: Option<f64>,
    /// Time budget of one request.
    pub timeout: Duration,
    /// Attempts on a transient failure (timeout, transport error, "busy" `-32005`), backing
    /// off 250 ms, 500 ms, 1 s, ... between them.
    pub attempts: u32,
    /// Largest answer accepted, in bytes (a node cannot make the client hold more).
    pub max_response_size: u32,
}

impl Default for RpcOptions {
    fn default() -> Self {
        Self {
            cache_dir: None,
            offline: false,
            rps: None,
            timeout: Duration::from_secs(60),
            attempts: 4,
            max_response_size: 512 << 20,
        }
    }
}

/// Counters of the calls made through an [`Rpc`] (the cache's answers are counted apart).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RpcStats {
    /// Calls answered by the node.
    pub calls: u64,
    /// Bytes of the node's answers (their JSON).
    pub bytes: u64,
    /// Calls answered by the cache.
    pub cached: u64,
    /// Retries after a transient failure.
    pub retries: u64,
}

impl std::ops::Add for RpcStats {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        Self {
            calls: self.calls + rhs.calls,
            bytes: self.bytes + rhs.bytes,
            cached: self.cached + rhs.cached,
            retries: self.retries + rhs.retries,
        }
    }
}

impl std::ops::Sub for RpcStats {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self {
            calls: self.calls - rhs.calls,
            bytes: self.bytes - rhs.bytes,
            cached: self.cached - rhs.cached,
            retries: self.retries - rhs.retries,
        }
    }
}

/// A JSON-RPC connection to a node (HTTP), or a recorded cache of one.
///
/// [`Rpc::scope`] gives another handle on the same connection, cache and rate limit with
/// counters of its own (to count the calls of one block while others are fetched at once).
#[derive(Debug)]
pub struct Rpc {
    shared: Arc<Shared>,
    calls: AtomicU64,
    bytes: AtomicU64,
    cached: AtomicU64,
    retries: AtomicU64,
}

/// What the handles of one connection share.
#[derive(Debug)]
struct Shared {
    client: Option<HttpClient>,
    url: String,
    options: RpcOptions,
    next_slot: tokio::sync::Mutex<Option<Instant>>,
    methods_missing: Mutex<Vec<String>>,
}

impl Rpc {
    /// A client of the node at `url` (plain `http://`), or, with `options.offline`, of the
    /// cache alone.
    ///
    /// # Errors
    /// [`SourceError::Client`] for a URL the client refuses;
    /// [`SourceError::OfflineWithoutCache`].
    pub fn new(url: &str, options: RpcOptions) -> Result<Self> {
        let client = if options.offline {
            if options.cache_dir.is_none() {
                return Err(SourceError::OfflineWithoutCache);
            }
            None
        } else {
            Some(
                HttpClientBuilder::default()
                    .request_timeout(options.timeout)
                    .max_response_size(options.max_response_size)
                    .build(url)
                    .map_err(|source| SourceError::Client {
                        url: url.to_string(),
                        source: Box::new(source),
                    })?,
            )
        };
        Ok(Self {
            shared: Arc::new(Shared {
                client,
                url: url.to_string(),
                options,
                next_slot: tokio::sync::Mutex::new(None),
                methods_missing: Mutex::new(Vec::new()),
            }),
            calls: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            cached: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        })
    }

    /// Another handle on the same connection, cache and rate limit, its counters at zero.
    pub fn scope(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            calls: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            cached: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// The counters so far.
    pub fn stats(&self) -> RpcStats {
        RpcStats {
            calls: self.calls.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            cached: self.cached.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }

    /// Whether a method already answered "method not found" (so callers can skip it).
    pub fn known_missing(&self, method: &str) -> bool {
        self.shared
            .methods_missing
            .lock()
            .map(|m| m.iter().any(|x| x == method))
            .unwrap_or(false)
    }

    /// Calls `method` with positional `params` and parses the answer as `T`.
    ///
    /// # Errors
    /// See [`Rpc::call_value`]; [`SourceError::BadAnswer`] when the answer is not a `T`.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, params: Vec<Value>) -> Result<T> {
        let value = self.call_value(method, &params).await?;
        serde_json::from_value(value).map_err(|source| SourceError::BadAnswer {
            method: method.to_string(),
            params: Value::Array(params).to_string(),
            source,
        })
    }

    /// Calls `method` with `params`: from the cache when it holds the call, else from the
    /// node (rate-limited, retried on transient failures), storing the answer in the cache.
    ///
    /// # Errors
    /// [`SourceError::Call`], [`SourceError::MethodUnavailable`], [`SourceError::Timeout`],
    /// [`SourceError::Transport`], [`SourceError::NotCached`], cache I/O errors.
    pub async fn call_value(&self, method: &str, params: &[Value]) -> Result<Value> {
        let params_text = Value::Array(params.to_vec()).to_string();
        let path = self.shared.options.cache_dir.as_ref().map(|dir| {
            let key = keccak256(params_text.as_bytes());
            dir.join(method).join(format!("{key:x}.json"))
        });
        if let Some(path) = &path {
            match std::fs::read(path) {
                Ok(data) => {
                    let entry: CacheEntry = serde_json::from_slice(&data).map_err(|source| {
                        SourceError::CacheCorrupt {
                            path: path.clone(),
                            source,
                        }
                    })?;
                    self.cached.fetch_add(1, Ordering::Relaxed);
                    return entry.into_result(method, &params_text);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(SourceError::CacheIo {
                        path: path.clone(),
                        source,
                    });
                }
            }
        }
        let Some(client) = &self.shared.client else {
            return Err(SourceError::NotCached {
                method: method.to_string(),
                params: params_text,
                dir: self.shared.options.cache_dir.clone().unwrap_or_default(),
            });
        };
        let answer = self.fetch(client, method, params, &params_text).await;
        // Answers and the node's own errors are both recorded: a cache replays what the node
        // said, including "no such method" or "no such block".
        let entry = match &answer {
            Ok(result) => Some(CacheEntry {
                method: method.to_string(),
                params: params.to_vec(),
                result: Some(result.clone()),
                error: None,
            }),
            Err(SourceError::Call { code, message, .. }) => Some(CacheEntry {
                method: method.to_string(),
                params: params.to_vec(),
                result: None,
                error: Some((*code, message.clone())),
            }),
            Err(SourceError::MethodUnavailable { message, .. }) => Some(CacheEntry {
                method: method.to_string(),
                params: params.to_vec(),
                result: None,
                error: Some((METHOD_NOT_FOUND, message.clone())),
            }),
            Err(_) => None,
        };
        if let (Some(path), Some(entry)) = (&path, entry) {
            write_atomic(path, &entry)?;
        }
        answer
    }

    async fn fetch(
        &self,
        client: &HttpClient,
        method: &str,
        params: &[Value],
        params_text: &str,
    ) -> Result<Value> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.pace().await;
            let result: std::result::Result<Value, ClientError> =
                client.request(method, params.to_vec()).await;
            let transient = match result {
                Ok(value) => {
                    self.calls.fetch_add(1, Ordering::Relaxed);
                    let size = serde_json::to_vec(&value).map_or(0, |v| v.len() as u64);
                    self.bytes.fetch_add(size, Ordering::Relaxed);
                    return Ok(value);
                }
                Err(ClientError::Call(e)) => {
                    self.calls.fetch_add(1, Ordering::Relaxed);
                    let message = e.message().to_string();
                    if e.code() == METHOD_NOT_FOUND
                        || message.contains("does not exist/is not available")
                    {
                        if let Ok(mut m) = self.shared.methods_missing.lock() {
                            m.push(method.to_string());
                        }
                        return Err(SourceError::MethodUnavailable {
                            method: method.to_string(),
                            message,
                        });
                    }
                    // -32005: limit exceeded / busy (reth, geth, Cairn); worth another try.
                    if e.code() != -32005 || attempt >= self.shared.options.attempts {
                        return Err(SourceError::Call {
                            method: method.to_string(),
                            params: params_text.to_string(),
                            code: e.code(),
                            message,
                        });
                    }
                    None
                }
                Err(ClientError::RequestTimeout) => {
                    if attempt >= self.shared.options.attempts {
                        return Err(SourceError::Timeout {
                            method: method.to_string(),
                            params: params_text.to_string(),
                            attempts: attempt,
                        });
                    }
                    None
                }
                Err(e) => {
                    if attempt >= self.shared.options.attempts {
                        return Err(SourceError::Transport {
                            method: method.to_string(),
                            params: params_text.to_string(),
                            attempts: attempt,
                            source: Box::new(e),
                        });
                    }
                    Some(e)
                }
            };
            self.retries.fetch_add(1, Ordering::Relaxed);
            let backoff = Duration::from_millis(250u64 << (attempt - 1).min(6));
            tracing::debug!(target: "cairn::source", method, attempt, ?backoff, error = ?transient, "retrying");
            tokio::time::sleep(backoff).await;
        }
    }

    /// Waits for the next request slot under `--rps`.
    async fn pace(&self) {
        let Some(rps) = self.shared.options.rps.filter(|r| *r > 0.0) else {
            return;
        };
        let interval = Duration::from_secs_f64(1.0 / rps);
        let wait = {
            let mut next = self.shared.next_slot.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + interval);
            slot - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// JSON-RPC "method not found".
const METHOD_NOT_FOUND: i32 = -32601;

/// One cached call: its answer or the node's error.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct CacheEntry {
    method: String,
    params: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<(i32, String)>,
}

impl CacheEntry {
    fn into_result(self, method: &str, params_text: &str) -> Result<Value> {
        match self.error {
            Some((METHOD_NOT_FOUND, message)) => Err(SourceError::MethodUnavailable {
                method: method.to_string(),
                message,
            }),
            Some((code, message)) => Err(SourceError::Call {
                method: method.to_string(),
                params: params_text.to_string(),
                code,
                message,
            }),
            None => Ok(self.result.unwrap_or(Value::Null)),
        }
    }
}

/// Writes a cache file through a temporary file and a rename, so a killed run never leaves
/// half a file.
fn write_atomic(path: &std::path::Path, entry: &CacheEntry) -> Result<()> {
    let io = |source| SourceError::CacheIo {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let data = serde_json::to_vec(entry).map_err(|source| SourceError::CacheCorrupt {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(&tmp, data).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
