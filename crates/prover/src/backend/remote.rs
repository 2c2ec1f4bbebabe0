//! `remote`: a client of eth-act/ere's `ZkvmService` (twirp: an HTTP POST of a protobuf
//! message to `/twirp/api.ZkvmService/<Method>`, plus `GET /health`), the interface SP1,
//! RISC Zero, ZisK and OpenVM servers expose, and that `cairn prover-server` serves.
//!
//! On [`RemoteBackend::connect`] the client checks `/health` and asks `ProgramVk`. A Cairn
//! server answers with a [`ServerIdentity`] (program id, backend kind and name); the remote
//! backend then stands for that backend (`tee/attest` proofs made through a server are
//! `tee/attest` proofs, verifiable locally against the signer registry). Any other server
//! is a foreign zkVM: it is accepted only when its verifying key was pinned
//! ([`RemoteOptions::pinned_vk`]), which is the operator's statement that the key is this
//! program's; its proofs are `zk/<name>` and are verified by the server's `Verify`.
//!
//! Plain HTTP (no TLS): put a TLS-terminating proxy or a tunnel in front of a server on
//! another machine. Every request has a deadline, every answer a size bound, and an answer
//! that is not a well-formed response is an error naming the server and method.

use super::{BackendId, BackendKind, CancellationToken, Proved, ProverBackend};
use crate::{
    attest::AttestDomain,
    error::{Error, Result},
    public_values::PublicValues,
    twirp::{
        ExecuteView, ExecuteViewOutcome, InputRequest, PROTOBUF, ProgramVkOutcome,
        ProgramVkRequest, ProgramVkResponse, ProveView, ProveViewOutcome, SERVICE_PATH,
        VerifyOutcome, VerifyRequest, VerifyResponse,
    },
};
use alloy_primitives::{Address, B256, Bytes};
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, Uri, header};
use hyper_util::rt::TokioIo;
use prost::Message;
use std::time::{Duration, Instant};

/// Magic at the start of a Cairn server's `ProgramVk`.
pub const IDENTITY_MAGIC: [u8; 8] = *b"CAIRNVK1";

/// What a Cairn prover server says it is (its `ProgramVk`).
///
/// Bytes: `"CAIRNVK1" ‖ programId (32) ‖ kind (1) ‖ name length (1) ‖ name ‖ signer (20,
/// attest only) ‖ domain chain id (8, attest only) ‖ domain contract (20, attest only)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerIdentity {
    /// The program the server proves.
    pub program_id: B256,
    /// The backend behind it.
    pub backend: BackendId,
    /// For an attest server: its signer and domain.
    pub attest: Option<(Address, AttestDomain)>,
}

impl ServerIdentity {
    /// The identity of a backend served as it is (no attest details).
    pub fn of(backend: &dyn ProverBackend) -> Self {
        Self {
            program_id: backend.program_id(),
            backend: backend.id(),
            attest: None,
        }
    }

    /// The bytes (see the type docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = IDENTITY_MAGIC.to_vec();
        out.extend_from_slice(self.program_id.as_slice());
        out.push(self.backend.kind.code());
        out.push(self.backend.name.len() as u8);
        out.extend_from_slice(self.backend.name.as_bytes());
        if let Some((signer, domain)) = &self.attest {
            out.extend_from_slice(signer.as_slice());
            out.extend_from_slice(&domain.chain_id.to_be_bytes());
            out.extend_from_slice(domain.verifying_contract.as_slice());
        }
        out
    }

    /// Parses the bytes; `None` for anything that is not a Cairn identity.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let rest = bytes.strip_prefix(IDENTITY_MAGIC.as_slice())?;
        if rest.len() < 34 {
            return None;
        }
        let program_id = B256::from_slice(&rest[..32]);
        let kind = BackendKind::from_code(rest[32])?;
        let name_len = rest[33] as usize;
        let rest = &rest[34..];
        let name = core::str::from_utf8(rest.get(..name_len)?).ok()?;
        let backend = BackendId::new(kind, name)?;
        let rest = &rest[name_len..];
        let attest = match rest.len() {
            0 => None,
            48 => Some((
                Address::from_slice(&rest[..20]),
                AttestDomain {
                    chain_id: u64::from_be_bytes(rest[20..28].try_into().ok()?),
                    verifying_contract: Address::from_slice(&rest[28..48]),
                },
            )),
            _ => return None,
        };
        Some(Self {
            program_id,
            backend,
            attest,
        })
    }
}

/// How the client talks to a server.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Deadline of `Prove` (and of `Execute` and `Verify`).
    pub timeout: Duration,
    /// Deadline of `/health` and `ProgramVk`, and of connecting.
    pub connect_timeout: Duration,
    /// Largest response body accepted.
    pub max_response_bytes: usize,
    /// For a foreign zkVM server: its expected `ProgramVk` bytes.
    pub pinned_vk: Option<Bytes>,
    /// For a foreign zkVM server: the backend name its proofs get (`zk/<name>`).
    pub foreign_name: String,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(3600),
            connect_timeout: Duration::from_secs(10),
            max_response_bytes: 1 << 30,
            pinned_vk: None,
            foreign_name: "zkvm".into(),
        }
    }
}

