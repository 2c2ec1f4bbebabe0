//! The external tools that Cairn's tests and dev modes run, found in one place.
//!
//! - [`Anvil`]: Foundry's dev node, from the npm package `@foundry-rs/anvil-linux-amd64`
//!   (pinned in `scripts/setup`), started on a free loopback port and killed on drop.
//! - [`solc_standard_json`]: the Solidity compiler from the npm package `solc` (solc-js,
//!   pinned in `scripts/setup`; no native solc exists here), driven through its standard
//!   JSON interface.
//!
//! Both live in the workspace's `.tools/` (git-ignored), which `scripts/setup` fills from
//! the npm registry; when a tool is missing, the locators run `scripts/setup` once.
//! `CAIRN_ANVIL` and `CAIRN_SOLCJS` point at other installs.
//!
//! Tests call [`require`] on a locator's result: without the tool they print why they skip,
//! unless `CAIRN_CI` is set (as `.ci/run` does), where a missing tool fails the test, so CI
//! can never pass by skipping.
//!
//! ```no_run
//! use cairn_devtools::{Anvil, require};
//!
//! let Some(anvil) = require(Anvil::spawn(&["--hardfork", "prague"])) else { return };
//! println!("anvil at {}", anvil.url());
//! ```
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

use std::{
    io::{BufRead, BufReader, Read, Seek, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Once, mpsc},
    time::Duration,
};

/// The solc-js version `scripts/setup` installs (keep the two in step).
pub const SOLC_VERSION: &str = "0.8.30";

/// What went wrong finding or running a tool.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The tool is not installed and `scripts/setup` could not install it.
    #[error("{tool} not found ({hint})")]
    Missing {
        /// Tool name.
        tool: &'static str,
        /// How to get it.
        hint: &'static str,
    },
    /// Starting or talking to the tool failed.
    #[error("{tool} ({path}): {source}")]
    Io {
        /// Tool name.
        tool: &'static str,
        /// The executable.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The tool ran but did not do what was asked.
    #[error("{tool}: {reason}")]
    Failed {
        /// Tool name.
        tool: &'static str,
        /// What it printed or why its answer is unusable.
        reason: String,
    },
}

/// `Result` with [`ToolError`].
pub type Result<T, E = ToolError> = std::result::Result<T, E>;

/// The workspace root (where `scripts/setup` and `.tools/` are).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether missing tools must fail instead of skip (`CAIRN_CI` set and not `0`).
pub fn ci_requires_tools() -> bool {
    std::env::var("CAIRN_CI").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A test's gate on a tool: `Some` when it is there; otherwise prints why the test skips and
/// returns `None`, or panics when [`ci_requires_tools`].
///
/// # Panics
/// When the tool is missing and `CAIRN_CI` is set.
pub fn require<T>(found: Result<T>) -> Option<T> {
    match found {
        Ok(tool) => Some(tool),
        Err(e) if ci_requires_tools() => panic!("CAIRN_CI is set and a tool is missing: {e}"),
        Err(e) => {
            println!("skipped: {e}");
            None
        }
    }
}

/// Runs `scripts/setup` once per process (it is idempotent and installs what is missing).
fn run_setup() {
    static SETUP: Once = Once::new();
    SETUP.call_once(|| {
        eprintln!("cairn-devtools: a tool is missing from .tools/, running scripts/setup");
        let status = Command::new("bash")
            .arg(workspace_root().join("scripts/setup"))
            .stdout(Stdio::null())
            .status();
        if let Err(e) = status {
            eprintln!("cairn-devtools: scripts/setup did not run: {e}");
        }
    });
}

/// Finds a tool: the environment variable, then `.tools/<rel>` (installing it with
/// `scripts/setup` when absent), then `PATH` (by `path_name`).
fn locate(env: &str, rel: &str, path_name: Option<&str>) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let local = workspace_root().join(".tools").join(rel);
    if !local.is_file() {
        run_setup();
    }
    if local.is_file() {
        return Some(local);
    }
    let name = path_name?;
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// The anvil executable (`CAIRN_ANVIL`, `.tools/`, or `PATH`).
///
/// # Errors
/// [`ToolError::Missing`] when none is found and setup could not install it.
pub fn anvil_binary() -> Result<PathBuf> {
    locate(
        "CAIRN_ANVIL",
        "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
        Some("anvil"),
    )
    .ok_or(ToolError::Missing {
        tool: "anvil",
        hint: "run scripts/setup (npm @foundry-rs/anvil-linux-amd64), or set CAIRN_ANVIL",
    })
}

/// A running anvil on a loopback port; killed (and reaped) on drop.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    addr: String,
}

