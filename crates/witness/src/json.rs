//! JSON forms of the execution witness.
//!
//! | form | `headers` | `keys` |
//! | --- | --- | --- |
//! | reth `debug_executionWitness` | RLP hex strings | list of preimages |
//! | geth `debug_executionWitness` | header JSON objects, newest first | `null` |
//! | EEST zkEVM fixture `executionWitness` | RLP hex strings | absent |
//!
//! [`from_json`] reads all three (and the older map form `{hash: node}` of `state`/`codes`),
//! checking that a JSON header re-encodes to the `hash` it claims.

use crate::error::{Result, WitnessError};
use alloc::{string::String, vec::Vec};
use alloy_consensus::Header;
use alloy_primitives::{B256, Bytes, keccak256};
use cairn_primitives::{ChainConfig, ExecutionWitness, ProgramInput};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// A wire form of the witness, for writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WitnessFormat {
    /// reth: headers as RLP hex, `keys` listed.
    Reth,
    /// geth: headers as JSON objects, `keys` null.
    Geth,
    /// EEST zkEVM fixtures: `state`, `codes`, RLP `headers`.
    Eest,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListOrMap {
    List(Vec<Bytes>),
    Map(Map<String, Value>),
}

impl ListOrMap {
    fn into_list(self, field: &'static str) -> Result<Vec<Bytes>> {
        match self {
            Self::List(list) => Ok(list),
            // Older reth: `{ "0x<hash>": "0x<preimage>" }`; the values are what matters.
            Self::Map(map) => map
                .into_iter()
                .map(|(_, v)| serde_json::from_value::<Bytes>(v))
                .collect::<Result<_, _>>()
                .map_err(|e| WitnessError::from(serde_json::Error::custom_in(field, e))),
        }
    }
}

/// Extension to give serde errors a field name.
trait CustomIn {
    fn custom_in(field: &str, e: serde_json::Error) -> serde_json::Error;
}

impl CustomIn for serde_json::Error {
    fn custom_in(field: &str, e: serde_json::Error) -> serde_json::Error {
        <Self as serde::de::Error>::custom(alloc::format!("{field}: {e}"))
    }
}

#[derive(Deserialize)]
struct AnyWitness {
    #[serde(default)]
    state: Option<ListOrMap>,
    #[serde(default)]
    codes: Option<ListOrMap>,
    #[serde(default)]
    keys: Option<ListOrMap>,
    #[serde(default)]
    headers: Option<Vec<Value>>,
}

/// Reads a witness in any of the supported JSON forms.
///
/// # Errors
/// [`WitnessError::Json`] for malformed JSON, bad hex, or a JSON header whose RLP does not
/// hash to its `hash` field.
pub fn from_json(text: &str) -> Result<ExecutionWitness> {
    from_value(serde_json::from_str(text)?)
}

/// Like [`from_json`], from a parsed value.
///
/// # Errors
/// See [`from_json`].
pub fn from_value(value: Value) -> Result<ExecutionWitness> {
    let any: AnyWitness = serde_json::from_value(value)?;
    let mut numbers = Vec::new();
    let mut headers = any
        .headers
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            let (rlp, number) = header_from_json(i, h)?;
            numbers.extend(number);
            Ok(rlp)
        })
        .collect::<Result<Vec<_>>>()?;
    // geth lists its header objects newest first (parent, grandparent, …); Cairn's witness,
    // like reth's and EEST's, oldest first. Only the geth form is turned around, and only
    // when it is all objects in descending order: anything else is checked as given.
    if numbers.len() == headers.len() && numbers.first() > numbers.last() {
        headers.reverse();
    }
    Ok(ExecutionWitness {
        state: any
            .state
            .map(|s| s.into_list("state"))
            .transpose()?
            .unwrap_or_default(),
        codes: any
            .codes
            .map(|s| s.into_list("codes"))
            .transpose()?
            .unwrap_or_default(),
        keys: any
            .keys
            .map(|s| s.into_list("keys"))
            .transpose()?
            .unwrap_or_default(),
        headers,
    })
}

/// A header as RLP, with its number when it was given as a JSON object (geth's form).
fn header_from_json(index: usize, value: Value) -> Result<(Bytes, Option<u64>)> {
    let custom =
        |msg: String| WitnessError::from(<serde_json::Error as serde::de::Error>::custom(msg));
    match value {
        Value::String(_) => Ok((serde_json::from_value::<Bytes>(value)?, None)),
        Value::Object(ref map) => {
            let claimed = map
                .get("hash")
                .cloned()
                .map(serde_json::from_value::<B256>)
                .transpose()?;
            let header: Header = serde_json::from_value(value)?;
            let rlp = Bytes::from(alloy_rlp::encode(&header));
            if let Some(claimed) = claimed
                && keccak256(&rlp) != claimed
            {
                return Err(custom(alloc::format!(
                    "header {index}: fields re-encode to {} but the header claims hash {claimed}",
                    keccak256(&rlp)
                )));
            }
            Ok((rlp, Some(header.number)))
        }
        other => Err(custom(alloc::format!(
            "header {index}: expected rlp hex or a header object, got {other}"
        ))),
    }
}