/// The `remote` backend (see the module docs).
#[derive(Debug, Clone)]
pub struct RemoteBackend {
    url: String,
    uri: Uri,
    identity: ServerIdentity,
    options: RemoteOptions,
}

impl RemoteBackend {
    /// Connects to a server: `GET /health`, then `ProgramVk`.
    ///
    /// # Errors
    /// [`Error::RemoteDown`], [`Error::RemoteTimeout`], [`Error::RemoteError`],
    /// [`Error::RemoteGarbage`]; [`Error::RemoteProgram`] for a foreign server without a
    /// pinned key, or one whose key is not the pinned one.
    pub async fn connect(url: &str, options: RemoteOptions) -> Result<Self> {
        let uri: Uri = url.parse().map_err(|e| Error::RemoteDown {
            url: url.to_string(),
            reason: format!("not a URL: {e}"),
        })?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(Error::RemoteDown {
                url: url.to_string(),
                reason: "expected http://HOST[:PORT][/PREFIX] (no TLS: use a tunnel or proxy)"
                    .into(),
            });
        }
        let url = url.trim_end_matches('/').to_string();
        let mut client = Self {
            url,
            uri,
            identity: ServerIdentity {
                program_id: B256::ZERO,
                backend: BackendId::exec(),
                attest: None,
            },
            options,
        };
        client.health().await?;
        let vk = client.program_vk().await?;
        client.identity = match ServerIdentity::decode(&vk) {
            Some(identity) => identity,
            None => match &client.options.pinned_vk {
                Some(pinned) if *pinned == vk => {
                    let name = &client.options.foreign_name;
                    ServerIdentity {
                        program_id: crate::PROGRAM_ID,
                        backend: BackendId::new(BackendKind::Zk, name)
                            .ok_or_else(|| Error::UnknownBackend { spec: name.clone() })?,
                        attest: None,
                    }
                }
                Some(_) => {
                    return Err(Error::RemoteProgram {
                        url: client.url,
                        reason: format!(
                            "its program key (keccak {}) is not the pinned one",
                            alloy_primitives::keccak256(&vk)
                        ),
                    });
                }
                None => {
                    return Err(Error::RemoteProgram {
                        url: client.url,
                        reason: format!(
                            "not a Cairn prover server (ProgramVk is {} bytes without the Cairn \
                             identity); a foreign zkVM server needs its key pinned",
                            vk.len()
                        ),
                    });
                }
            },
        };
        Ok(client)
    }

    /// The server's identity.
    pub fn identity(&self) -> &ServerIdentity {
        &self.identity
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `GET /health`: whether the server answers 200.
    ///
    /// # Errors
    /// [`Error::RemoteDown`], [`Error::RemoteTimeout`], [`Error::RemoteError`].
    pub async fn health(&self) -> Result<()> {
        let (status, _) = self
            .request(
                Method::GET,
                "health",
                "/health",
                Bytes::new(),
                self.options.connect_timeout,
            )
            .await?;
        if status != 200 {
            return Err(Error::RemoteError {
                url: self.url.clone(),
                method: "health",
                status,
                code: "unhealthy".into(),
                msg: "GET /health did not answer 200".into(),
            });
        }
        Ok(())
    }

    /// `ProgramVk`: the server's program key bytes.
    ///
    /// # Errors
    /// As [`RemoteBackend::call`].
    pub async fn program_vk(&self) -> Result<Bytes> {
        let response: ProgramVkResponse = self
            .call(
                "ProgramVk",
                &ProgramVkRequest {},
                self.options.connect_timeout,
            )
            .await?;
        match response.result {
            Some(ProgramVkOutcome::Ok(ok)) => Ok(ok.program_vk.into()),
            Some(ProgramVkOutcome::Err(message)) => Err(self.failed("ProgramVk", message)),
            None => Err(self.garbage("ProgramVk", "no result".into())),
        }
    }

    /// `Execute`: runs the program on the server and returns its public values.
    ///
    /// # Errors
    /// As [`RemoteBackend::call`]; [`Error::RemoteFailed`] when the program fails there.
    pub async fn execute(&self, input: Bytes) -> Result<PublicValues> {
        let request = InputRequest {
            input_stdin: input.0,
            input_proofs: None,
        };
        let response: ExecuteView = self.call("Execute", &request, self.options.timeout).await?;
        match response.result {
            Some(ExecuteViewOutcome::Ok(ok)) => self.public_values("Execute", &ok.public_values),
            Some(ExecuteViewOutcome::Err(message)) => Err(self.failed("Execute", message)),
            None => Err(self.garbage("Execute", "no result".into())),
        }
    }

    fn public_values(&self, method: &'static str, bytes: &[u8]) -> Result<PublicValues> {
        PublicValues::decode(bytes).map_err(|e| self.garbage(method, e.to_string()))
    }

    fn failed(&self, method: &'static str, message: String) -> Error {
        Error::RemoteFailed {
            url: self.url.clone(),
            method,
            message,
        }
    }

    fn garbage(&self, method: &'static str, reason: String) -> Error {
        Error::RemoteGarbage {
            url: self.url.clone(),
            method,
            reason,
        }
    }

    /// One twirp call: POST the protobuf request, decode a 200's protobuf body, or turn a
    /// twirp error into [`Error::RemoteError`].
    ///
    /// # Errors
    /// [`Error::RemoteDown`], [`Error::RemoteTimeout`], [`Error::RemoteError`],
    /// [`Error::RemoteGarbage`].
    async fn call<Req: Message, Resp: Message + Default>(
        &self,
        method: &'static str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp> {
        let path = format!("{SERVICE_PATH}{method}");
        let (status, body) = self
            .request(
                Method::POST,
                method,
                &path,
                request.encode_to_vec().into(),
                timeout,
            )
            .await?;
        if status != 200 {
            let parsed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
            let field = |name: &str| {
                parsed
                    .as_ref()
                    .and_then(|v| v.get(name))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            return match (field("code"), field("msg")) {
                (Some(code), Some(msg)) => Err(Error::RemoteError {
                    url: self.url.clone(),
                    method,
                    status,
                    code,
                    msg,
                }),
                _ => Err(self.garbage(method, format!("HTTP {status} without a twirp error body"))),
            };
        }
        Resp::decode(body.as_ref())
            .map_err(|e| self.garbage(method, format!("not a protobuf response: {e}")))
    }

    /// One HTTP request on a fresh connection, under `timeout` from connect to the last byte.
    async fn request(
        &self,
        method: Method,
        name: &'static str,
        path: &str,
        body: Bytes,
        timeout: Duration,
    ) -> Result<(u16, Bytes)> {
        let work = self.exchange(method, name, path, body);
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| Error::RemoteTimeout {
                url: self.url.clone(),
                method: name,
                after: timeout,
            })?
    }

    async fn exchange(
        &self,
        method: Method,
        name: &'static str,
        path: &str,
        body: Bytes,
    ) -> Result<(u16, Bytes)> {
        let down = |reason: String| Error::RemoteDown {
            url: self.url.clone(),
            reason,
        };
        let host = self.uri.host().unwrap_or_default();
        let port = self.uri.port_u16().unwrap_or(80);
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| down(e.to_string()))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| down(e.to_string()))?;
        let driver = tokio::spawn(connection);
        let prefix = self.uri.path().trim_end_matches('/');
        let authority = self.uri.authority().map(|a| a.as_str()).unwrap_or(host);
        let request = Request::builder()
            .method(method)
            .uri(format!("{prefix}{path}"))
            .header(header::HOST, authority)
            .header(header::CONTENT_TYPE, PROTOBUF)
            .body(Full::new(body.0))
            .map_err(|e| down(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(|e| {
            if e.is_parse() || e.is_parse_status() {
                self.garbage(name, format!("not an HTTP response: {e}"))
            } else {
                down(e.to_string())
            }
        })?;
        let status = response.status().as_u16();
        let limited = Limited::new(response.into_body(), self.options.max_response_bytes);
        let collected = limited
            .collect()
            .await
            .map_err(|e| self.garbage(name, format!("reading the body failed: {e}")));
        driver.abort();
        Ok((status, Bytes(collected?.to_bytes())))
    }
}

