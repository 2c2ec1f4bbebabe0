//! `cairn prove`, `cairn verify`, `cairn seg inspect`, `cairn attest keygen` and
//! `cairn prover-server`, end to end through the binary.

use crate::{cairn, fails_with};
use serde_json::Value;
use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
};

fn datadir(tmp: &Path, name: &str, seed: &str) -> String {
    let chain = tmp.join(format!("{name}.json"));
    let chain = chain.to_str().unwrap();
    let data = tmp.join(name);
    let data = data.to_str().unwrap().to_string();
    let run = cairn(&[
        "devchain", "--out", chain, "--blocks", "4", "--txs", "3", "--seed", seed,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = cairn(&["replay", chain, "--datadir", &data]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    data
}

#[test]
fn prove_verify_inspect_and_refuse() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let data = datadir(tmp.path(), "data", "1");
    std::fs::write(p("pw"), "secret\n").unwrap();
    let run = cairn(&[
        "attest",
        "keygen",
        "--keystore",
        &p("key.json"),
        "--password-file",
        &p("pw"),
        "--registry",
        &p("signers.json"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let signer = run.stdout.lines().last().unwrap().to_string();
    assert!(signer.starts_with("0x"));
    assert!(run.stderr.contains("no TEE"), "{}", run.stderr);

    let run = cairn(&[
        "prove",
        "--datadir",
        &data,
        "--blocks",
        "2..3",
        "--backend",
        "exec,attest",
        "--keystore",
        &p("key.json"),
        "--password-file",
        &p("pw"),
        "--out",
        &p("b.seg"),
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["proofs"].as_array().unwrap().len(), 2);
    assert_eq!(out["firstBlock"], 2);

    let run = cairn(&[
        "verify",
        &p("b.seg"),
        "--require",
        "exec,attest",
        "--min-distinct",
        "2",
        "--attest.signers-file",
        &p("signers.json"),
        "--roots-from",
        &data,
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.trim_end().ends_with("accepted"),
        "{}",
        run.stdout
    );

    // Without the signer registered, the attest proof is not counted.
    let run = cairn(&["verify", &p("b.seg"), "--require", "attest"]);
    fails_with(&run, "policy not met for blocks 2..=3");
    // Another chain's roots.
    let other = datadir(tmp.path(), "other", "2");
    let run = cairn(&["verify", &p("b.seg"), "--roots-from", &other]);
    fails_with(&run, "QMTree root before the batch");

    let run = cairn(&["seg", "inspect", &p("b.seg"), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(out["publicValues"]["lastBlock"], 3);
    assert_eq!(out["programIdIsThisBuilds"], true);
    assert_eq!(
        out["encoded"]["publicValues"].as_str().unwrap().len(),
        2 + 2 * 416,
        "abi.encode(PublicValues) is 13 words"
    );
    let attest = &out["proofs"][1]["attest"];
    assert_eq!(
        attest["signer"].as_str().unwrap().to_lowercase(),
        signer.to_lowercase()
    );

    let bytes = std::fs::read(p("b.seg")).unwrap();
    std::fs::write(p("cut.seg"), &bytes[..bytes.len() / 2]).unwrap();
    fails_with(&cairn(&["seg", "inspect", &p("cut.seg")]), "truncated");
    let mut flipped = bytes;
    flipped[100] ^= 1;
    std::fs::write(p("bad.seg"), &flipped).unwrap();
    fails_with(&cairn(&["verify", &p("bad.seg")]), "corrupt");

    // Failures leave no file.
    std::fs::write(p("wrong"), "nope\n").unwrap();
    let run = cairn(&[
        "prove",
        "--datadir",
        &data,
        "--blocks",
        "1..2",
        "--backend",
        "attest",
        "--keystore",
        &p("key.json"),
        "--password-file",
        &p("wrong"),
        "--out",
        &p("x.seg"),
    ]);
    fails_with(&run, "wrong password");
    let run = cairn(&[
        "prove",
        "--datadir",
        &data,
        "--blocks",
        "3..9",
        "--out",
        &p("x.seg"),
    ]);
    fails_with(&run, "the node's head is block 4");
    let run = cairn(&[
        "prove",
        "--datadir",
        &data,
        "--blocks",
        "1..2",
        "--backend",
        "remote=http://127.0.0.1:1",
        "--out",
        &p("x.seg"),
    ]);
    fails_with(&run, "unreachable");
    assert!(!Path::new(&p("x.seg")).exists());
    let run = cairn(&[
        "prove",
        "--datadir",
        &data,
        "--blocks",
        "1..2",
        "--backend",
        "sp1",
        "--out",
        &p("x.seg"),
    ]);
    assert_eq!(
        run.code, 2,
        "clap rejects an unknown backend: {}",
        run.stderr
    );
}

#[test]
fn prove_through_a_prover_server() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let data = datadir(tmp.path(), "data", "3");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args([
            "prover-server",
            "--backend",
            "exec",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("CAIRN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let run = cairn(&[
        "prove",
        "--datadir",
        &data,
        "--blocks",
        "1..4",
        "--backend",
        &format!("remote={url}"),
        "--out",
        &p("r.seg"),
    ]);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("exec/exec"), "{}", run.stdout);
    assert_eq!(exit.code(), Some(0), "clean exit on SIGTERM");
    let run = cairn(&["verify", &p("r.seg"), "--roots-from", &data]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}
