//! Where `qm_call` proofs are kept for `qm_callProof`: files `<dir>/<id>.json` (in a data
//! directory, `calls/`), or memory when the server has no directory. Either way at most
//! `max` proofs and `max_bytes` bytes of them (their JSON) are kept; the oldest go first,
//! and a proof larger than `max_bytes` on its own is not kept.

use crate::error::{Result, RpcError};
use alloy_primitives::B256;
use cairn_exec::commit::CallProof;
use std::{
    collections::{HashMap, VecDeque},
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError},
};

/// A bounded store of call proofs by id.
#[derive(Debug)]
pub struct CallStore {
    dir: Option<PathBuf>,
    max: usize,
    max_bytes: u64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Ids and sizes, oldest first.
    order: VecDeque<(B256, u64)>,
    /// Bytes of the proofs kept.
    bytes: u64,
    /// The proofs, when there is no directory.
    memory: HashMap<B256, CallProof>,
}

impl CallStore {
    /// A store in memory, of at most `max` proofs and `max_bytes` bytes.
    pub fn in_memory(max: usize, max_bytes: u64) -> Self {
        Self {
            dir: None,
            max: max.max(1),
            max_bytes,
            inner: Mutex::default(),
        }
    }

    /// A store in `dir` (created if missing), of at most `max` proofs and `max_bytes` bytes,
    /// picking up the proofs already there (and removing the oldest beyond the bounds).
    ///
    /// # Errors
    /// [`RpcError::CallStoreIo`] when the directory cannot be created or listed.
    pub fn open(dir: &Path, max: usize, max_bytes: u64) -> Result<Self> {
        let io = |source| RpcError::CallStoreIo {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name();
            let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<B256>().ok())
            else {
                continue;
            };
            let metadata = entry.metadata().map_err(io)?;
            let modified = metadata.modified().map_err(io)?;
            found.push((modified, id, metadata.len()));
        }
        found.sort();
        let store = Self {
            dir: Some(dir.to_path_buf()),
            max: max.max(1),
            max_bytes,
            inner: Mutex::new(Inner {
                bytes: found.iter().map(|(_, _, size)| size).sum(),
                order: found.into_iter().map(|(_, id, size)| (id, size)).collect(),
                ..Default::default()
            }),
        };
        store.evict(&mut store.lock())?;
        Ok(store)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The store's invariants hold between statements, so a panic elsewhere leaves it usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn path(dir: &Path, id: &B256) -> PathBuf {
        dir.join(format!("{id}.json"))
    }

    /// Keeps `proof` under its id (again: a repeated call replaces nothing). A proof larger
    /// than the store's byte bound is not kept.
    ///
    /// # Errors
    /// I/O errors writing the file.
    pub fn put(&self, proof: &CallProof) -> Result<()> {
        // Serialised before taking the lock: a proof carries a whole witness. Its JSON is
        // what a file holds, and what the byte bound counts in memory too.
        let bytes = serde_json::to_vec(proof).map_err(RpcError::Json)?;
        let size = bytes.len() as u64;
        if size > self.max_bytes {
            tracing::warn!(target: "cairn::rpc", id = %proof.id, size, max = self.max_bytes, "call proof too large to keep");
            return Ok(());
        }
        let mut inner = self.lock();
        if inner.order.iter().any(|(id, _)| *id == proof.id) {
            return Ok(());
        }
        match &self.dir {
            Some(dir) => {
                let path = Self::path(dir, &proof.id);
                let tmp = path.with_extension("json.tmp");
                std::fs::write(&tmp, bytes)
                    .and_then(|()| std::fs::rename(&tmp, &path))
                    .map_err(|source| RpcError::CallStoreIo { path, source })?;
            }
            None => {
                inner.memory.insert(proof.id, proof.clone());
            }
        }
        inner.order.push_back((proof.id, size));
        inner.bytes += size;
        self.evict(&mut inner)
    }

    fn evict(&self, inner: &mut Inner) -> Result<()> {
        while inner.order.len() > self.max || inner.bytes > self.max_bytes {
            let Some((id, size)) = inner.order.pop_front() else {
                break;
            };
            inner.bytes -= size;
            inner.memory.remove(&id);
            if let Some(dir) = &self.dir {
                let path = Self::path(dir, &id);
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => return Err(RpcError::CallStoreIo { path, source }),
                }
            }
        }
        Ok(())
    }

    /// The proof with this id, if kept.
    ///
    /// # Errors
    /// I/O errors, or a stored file that is not a call proof.
    pub fn get(&self, id: &B256) -> Result<Option<CallProof>> {
        let inner = self.lock();
        let Some(dir) = &self.dir else {
            return Ok(inner.memory.get(id).cloned());
        };
        let path = Self::path(dir, id);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(RpcError::CallStoreIo { path, source }),
        };
        drop(inner);
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| RpcError::CallStoreJson { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::Bytes;
    use cairn_exec::commit::{CallRequest, CallResult};
    use cairn_primitives::{ChainConfig, ExecutionWitness};
    use cairn_qmtree::{InclusionProof, LeafComponents};

    fn proof(n: u8) -> CallProof {
        CallProof {
            id: B256::repeat_byte(n),
            block_number: u64::from(n),
            chain: ChainConfig::mainnet(),
            request: CallRequest::default(),
            result: CallResult {
                success: true,
                output: Bytes::from(vec![n]),
                gas_used: 21_000,
            },
            transition_hash: B256::ZERO,
            header: Bytes::new(),
            witness: ExecutionWitness::default(),
            closing_leaf: LeafComponents::default(),
            leaf_proof: InclusionProof {
                tx_num: 0,
                leaf_hash: B256::ZERO,
                siblings: vec![],
            },
        }
    }

    #[test]
    fn memory_store_is_bounded() {
        let store = CallStore::in_memory(2, u64::MAX);
        for n in 1..=3 {
            store.put(&proof(n)).unwrap();
        }
        assert!(
            store.get(&B256::repeat_byte(1)).unwrap().is_none(),
            "oldest evicted"
        );
        assert_eq!(store.get(&B256::repeat_byte(3)).unwrap(), Some(proof(3)));
    }

    #[test]
    fn directory_store_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let calls = dir.path().join("calls");
        {
            let store = CallStore::open(&calls, 10, u64::MAX).unwrap();
            store.put(&proof(1)).unwrap();
            store.put(&proof(1)).unwrap();
            store.put(&proof(2)).unwrap();
        }
        std::fs::write(calls.join("notes.txt"), "ignored").unwrap();
        let store = CallStore::open(&calls, 1, u64::MAX).unwrap();
        assert_eq!(store.get(&B256::repeat_byte(2)).unwrap(), Some(proof(2)));
        assert!(
            store.get(&B256::repeat_byte(1)).unwrap().is_none(),
            "evicted to the new bound"
        );
        std::fs::write(calls.join(format!("{}.json", B256::repeat_byte(9))), "{").unwrap();
        let e = store.get(&B256::repeat_byte(9)).unwrap_err();
        assert!(matches!(e, RpcError::CallStoreJson { .. }), "{e}");
    }

    #[test]
    fn stores_are_bounded_by_bytes() {
        let size = serde_json::to_vec(&proof(1)).unwrap().len() as u64;
        let dir = tempfile::tempdir().unwrap();
        let calls = dir.path().join("calls");
        for store in [
            CallStore::in_memory(100, 2 * size),
            CallStore::open(&calls, 100, 2 * size).unwrap(),
        ] {
            for n in 1..=3 {
                store.put(&proof(n)).unwrap();
            }
            assert!(
                store.get(&B256::repeat_byte(1)).unwrap().is_none(),
                "oldest evicted"
            );
            assert!(store.get(&B256::repeat_byte(2)).unwrap().is_some());
            assert!(store.get(&B256::repeat_byte(3)).unwrap().is_some());
        }
        let files = std::fs::read_dir(&calls).unwrap().count();
        assert_eq!(files, 2, "the evicted file is removed");
        // Reopened with a smaller byte bound: the oldest go.
        let store = CallStore::open(&calls, 100, size).unwrap();
        assert!(store.get(&B256::repeat_byte(2)).unwrap().is_none());
        assert!(store.get(&B256::repeat_byte(3)).unwrap().is_some());
        // A proof larger than the bound is not kept.
        let tiny = CallStore::in_memory(100, size - 1);
        tiny.put(&proof(4)).unwrap();
        assert!(tiny.get(&B256::repeat_byte(4)).unwrap().is_none());
    }
}
