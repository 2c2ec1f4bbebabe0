//! The settler's durable record (SQLite, WAL, `synchronous = FULL`): every transaction it
//! signed, written before it is broadcast, and every batch the rollup settled, written once
//! the settling transaction is confirmed and the contract's event checked.
//!
//! Why SQLite and not a journal file: the settler's state is a few related records that change
//! together (a transaction mined, a batch settled) and are looked up by batch, kind and state;
//! SQLite gives atomic multi-row updates and crash recovery (its WAL) that a hand-written
//! journal would have to re-implement, and a `PRIMARY KEY` on the batch makes recording a batch
//! twice an error rather than a convention.

use crate::{
    error::{Error, Result, TxKind},
    l1::SignedTx,
};
use alloy_primitives::{Address, B256, Bytes};
use rusqlite::{Connection, OptionalExtension, params};
use std::{
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

/// What a store belongs to: one rollup on one L1 chain, settled by one sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// The L1 chain id.
    pub l1_chain_id: u64,
    /// The rollup contract.
    pub rollup: Address,
    /// The settler's address.
    pub sender: Address,
}

/// Where a recorded transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxState {
    /// Signed and (possibly) broadcast; no final receipt yet.
    Sent,
    /// Mined and confirmed, successful.
    Mined,
    /// Mined and reverted.
    Reverted,
    /// Never mined: its nonce went to another transaction.
    Dropped,
}

impl TxState {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Mined => "mined",
            Self::Reverted => "reverted",
            Self::Dropped => "dropped",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "sent" => Some(Self::Sent),
            "mined" => Some(Self::Mined),
            "reverted" => Some(Self::Reverted),
            "dropped" => Some(Self::Dropped),
            _ => None,
        }
    }
}

/// A recorded transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRecord {
    /// The rollup batch.
    pub batch: u64,
    /// Which transaction.
    pub kind: TxKind,
    /// The signed transaction.
    pub tx: SignedTx,
    /// Where it stands.
    pub state: TxState,
    /// Its block, once mined.
    pub block: Option<u64>,
}

/// A batch the rollup settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledBatch {
    /// The rollup batch.
    pub batch: u64,
    /// First block.
    pub first_block: u64,
    /// Last block.
    pub last_block: u64,
    /// `publicValuesHash`.
    pub public_values_hash: B256,
    /// State root after the last block.
    pub state_root: B256,
    /// QMTree root after the last block.
    pub qm_root: B256,
    /// Our `commitBatch` transaction (none when another sender committed it).
    pub commit_tx: Option<B256>,
    /// The `verifyBatch` transaction (ours or, when found settled on L1, whoever's).
    pub verify_tx: B256,
    /// Its block.
    pub verify_block: u64,
    /// Where the proofs came from (a `.seg` path), or `l1` when the batch was found settled.
    pub origin: String,
}

/// The store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS identity (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS txs (
    hash BLOB PRIMARY KEY,
    batch INTEGER NOT NULL,
    kind TEXT NOT NULL,
    nonce INTEGER NOT NULL,
    raw BLOB NOT NULL,
    target BLOB,
    input BLOB NOT NULL,
    state TEXT NOT NULL,
    block INTEGER,
    created INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS txs_by_batch ON txs (batch, kind, state);
CREATE TABLE IF NOT EXISTS settled (
    batch INTEGER PRIMARY KEY,
    first_block INTEGER NOT NULL,
    last_block INTEGER NOT NULL,
    public_values_hash BLOB NOT NULL,
    state_root BLOB NOT NULL,
    qm_root BLOB NOT NULL,
    commit_tx BLOB,
    verify_tx BLOB NOT NULL,
    verify_block INTEGER NOT NULL,
    origin TEXT NOT NULL,
    settled_at INTEGER NOT NULL
);
";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn b256(bytes: Vec<u8>) -> B256 {
    B256::try_from(bytes.as_slice()).unwrap_or_default()
}

