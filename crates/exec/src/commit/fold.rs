//! Replaying one chunk of a trace: the machine state at the chunk's start, folded from the
//! records before it.
//!
//! A dispute over a `transitionHash` descends the two chunk trees to the first chunk whose
//! hashes differ ([`first_differing_chunk`](super::trace::first_differing_chunk)). Every
//! earlier chunk hashes the same on both sides, so both parties hold the same records for
//! it. A referee folds those records into the machine state at the start of the disputed
//! chunk ([`TraceFold::before_chunk`]): for each open frame, its depth, stack, memory and
//! return-data buffer. From that state it executes the disputed chunk's steps only, and
//! compares them with each side's records.
//!
//! Folding is bookkeeping, not execution. A record carries the stack items its step pops and
//! pushes and the memory it writes (see the [record format](super::trace#step-record)), so
//! stacks and memory contents follow from the records alone; only the size of memory is
//! derived, from the stack arguments of the steps that touch memory (the EVM's expansion
//! rule, a whole number of 32-byte words covering every region a step reads or writes).
//! Frames are entered one level at a time (a frame runs at least the pushes of a CALL's
//! arguments before it can call) and left after their last step.
//!
//! The fold also checks each record against the state it has folded so far, so a record
//! stream that no EVM could have produced is caught where it breaks: the items a step pops
//! must be the top of its frame's stack (as many as the opcode takes, or all there is when
//! the stack underflows), MSIZE, MLOAD, KECCAK256 and RETURNDATASIZE must push what memory
//! and the return data hold, RETURN and REVERT must return the memory they name, memory
//! writes must lie inside memory, and nothing may follow a frame's last step at its depth.
//!
//! ```
//! use cairn_exec::commit::{fold::TraceFold, trace::StepRecord};
//! use alloy_primitives::U256;
//!
//! // PUSH1 1 ; PUSH1 2 ; ADD
//! let step = |op, pc, pops: Vec<u64>, pushes: Vec<u64>| StepRecord {
//!     op,
//!     depth: 0,
//!     pc,
//!     gas: 100,
//!     pops: pops.into_iter().map(U256::from).collect(),
//!     status: cairn_exec::commit::trace::StepStatus::Continue,
//!     pushes: pushes.into_iter().map(U256::from).collect(),
//!     memory: None,
//!     return_data: None,
//! };
//! let mut fold = TraceFold::new();
//! fold.apply(&step(0x60, 0, vec![], vec![1]))?;
//! fold.apply(&step(0x60, 2, vec![], vec![2]))?;
//! fold.apply(&step(0x01, 4, vec![2, 1], vec![3]))?;
//! assert_eq!(fold.frames()[0].stack, vec![U256::from(3)]);
//! // ADD again: it would pop 3 and an item that is not there.
//! assert!(fold.apply(&step(0x01, 5, vec![3, 0], vec![3])).is_err());
//! # Ok::<(), cairn_exec::commit::fold::TraceFoldError>(())
//! ```

use super::trace::{RecordedTrace, StepRecord, StepStatus, stack_io};
use alloy_primitives::{Bytes, U256, keccak256};
use revm::bytecode::opcode;

/// Largest memory a fold builds, 64 MiB: an EVM frame cannot pay for more (memory of `m`
/// words costs `3m + m²/512` gas, about 8.6 billion gas here).
pub const MAX_FOLD_MEMORY: usize = 64 << 20;

/// The EVM's stack limit.
const STACK_LIMIT: usize = 1024;

/// Why a record stream does not fold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceFoldError {
    /// The bytes are not a canonical step record.
    #[error("step {step}: not a canonical step record")]
    Malformed {
        /// Index of the record in the trace.
        step: u64,
    },
    /// The record cannot follow the records before it.
    #[error("step {step} (opcode {op:#04x}): {reason}")]
    Inconsistent {
        /// Index of the record in the trace.
        step: u64,
        /// Its opcode.
        op: u8,
        /// What does not fit.
        reason: &'static str,
    },
    /// The chunk is past the end of the trace.
    #[error("chunk {chunk} is past the end of a trace of {chunks} chunks")]
    NoSuchChunk {
        /// The chunk asked for.
        chunk: u64,
        /// Chunks in the trace.
        chunks: u64,
    },
}

/// One open frame, as folded from the records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameState {
    /// Call depth (0 for the execution's own frame).
    pub depth: u64,
    /// The stack, bottom first.
    pub stack: Vec<U256>,
    /// Memory, its whole (word-aligned) size.
    pub memory: Vec<u8>,
    /// The return-data buffer (output of the last call or create this frame made).
    pub return_data: Bytes,
    /// Whether the frame's last step was folded (it halted, reverted or failed).
    pub ended: bool,
}

