//! The bounds every request passes through, whatever its method, so that methods added
//! later inherit them: two layers around jsonrpsee's own service.
//!
//! - [`HttpGuardLayer`] (a tower layer on the HTTP service): caps requests in flight (HTTP
//!   429), reads the body itself within [`Limits::max_request_body_size`] (HTTP 413 for a
//!   larger one, declared or chunked, HTTP 400 for a body that breaks off or is not valid
//!   HTTP, where jsonrpsee answers 500), starts the request's time budget, notes which
//!   request objects carry an id jsonrpsee cannot answer (an object, an array, a negative
//!   or fractional number: jsonrpsee takes those for notifications and answers `null`), and
//!   keeps the answer's share of the response memory until the answer has been sent.
//! - [`RpcGuardLayer`] (a jsonrpsee RPC middleware, applied to each call of a batch too):
//!   answers those bad ids with `-32600`, refuses extra parameters (`-32602`) from
//!   [`METHODS`](crate::api::METHODS), runs the method within the request's time budget
//!   (`-32005` past it), and charges each answer to
//!   [`Limits::max_total_response_size`] (`-32005` "server busy" when it is spent).
//!
//! Methods learn the request's deadline from [`deadline`] (a task-local), so blocking work
//! such as a call can stop itself.

use crate::{api, error::RpcError, limits::Limits};
use jsonrpsee::{
    core::{
        BoxError,
        middleware::{Batch, BatchEntry, Notification, Request, RpcServiceT},
        server::{BatchResponseBuilder, MethodResponse},
    },
    server::{
        HttpBody, HttpRequest, HttpResponse,
        http::{content_type_is_json, response},
    },
    types::{ErrorObjectOwned, Id},
};
use serde_json::value::RawValue;
use std::{
    collections::BTreeSet,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Instant,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// The deadline of the request being served, when called from within a method.
pub(crate) fn deadline() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// What the two layers share: the limits and the two server-wide budgets.
#[derive(Debug)]
pub(crate) struct Guard {
    limits: Limits,
    /// HTTP requests in flight.
    requests: Arc<Semaphore>,
    /// Bytes of answers held.
    responses: Arc<Semaphore>,
}

impl Guard {
    pub(crate) fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            requests: Arc::new(Semaphore::new(limits.max_connections.max(1) as usize)),
            responses: Arc::new(Semaphore::new(
                limits.max_total_response_size.min(Semaphore::MAX_PERMITS),
            )),
        })
    }
}

/// When the request must be answered (in the request's extensions).
#[derive(Debug, Clone, Copy)]
struct Deadline(Instant);

/// Positions of the request objects whose `id` jsonrpsee cannot answer (in the request's
/// extensions): `0` for a single request.
#[derive(Debug, Clone, Default)]
struct BadIds(Arc<BTreeSet<usize>>);

/// The response memory an HTTP request's answers hold, released when its body is dropped
/// (sent, or the connection gone).
#[derive(Debug, Clone, Default)]
struct Held(Arc<Mutex<Vec<OwnedSemaphorePermit>>>);

impl Held {
    fn push(&self, permit: OwnedSemaphorePermit) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(permit);
    }
}

/// The HTTP layer (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct HttpGuardLayer(pub(crate) Arc<Guard>);

impl<S> tower::Layer<S> for HttpGuardLayer {
    type Service = HttpGuard<S>;

    fn layer(&self, inner: S) -> HttpGuard<S> {
        HttpGuard {
            inner,
            guard: Arc::clone(&self.0),
        }
    }
}

/// The HTTP service of [`HttpGuardLayer`].
#[derive(Debug, Clone)]
pub(crate) struct HttpGuard<S> {
    inner: S,
    guard: Arc<Guard>,
}

impl<S> tower::Service<HttpRequest> for HttpGuard<S>
where
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        // The clone that was polled ready serves this request; its twin serves the next.
        let inner = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, inner);
        Box::pin(handle_http(Arc::clone(&self.guard), request, inner))
    }
}

