//! The full conformance run: every Prague/Osaka blockchain test through both paths.

use cairn_ef_tests::{fixtures_dir, run};

#[test]
fn eest_blockchain_tests() {
    let Some(dir) = fixtures_dir() else {
        eprintln!("skipping conformance: CAIRN_FIXTURES is not set");
        return;
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let report = run(&dir.join("eest/blockchain_tests"), threads).expect("fixtures readable");
    eprintln!("{report}");
    let t = report.totals();
    assert_eq!(t.failed, 0, "conformance failures");
    assert_eq!(t.passed, 3600, "every Prague/Osaka case must run and pass");
}
