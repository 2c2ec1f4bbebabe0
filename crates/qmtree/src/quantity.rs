//! Serde for integers in Ethereum's JSON-RPC "quantity" form: written as `0x`-prefixed hex
//! (`"0x1a"`), read from such a string or from a plain JSON number.
//!
//! Proof JSON and Cairn's JSON-RPC answers use it (`#[serde(with = "cairn_qmtree::quantity")]`
//! on a `u64` or `u32` field, [`opt`] on an `Option`). A decimal string (`"26"`), a negative
//! or fractional number, `"0x"` alone or more than 16 hex digits is an error, so a value
//! never means something other than what was written.
//!
//! ```
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Leaf {
//!     #[serde(with = "cairn_qmtree::quantity")]
//!     tx_num: u64,
//! }
//!
//! let leaf: Leaf = serde_json::from_str(r#"{"tx_num": "0x1a"}"#)?;
//! assert_eq!(leaf.tx_num, 26);
//! let leaf: Leaf = serde_json::from_str(r#"{"tx_num": 26}"#)?;
//! assert_eq!(serde_json::to_string(&leaf)?, r#"{"tx_num":"0x1a"}"#);
//! assert!(serde_json::from_str::<Leaf>(r#"{"tx_num": "26"}"#).is_err());
//! # Ok::<(), serde_json::Error>(())
//! ```

use alloc::format;
use core::fmt;

use serde::{
    Deserializer, Serializer,
    de::{self, Visitor},
};

/// Parses a hex quantity: `0x` and 1 to 16 hex digits (either case).
pub fn parse(s: &str) -> Option<u64> {
    let digits = s.strip_prefix("0x")?;
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// Writes `value` as a hex quantity.
///
/// # Errors
/// Only the serializer's own.
pub fn serialize<T, S>(value: &T, s: S) -> Result<S::Ok, S::Error>
where
    T: Copy + Into<u64>,
    S: Serializer,
{
    s.collect_str(&format_args!("{:#x}", (*value).into()))
}

/// Reads a hex quantity or a JSON number.
///
/// # Errors
/// Anything else, or a value that does not fit `T`.
pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
where
    T: TryFrom<u64>,
    D: Deserializer<'de>,
{
    let v = d.deserialize_any(QuantityVisitor)?;
    T::try_from(v).map_err(|_| {
        de::Error::custom(format!(
            "quantity {v:#x} is too large (at most {} bits)",
            core::mem::size_of::<T>() * 8
        ))
    })
}

struct QuantityVisitor;

impl Visitor<'_> for QuantityVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a hex quantity (\"0x1a\") or a non-negative integer")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom(format!("{v} is negative: not a quantity")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        Err(E::custom(format!("{v} is not an integer: not a quantity")))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<u64, E> {
        parse(s).ok_or_else(|| {
            E::custom(format!(
                "{s:?} is not a hex quantity: give 0x and 1 to 16 hex digits, or a JSON number"
            ))
        })
    }
}

/// The same for `Option`s: `None` is written as `null` (or skipped with
/// `skip_serializing_if`), and `null` reads as `None`.
pub mod opt {
    use super::*;

    /// Writes `Some(v)` as a hex quantity and `None` as `null`.
    ///
    /// # Errors
    /// Only the serializer's own.
    pub fn serialize<T, S>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error>
    where
        T: Copy + Into<u64>,
        S: Serializer,
    {
        match value {
            Some(v) => super::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    /// Reads `null` as `None`, anything else as [`deserialize`](super::deserialize) does.
    ///
    /// # Errors
    /// As [`deserialize`](super::deserialize).
    pub fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
    where
        T: TryFrom<u64>,
        D: Deserializer<'de>,
    {
        struct Wrap<T>(T);
        impl<'de, T: TryFrom<u64>> serde::Deserialize<'de> for Wrap<T> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                super::deserialize(d).map(Wrap)
            }
        }
        Ok(<Option<Wrap<T>> as serde::Deserialize>::deserialize(d)?.map(|w| w.0))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Q {
        #[serde(with = "super")]
        a: u64,
        #[serde(with = "super")]
        b: u32,
        #[serde(with = "super::opt", default, skip_serializing_if = "Option::is_none")]
        c: Option<u64>,
    }

    #[test]
    fn writes_hex_and_reads_hex_or_numbers() {
        let q = Q {
            a: u64::MAX,
            b: 0,
            c: Some(26),
        };
        let v = serde_json::to_value(&q).unwrap();
        assert_eq!(
            v,
            json!({"a": "0xffffffffffffffff", "b": "0x0", "c": "0x1a"})
        );
        assert_eq!(serde_json::from_value::<Q>(v).unwrap(), q);
        assert!(
            serde_json::from_value::<Q>(json!({"a": 5, "b": "0X1"})).is_err(),
            "the prefix is 0x"
        );
        let q: Q = serde_json::from_value(json!({"a": 5, "b": 7, "c": null})).unwrap();
        assert_eq!(
            q,
            Q {
                a: 5,
                b: 7,
                c: None
            }
        );
        for bad in [
            json!("26"),
            json!("0x"),
            json!("0x1ffffffffffffffff"),
            json!("0xzz"),
            json!(-1),
            json!(1.5),
            json!(true),
            json!([1]),
            json!(null),
        ] {
            let e = serde_json::from_value::<Q>(json!({"a": bad.clone(), "b": 0}));
            assert!(e.is_err(), "{bad} accepted");
        }
        let e = serde_json::from_value::<Q>(json!({"a": 0, "b": "0x100000000"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("too large"), "{e}");
    }
}