/// The machine state folded from a trace's records so far; see the [module docs](self).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceFold {
    frames: Vec<FrameState>,
    steps: u64,
}

impl TraceFold {
    /// The state before an execution's first step.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state at the start of chunk `chunk` of `trace`: the records of the chunks before
    /// it, folded.
    ///
    /// # Errors
    /// [`TraceFoldError::NoSuchChunk`] for a chunk past the end (chunk 0 of an empty trace
    /// is its start), else as [`TraceFold::apply`].
    pub fn before_chunk(trace: &RecordedTrace, chunk: u64) -> Result<Self, TraceFoldError> {
        let chunks = super::trace::chunks_for_steps(trace.len() as u64);
        if chunk > chunks || (chunk == chunks && chunk > 0) {
            return Err(TraceFoldError::NoSuchChunk { chunk, chunks });
        }
        let mut fold = Self::new();
        for k in 0..chunk {
            fold.apply_chunk(trace.chunk(k).unwrap_or_default())?;
        }
        Ok(fold)
    }

    /// The open frames, outermost first; the last is the one running.
    pub fn frames(&self) -> &[FrameState] {
        &self.frames
    }

    /// Records folded so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Folds the records of one chunk (their concatenation, as hashed).
    ///
    /// # Errors
    /// [`TraceFoldError::Malformed`] for bytes that are not records, else as
    /// [`TraceFold::apply`].
    pub fn apply_chunk(&mut self, mut bytes: &[u8]) -> Result<(), TraceFoldError> {
        while !bytes.is_empty() {
            let (record, used) =
                StepRecord::decode(bytes).ok_or(TraceFoldError::Malformed { step: self.steps })?;
            self.apply(&record)?;
            bytes = &bytes[used..];
        }
        Ok(())
    }

    /// Folds the next record.
    ///
    /// # Errors
    /// [`TraceFoldError::Inconsistent`] when the record cannot follow the state folded so
    /// far. The fold is then left part-way and means nothing more.
    pub fn apply(&mut self, record: &StepRecord) -> Result<(), TraceFoldError> {
        let step = self.steps;
        let fail = |reason| TraceFoldError::Inconsistent {
            step,
            op: record.op,
            reason,
        };
        self.enter(record).map_err(fail)?;
        let frame = self.frames.last_mut().ok_or(fail("no frame"))?;
        step_frame(frame, record).map_err(fail)?;
        self.steps += 1;
        Ok(())
    }

    /// Makes the frame `record` runs in the one on top: a new frame one level deeper, or
    /// the parent of a frame that ended.
    fn enter(&mut self, record: &StepRecord) -> Result<(), &'static str> {
        let new_frame = FrameState {
            depth: record.depth,
            ..FrameState::default()
        };
        match self.frames.last() {
            None if record.depth == 0 => self.frames.push(new_frame),
            None => return Err("the first step is not at depth 0"),
            Some(top) if top.ended => {
                if record.depth.checked_add(1) != Some(top.depth) || self.frames.len() < 2 {
                    return Err("a step follows the last step of its frame");
                }
                self.frames.pop();
            }
            Some(top) if record.depth == top.depth => {}
            Some(top) if top.depth.checked_add(1) == Some(record.depth) => {
                self.frames.push(new_frame)
            }
            Some(_) => return Err("the step's depth does not follow the open frames"),
        }
        Ok(())
    }
}

