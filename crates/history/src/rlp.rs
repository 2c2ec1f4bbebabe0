//! Reading RLP items by position, the way a contract or a circuit reads them: a list is a
//! sequence of item encodings, a field is the i-th item, a string item's payload is its value.

use alloc::vec::Vec;
use alloy_rlp::{Header, PayloadView};

/// The item encodings of an RLP list (each with its own header). `None` when `buf` is not
/// exactly one well-formed list.
pub(crate) fn list(buf: &[u8]) -> Option<Vec<&[u8]>> {
    let mut rest = buf;
    match Header::decode_raw(&mut rest).ok()? {
        PayloadView::List(items) if rest.is_empty() => Some(items),
        _ => None,
    }
}

/// The payload of a string item. `None` for a list or a malformed item.
pub(crate) fn string(item: &[u8]) -> Option<&[u8]> {
    let mut rest = item;
    match Header::decode_raw(&mut rest).ok()? {
        PayloadView::String(payload) if rest.is_empty() => Some(payload),
        _ => None,
    }
}

/// A string item of at most 32 bytes as a word, right-aligned (how RLP integers, addresses
/// and hashes become `bytes32`).
pub(crate) fn word(item: &[u8]) -> Option<[u8; 32]> {
    let payload = string(item)?;
    right_aligned(payload)
}

/// Up to 32 bytes, right-aligned in a word.
pub(crate) fn right_aligned(bytes: &[u8]) -> Option<[u8; 32]> {
    if bytes.len() > 32 {
        return None;
    }
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(bytes);
    Some(out)
}

/// 32-byte word `index` of `bytes`, left-aligned and zero-padded past the end; `None` when
/// the word starts at or past the end (so empty bytes have no words).
pub(crate) fn chunk(bytes: &[u8], index: u64) -> Option<[u8; 32]> {
    let start = usize::try_from(index).ok()?.checked_mul(32)?;
    if start >= bytes.len() {
        return None;
    }
    let end = bytes.len().min(start + 32);
    let mut out = [0u8; 32];
    out[..end - start].copy_from_slice(&bytes[start..end]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_and_words() {
        let mut list_buf = Vec::new();
        let items: [&dyn alloy_rlp::Encodable; 3] = [
            &1u64,
            &alloy_primitives::Address::repeat_byte(0xaa),
            &alloy_primitives::Bytes::new(),
        ];
        alloy_rlp::encode_list::<_, dyn alloy_rlp::Encodable>(&items, &mut list_buf);
        let items = list(&list_buf).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(word(items[0]).unwrap()[31], 1);
        assert_eq!(word(items[1]).unwrap()[12..], [0xaa; 20]);
        assert_eq!(word(items[2]).unwrap(), [0; 32]);
        assert!(list(&list_buf[..list_buf.len() - 1]).is_none());
        let mut trailing = list_buf.clone();
        trailing.push(0);
        assert!(list(&trailing).is_none());
        assert!(string(&list_buf).is_none());
    }

    #[test]
    fn chunks() {
        let data: Vec<u8> = (0..40).collect();
        assert_eq!(chunk(&data, 0).unwrap()[..], data[..32]);
        let second = chunk(&data, 1).unwrap();
        assert_eq!(second[..8], data[32..]);
        assert_eq!(second[8..], [0; 24]);
        assert!(chunk(&data, 2).is_none());
        assert!(chunk(&[], 0).is_none());
        assert!(chunk(&data, u64::MAX).is_none());
    }
}