async fn handle_http<S>(
    guard: Arc<Guard>,
    request: HttpRequest,
    mut inner: S,
) -> Result<HttpResponse, BoxError>
where
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = BoxError>,
{
    // Only a JSON POST carries JSON-RPC; jsonrpsee answers anything else (405, 415) unread.
    if request.method() != http::Method::POST || !content_type_is_json(&request) {
        return inner.call(request).await;
    }
    let Ok(in_flight) = Arc::clone(&guard.requests).try_acquire_owned() else {
        return Ok(response::too_many_requests());
    };
    let limits = &guard.limits;
    let deadline = Instant::now() + limits.request_timeout;
    let max = limits.max_request_body_size;
    let (mut parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > u64::from(max)) {
        return Ok(response::too_large(max));
    }
    let read = read_body(body, max, declared.unwrap_or(0));
    let body = match tokio::time::timeout_at(deadline.into(), read).await {
        Ok(Ok(body)) => body,
        Ok(Err(BodyError::TooLarge)) => return Ok(response::too_large(max)),
        Ok(Err(BodyError::Broken)) => return Ok(response::malformed()),
        Err(_) => return Ok(request_timeout()),
    };
    let held = Held::default();
    parts.extensions.insert(Deadline(deadline));
    parts.extensions.insert(BadIds(Arc::new(bad_ids(&body))));
    parts.extensions.insert(held.clone());
    // The body is whole now: say so, as jsonrpsee reads the length to size its buffer.
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    parts
        .headers
        .insert(http::header::CONTENT_LENGTH, body.len().into());
    let response = inner
        .call(HttpRequest::from_parts(parts, HttpBody::from(body)))
        .await?;
    Ok(response.map(|body| HttpBody::new(HeldBody::new(body, held, in_flight))))
}

enum BodyError {
    TooLarge,
    Broken,
}

