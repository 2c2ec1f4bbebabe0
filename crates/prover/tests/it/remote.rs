//! The remote backend against servers that are down, slow, or answer garbage, and the prover
//! server against bad requests; a real server over loopback HTTP in each case.

use crate::{common::fixture, conformance::served};
use alloy_primitives::Bytes;
use cairn_prover::{
    CancellationToken, Error, ExecBackend, PROGRAM_ID, ProverBackend, RemoteBackend, RemoteOptions,
    ServerIdentity,
    server::{ProverServer, ServerConfig},
};
use std::{sync::Arc, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

fn quick() -> RemoteOptions {
    RemoteOptions {
        timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        ..RemoteOptions::default()
    }
}

/// Reads one HTTP request (head and `Content-Length` body); returns its path.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return head.split_whitespace().nth(1).map(str::to_string);
        }
    }
}

/// A misbehaving server: `answer(path)` gives the raw bytes to send, or `None` to hang.
async fn scripted(answer: fn(&str) -> Option<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                while let Some(path) = read_request(&mut stream).await {
                    match answer(&path) {
                        Some(bytes) => {
                            if stream.write_all(&bytes).await.is_err() {
                                return;
                            }
                        }
                        None => {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                        }
                    }
                }
            });
        }
    });
    url
}

fn http(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// `ProgramVkResponse { ok: { program_vk } }` by hand (protobuf: field 1, length-delimited,
/// holding field 1 bytes).
fn program_vk_response(vk: &[u8]) -> Vec<u8> {
    let mut inner = vec![0x0a, vk.len() as u8];
    inner.extend_from_slice(vk);
    let mut outer = vec![0x0a, inner.len() as u8];
    outer.extend_from_slice(&inner);
    outer
}

fn exec_identity() -> Vec<u8> {
    ServerIdentity::of(&ExecBackend::new()).encode()
}

#[tokio::test]
async fn server_down() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = RemoteBackend::connect(&url, quick()).await.unwrap_err();
    assert!(matches!(err, Error::RemoteDown { .. }), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
    let err = RemoteBackend::connect("https://example.invalid", quick())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RemoteDown { .. }), "{err}");
}

#[tokio::test]
async fn server_silent_on_health_times_out() {
    let url = scripted(|_| None).await;
    let err = RemoteBackend::connect(&url, quick()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::RemoteTimeout {
                method: "health",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn server_slow_to_prove_times_out_and_cancellation_is_prompt() {
    let url = scripted(|path| match path {
        "/health" => Some(http("200 OK", "text/plain", b"ok")),
        "/twirp/api.ZkvmService/ProgramVk" => Some(http(
            "200 OK",
            "application/protobuf",
            &program_vk_response(&exec_identity()),
        )),
        _ => None,
    })
    .await;
    let remote = RemoteBackend::connect(&url, quick()).await.unwrap();
    assert_eq!(remote.program_id(), PROGRAM_ID);
    let input = fixture().input(3, 3);
    let err = remote
        .prove(input.clone(), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::RemoteTimeout {
                method: "Prove",
                ..
            }
        ),
        "{err}"
    );
    let patient = RemoteBackend::connect(
        &url,
        RemoteOptions {
            timeout: Duration::from_secs(3600),
            ..quick()
        },
    )
    .await
    .unwrap();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        trigger.cancel();
    });
    let err = patient.prove(input, cancel).await.unwrap_err();
    assert!(matches!(err, Error::Cancelled), "{err}");
}

