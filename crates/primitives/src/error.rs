use alloc::string::String;

/// Errors from building or decoding shared types.
#[derive(Debug, thiserror::Error)]
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
}

/// Result alias for [`PrimitivesError`].
pub type Result<T, E = PrimitivesError> = core::result::Result<T, E>;
