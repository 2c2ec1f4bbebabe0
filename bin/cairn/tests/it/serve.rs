//! `cairn serve`: serves a data directory written by `cairn replay --datadir`, answers
//! JSON-RPC over HTTP, and exits 0 on SIGTERM or SIGINT.

use crate::{cairn, fails_with};
use serde_json::{Value, json};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::Path,
    process::{Child, Command, Stdio},
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
fn rpc(url: &str, method: &str, params: Value) -> Value {
    let addr = url.trim_start_matches("http://");
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"))
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
    assert_eq!(root["result"]["blockNumber"], 2, "{root}");
    let leaf = rpc(&url, "qm_getLeaf", json!([root["result"]["lastTxNum"]]));
    assert_eq!(leaf["result"]["kind"], "blockEnd", "{leaf}");
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