/// Applies one record to its frame, checking it.
fn step_frame(frame: &mut FrameState, r: &StepRecord) -> Result<(), &'static str> {
    let (inputs, _) = stack_io(r.op);
    let height = frame.stack.len();
    if r.pops.len() != inputs.min(height) {
        return Err("pops a different number of items than the opcode takes");
    }
    if frame.stack.iter().rev().zip(&r.pops).any(|(a, b)| a != b) {
        return Err("pops items that are not the top of the stack");
    }
    match r.status {
        StepStatus::Continue => {
            if r.pops.len() < inputs {
                return Err("goes on after a stack underflow");
            }
            for (offset, len) in memory_ranges(r.op, &r.pops) {
                expand(&mut frame.memory, offset, len)?;
            }
            check_reads(frame, r)?;
            frame.stack.truncate(height - r.pops.len());
            frame.stack.extend(r.pushes.iter().rev());
            if frame.stack.len() > STACK_LIMIT {
                return Err("overflows the stack");
            }
            if let Some((offset, bytes)) = &r.memory {
                let at = usize::try_from(*offset).map_err(|_| "writes outside memory")?;
                let slot = at
                    .checked_add(bytes.len())
                    .and_then(|end| frame.memory.get_mut(at..end))
                    .ok_or("writes outside memory")?;
                slot.copy_from_slice(bytes);
            }
            if let Some(data) = &r.return_data {
                frame.return_data = data.clone();
            }
        }
        StepStatus::Halt | StepStatus::Revert => {
            if let Some(data) = &r.return_data {
                let [(offset, len), _] = memory_ranges(r.op, &r.pops);
                expand(&mut frame.memory, offset, len)?;
                if region(&frame.memory, offset, len)? != data.as_ref() {
                    return Err("returns bytes that are not the memory it names");
                }
            }
            frame.ended = true;
        }
        StepStatus::Error => frame.ended = true,
    }
    Ok(())
}

/// Checks what MSIZE, MLOAD, KECCAK256 and RETURNDATASIZE push (memory already expanded).
fn check_reads(frame: &FrameState, r: &StepRecord) -> Result<(), &'static str> {
    let pushed = r.pushes.first();
    let expected = match r.op {
        opcode::MSIZE => U256::from(frame.memory.len()),
        opcode::RETURNDATASIZE => U256::from(frame.return_data.len()),
        opcode::MLOAD => U256::from_be_slice(region(&frame.memory, r.pops[0], U256::from(32))?),
        opcode::KECCAK256 => keccak256(region(&frame.memory, r.pops[0], r.pops[1])?).into(),
        _ => return Ok(()),
    };
    if pushed != Some(&expected) {
        return Err("pushes a value its memory or return data does not give");
    }
    Ok(())
}

/// The memory regions `(offset, len)` a step touches, from the items it pops (top first);
/// unused entries have length zero.
fn memory_ranges(op: u8, pops: &[U256]) -> [(U256, U256); 2] {
    let arg = |i: usize| pops.get(i).copied().unwrap_or_default();
    let none = (U256::ZERO, U256::ZERO);
    let word = U256::from(32);
    match op {
        opcode::MLOAD | opcode::MSTORE => [(arg(0), word), none],
        opcode::MSTORE8 => [(arg(0), U256::from(1)), none],
        opcode::KECCAK256 | opcode::RETURN | opcode::REVERT => [(arg(0), arg(1)), none],
        opcode::LOG0..=opcode::LOG4 => [(arg(0), arg(1)), none],
        opcode::CALLDATACOPY | opcode::CODECOPY | opcode::RETURNDATACOPY => {
            [(arg(0), arg(2)), none]
        }
        opcode::MCOPY => [(arg(0), arg(2)), (arg(1), arg(2))],
        opcode::EXTCODECOPY => [(arg(1), arg(3)), none],
        opcode::CREATE | opcode::CREATE2 => [(arg(1), arg(2)), none],
        opcode::CALL | opcode::CALLCODE => [(arg(3), arg(4)), (arg(5), arg(6))],
        opcode::DELEGATECALL | opcode::STATICCALL => [(arg(2), arg(3)), (arg(4), arg(5))],
        _ => [none, none],
    }
}

/// Grows memory to cover `[offset, offset + len)` (nothing for `len == 0`), in whole words.
fn expand(memory: &mut Vec<u8>, offset: U256, len: U256) -> Result<(), &'static str> {
    if len.is_zero() {
        return Ok(());
    }
    let end = offset
        .checked_add(len)
        .and_then(|end| usize::try_from(end).ok())
        .filter(|end| *end <= MAX_FOLD_MEMORY)
        .ok_or("touches memory no frame can pay for")?;
    let size = end.div_ceil(32) * 32;
    if size > memory.len() {
        memory.resize(size, 0);
    }
    Ok(())
}

/// `memory[offset .. offset + len]`, which must lie in memory (empty for `len == 0`).
fn region(memory: &[u8], offset: U256, len: U256) -> Result<&[u8], &'static str> {
    if len.is_zero() {
        return Ok(&[]);
    }
    let (offset, len) = (usize::try_from(offset), usize::try_from(len));
    match (offset, len) {
        (Ok(offset), Ok(len)) => offset
            .checked_add(len)
            .and_then(|end| memory.get(offset..end))
            .ok_or("reads outside memory"),
        _ => Err("reads outside memory"),
    }
}