/// Reads a whole body, refusing it as soon as it passes `max` bytes. `declared` (its
/// `Content-Length`, at most `max`) sizes the buffer once, so that it is not grown (and held)
/// at up to twice its length.
async fn read_body(body: HttpBody, max: u32, declared: u64) -> Result<Vec<u8>, BodyError> {
    use http_body_util::BodyExt;
    let mut body = std::pin::pin!(body);
    let mut out = Vec::with_capacity(declared.min(u64::from(max)) as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > max as usize {
                return Err(BodyError::TooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// HTTP 408 with a JSON-RPC error body, for a body that did not arrive within the budget.
fn request_timeout() -> HttpResponse {
    let mut r = response::malformed();
    *r.status_mut() = http::StatusCode::REQUEST_TIMEOUT;
    r
}

/// The positions of request objects (`0` for a single request) whose `id` is present but is
/// not something jsonrpsee can echo: a string, a non-negative integer or null.
fn bad_ids(body: &[u8]) -> BTreeSet<usize> {
    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(borrow, default)]
        id: Option<&'a RawValue>,
    }
    let bad = |raw: &RawValue| {
        serde_json::from_str::<Probe<'_>>(raw.get())
            .ok()
            .and_then(|p| p.id)
            .is_some_and(|id| {
                let id = id.get();
                !(id == "null" || id.starts_with('"') || id.parse::<u64>().is_ok())
            })
    };
    let text = body.trim_ascii_start();
    if text.first() == Some(&b'[') {
        serde_json::from_slice::<Vec<&RawValue>>(text)
            .map(|items| {
                items
                    .iter()
                    .enumerate()
                    .filter(|(_, raw)| bad(raw))
                    .map(|(i, _)| i)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        serde_json::from_slice::<&RawValue>(text)
            .ok()
            .filter(|raw| bad(raw))
            .map(|_| BTreeSet::from([0]))
            .unwrap_or_default()
    }
}

/// Bytes handed to hyper at a time. hyper asks for the next piece only when it has written
/// most of the last, so the body (and with it the request's budgets) lives until its answer
/// is nearly sent; handed over whole, the answer would sit in hyper's write queue, unpaid.
const SEND_CHUNK: usize = 256 * 1024;

/// A response body that keeps its request's budgets until it is dropped, and hands its data
/// over in pieces of [`SEND_CHUNK`] (slices of one allocation: nothing is copied).
struct HeldBody {
    body: HttpBody,
    /// The rest of a frame not yet handed over.
    rest: Option<<HttpBody as http_body::Body>::Data>,
    _held: (Held, OwnedSemaphorePermit),
}

impl HeldBody {
    fn new(body: HttpBody, held: Held, in_flight: OwnedSemaphorePermit) -> Self {
        Self {
            body,
            rest: None,
            _held: (held, in_flight),
        }
    }
}

impl http_body::Body for HeldBody {
    type Data = <HttpBody as http_body::Body>::Data;
    type Error = <HttpBody as http_body::Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let data = match self.rest.take() {
            Some(data) => data,
            None => match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => data,
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                other => return other,
            },
        };
        let mut data = data;
        if data.len() > SEND_CHUNK {
            self.rest = Some(data.split_off(SEND_CHUNK));
        }
        Poll::Ready(Some(Ok(http_body::Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_none() && self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let inner = self.body.size_hint();
        let rest = self.rest.as_ref().map_or(0, |r| r.len() as u64);
        let mut hint = http_body::SizeHint::new();
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + rest);
        }
        hint.set_lower(inner.lower() + rest);
        hint
    }
}

/// The JSON-RPC layer (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct RpcGuardLayer(pub(crate) Arc<Guard>);

impl<S> tower::Layer<S> for RpcGuardLayer {
    type Service = RpcGuard<S>;

    fn layer(&self, inner: S) -> RpcGuard<S> {
        RpcGuard {
            inner,
            guard: Arc::clone(&self.0),
        }
    }
}

/// The JSON-RPC service of [`RpcGuardLayer`].
#[derive(Debug, Clone)]
pub(crate) struct RpcGuard<S> {
    inner: S,
    guard: Arc<Guard>,
}

impl<S> RpcGuard<S>
where
    S: RpcServiceT<MethodResponse = MethodResponse> + Send + Sync,
{
    /// Runs one call within its deadline, without charging its answer.
    async fn run(&self, request: Request<'_>) -> MethodResponse {
        let id = request.id.clone().into_owned();
        if let Err(e) = check_params(request.method_name(), request.params.as_deref()) {
            return MethodResponse::error(id, ErrorObjectOwned::from(e));
        }
        let deadline = request.extensions.get::<Deadline>().map_or_else(
            || Instant::now() + self.guard.limits.request_timeout,
            |d| d.0,
        );
        let timeout = || {
            let budget = self.guard.limits.request_timeout;
            MethodResponse::error(
                id.clone(),
                ErrorObjectOwned::from(RpcError::Timeout { budget }),
            )
        };
        // A batch's calls after the budget is spent are not started.
        if Instant::now() >= deadline {
            return timeout();
        }
        let call = DEADLINE.scope(deadline, self.inner.call(request));
        match tokio::time::timeout_at(deadline.into(), call).await {
            Ok(response) => response,
            Err(_) => timeout(),
        }
    }

    /// Charges `response` to the response memory until its HTTP body is dropped, or replaces
    /// it with a "server busy" error when that memory is spent.
    fn charge(
        &self,
        id: Id<'static>,
        response: MethodResponse,
        held: Option<&Held>,
    ) -> MethodResponse {
        let size = response.as_json().get().len();
        let permit = u32::try_from(size).ok().and_then(|n| {
            Arc::clone(&self.guard.responses)
                .try_acquire_many_owned(n)
                .ok()
        });
        match (permit, held) {
            (Some(permit), Some(held)) => {
                held.push(permit);
                response
            }
            // Not served over HTTP (no body to release it with): nothing to hold.
            (Some(_), None) => response,
            (None, _) => {
                let limit = self.guard.limits.max_total_response_size;
                MethodResponse::error(id, ErrorObjectOwned::from(RpcError::Busy { size, limit }))
            }
        }
    }
}

impl<S> RpcServiceT for RpcGuard<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = MethodResponse;
    type BatchResponse = MethodResponse;
    type NotificationResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let this = self.clone();
        async move {
            let id = request.id.clone().into_owned();
            let held = request.extensions.get::<Held>().cloned();
            let response = this.run(request).await;
            this.charge(id, response, held.as_ref())
        }
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let this = self.clone();
        async move {
            let mut answers = BatchResponseBuilder::new_with_limit(
                this.guard.limits.max_response_body_size as usize,
            );
            let mut bad = BadIds::default();
            let mut got_notification = false;
            for (i, entry) in batch.into_iter().enumerate() {
                let response = match entry {
                    Ok(BatchEntry::Call(request)) => this.call(request).await,
                    Ok(BatchEntry::Notification(n)) => {
                        if let Some(ids) = n.extensions.get::<BadIds>() {
                            bad = ids.clone();
                        }
                        if !bad.0.contains(&i) {
                            // jsonrpsee answers no notification and runs none.
                            got_notification = true;
                            continue;
                        }
                        MethodResponse::error(Id::Null, ErrorObjectOwned::from(RpcError::InvalidId))
                    }
                    Err(e) => {
                        let (e, id) = e.into_parts();
                        MethodResponse::error(id, e)
                    }
                };
                if let Err(too_big) = answers.append(response) {
                    return too_big;
                }
            }
            // As jsonrpsee: only notifications is no answer; an empty batch is invalid.
            if answers.is_empty() && got_notification {
                MethodResponse::notification()
            } else {
                MethodResponse::from_batch(answers.finish())
            }
        }
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        let bad = n
            .extensions
            .get::<BadIds>()
            .is_some_and(|ids| ids.0.contains(&0));
        let inner = self.inner.clone();
        async move {
            if bad {
                MethodResponse::error(Id::Null, ErrorObjectOwned::from(RpcError::InvalidId))
            } else {
                inner.notification(n).await
            }
        }
    }
}

/// Refuses parameters beyond those the method takes (by position or by name).
fn check_params(method: &str, params: Option<&RawValue>) -> Result<(), RpcError> {
    let (Some(names), Some(params)) = (api::params_of(method), params) else {
        return Ok(());
    };
    let list = || {
        if names.is_empty() {
            "none".to_string()
        } else {
            names
                .iter()
                .map(|n| camel(n))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let text = params.get().trim_start();
    if text.starts_with('[') {
        let given = serde_json::from_str::<Vec<serde::de::IgnoredAny>>(text).map_or(0, |v| v.len());
        if given > names.len() {
            return Err(RpcError::TooManyParams {
                method: method.to_string(),
                max: names.len(),
                names: list(),
                given,
            });
        }
    } else if text.starts_with('{') {
        let given =
            serde_json::from_str::<std::collections::BTreeMap<String, serde::de::IgnoredAny>>(text)
                .unwrap_or_default();
        if let Some(name) = given
            .keys()
            .find(|k| !names.iter().any(|n| *k == n || **k == camel(n)))
        {
            return Err(RpcError::UnknownParam {
                method: method.to_string(),
                name: name.clone(),
                names: list(),
            });
        }
    }
    Ok(())
}

/// `tx_num` → `txNum`.
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ids_are_found_by_position() {
        let ids = |s: &str| bad_ids(s.as_bytes()).into_iter().collect::<Vec<_>>();
        assert!(ids(r#"{"jsonrpc":"2.0","id":1,"method":"m"}"#).is_empty());
        assert!(ids(r#"{"jsonrpc":"2.0","id":"a","method":"m"}"#).is_empty());
        assert!(ids(r#"{"jsonrpc":"2.0","id":null,"method":"m"}"#).is_empty());
        assert!(
            ids(r#"{"jsonrpc":"2.0","method":"m"}"#).is_empty(),
            "a notification"
        );
        assert_eq!(ids(r#" {"jsonrpc":"2.0","id":{"a":1},"method":"m"}"#), [0]);
        assert_eq!(ids(r#"{"id":[1],"method":"m"}"#), [0]);
        assert_eq!(ids(r#"{"id":-1,"method":"m"}"#), [0]);
        assert_eq!(ids(r#"{"id":1.5,"method":"m"}"#), [0]);
        assert_eq!(ids(r#"{"id":true}"#), [0]);
        assert_eq!(
            ids(r#"[{"id":1,"method":"m"}, 7, {"id":{},"method":"m"}, {"method":"m"}, {"id":[]}]"#),
            [2, 4]
        );
        assert!(ids("{not json").is_empty());
    }

    #[test]
    fn extra_params_are_refused_by_position_and_by_name() {
        let raw = |s: &str| RawValue::from_string(s.to_string()).unwrap();
        assert!(check_params("qm_getProof", Some(&raw(r#"["0x1", "latest"]"#))).is_ok());
        assert!(check_params("qm_getProof", Some(&raw(r#"["0x1"]"#))).is_ok());
        let e = check_params("qm_getProof", Some(&raw(r#"["0x1", "latest", 3]"#))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "qm_getProof takes at most 2 parameters (txNum, block), got 3"
        );
        let e = check_params("eth_blockNumber", Some(&raw("[1]"))).unwrap_err();
        assert!(e.to_string().contains("(none)"), "{e}");
        assert!(
            check_params(
                "qm_getProof",
                Some(&raw(r#"{"txNum": 1, "block": "latest"}"#))
            )
            .is_ok()
        );
        assert!(check_params("qm_getProof", Some(&raw(r#"{"tx_num": 1}"#))).is_ok());
        let e = check_params("qm_getProof", Some(&raw(r#"{"txNum": 1, "extra": 2}"#))).unwrap_err();
        assert!(
            matches!(e, RpcError::UnknownParam { ref name, .. } if name == "extra"),
            "{e}"
        );
        assert!(check_params("no_such_method", Some(&raw("[1,2,3]"))).is_ok());
        assert!(check_params("qm_getRoot", None).is_ok());
        assert_eq!(camel("old_root"), "oldRoot");
    }
}
