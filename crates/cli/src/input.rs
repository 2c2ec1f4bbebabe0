//! Reading the files a command is given (bundles, chain files, fixtures, proofs), or stdin
//! for `-`, whole and within a size limit, so that a huge file or an endless stream
//! (`/dev/zero`) is one clear error instead of the machine's memory.

use crate::{Error, Result};
use std::{
    fmt,
    io::Read,
    path::{Path, PathBuf},
    str::FromStr,
};

/// The input size limit of the commands that read files.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct InputArgs {
    /// Largest input read (a file, stdin, or a gzipped file once decompressed): bytes, or
    /// with a unit (`KiB`, `MiB`, `GiB`, `KB`, `MB`, `GB`).
    #[arg(
        long = "max-input-size",
        env = "CAIRN_MAX_INPUT_SIZE",
        value_name = "SIZE",
        default_value_t = ByteSize::DEFAULT_INPUT
    )]
    pub max_input_size: ByteSize,
}

impl Default for InputArgs {
    fn default() -> Self {
        Self {
            max_input_size: ByteSize::DEFAULT_INPUT,
        }
    }
}

impl InputArgs {
    /// Reads `path` (`-` for stdin) whole, decompressing it when it is gzipped.
    ///
    /// # Errors
    /// [`Error::Io`] naming the path; [`Error::InputTooLarge`] past the limit.
    pub fn read(&self, path: &Path) -> Result<Vec<u8>> {
        read(path, self.max_input_size.0)
    }

    /// [`InputArgs::read`], as UTF-8 text.
    ///
    /// # Errors
    /// As [`InputArgs::read`]; [`Error::Io`] when the input is not UTF-8.
    pub fn read_text(&self, path: &Path) -> Result<String> {
        String::from_utf8(self.read(path)?).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
        })
    }
}

/// `-`: the path that means stdin.
pub const STDIN: &str = "-";

/// Reads `path` (`-` for stdin) whole, at most `limit` bytes (after decompression for a
/// gzipped input, recognised by its magic bytes).
///
/// # Errors
/// [`Error::Io`] naming the path; [`Error::InputTooLarge`] past the limit.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let too_large = || Error::InputTooLarge {
        path: path.to_path_buf(),
        limit: ByteSize(limit),
    };
    let reader: Box<dyn Read> = if path.as_os_str() == STDIN {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        // A regular file says its size: refuse it unread. Devices and pipes say nothing.
        if meta.is_file() && meta.len() > limit {
            return Err(too_large());
        }
        Box::new(file)
    };
    let mut head = Vec::new();
    let mut reader = reader.take(limit.saturating_add(1));
    (&mut reader).take(2).read_to_end(&mut head).map_err(io)?;
    let mut data = head.clone();
    if head == [0x1f, 0x8b] {
        // Gzip: the limit applies to what it expands to.
        let mut decoder =
            flate2::read::GzDecoder::new(std::io::Cursor::new(head).chain(reader.into_inner()))
                .take(limit.saturating_add(1));
        data.clear();
        decoder.read_to_end(&mut data).map_err(io)?;
    } else {
        reader.read_to_end(&mut data).map_err(io)?;
    }
    if data.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(data)
}

/// A size in bytes, read with an optional unit and shown with the largest exact one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The default input limit: 512 MiB.
    pub const DEFAULT_INPUT: Self = Self(512 << 20);
}

const UNITS: [(&str, u64); 6] = [
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("KB", 1_000),
];

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (digits, factor) = UNITS
            .iter()
            .find_map(|(unit, factor)| s.strip_suffix(unit).map(|d| (d.trim(), *factor)))
            .unwrap_or((s.strip_suffix('B').unwrap_or(s).trim(), 1));
        let n: u64 = digits.parse().map_err(|_| {
            format!("{s:?} is not a size: give bytes, or a number with KiB, MiB, GiB, KB, MB or GB")
        })?;
        n.checked_mul(factor)
            .map(Self)
            .ok_or_else(|| format!("{s:?} is too large"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match UNITS
            .iter()
            .find(|(_, factor)| self.0 >= *factor && self.0.is_multiple_of(*factor))
        {
            Some((unit, factor)) => write!(f, "{}{unit}", self.0 / factor),
            None => write!(f, "{}B", self.0),
        }
    }
}

/// A path the user gave, or `<stdin>`.
pub(crate) fn shown(path: &Path) -> PathBuf {
    if path.as_os_str() == STDIN {
        PathBuf::from("<stdin>")
    } else {
        path.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn sizes_parse_and_show() {
        for (s, n) in [
            ("0", 0),
            ("1048576", 1 << 20),
            ("10B", 10),
            ("512MiB", 512 << 20),
            ("2 GiB", 2 << 30),
            ("1KiB", 1024),
            ("3MB", 3_000_000),
            ("5KB", 5_000),
        ] {
            assert_eq!(s.parse::<ByteSize>().unwrap(), ByteSize(n), "{s}");
        }
        for bad in ["", "MiB", "-1", "1.5GiB", "ten", "99999999999GiB"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
        assert_eq!(ByteSize(512 << 20).to_string(), "512MiB");
        assert_eq!(ByteSize(3_000_000).to_string(), "3MB");
        assert_eq!(ByteSize(1000).to_string(), "1KB");
        assert_eq!(ByteSize(1001).to_string(), "1001B");
        for n in [0, 7, 1 << 20, 3_000_000, 123_456_789] {
            let s = ByteSize(n).to_string();
            assert_eq!(s.parse::<ByteSize>().unwrap(), ByteSize(n), "{s}");
        }
    }

    #[test]
    fn reads_within_the_limit_and_refuses_beyond() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.json");
        std::fs::write(&plain, b"0123456789").unwrap();
        assert_eq!(read(&plain, 10).unwrap(), b"0123456789");
        let e = read(&plain, 9).unwrap_err();
        assert!(matches!(e, Error::InputTooLarge { .. }), "{e}");
        // Gzip is recognised by its magic and limited by what it expands to.
        let gz = dir.path().join("a.bin");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&[b'x'; 100_000]).unwrap();
        let compressed = enc.finish().unwrap();
        assert!(compressed.len() < 1000);
        std::fs::write(&gz, &compressed).unwrap();
        assert_eq!(read(&gz, 100_000).unwrap().len(), 100_000);
        let e = read(&gz, 99_999).unwrap_err();
        assert!(matches!(e, Error::InputTooLarge { .. }), "{e}");
        // A device that never ends stops at the limit.
        let e = read(Path::new("/dev/zero"), 4096).unwrap_err();
        assert!(
            e.to_string()
                .contains("larger than the input limit of 4KiB"),
            "{e}"
        );
        // Short and empty inputs.
        let one = dir.path().join("one");
        std::fs::write(&one, b"{").unwrap();
        assert_eq!(read(&one, 10).unwrap(), b"{");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert!(read(&empty, 10).unwrap().is_empty());
        let e = read(&dir.path().join("missing"), 10).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e}");
    }
}