/// Writes a witness in the given form.
///
/// # Errors
/// [`WitnessError::InvalidHeader`] when writing the geth form and a header is not valid RLP.
pub fn to_value(witness: &ExecutionWitness, format: WitnessFormat) -> Result<Value> {
    let mut out = Map::new();
    out.insert("state".into(), json!(witness.state));
    out.insert("codes".into(), json!(witness.codes));
    match format {
        WitnessFormat::Reth => {
            out.insert("keys".into(), json!(witness.keys));
            out.insert("headers".into(), json!(witness.headers));
        }
        WitnessFormat::Eest => {
            out.insert("headers".into(), json!(witness.headers));
        }
        WitnessFormat::Geth => {
            out.insert("keys".into(), Value::Null);
            // Newest first, as geth writes them.
            let headers = crate::source::decode_header_chain_unchecked(&witness.headers)?
                .into_iter()
                .rev()
                .map(|(header, hash)| {
                    let mut v = serde_json::to_value(&header)?;
                    if let Value::Object(m) = &mut v {
                        m.insert("hash".into(), json!(hash));
                    }
                    Ok(v)
                })
                .collect::<Result<Vec<_>>>()?;
            out.insert("headers".into(), Value::Array(headers));
        }
    }
    Ok(Value::Object(out))
}

/// Reads a validation bundle: `{"chain": <ChainConfig> | "mainnet", "blocks": ["0x<block
/// rlp>", ..], "witness": <any witness form>}`.
///
/// # Errors
/// [`WitnessError::Json`] for a malformed bundle, [`WitnessError::InvalidBlock`] for a block
/// that is not valid RLP or not canonically encoded
/// ([`decode_block`](cairn_primitives::decode_block)).
pub fn input_from_json(text: &str) -> Result<ProgramInput> {
    #[derive(Deserialize)]
    struct Bundle {
        chain: Value,
        blocks: Vec<Bytes>,
        witness: Value,
    }
    let bundle: Bundle = serde_json::from_str(text)?;
    let chain = match bundle.chain {
        Value::String(name) if name == "mainnet" => ChainConfig::mainnet(),
        other => serde_json::from_value(other)?,
    };
    let blocks = bundle
        .blocks
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            cairn_primitives::decode_block(raw)
                .map_err(|source| WitnessError::InvalidBlock { index, source })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ProgramInput {
        chain,
        blocks,
        witness: from_value(bundle.witness)?,
    })
}

/// Writes a validation bundle (blocks as RLP, the witness in `format`).
///
/// # Errors
/// See [`to_value`].
pub fn input_to_json(input: &ProgramInput, format: WitnessFormat) -> Result<Value> {
    let blocks: Vec<Bytes> = input
        .blocks
        .iter()
        .map(|b| Bytes::from(alloy_rlp::encode(b)))
        .collect();
    Ok(json!({
        "chain": input.chain,
        "blocks": blocks,
        "witness": to_value(&input.witness, format)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ExecutionWitness {
        let header = Header {
            number: 7,
            gas_limit: 30_000_000,
            ..Default::default()
        };
        ExecutionWitness {
            state: alloc::vec![Bytes::from_static(&[0xc2, 0x80, 0x80])],
            codes: alloc::vec![Bytes::from_static(&[0x60, 0x00])],
            keys: alloc::vec![Bytes::from_static(&[0x11; 20])],
            headers: alloc::vec![Bytes::from(alloy_rlp::encode(&header))],
        }
    }

    #[test]
    fn reth_roundtrip() {
        let w = sample();
        let v = to_value(&w, WitnessFormat::Reth).unwrap();
        assert!(v["headers"][0].is_string());
        assert_eq!(from_value(v).unwrap(), w);
    }

    #[test]
    fn geth_roundtrip_checks_hash() {
        let w = sample();
        let mut v = to_value(&w, WitnessFormat::Geth).unwrap();
        assert!(v["headers"][0].is_object());
        assert!(v["keys"].is_null());
        let back = from_value(v.clone()).unwrap();
        assert_eq!(back.headers, w.headers);
        assert!(back.keys.is_empty());
        v["headers"][0]["gasLimit"] = json!("0x1");
        assert!(
            from_value(v).is_err(),
            "a header whose fields do not match its hash is rejected"
        );
    }

    /// geth lists headers newest first; they come back oldest first, and a descending list
    /// of RLP headers (not geth's form) is left as given, for the chain check to reject.
    #[test]
    fn geth_headers_are_newest_first() {
        let mut w = sample();
        let first: Header = alloy_rlp::decode_exact(&w.headers[0]).unwrap();
        let second = Header {
            number: 8,
            parent_hash: first.hash_slow(),
            ..first
        };
        w.headers.push(Bytes::from(alloy_rlp::encode(&second)));
        let v = to_value(&w, WitnessFormat::Geth).unwrap();
        assert_eq!(v["headers"][0]["number"], json!("0x8"));
        assert_eq!(from_value(v).unwrap().headers, w.headers);

        let mut reth = to_value(&w, WitnessFormat::Reth).unwrap();
        reth["headers"].as_array_mut().unwrap().reverse();
        let back = from_value(reth).unwrap();
        assert_eq!(back.headers[0], w.headers[1]);
    }

    #[test]
    fn eest_form_and_map_form() {
        let w = sample();
        let v = to_value(&w, WitnessFormat::Eest).unwrap();
        assert!(v.get("keys").is_none());
        let back = from_value(v).unwrap();
        assert_eq!(back.state, w.state);
        let map = json!({"state": {"0xab": "0xc28080"}, "codes": {}, "headers": []});
        assert_eq!(from_value(map).unwrap().state, w.state);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert!(from_json("{").is_err());
        assert!(from_json(r#"{"state": ["0xzz"]}"#).is_err());
        assert!(from_json(r#"{"headers": [5]}"#).is_err());
    }
}
