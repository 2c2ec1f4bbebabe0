//! `cairn prover-server`: eth-act/ere's `ZkvmService` over twirp, served from a local backend,
//! so that a node lends its prover to others and the `remote` backend is tested against a
//! real server.
//!
//! Routes: `POST /twirp/api.ZkvmService/{Execute,Prove,Verify,ProgramVk}` with
//! `Content-Type: application/protobuf` (the message types are in [`crate::backend::remote`]'s
//! docs); `Setup`, `ExecuteEstimatedCost` and `Profile` answer twirp `unimplemented` (the
//! program is fixed); `GET /health` answers 200. A program that fails (an invalid batch, a
//! proof that does not verify) is a 200 response whose `result` is `err`, as ere's servers
//! do; transport faults are twirp errors (`{"code", "msg"}` with the matching HTTP status).
//!
//! Work is bounded: request bodies up to a limit, a bounded number of connections, one
//! `Prove` at a time (others queue), `Execute`/`Verify` at most one per core, request headers
//! within a deadline. CPU work runs on the blocking pool, so the server keeps answering
//! `/health` while it proves.

use crate::{
    backend::{CancellationToken, ProverBackend, remote::ServerIdentity, run_blocking},
    error::{Error, Result},
    guest,
    twirp::{
        Code, ExecuteOk, ExecuteOutcome, ExecuteResponse, InputRequest, PROTOBUF, ProgramVkOk,
        ProgramVkOutcome, ProgramVkResponse, ProveOk, ProveOutcome, ProveResponse, SERVICE_PATH,
        VerifyOk, VerifyOutcome, VerifyRequest, VerifyResponse, error_body,
    },
};
use alloy_primitives::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, Response, StatusCode, body::Incoming, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use prost::Message;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::Semaphore};

/// Limits of a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body, in bytes.
    pub max_request_bytes: usize,
    /// Connections served at once (more wait to be accepted).
    pub max_connections: usize,
    /// Time a client has to send its request headers.
    pub header_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_request_bytes: 256 << 20,
            max_connections: 64,
            header_timeout: Duration::from_secs(30),
        }
    }
}

struct State {
    backend: Arc<dyn ProverBackend>,
    identity: Vec<u8>,
    max_request_bytes: usize,
    prove: Semaphore,
    work: Semaphore,
}

/// A bound server, ready to [`ProverServer::run`].
pub struct ProverServer {
    listener: TcpListener,
    state: Arc<State>,
    config: ServerConfig,
}

impl core::fmt::Debug for ProverServer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ProverServer")
            .field("addr", &self.listener.local_addr().ok())
            .field("backend", &self.state.backend.id())
            .finish_non_exhaustive()
    }
}

impl ProverServer {
    /// Binds `addr` (port 0 picks a free port) for `backend`, which answers `ProgramVk` with
    /// `identity`.
    ///
    /// # Errors
    /// [`Error::Listen`].
    pub async fn bind(
        addr: SocketAddr,
        backend: Arc<dyn ProverBackend>,
        identity: ServerIdentity,
        config: ServerConfig,
    ) -> Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Listen { addr, source })?;
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Self {
            listener,
            state: Arc::new(State {
                backend,
                identity: identity.encode(),
                max_request_bytes: config.max_request_bytes,
                prove: Semaphore::new(1),
                work: Semaphore::new(cores),
            }),
            config,
        })
    }

    /// The address it listens on.
    ///
    /// # Errors
    /// [`Error::Listen`] if the socket has no address.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener.local_addr().map_err(|source| Error::Listen {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })
    }

    /// Serves until `shutdown` fires: stops accepting, then returns (connections in flight
    /// end with the runtime).
    ///
    /// # Errors
    /// Never for a client's fault; accept errors are logged and serving goes on.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let connections = Arc::new(Semaphore::new(self.config.max_connections.max(1)));
        loop {
            let permit = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                permit = Arc::clone(&connections).acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => return Ok(()),
                },
            };
            let accepted = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(target: "cairn::prover_server", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let state = Arc::clone(&self.state);
            let header_timeout = self.config.header_timeout;
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let state = Arc::clone(&state);
                    async move { Ok::<_, std::convert::Infallible>(handle(&state, request).await) }
                });
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                if let Err(e) = served {
                    tracing::debug!(target: "cairn::prover_server", %peer, error = %e, "connection ended");
                }
                drop(permit);
            });
        }
    }
}

type Body = Full<bytes::Bytes>;