impl Anvil {
    /// Starts anvil on `127.0.0.1` and a free port with extra `args` (e.g. `--hardfork
    /// prague`, `--block-time 1`, `--code-size-limit N`), and waits (at most 60 s) until it
    /// listens.
    ///
    /// # Errors
    /// [`ToolError::Missing`] without anvil; [`ToolError::Io`] / [`ToolError::Failed`] when
    /// it cannot start or exits before listening.
    pub fn spawn(args: &[&str]) -> Result<Self> {
        let path = anvil_binary()?;
        let io = |source| ToolError::Io {
            tool: "anvil",
            path: path.clone(),
            source,
        };
        let mut child = Command::new(&path)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io)?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        // Read until anvil says where it listens, then keep draining so it never blocks on a
        // full pipe.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut sent = false;
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if !sent && let Some(addr) = line.trim().strip_prefix("Listening on ") {
                    let _ = tx.send(addr.to_string());
                    sent = true;
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => Ok(Self { child, addr }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(ToolError::Failed {
                    tool: "anvil",
                    reason: format!("{} did not start listening within 60 s", path.display()),
                })
            }
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The process id (e.g. to stop it from a test).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The private keys of anvil's first three default dev accounts (mnemonic `test test ...
/// junk`), each funded with 10,000 ether at genesis.
pub const ANVIL_KEYS: [&str; 3] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
];

/// The solc-js CLI script (`CAIRN_SOLCJS`, or `.tools/node_modules/solc/solc.js`).
///
/// # Errors
/// [`ToolError::Missing`] when it is not installed and setup could not install it.
pub fn solcjs() -> Result<PathBuf> {
    locate("CAIRN_SOLCJS", "node_modules/solc/solc.js", None).ok_or(ToolError::Missing {
        tool: "solc",
        hint: "run scripts/setup (npm solc), or set CAIRN_SOLCJS to solc.js",
    })
}

/// Compiles with solc-js's standard JSON interface: `input` is the standard JSON input
/// (sources given by `content`, so no import callback is needed), the result the standard
/// JSON output.
///
/// # Errors
/// [`ToolError::Missing`] without solc-js or node; [`ToolError::Failed`] when solc reports an
/// error-severity diagnostic (the messages are in the reason) or prints something that is
/// not JSON.
pub fn solc_standard_json(input: &serde_json::Value) -> Result<serde_json::Value> {
    let script = solcjs()?;
    let io = |source| ToolError::Io {
        tool: "solc",
        path: script.clone(),
        source,
    };
    // solc-js exits right after writing its answer, and node writes to a pipe asynchronously:
    // through a pipe, anything past the first 64 KiB is lost. A file is written synchronously.
    let out_file = tempfile::tempfile().map_err(io)?;
    let mut child = Command::new("node")
        .arg(&script)
        .arg("--standard-json")
        .stdin(Stdio::piped())
        .stdout(Stdio::from(out_file.try_clone().map_err(io)?))
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ToolError::Missing {
                tool: "node",
                hint: "install Node.js (npm) to run solc-js",
            },
            _ => io(source),
        })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let body = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(body.as_bytes()));
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let drain = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = child.wait().map_err(io)?;
    let _ = drain.join();
    writer
        .join()
        .map_err(|_| ToolError::Failed {
            tool: "solc",
            reason: "stdin writer panicked".into(),
        })?
        .map_err(io)?;
    let mut out = String::new();
    let mut out_file = out_file;
    out_file
        .seek(std::io::SeekFrom::Start(0))
        .and_then(|_| out_file.read_to_string(&mut out))
        .map_err(io)?;
    // solc-js prints a banner line before the JSON in some versions: start at the first `{`.
    let json = out.find('{').map_or("", |i| &out[i..]);
    let output: serde_json::Value = serde_json::from_str(json).map_err(|e| ToolError::Failed {
        tool: "solc",
        reason: format!(
            "exit {status}, output is not JSON ({e}): {}",
            truncate(&out)
        ),
    })?;
    let errors: Vec<String> = output["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["severity"] == "error")
        .map(|e| {
            e["formattedMessage"]
                .as_str()
                .or(e["message"].as_str())
                .unwrap_or("(no message)")
                .to_string()
        })
        .collect();
    if !errors.is_empty() {
        return Err(ToolError::Failed {
            tool: "solc",
            reason: errors.join("\n"),
        });
    }
    Ok(output)
}

fn truncate(s: &str) -> &str {
    &s[..s.floor_char_boundary(400)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solc_compiles_and_reports_errors() {
        let Some(_) = require(solcjs()) else { return };
        let input = |src: &str| {
            serde_json::json!({
                "language": "Solidity",
                "sources": {"A.sol": {"content": src}},
                "settings": {"outputSelection": {"*": {"*": ["evm.bytecode.object", "abi"]}}}
            })
        };
        let out = solc_standard_json(&input(
            "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\ncontract A { function f() external pure returns (uint) { return 7; } }",
        ))
        .unwrap();
        let code = out["contracts"]["A.sol"]["A"]["evm"]["bytecode"]["object"]
            .as_str()
            .unwrap();
        assert!(code.len() > 20, "{code}");
        // Over 64 KiB of output (40 KiB of constant data, twice, as hex): none of it is lost.
        let data = "ab".repeat(40 * 1024);
        let big = solc_standard_json(&input(&format!(
            "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.0;\ncontract Big {{ bytes constant D = hex\"{data}\"; function f() external pure returns (bytes memory) {{ return D; }} }}"
        )))
        .unwrap();
        let code = big["contracts"]["A.sol"]["Big"]["evm"]["bytecode"]["object"]
            .as_str()
            .unwrap();
        assert!(code.contains(&data), "{} hex digits", code.len());
        let err = solc_standard_json(&input("contract B { function }")).unwrap_err();
        assert!(matches!(err, ToolError::Failed { .. }), "{err}");
    }

    #[test]
    fn anvil_starts_and_answers() {
        let Some(anvil) = require(Anvil::spawn(&[])) else {
            return;
        };
        let addr = anvil.addr().to_string();
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.contains(r#""result":"0x7a69""#), "{answer}");
    }
}
