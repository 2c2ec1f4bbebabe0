use alloc::string::String;

/// Errors from building or decoding shared types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrimitivesError {
    /// The network name is not a known fork or `<A>To<B>AtTime<T>` transition.
    #[error("unknown network {name:?}")]
    UnknownNetwork {
        /// The name as given.
        name: String,
    },
    /// A blob schedule entry names a fork that does not exist.
    #[error("unknown fork {name:?} in blob schedule")]
    UnknownFork {
        /// The name as given.
        name: String,
    },
    /// Blob schedule parameters for which the blob fee or excess gas is undefined.
    #[error("invalid blob schedule for {fork}: {reason}")]
    InvalidBlobParams {
        /// The fork of the entry.
        fork: alloy_hardforks::EthereumHardfork,
        /// The rule broken.
        reason: &'static str,
    },
    /// A block's bytes are not valid RLP for a block.
    #[error("{} is not valid RLP: {source}", BlockName(*number))]
    BlockRlp {
        /// The block's number, when at least its header decodes.
        number: Option<u64>,
        /// What the decoder found.
        #[source]
        source: alloy_rlp::Error,
    },
    /// A block's bytes decode, but are not the block's canonical encoding (e.g. a length
    /// header that declares more or fewer bytes than follow).
    #[error(
        "block {number} is not canonically encoded: byte {offset}, in {part}, is {} where the canonical encoding has {}",
        Byte(*got),
        Byte(*canonical)
    )]
    BlockNotCanonical {
        /// The block's number.
        number: u64,
        /// The first byte that differs from the canonical encoding.
        offset: usize,
        /// The part of the block that byte belongs to.
        part: crate::BlockPart,
        /// The byte given (`None` past the end of the input).
        got: Option<u8>,
        /// The canonical byte (`None` past the end of the canonical encoding).
        canonical: Option<u8>,
    },
}

struct BlockName(Option<u64>);

impl core::fmt::Display for BlockName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(number) => write!(f, "block {number}"),
            None => f.write_str("the block"),
        }
    }
}

struct Byte(Option<u8>);

impl core::fmt::Display for Byte {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(b) => write!(f, "0x{b:02x}"),
            None => f.write_str("nothing (the end)"),
        }
    }
}

/// Result alias for [`PrimitivesError`].
pub type Result<T, E = PrimitivesError> = core::result::Result<T, E>;
