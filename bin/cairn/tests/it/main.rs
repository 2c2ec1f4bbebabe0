//! The `cairn` binary end to end: exit codes and one-line errors.

mod qmtree;