#[tokio::test]
async fn garbage_answers_are_typed_errors() {
    // A protobuf body that is not a ProgramVkResponse.
    let url = scripted(|path| match path {
        "/health" => Some(http("200 OK", "text/plain", b"ok")),
        _ => Some(http("200 OK", "application/protobuf", b"\xff\xff\xff\xff")),
    })
    .await;
    let err = RemoteBackend::connect(&url, quick()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::RemoteGarbage {
                method: "ProgramVk",
                ..
            }
        ),
        "{err}"
    );

    // Not HTTP at all.
    let url = scripted(|_| Some(b"SSH-2.0-OpenSSH_9.6\r\n".to_vec())).await;
    let err = RemoteBackend::connect(&url, quick()).await.unwrap_err();
    assert!(matches!(err, Error::RemoteGarbage { .. }), "{err}");

    // An HTTP error without a twirp body.
    let url = scripted(|path| match path {
        "/health" => Some(http("200 OK", "text/plain", b"ok")),
        _ => Some(http("502 Bad Gateway", "text/html", b"<html>proxy</html>")),
    })
    .await;
    let err = RemoteBackend::connect(&url, quick()).await.unwrap_err();
    assert!(matches!(err, Error::RemoteGarbage { .. }), "{err}");

    // A foreign server (its ProgramVk is not a Cairn identity) without a pinned key.
    let url = scripted(|path| match path {
        "/health" => Some(http("200 OK", "text/plain", b"ok")),
        _ => Some(http(
            "200 OK",
            "application/protobuf",
            &program_vk_response(b"sp1-vk-bytes"),
        )),
    })
    .await;
    let err = RemoteBackend::connect(&url, quick()).await.unwrap_err();
    assert!(matches!(err, Error::RemoteProgram { .. }), "{err}");
    let pinned = RemoteOptions {
        pinned_vk: Some(Bytes::from_static(b"sp1-vk-bytes")),
        foreign_name: "sp1".into(),
        ..quick()
    };
    let remote = RemoteBackend::connect(&url, pinned.clone()).await.unwrap();
    assert_eq!(remote.id().to_string(), "zk/sp1");
    let wrong = RemoteOptions {
        pinned_vk: Some(Bytes::from_static(b"other")),
        ..pinned
    };
    assert!(matches!(
        RemoteBackend::connect(&url, wrong).await,
        Err(Error::RemoteProgram { .. })
    ));

    // A response far larger than allowed.
    let url = scripted(|path| match path {
        "/health" => Some(http("200 OK", "text/plain", b"ok")),
        _ => Some(http("200 OK", "application/protobuf", &vec![0u8; 4096])),
    })
    .await;
    let small = RemoteOptions {
        max_response_bytes: 1024,
        ..quick()
    };
    let err = RemoteBackend::connect(&url, small).await.unwrap_err();
    assert!(matches!(err, Error::RemoteGarbage { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_server_rejects_bad_requests_and_stays_up() {
    let inner: Arc<dyn ProverBackend> = Arc::new(ExecBackend::new());
    let server = ProverServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        Arc::clone(&inner),
        ServerIdentity::of(inner.as_ref()),
        ServerConfig {
            max_request_bytes: 64 * 1024,
            ..ServerConfig::default()
        },
    )
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.run(shutdown.clone()));
    let url = format!("http://{addr}");
    let remote = RemoteBackend::connect(&url, RemoteOptions::default())
        .await
        .unwrap();

    // An input that is not a program input: the program fails, the server answers it.
    let err = remote
        .prove(Bytes::from_static(b"garbage"), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::RemoteFailed {
                method: "Prove",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("magic"), "{err}");
    // A proof that does not verify.
    let err = remote
        .verify(Bytes::from_static(b"\x01nope"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::RemoteFailed {
                method: "Verify",
                ..
            }
        ),
        "{err}"
    );
    // Execute returns the public values.
    let pv = remote.execute(fixture().input(3, 3)).await.unwrap();
    assert_eq!(pv, fixture().batch(3, 3).public_values);
    // A body above the limit.
    let err = remote
        .prove(Bytes::from(vec![0u8; 100 * 1024]), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::RemoteError { status: 429, code, .. } if code == "resource_exhausted"),
        "{err}"
    );

    // Raw requests: unknown method, GET on a method, JSON, a fixed-program method.
    for (request, status) in [
        (
            "POST /twirp/api.ZkvmService/Nope HTTP/1.1\r\nhost: x\r\ncontent-type: application/protobuf\r\ncontent-length: 0\r\n\r\n",
            "404",
        ),
        (
            "GET /twirp/api.ZkvmService/Prove HTTP/1.1\r\nhost: x\r\n\r\n",
            "404",
        ),
        (
            "POST /twirp/api.ZkvmService/Prove HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
            "404",
        ),
        (
            "POST /twirp/api.ZkvmService/Setup HTTP/1.1\r\nhost: x\r\ncontent-type: application/protobuf\r\ncontent-length: 0\r\n\r\n",
            "501",
        ),
        (
            "POST /twirp/api.ZkvmService/Prove HTTP/1.1\r\nhost: x\r\ncontent-type: application/protobuf\r\ncontent-length: 3\r\n\r\n\x7f\x7f\x7f",
            "400",
        ),
        ("GET /elsewhere HTTP/1.1\r\nhost: x\r\n\r\n", "404"),
    ] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = vec![0u8; 1024];
        let n = stream.read(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{request:?} -> {answer}"
        );
        if status != "404" || request.contains("twirp") {
            assert!(answer.contains("\"code\""), "twirp error body: {answer}");
        }
    }
    // Garbage that is not HTTP closes that connection only.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"\x00\x01\x02 not http\r\n\r\n")
        .await
        .unwrap();
    let mut sink = Vec::new();
    let _ = stream.read_to_end(&mut sink).await;

    remote.health().await.unwrap();
    let proved = remote
        .prove(fixture().input(3, 3), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(proved.public_values, fixture().batch(3, 3).public_values);
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_identity_is_the_inner_backends() {
    let remote = served(Arc::new(ExecBackend::new())).await;
    assert_eq!(remote.id().to_string(), "exec/exec");
    assert_eq!(remote.program_id(), PROGRAM_ID);
}