fn reply(status: StatusCode, content_type: &str, body: impl Into<bytes::Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

fn twirp_error(code: Code, msg: &str) -> Response<Body> {
    reply(
        StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        "application/json",
        error_body(code, msg),
    )
}

fn protobuf(message: &impl Message) -> Response<Body> {
    reply(StatusCode::OK, PROTOBUF, message.encode_to_vec())
}

async fn handle(state: &State, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_string();
    if path == "/health" {
        return if request.method() == Method::GET {
            reply(StatusCode::OK, "text/plain", "ok")
        } else {
            reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "GET only")
        };
    }
    let Some(method) = path.strip_prefix(SERVICE_PATH) else {
        return twirp_error(Code::BadRoute, &format!("no route {path}"));
    };
    if request.method() != Method::POST {
        return twirp_error(Code::BadRoute, "twirp methods are called with POST");
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.split(';').next().map(str::trim) != Some(PROTOBUF) {
        return twirp_error(
            Code::BadRoute,
            &format!("unsupported Content-Type {content_type:?}: this server speaks {PROTOBUF}"),
        );
    }
    let body = match Limited::new(request.into_body(), state.max_request_bytes)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            return if too_large {
                twirp_error(
                    Code::ResourceExhausted,
                    &format!("request body exceeds {} bytes", state.max_request_bytes),
                )
            } else {
                twirp_error(Code::Malformed, &format!("reading the body failed: {e}"))
            };
        }
    };
    match method {
        "Execute" => execute(state, &body).await,
        "Prove" => prove(state, &body).await,
        "Verify" => verify(state, &body).await,
        "ProgramVk" => protobuf(&ProgramVkResponse {
            result: Some(ProgramVkOutcome::Ok(ProgramVkOk {
                program_vk: state.identity.clone().into(),
            })),
        }),
        "Setup" | "ExecuteEstimatedCost" | "Profile" => twirp_error(
            Code::Unimplemented,
            &format!("{method}: this server runs a fixed program (Cairn's guest)"),
        ),
        other => twirp_error(Code::BadRoute, &format!("no method {other}")),
    }
}

fn malformed(what: &str, e: prost::DecodeError) -> Response<Body> {
    twirp_error(
        Code::Malformed,
        &format!("{what} is not a protobuf request: {e}"),
    )
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

async fn execute(state: &State, body: &[u8]) -> Response<Body> {
    let request = match InputRequest::decode(body) {
        Ok(r) => r,
        Err(e) => return malformed("ExecuteRequest", e),
    };
    let Ok(_permit) = state.work.acquire().await else {
        return twirp_error(Code::Internal, "shutting down");
    };
    let started = std::time::Instant::now();
    let input = Bytes(request.input_stdin);
    let result = run_blocking(&CancellationToken::new(), move || guest::run(&input)).await;
    protobuf(&ExecuteResponse {
        result: Some(match result {
            Ok(pv) => ExecuteOutcome::Ok(ExecuteOk {
                public_values: pv.into(),
                duration_nanos: nanos(started.elapsed()),
            }),
            Err(e) => ExecuteOutcome::Err(e.to_string()),
        }),
    })
}

async fn prove(state: &State, body: &[u8]) -> Response<Body> {
    let request = match InputRequest::decode(body) {
        Ok(r) => r,
        Err(e) => return malformed("ProveRequest", e),
    };
    let Ok(_permit) = state.prove.acquire().await else {
        return twirp_error(Code::Internal, "shutting down");
    };
    let result = state
        .backend
        .prove(Bytes(request.input_stdin), CancellationToken::new())
        .await;
    protobuf(&ProveResponse {
        result: Some(match result {
            Ok(proved) => ProveOutcome::Ok(ProveOk {
                public_values: proved.public_values.encode().into(),
                proof: proved.proof.0,
                duration_nanos: nanos(proved.elapsed),
            }),
            Err(e) => ProveOutcome::Err(e.to_string()),
        }),
    })
}

async fn verify(state: &State, body: &[u8]) -> Response<Body> {
    let request = match VerifyRequest::decode(body) {
        Ok(r) => r,
        Err(e) => return malformed("VerifyRequest", e),
    };
    let Ok(_permit) = state.work.acquire().await else {
        return twirp_error(Code::Internal, "shutting down");
    };
    let result = state.backend.verify(Bytes(request.proof)).await;
    protobuf(&VerifyResponse {
        result: Some(match result {
            Ok(pv) => VerifyOutcome::Ok(VerifyOk {
                public_values: pv.encode().into(),
            }),
            Err(e) => VerifyOutcome::Err(e.to_string()),
        }),
    })
}