#[async_trait::async_trait]
impl ProverBackend for RemoteBackend {
    fn id(&self) -> BackendId {
        self.identity.backend.clone()
    }

    fn program_id(&self) -> B256 {
        self.identity.program_id
    }

    async fn prove(&self, input: Bytes, cancel: CancellationToken) -> Result<Proved> {
        let started = Instant::now();
        let request = InputRequest {
            input_stdin: input.0,
            input_proofs: None,
        };
        let call = self.call::<_, ProveView>("Prove", &request, self.options.timeout);
        let response = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Error::Cancelled),
            response = call => response?,
        };
        match response.result {
            Some(ProveViewOutcome::Ok(ok)) => Ok(Proved {
                public_values: self.public_values("Prove", &ok.public_values)?,
                proof: Bytes(ok.proof),
                elapsed: started.elapsed(),
            }),
            Some(ProveViewOutcome::Err(message)) => Err(self.failed("Prove", message)),
            None => Err(self.garbage("Prove", "no result".into())),
        }
    }

    async fn verify(&self, proof: Bytes) -> Result<PublicValues> {
        let response: VerifyResponse = self
            .call(
                "Verify",
                &VerifyRequest { proof: proof.0 },
                self.options.timeout,
            )
            .await?;
        match response.result {
            Some(VerifyOutcome::Ok(ok)) => self.public_values("Verify", &ok.public_values),
            Some(VerifyOutcome::Err(message)) => Err(self.failed("Verify", message)),
            None => Err(self.garbage("Verify", "no result".into())),
        }
    }
}
