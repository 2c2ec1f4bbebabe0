//! RLP encoding and decoding of Merkle Patricia trie nodes.
//!
//! Encoding uses alloy-trie's leaf/extension encoders and hex-prefix paths. Branches are encoded
//! here because Ethereum's general MPT allows a value in a branch (keys that are prefixes of
//! other keys, as in the plain `TrieTests`), which alloy-trie's `BranchNode` does not model.

use alloy_primitives::B256;
use alloy_rlp::{EMPTY_STRING_CODE, Header};
use alloy_trie::{
    Nibbles,
    nodes::{ExtensionNodeRef, LeafNodeRef, RlpNode},
};

/// A reference from a node to a child, as it appears inside the parent's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildRef<'a> {
    /// No child in this slot.
    Empty,
    /// A child referenced by the keccak hash of its encoding (encoding ≥ 32 bytes).
    Hash(B256),
    /// A child embedded in the parent (encoding < 32 bytes), given as its full encoding.
    Inline(&'a [u8]),
}

/// A node decoded from its RLP encoding, borrowing from it.
// Decoded nodes live briefly on the stack; boxing the branch would allocate per decode.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecodedNode<'a> {
    /// The empty trie (`0x80`).
    Empty,
    /// A leaf: remaining key nibbles and the value.
    Leaf { key: Nibbles, value: &'a [u8] },
    /// An extension: shared key nibbles and the child (always a branch in a valid trie).
    Extension { key: Nibbles, child: ChildRef<'a> },
    /// A branch: sixteen children and an optional value.
    Branch {
        children: [ChildRef<'a>; 16],
        value: Option<&'a [u8]>,
    },
}

/// Why a node failed to decode.
#[derive(Debug)]
pub(crate) enum DecodeError {
    Rlp(alloy_rlp::Error),
    Invalid(&'static str),
}

impl From<alloy_rlp::Error> for DecodeError {
    fn from(e: alloy_rlp::Error) -> Self {
        Self::Rlp(e)
    }
}

/// Decodes one node. The whole input must be consumed.
pub(crate) fn decode_node(mut buf: &[u8]) -> Result<DecodedNode<'_>, DecodeError> {
    if buf == [EMPTY_STRING_CODE] {
        return Ok(DecodedNode::Empty);
    }
    let header = Header::decode(&mut buf)?;
    if !header.list {
        return Err(DecodeError::Invalid("node is not an rlp list"));
    }
    if buf.len() != header.payload_length {
        return Err(DecodeError::Invalid("trailing bytes after node"));
    }
    let mut items: [&[u8]; 17] = [&[]; 17];
    let mut count = 0;
    while !buf.is_empty() {
        if count == 17 {
            return Err(DecodeError::Invalid("node has more than 17 items"));
        }
        items[count] = next_item(&mut buf)?;
        count += 1;
    }
    match count {
        2 => {
            let path = string_payload(items[0])?;
            let (key, is_leaf) = decode_path(path)?;
            if is_leaf {
                Ok(DecodedNode::Leaf {
                    key,
                    value: string_payload(items[1])?,
                })
            } else {
                if key.is_empty() {
                    return Err(DecodeError::Invalid("extension with an empty path"));
                }
                let child = child_ref(items[1])?;
                if child == ChildRef::Empty {
                    return Err(DecodeError::Invalid("extension without a child"));
                }
                Ok(DecodedNode::Extension { key, child })
            }
        }
        17 => {
            let mut children = [ChildRef::Empty; 16];
            let mut occupied = 0;
            for (slot, item) in children.iter_mut().zip(&items[..16]) {
                *slot = child_ref(item)?;
                occupied += usize::from(*slot != ChildRef::Empty);
            }
            let value = string_payload(items[16])?;
            let value = (!value.is_empty()).then_some(value);
            if occupied + usize::from(value.is_some()) < 2 {
                return Err(DecodeError::Invalid("branch with fewer than two entries"));
            }
            Ok(DecodedNode::Branch { children, value })
        }
        _ => Err(DecodeError::Invalid("node must have 2 or 17 items")),
    }
}

/// Splits the next complete RLP item (header included) off `buf`.
fn next_item<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], DecodeError> {
    let start = *buf;
    let header = Header::decode(buf)?;
    if buf.len() < header.payload_length {
        return Err(DecodeError::Rlp(alloy_rlp::Error::InputTooShort));
    }
    *buf = &buf[header.payload_length..];
    Ok(&start[..start.len() - buf.len()])
}

/// The payload of an item that must be an RLP string.
fn string_payload(item: &[u8]) -> Result<&[u8], DecodeError> {
    let mut buf = item;
    let header = Header::decode(&mut buf)?;
    if header.list {
        return Err(DecodeError::Invalid("expected an rlp string"));
    }
    Ok(buf)
}

fn child_ref(item: &[u8]) -> Result<ChildRef<'_>, DecodeError> {
    if item == [EMPTY_STRING_CODE] {
        return Ok(ChildRef::Empty);
    }
    let mut buf = item;
    let header = Header::decode(&mut buf)?;
    if header.list {
        if item.len() >= 32 {
            return Err(DecodeError::Invalid("embedded node of 32 bytes or more"));
        }
        return Ok(ChildRef::Inline(item));
    }
    if buf.len() == 32 {
        return Ok(ChildRef::Hash(B256::from_slice(buf)));
    }
    Err(DecodeError::Invalid(
        "child reference is neither a hash nor an embedded node",
    ))
}