impl Store {
    /// Opens (creating) the store at `path` for `identity`; refuses a store of another rollup,
    /// L1 chain or sender.
    ///
    /// # Errors
    /// [`Error::Store`]; [`Error::StoreMismatch`].
    pub fn open(path: &Path, identity: Identity) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| Error::Store {
            path: path.to_path_buf(),
            source,
        })?;
        let store = Self {
            conn,
            path: path.to_path_buf(),
        };
        store.exec_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
        store.exec_batch(SCHEMA)?;
        for (key, value, what) in [
            ("l1_chain_id", identity.l1_chain_id.to_string(), "L1 chain"),
            ("rollup", identity.rollup.to_string(), "rollup"),
            ("sender", identity.sender.to_string(), "sender"),
        ] {
            let stored: Option<String> = store
                .conn
                .query_row(
                    "SELECT value FROM identity WHERE key = ?1",
                    params![key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| store.err(e))?;
            match stored {
                Some(stored) if stored != value => {
                    return Err(Error::StoreMismatch {
                        path: path.to_path_buf(),
                        what,
                        stored,
                        given: value,
                    });
                }
                Some(_) => {}
                None => {
                    store
                        .conn
                        .execute(
                            "INSERT INTO identity (key, value) VALUES (?1, ?2)",
                            params![key, value],
                        )
                        .map_err(|e| store.err(e))?;
                }
            }
        }
        Ok(store)
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> Error {
        Error::Store {
            path: self.path.clone(),
            source,
        }
    }

    fn exec_batch(&self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(|e| self.err(e))
    }

    /// The highest settled batch recorded (0: none).
    ///
    /// # Errors
    /// [`Error::Store`].
    pub fn last_settled(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT COALESCE(MAX(batch), 0) FROM settled", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Every settled batch, in order.
    ///
    /// # Errors
    /// [`Error::Store`].
    pub fn settled(&self) -> Result<Vec<SettledBatch>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT batch, first_block, last_block, public_values_hash, state_root, qm_root,
                        commit_tx, verify_tx, verify_block, origin
                 FROM settled ORDER BY batch",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SettledBatch {
                    batch: r.get::<_, i64>(0)? as u64,
                    first_block: r.get::<_, i64>(1)? as u64,
                    last_block: r.get::<_, i64>(2)? as u64,
                    public_values_hash: b256(r.get(3)?),
                    state_root: b256(r.get(4)?),
                    qm_root: b256(r.get(5)?),
                    commit_tx: r.get::<_, Option<Vec<u8>>>(6)?.map(b256),
                    verify_tx: b256(r.get(7)?),
                    verify_block: r.get::<_, i64>(8)? as u64,
                    origin: r.get(9)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    /// Records a signed transaction before it is broadcast (so a restart finds it and waits
    /// for it instead of sending another).
    ///
    /// # Errors
    /// [`Error::Store`].
    pub fn record_sent(&self, batch: u64, kind: TxKind, tx: &SignedTx) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO txs (hash, batch, kind, nonce, raw, target, input, state, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'sent', ?8)",
                params![
                    tx.hash.as_slice(),
                    batch as i64,
                    kind.as_str(),
                    tx.nonce as i64,
                    tx.raw.as_ref(),
                    tx.to.map(|a| a.to_vec()),
                    tx.input.as_ref(),
                    now()
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The transactions of `batch` and `kind` still waiting for a final receipt, oldest first.
    ///
    /// # Errors
    /// [`Error::Store`].
    pub fn pending(&self, batch: u64, kind: TxKind) -> Result<Vec<TxRecord>> {
        self.txs(
            "WHERE batch = ?1 AND kind = ?2 AND state = 'sent' ORDER BY nonce, created",
            params![batch as i64, kind.as_str()],
        )
    }

    /// Every recorded transaction, oldest first.
    ///
    /// # Errors
    /// [`Error::Store`].
    pub fn all_txs(&self) -> Result<Vec<TxRecord>> {
        self.txs("ORDER BY nonce, created", params![])
    }

    fn txs(&self, filter: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<TxRecord>> {
        let sql = format!(
            "SELECT hash, batch, kind, nonce, raw, target, input, state, block FROM txs {filter}"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(args, |r| {
                let kind: String = r.get(2)?;
                let state: String = r.get(7)?;
                Ok(TxRecord {
                    batch: r.get::<_, i64>(1)? as u64,
                    kind: TxKind::parse(&kind).unwrap_or(TxKind::Deploy),
                    tx: SignedTx {
                        hash: b256(r.get(0)?),
                        nonce: r.get::<_, i64>(3)? as u64,
                        raw: Bytes::from(r.get::<_, Vec<u8>>(4)?),
                        to: r
                            .get::<_, Option<Vec<u8>>>(5)?
                            .map(|a| Address::from_slice(&a)),
                        input: Bytes::from(r.get::<_, Vec<u8>>(6)?),
                    },
                    state: TxState::parse(&state).unwrap_or(TxState::Sent),
                    block: r.get::<_, Option<i64>>(8)?.map(|b| b as u64),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))
    }

    /// Sets a transaction's state (and block, once mined).
    ///
    /// # Errors
    /// [`Error::Store`].
    pub fn set_state(&self, hash: B256, state: TxState, block: Option<u64>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE txs SET state = ?2, block = ?3 WHERE hash = ?1",
                params![hash.as_slice(), state.as_str(), block.map(|b| b as i64)],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The highest nonce of a recorded transaction still waiting for a receipt.
    ///
    /// # Errors
    /// [`Error::Store`].
    pub fn highest_pending_nonce(&self) -> Result<Option<u64>> {
        self.conn
            .query_row("SELECT MAX(nonce) FROM txs WHERE state = 'sent'", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .map(|n| n.map(|n| n as u64))
            .map_err(|e| self.err(e))
    }

    /// Records a settled batch and marks its verify transaction mined, in one transaction.
    /// Recording a batch twice is an error ([`Error::Store`], a constraint violation): a batch
    /// is settled once.
    ///
    /// # Errors
    /// [`Error::Store`].
    pub fn record_settled(&mut self, batch: &SettledBatch) -> Result<()> {
        let path = self.path.clone();
        let err = |source| Error::Store {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO settled (batch, first_block, last_block, public_values_hash, state_root,
                                  qm_root, commit_tx, verify_tx, verify_block, origin, settled_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                batch.batch as i64,
                batch.first_block as i64,
                batch.last_block as i64,
                batch.public_values_hash.as_slice(),
                batch.state_root.as_slice(),
                batch.qm_root.as_slice(),
                batch.commit_tx.map(|h| h.to_vec()),
                batch.verify_tx.as_slice(),
                batch.verify_block as i64,
                batch.origin,
                now()
            ],
        )
        .map_err(err)?;
        tx.execute(
            "UPDATE txs SET state = 'mined', block = ?2 WHERE hash = ?1",
            params![batch.verify_tx.as_slice(), batch.verify_block as i64],
        )
        .map_err(err)?;
        // Whatever else was still waiting for this batch can no longer be mined usefully.
        tx.execute(
            "UPDATE txs SET state = 'dropped' WHERE batch = ?1 AND state = 'sent'",
            params![batch.batch as i64],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            l1_chain_id: 31337,
            rollup: Address::repeat_byte(1),
            sender: Address::repeat_byte(2),
        }
    }

    fn settled(batch: u64) -> SettledBatch {
        SettledBatch {
            batch,
            first_block: batch * 2 - 1,
            last_block: batch * 2,
            public_values_hash: B256::repeat_byte(3),
            state_root: B256::repeat_byte(4),
            qm_root: B256::repeat_byte(5),
            commit_tx: Some(B256::repeat_byte(6)),
            verify_tx: B256::with_last_byte(batch as u8),
            verify_block: 10 + batch,
            origin: "a.seg".into(),
        }
    }

    #[test]
    fn records_survive_reopening_and_a_batch_settles_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settle.db");
        let tx = SignedTx {
            hash: B256::repeat_byte(9),
            nonce: 4,
            raw: Bytes::from_static(b"raw"),
            to: Some(Address::repeat_byte(1)),
            input: Bytes::from_static(b"in"),
        };
        {
            let mut store = Store::open(&path, identity()).unwrap();
            assert_eq!(store.last_settled().unwrap(), 0);
            store.record_sent(1, TxKind::Commit, &tx).unwrap();
            store.record_settled(&settled(1)).unwrap();
        }
        let mut store = Store::open(&path, identity()).unwrap();
        assert_eq!(store.last_settled().unwrap(), 1);
        assert_eq!(store.settled().unwrap(), vec![settled(1)]);
        let pending = store.pending(1, TxKind::Commit).unwrap();
        assert!(pending.is_empty(), "settling drops what was still waiting");
        assert_eq!(store.all_txs().unwrap()[0].tx, tx);
        assert!(matches!(
            store.record_settled(&settled(1)),
            Err(Error::Store { .. })
        ));
        let mut other = identity();
        other.rollup = Address::repeat_byte(7);
        assert!(matches!(
            Store::open(&path, other),
            Err(Error::StoreMismatch { what: "rollup", .. })
        ));
    }
}
