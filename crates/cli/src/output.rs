//! Standard output, with a closed pipe handled in one place.
//!
//! Commands print through [`out!`](crate::out) and [`outln!`](crate::outln) (the crate denies
//! `println!`). When the reader goes away (`cairn validate b.json | head -1`), writes fail
//! with `EPIPE`; [`Stdout`] then drops the rest of the output quietly and the command runs
//! to its end, so its exit status is the one it would have had: a closed stdout is neither
//! a panic (Rust ignores `SIGPIPE`, so `println!` would panic with exit 101) nor an error.
//! Any other write error (a full disk behind a redirection) is an [`Error::Io`] on
//! `<stdout>`.

use crate::Error;
use std::{
    io::{self, Write},
    path::PathBuf,
    sync::atomic::{AtomicBool, Ordering},
};

/// Set once stdout has been found closed: nothing more is written.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// The process's stdout, as [`Write`], ignoring a closed pipe (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl Stdout {
    /// Whether the reader of stdout has gone away.
    pub fn is_closed() -> bool {
        CLOSED.load(Ordering::Relaxed)
    }

    fn filter(result: io::Result<usize>, len: usize) -> io::Result<usize> {
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                CLOSED.store(true, Ordering::Relaxed);
                Ok(len)
            }
            other => other,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if Self::is_closed() {
            return Ok(buf.len());
        }
        Self::filter(io::stdout().lock().write(buf), buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if Self::is_closed() {
            return Ok(());
        }
        Self::filter(io::stdout().lock().flush().map(|()| 0), 0).map(|_| ())
    }
}

/// Writes formatted text to stdout as one piece (whole lines stay whole).
///
/// # Errors
/// [`Error::Io`] on `<stdout>` for any failure but a closed pipe.
pub fn print(args: std::fmt::Arguments<'_>) -> crate::Result<()> {
    let mut out = io::stdout().lock();
    let mut filtered = Locked(&mut out);
    filtered.write_fmt(args).map_err(stdout_error)
}

/// Prints `value` as pretty JSON on stdout (the `--json` form of a command's answer).
///
/// # Errors
/// [`Error::Json`]; as [`print`].
pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> crate::Result<()> {
    let json = serde_json::to_string_pretty(value).map_err(|source| Error::Json { source })?;
    print(format_args!("{json}\n"))
}

/// Writes `value` as pretty JSON to `path` (a `--json FILE` report).
///
/// # Errors
/// [`Error::Json`]; [`Error::Io`] naming `path`.
pub fn write_json<T: serde::Serialize + ?Sized>(
    path: &std::path::Path,
    value: &T,
) -> crate::Result<()> {
    let json = serde_json::to_string_pretty(value).map_err(|source| Error::Json { source })?;
    std::fs::write(path, json).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// [`Stdout`] over an already locked handle.
struct Locked<'a, W: Write>(&'a mut W);

impl<W: Write> Write for Locked<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if Stdout::is_closed() {
            return Ok(buf.len());
        }
        Stdout::filter(self.0.write(buf), buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if Stdout::is_closed() {
            return Ok(());
        }
        Stdout::filter(self.0.flush().map(|()| 0), 0).map(|_| ())
    }
}

/// A stdout write error as the CLI's [`Error`].
pub fn stdout_error(source: io::Error) -> Error {
    Error::Io {
        path: PathBuf::from("<stdout>"),
        source,
    }
}

/// `print!` through [`Stdout`]: `out!("...", args)?`.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::print(format_args!($($arg)*))
    };
}

/// `println!` through [`Stdout`]: `outln!("...", args)?`.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::output::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }

    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(28))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_swallowed_other_errors_are_not() {
        let e = writeln!(Locked(&mut Full), "x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(28));
        assert!(!Stdout::is_closed());
        writeln!(Locked(&mut Broken), "lost").unwrap();
        Locked(&mut Broken).flush().unwrap();
        assert!(Stdout::is_closed());
        // Once closed, nothing is written any more, whatever the writer.
        writeln!(Locked(&mut Full), "dropped").unwrap();
    }
}
