//! `cairn serve`: serves a data directory written by `cairn replay --datadir`, answers
//! JSON-RPC over HTTP, and exits 0 on SIGTERM or SIGINT.

use crate::{cairn, fails_with};
use serde_json::{Value, json};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::Path,
    process::{Child, Command, Stdio},
    sync::Arc,
};

/// A data directory holding a two-block dev chain, written by the CLI itself.
fn datadir(tmp: &Path) -> String {
    let chain = tmp.join("chain.json");
    let chain = chain.to_str().unwrap();
    let data = tmp.join("data");
    let data = data.to_str().unwrap().to_string();
    let run = cairn(&["devchain", "--out", chain, "--blocks", "2", "--txs", "3"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = cairn(&["replay", chain, "--datadir", &data]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    data
}

/// Starts `cairn serve` with `args` (and `env`), returning the child and the URL it prints.
fn start(args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .env("CAIRN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let Some(url) = line.trim().strip_prefix("listening on ") else {
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        panic!("no address printed: stdout {line:?}, stderr {stderr:?}");
    };
    (child, url.to_string())
}

/// One JSON-RPC call over a plain HTTP/1.1 connection.
pub(crate) fn rpc(url: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let (status, body) = post(url, body.as_bytes());
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// A POST of `body` over a plain HTTP/1.1 connection: the status and the response body.
fn post(url: &str, body: &[u8]) -> (u16, String) {
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap();
    (status, body.to_string())
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn serve_answers_json_rpc_and_exits_cleanly_on_sigterm_and_sigint() {
    let tmp = tempfile::tempdir().unwrap();
    let data = datadir(tmp.path());

    let (mut child, url) = start(&["--datadir", &data, "--http.addr", "127.0.0.1:0"], &[]);
    assert_eq!(rpc(&url, "eth_blockNumber", json!([]))["result"], "0x2");
    let root = rpc(&url, "qm_getRoot", json!(["latest"]));
    assert_eq!(root["result"]["blockNumber"], "0x2", "{root}");
    let leaf = rpc(&url, "qm_getLeaf", json!([root["result"]["lastTxNum"]]));
    assert_eq!(leaf["result"]["kind"], "blockEnd", "{leaf}");
    // txNum as a JSON number too; extra parameters are refused.
    let last = u64::from_str_radix(
        root["result"]["lastTxNum"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert_eq!(
        rpc(&url, "qm_getLeaf", json!([last]))["result"],
        leaf["result"]
    );
    let extra = rpc(&url, "qm_getLeaf", json!([last, "latest"]));
    assert_eq!(extra["error"]["code"], -32602, "{extra}");
    let bad = rpc(&url, "qm_getRoot", json!(["pending"]));
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    let unknown = rpc(&url, "qm_getRoot", json!(["0x9"]));
    assert_eq!(unknown["error"]["code"], -32001, "{unknown}");
    assert_eq!(
        rpc(&url, "eth_blockNumber", json!([]))["result"],
        "0x2",
        "still answering"
    );
    // A qm_call's proof lands in the data directory.
    let call = rpc(
        &url,
        "qm_call",
        json!([{"to": "0x0000F90827F1C53a10cb7A02335B175320002935", "input": format!("0x{:064x}", 1)}]),
    );
    let id = call["result"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{call}"))
        .to_string();
    assert!(
        Path::new(&data)
            .join("calls")
            .join(format!("{id}.json"))
            .is_file()
    );
    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM: {status}");

    // Again, the address from the environment, stopped by SIGINT; the stored call survives.
    let (mut child, url) = start(&["--datadir", &data], &[("CAIRN_HTTP_ADDR", "127.0.0.1:0")]);
    let again = rpc(&url, "qm_callProof", json!([id]));
    assert_eq!(again["result"], call["result"]);
    signal(&child, "-INT");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "SIGINT: {status}");
}

#[test]
fn serve_without_a_data_directory_fails_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let run = cairn(&[
        "serve",
        "--datadir",
        missing.to_str().unwrap(),
        "--http.addr",
        "127.0.0.1:0",
    ]);
    fails_with(&run, "no Cairn data directory");
    assert!(!missing.exists(), "nothing is created");
    let run = cairn(&[
        "serve",
        "--datadir",
        tmp.path().to_str().unwrap(),
        "--http.addr",
        "not-an-address",
    ]);
    assert_eq!(run.code, 2, "clap rejects the address: {}", run.stderr);
}

/// A kernel figure of a process, in kB (`VmRSS`, `VmHWM`: the peak resident set).
fn vm_kb(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

/// The peak memory `cairn serve` may reach under the load below, with its default limits
/// (see `cairn_rpc::Limits`): 256 MiB of answers in flight (a batch's answer grows by
/// doubling, so it may hold more than its length), the request bodies (16 × 4.6 MB, read and
/// copied once), the answers being built and refused, the allocator's slack, and the node
/// itself. Measured: 340 to 490 MB. Without the limits the same load took the server to
/// 1.5 GB, and more with more clients; with them the peak does not grow with the clients.
const SERVE_MEMORY_CEILING_MB: u64 = 640;

/// Abusive load on loopback, as a hostile client sent it: 16 concurrent batches of 64
/// `eth_getProof` with 1,024 storage keys each (a 4.6 MB request; each answer is 1.5 MB, so
/// 94 MB per batch, 1.5 GB in all). The server's peak memory stays under the ceiling, it
/// answers every request (with results, or with "server busy" / time-budget errors), and it
/// keeps answering afterwards. Bounded: each batch ends within the request time budget.
#[test]
fn serve_memory_stays_bounded_under_abusive_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let run = cairn(&["replay", "--datadir", data.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (child, url) = start(
        &[
            "--datadir",
            data.to_str().unwrap(),
            "--http.addr",
            "127.0.0.1:0",
            "--rpc.request-timeout",
            "10s",
        ],
        &[],
    );
    // Killed if an assertion fails first, so no server outlives the test.
    let mut child = KillOnDrop(child);
    let pid = child.0.id();
    let idle = vm_kb(pid, "VmRSS");

    // The EIP-2935 history contract: 50 blocks of storage, so every proof has real nodes.
    let keys: Vec<String> = (0..1024).map(|k| format!("{k:#066x}")).collect();
    let call = json!({"jsonrpc": "2.0", "method": "eth_getProof",
        "params": ["0x0000F90827F1C53a10cb7A02335B175320002935", keys, "latest"]});
    let batch: Vec<Value> = (0..64)
        .map(|id| {
            let mut c = call.clone();
            c["id"] = id.into();
            c
        })
        .collect();
    let body = Arc::new(serde_json::to_vec(&batch).unwrap());
    assert!(body.len() > 4_000_000);

    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (url, body) = (url.clone(), Arc::clone(&body));
            std::thread::spawn(move || post(&url, &body))
        })
        .collect();
    let (mut results, mut limited, mut other) = (0, 0, Vec::new());
    for client in clients {
        let (status, body) = client.join().unwrap();
        assert_eq!(status, 200, "{}", &body[..body.len().min(300)]);
        let answers: Vec<Value> = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{e}: {}", &body[..body.len().min(300)]));
        assert_eq!(answers.len(), 64, "one answer per call");
        for a in answers {
            match a["error"]["code"].as_i64() {
                None if a["result"]["storageProof"].as_array().map(Vec::len) == Some(1024) => {
                    results += 1
                }
                Some(-32005) => limited += 1,
                _ => other.push(a),
            }
        }
    }
    let peak = vm_kb(pid, "VmHWM");
    eprintln!(
        "cairn serve under 16 x 64 x eth_getProof(1024 keys): {results} answered, {limited} limited (-32005); \
         RSS idle {} MB, peak {} MB (ceiling {SERVE_MEMORY_CEILING_MB} MB)",
        idle / 1024,
        peak / 1024
    );
    assert!(
        other.is_empty(),
        "unexpected answers: {:?}",
        &other[..other.len().min(2)]
    );
    assert!(results > 0, "some calls are answered in full");
    assert!(
        peak / 1024 < SERVE_MEMORY_CEILING_MB,
        "peak RSS {} MB is over the ceiling of {SERVE_MEMORY_CEILING_MB} MB",
        peak / 1024
    );
    // Still serving.
    assert_eq!(rpc(&url, "eth_blockNumber", json!([]))["result"], "0x32");
    signal(&child.0, "-TERM");
    assert_eq!(child.0.wait().unwrap().code(), Some(0));
}

/// A child process killed when dropped (a no-op once it has exited).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
