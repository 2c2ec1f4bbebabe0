//! Replaying a disputed trace chunk needs the machine state at its start: folding the step
//! records of real executions (every valid block of a sample of the EEST cases) must pass
//! every consistency check of the fold and reach every chunk boundary.

use cairn_ef_tests::{case::chain_file, fixtures_dir, sampled_cases};
use cairn_exec::commit::{
    fold::TraceFold,
    trace::{CHUNK_STEPS, CommitmentSink, RecordLog, StepRecord, TransitionInspector},
};

/// Every `STRIDE`-th case of the suite is folded.
const STRIDE: usize = 4;

#[test]
fn eest_step_records_fold() {
    let Some(dir) = fixtures_dir() else {
        eprintln!("skipping trace folding: CAIRN_FIXTURES is not set");
        return;
    };
    let (mut traces, mut steps, mut nested, mut boundaries) = (0usize, 0u64, 0, 0);
    let mut problems = Vec::new();
    for case in sampled_cases(&dir.join("eest/blockchain_tests"), STRIDE).unwrap() {
        let (_, name, test) = case.unwrap();
        let chain_file = chain_file(&test).unwrap();
        let mut chain = chain_file.genesis_chain().unwrap();
        for b in 0..chain_file.blocks.len() {
            let block = chain_file.block(b).unwrap();
            let mut inspector =
                TransitionInspector::with_sink((CommitmentSink::default(), RecordLog::default()));
            chain
                .execute_traced(&block, &mut inspector)
                .unwrap_or_else(|e| panic!("{name} block {b}: {e}"));
            for trace in &inspector.sink_mut().1.traces {
                traces += 1;
                let mut fold = TraceFold::new();
                let mut deepest = 0;
                for (i, bytes) in trace.records().enumerate() {
                    if i > 0 && (i as u64).is_multiple_of(CHUNK_STEPS) {
                        boundaries += 1;
                    }
                    let record = StepRecord::decode(bytes).expect("canonical record").0;
                    if let Err(e) = fold.apply(&record) {
                        problems.push(format!("{name} block {b}: {e}"));
                        break;
                    }
                    deepest = deepest.max(fold.frames().len());
                }
                steps += trace.len() as u64;
                nested += usize::from(deepest > 1);
            }
        }
    }
    eprintln!(
        "trace folding: {traces} executions, {steps} steps, {nested} with nested frames, {boundaries} chunk boundaries, {} problems",
        problems.len()
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        nested > 100 && boundaries > 10,
        "the sample exercises calls and chunks"
    );
}
