//! The background `fdatasync` of pipelined commits (see "Pipelined
//! commits" in the crate docs): one thread per store that syncs
//! `leaves.dat` when asked, so that the caller's next block is hashed and
//! written while the disk makes the last one durable.

use std::{
    fs::File,
    io,
    sync::{
        Arc, Condvar, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering::SeqCst},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

/// How long the thread polls for the next request after a sync, and the
/// caller for a sync to finish, before sleeping. A sleeping thread on an
/// idle core can take tens of microseconds to wake (an inter-processor
/// interrupt, worse in a VM), a large share of a ~100 µs sync; in steady
/// state the next request comes within a few microseconds of the last
/// sync, so a short poll catches it without either side sleeping.
const THREAD_POLL: Duration = Duration::from_micros(50);
/// See [`THREAD_POLL`]; about one `fdatasync`.
const CALLER_POLL: Duration = Duration::from_micros(250);

/// Requests and completions, counted; waiting sides sleep on the condvars
/// after polling.
#[derive(Debug, Default)]
struct Shared {
    /// Syncs asked for.
    requested: AtomicU64,
    /// Requests covered by a finished sync (a sync covers every write made
    /// before it started, so one sync answers all requests up to its start).
    completed: AtomicU64,
    /// A sync failed; sticky, since after a failed `fdatasync` the page
    /// cache no longer says what is on disk.
    failed: AtomicBool,
    stop: AtomicBool,
    /// The first failure.
    error: Mutex<Option<(io::ErrorKind, String)>>,
    /// Held to check a condition before sleeping, and taken by the other
    /// side between changing it and signalling, so no signal is lost.
    sleep: Mutex<()>,
    /// Signalled on a request or a stop.
    wake: Condvar,
    /// Signalled when a sync finishes.
    done: Condvar,
}

impl Shared {
    fn sleep_lock(&self) -> MutexGuard<'_, ()> {
        // Nothing panics while it is held.
        self.sleep.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn idle(&self) -> bool {
        self.completed.load(SeqCst) == self.requested.load(SeqCst)
    }

    fn caught_up(&self) -> bool {
        self.completed.load(SeqCst) >= self.requested.load(SeqCst) || self.failed.load(SeqCst)
    }

    fn signal(&self, which: &Condvar) {
        drop(self.sleep_lock());
        which.notify_all();
    }
}

/// Polls `ready` for up to `limit`; true if it became true.
fn poll(limit: Duration, ready: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if ready() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::hint::spin_loop();
    }
}

/// The sync thread of one file.
#[derive(Debug)]
pub(crate) struct Syncer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    /// Starts the thread; it syncs `file` (a handle of its own).
    pub(crate) fn spawn(file: File) -> io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("qmtree-sync".into())
            .spawn(move || run(&theirs, &file))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Asks for a sync covering every write made so far; returns at once.
    /// The returned ticket is complete once [`Syncer::completed`] reaches it.
    pub(crate) fn start(&self) -> u64 {
        let ticket = self.shared.requested.fetch_add(1, SeqCst) + 1;
        self.shared.signal(&self.shared.wake);
        ticket
    }

    /// The highest ticket whose sync has finished without error.
    pub(crate) fn completed(&self) -> u64 {
        if self.shared.failed.load(SeqCst) {
            0
        } else {
            self.shared.completed.load(SeqCst)
        }
    }

    /// Waits until every sync asked for has finished.
    ///
    /// # Errors
    /// The first sync failure, at this and every later call.
    pub(crate) fn wait(&self) -> io::Result<()> {
        let shared = &*self.shared;
        if !poll(CALLER_POLL, || shared.caught_up()) {
            let mut g = shared.sleep_lock();
            while !shared.caught_up() {
                g = shared.done.wait(g).unwrap_or_else(PoisonError::into_inner);
            }
        }
        if shared.failed.load(SeqCst) {
            let error = shared.error.lock().unwrap_or_else(PoisonError::into_inner);
            let (kind, message) = error
                .clone()
                .unwrap_or((io::ErrorKind::Other, String::new()));
            return Err(io::Error::new(
                kind,
                format!("background fdatasync failed: {message}"),
            ));
        }
        Ok(())
    }
}

impl Drop for Syncer {
    /// Finishes the syncs asked for, then stops the thread.
    fn drop(&mut self) {
        self.shared.stop.store(true, SeqCst);
        self.shared.signal(&self.shared.wake);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared, file: &File) {
    loop {
        let pending = || !shared.idle() || shared.stop.load(SeqCst);
        if !poll(THREAD_POLL, pending) {
            let mut g = shared.sleep_lock();
            while !pending() {
                g = shared.wake.wait(g).unwrap_or_else(PoisonError::into_inner);
            }
        }
        if shared.idle() {
            return; // stopped, nothing left to sync
        }
        let upto = shared.requested.load(SeqCst);
        // After a failure no sync is attempted again: nothing it reported
        // could be trusted.
        if !shared.failed.load(SeqCst)
            && let Err(e) = file.sync_data()
        {
            *shared.error.lock().unwrap_or_else(PoisonError::into_inner) =
                Some((e.kind(), e.to_string()));
            shared.failed.store(true, SeqCst);
        }
        shared.completed.store(upto, SeqCst);
        shared.signal(&shared.done);
    }
}

#[cfg(test)]
mod tests {
    use std::{io::Write, os::unix::fs::FileExt};

    use super::*;

    #[test]
    fn every_request_completes_and_drop_finishes_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = File::create(dir.path().join("f")).unwrap();
        let syncer = Syncer::spawn(f.try_clone().unwrap()).unwrap();
        for i in 0..50u64 {
            f.write_all_at(&i.to_le_bytes(), i * 8).unwrap();
            let ticket = syncer.start();
            assert_eq!(ticket, i + 1);
            if i % 7 == 0 {
                syncer.wait().unwrap();
                assert_eq!(syncer.completed(), ticket);
            }
        }
        syncer.wait().unwrap();
        assert_eq!(syncer.completed(), 50);
        f.write_all(b"x").unwrap();
        syncer.start();
        drop(syncer);
    }

    #[test]
    fn a_failed_sync_is_reported_at_every_later_wait() {
        // fdatasync of a pipe fails with EINVAL.
        let (reader, writer) = io::pipe().unwrap();
        drop(reader);
        let syncer = Syncer::spawn(File::from(std::os::fd::OwnedFd::from(writer))).unwrap();
        syncer.start();
        let e = syncer.wait().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("background fdatasync failed"), "{e}");
        assert_eq!(syncer.completed(), 0);
        syncer.start();
        assert!(syncer.wait().is_err());
    }
}