/// Decodes a hex-prefix (compact) path into nibbles and the leaf flag.
fn decode_path(path: &[u8]) -> Result<(Nibbles, bool), DecodeError> {
    let Some((&first, rest)) = path.split_first() else {
        return Err(DecodeError::Invalid("empty hex-prefix path"));
    };
    let flag = first >> 4;
    if flag > 3 {
        return Err(DecodeError::Invalid("bad hex-prefix flag"));
    }
    let odd = flag & 1 == 1;
    if !odd && first & 0x0f != 0 {
        return Err(DecodeError::Invalid("non-zero padding nibble in even path"));
    }
    if rest.len() + usize::from(odd) > 32 {
        return Err(DecodeError::Invalid("path longer than 64 nibbles"));
    }
    let mut key = Nibbles::new();
    if odd {
        key.push(first & 0x0f);
    }
    key.extend(&Nibbles::unpack(rest));
    Ok((key, flag & 2 == 2))
}

/// Encodes a leaf into `out` (cleared first) and returns its reference.
pub(crate) fn encode_leaf(key: &Nibbles, value: &[u8], out: &mut alloc::vec::Vec<u8>) -> RlpNode {
    out.clear();
    LeafNodeRef::new(key, value).rlp(out)
}

/// Encodes an extension into `out` (cleared first) and returns its reference.
pub(crate) fn encode_extension(
    key: &Nibbles,
    child: &RlpNode,
    out: &mut alloc::vec::Vec<u8>,
) -> RlpNode {
    out.clear();
    ExtensionNodeRef::new(key, child).rlp(out)
}

/// Encodes a branch into `out` (cleared first) and returns its reference.
pub(crate) fn encode_branch(
    children: &[Option<RlpNode>; 16],
    value: Option<&[u8]>,
    out: &mut alloc::vec::Vec<u8>,
) -> RlpNode {
    use alloy_rlp::Encodable;
    out.clear();
    let value_len = value.map_or(1, |v| v.length());
    let payload_length = children
        .iter()
        .map(|c| c.as_ref().map_or(1, |c| c.len()))
        .sum::<usize>()
        + value_len;
    Header {
        list: true,
        payload_length,
    }
    .encode(out);
    for child in children {
        match child {
            Some(c) => out.extend_from_slice(c),
            None => out.push(EMPTY_STRING_CODE),
        }
    }
    match value {
        Some(v) => v.encode(out),
        None => out.push(EMPTY_STRING_CODE),
    }
    RlpNode::from_rlp(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::hex;

    #[test]
    fn rejects_malformed_nodes() {
        // a list of three items
        assert!(decode_node(&hex!("c3808080")).is_err());
        // trailing bytes
        assert!(decode_node(&hex!("c2808000")).is_err());
        // leaf with bad flag nibble 4
        assert!(decode_node(&hex!("c44082abcd")).is_err());
        // even path with non-zero padding
        assert!(decode_node(&hex!("c403826162")).is_err());
        // a string, not a list
        assert!(decode_node(&hex!("83646f67")).is_err());
    }

    #[test]
    fn leaf_roundtrip() {
        let key = Nibbles::from_nibbles([1, 2, 3]);
        let mut out = alloc::vec::Vec::new();
        encode_leaf(&key, b"value", &mut out);
        match decode_node(&out).unwrap() {
            DecodedNode::Leaf { key: k, value } => {
                assert_eq!(k, key);
                assert_eq!(value, b"value");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
