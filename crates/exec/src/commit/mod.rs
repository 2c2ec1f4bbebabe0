//! Execution commitments: the components of a QMTree leaf, computed while blocks execute.
//!
//! - [`bench`](mod@bench): what commitments cost, split by component;
//! - [`block`]: the leaves of a block (layout, `preStateHash`), [`Chain::execute_committed`](crate::Chain::execute_committed);
//! - [`call`]: `qm_call`, a call with a proof checkable offline against a block's QMTree root;
//! - [`change`]: `stateChangeHash`, the canonical encoding of a step's state change;
//! - [`fold`]: the machine state at the start of a disputed trace chunk, folded from the
//!   records before it, so that the chunk alone is replayed;
//! - [`node`]: a chain plus its QMTree, persisted in a data directory;
//! - [`trace`]: `transitionHash`, a streaming Merkle commitment to every EVM step of a
//!   transaction or system call.

pub mod bench;
pub mod block;
pub mod call;
pub mod change;
pub mod fold;
pub mod node;
pub mod trace;

pub use block::{BlockCommitment, CommitTimings, LeafKind, StepLeaf};
pub use call::{
    CallBudget, CallError, CallProof, CallProofError, CallRequest, CallResult, verify_call_proof,
    verify_call_proof_within,
};
pub use change::{AccountChange, EMPTY_CHANGE_HASH, StateChange};
pub use node::{BlockLayout, Imported, Node};
