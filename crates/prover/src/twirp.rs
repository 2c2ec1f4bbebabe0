//! eth-act/ere's `ZkvmService` (package `api`) as prost messages, derived by hand (no
//! `protoc`), and twirp's error form. Field numbers and types follow ere's
//! `crates/server/api/proto/api.proto`:
//!
//! ```proto
//! service ZkvmService {
//!     rpc Execute(ExecuteRequest) returns (ExecuteResponse) {}
//!     rpc Prove(ProveRequest) returns (ProveResponse) {}
//!     rpc Verify(VerifyRequest) returns (VerifyResponse) {}
//!     rpc ProgramVk(ProgramVkRequest) returns (ProgramVkResponse) {}
//!     // also Setup, ExecuteEstimatedCost, Profile: answered `unimplemented` here
//! }
//! message ExecuteRequest { bytes input_stdin = 1; optional bytes input_proofs = 2; }
//! message ExecuteResponse { oneof result { ExecuteOk ok = 1; string err = 2; } }
//! message ExecuteOk { bytes public_values = 1; uint64 duration_nanos = 2; }
//! message ProveRequest { bytes input_stdin = 1; optional bytes input_proofs = 2; }
//! message ProveResponse { oneof result { ProveOk ok = 1; string err = 2; } }
//! message ProveOk { bytes public_values = 1; bytes proof = 2; uint64 duration_nanos = 3; }
//! message VerifyRequest { bytes proof = 1; }
//! message VerifyResponse { oneof result { VerifyOk ok = 1; string err = 2; } }
//! message VerifyOk { bytes public_values = 1; }
//! message ProgramVkRequest {}
//! message ProgramVkResponse { oneof result { ProgramVkOk ok = 1; string err = 2; } }
//! message ProgramVkOk { bytes program_vk = 1; }
//! ```
//!
//! The client reads only the fields it needs, so it also understands servers of ere's
//! earlier API (whose `ExecuteOk`/`ProveOk` carried a `bytes report` where `duration_nanos`
//! is now): unknown fields are skipped.

use bytes::Bytes;

/// Path prefix of the service's methods.
pub(crate) const SERVICE_PATH: &str = "/twirp/api.ZkvmService/";
/// The content type of protobuf requests and responses.
pub(crate) const PROTOBUF: &str = "application/protobuf";

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct InputRequest {
    #[prost(bytes = "bytes", tag = "1")]
    pub(crate) input_stdin: Bytes,
    #[prost(bytes = "bytes", optional, tag = "2")]
    pub(crate) input_proofs: Option<Bytes>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ExecuteOk {
    #[prost(bytes = "bytes", tag = "1")]
    pub(crate) public_values: Bytes,
    #[prost(uint64, tag = "2")]
    pub(crate) duration_nanos: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ProveOk {
    #[prost(bytes = "bytes", tag = "1")]
    pub(crate) public_values: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    pub(crate) proof: Bytes,
    #[prost(uint64, tag = "3")]
    pub(crate) duration_nanos: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct VerifyRequest {
    #[prost(bytes = "bytes", tag = "1")]
    pub(crate) proof: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct VerifyOk {
    #[prost(bytes = "bytes", tag = "1")]
    pub(crate) public_values: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ProgramVkRequest {}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ProgramVkOk {
    #[prost(bytes = "bytes", tag = "1")]
    pub(crate) program_vk: Bytes,
}

/// Client-side views of `ExecuteOk` and `ProveOk` with only the fields the client uses.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PublicValuesOnly {
    #[prost(bytes = "bytes", tag = "1")]
    pub(crate) public_values: Bytes,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ProofOnly {
    #[prost(bytes = "bytes", tag = "1")]
    pub(crate) public_values: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    pub(crate) proof: Bytes,
}

// Every response is `message <Name> { oneof result { <Ok> ok = 1; string err = 2; } }`.
// (Written out: prost's derive does not read attribute strings that come from a macro.)

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum ExecuteOutcome {
    #[prost(message, tag = "1")]
    Ok(ExecuteOk),
    #[prost(string, tag = "2")]
    Err(String),
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ExecuteResponse {
    #[prost(oneof = "ExecuteOutcome", tags = "1, 2")]
    pub(crate) result: Option<ExecuteOutcome>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum ProveOutcome {
    #[prost(message, tag = "1")]
    Ok(ProveOk),
    #[prost(string, tag = "2")]
    Err(String),
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ProveResponse {
    #[prost(oneof = "ProveOutcome", tags = "1, 2")]
    pub(crate) result: Option<ProveOutcome>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum VerifyOutcome {
    #[prost(message, tag = "1")]
    Ok(VerifyOk),
    #[prost(string, tag = "2")]
    Err(String),
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct VerifyResponse {
    #[prost(oneof = "VerifyOutcome", tags = "1, 2")]
    pub(crate) result: Option<VerifyOutcome>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum ProgramVkOutcome {
    #[prost(message, tag = "1")]
    Ok(ProgramVkOk),
    #[prost(string, tag = "2")]
    Err(String),
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ProgramVkResponse {
    #[prost(oneof = "ProgramVkOutcome", tags = "1, 2")]
    pub(crate) result: Option<ProgramVkOutcome>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum ExecuteViewOutcome {
    #[prost(message, tag = "1")]
    Ok(PublicValuesOnly),
    #[prost(string, tag = "2")]
    Err(String),
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ExecuteView {
    #[prost(oneof = "ExecuteViewOutcome", tags = "1, 2")]
    pub(crate) result: Option<ExecuteViewOutcome>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum ProveViewOutcome {
    #[prost(message, tag = "1")]
    Ok(ProofOnly),
    #[prost(string, tag = "2")]
    Err(String),
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ProveView {
    #[prost(oneof = "ProveViewOutcome", tags = "1, 2")]
    pub(crate) result: Option<ProveViewOutcome>,
}

/// A twirp error code, with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    BadRoute,
    Malformed,
    Unimplemented,
    ResourceExhausted,
    Internal,
}

impl Code {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::BadRoute => "bad_route",
            Self::Malformed => "malformed",
            Self::Unimplemented => "unimplemented",
            Self::ResourceExhausted => "resource_exhausted",
            Self::Internal => "internal",
        }
    }

    pub(crate) const fn status(self) -> u16 {
        match self {
            Self::BadRoute => 404,
            Self::Malformed => 400,
            Self::Unimplemented => 501,
            Self::ResourceExhausted => 429,
            Self::Internal => 500,
        }
    }
}

/// Twirp's JSON error body: `{"code": "...", "msg": "..."}`.
pub(crate) fn error_body(code: Code, msg: &str) -> String {
    serde_json::json!({ "code": code.as_str(), "msg": msg }).to_string()
}
