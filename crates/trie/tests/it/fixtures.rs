//! The official `TrieTests` and `RLPTests` vectors from `$CAIRN_FIXTURES/ethereum-tests`.
//! Without `CAIRN_FIXTURES` these tests say so and skip.

use alloy_primitives::{keccak256, map::B256Map};
use alloy_rlp::Header;
use alloy_trie::Nibbles;
use cairn_trie::{NoNodes, SparseTrie};
use serde_json::Value;
use std::path::PathBuf;

fn fixtures(sub: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("CAIRN_FIXTURES") else {
        eprintln!("skipping {sub}: CAIRN_FIXTURES is not set");
        return None;
    };
    let mut dir = PathBuf::from(dir);
    // `cargo test` runs in the package folder; a relative path is the user's, from the root.
    if dir.is_relative() && !dir.exists() {
        dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(dir);
    }
    Some(dir.join("ethereum-tests").join(sub))
}

fn load(path: &std::path::Path) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Fixture strings are hex when `0x`-prefixed, else raw UTF-8; `null` is absent.
fn bytes(v: &Value) -> Option<Vec<u8>> {
    let s = v.as_str()?;
    Some(match s.strip_prefix("0x") {
        Some(hex) => alloy_primitives::hex::decode(hex).expect("fixture hex"),
        None => s.as_bytes().to_vec(),
    })
}

fn root_of(pairs: &[(Vec<u8>, Option<Vec<u8>>)], secure: bool) -> alloy_primitives::B256 {
    let mut trie = SparseTrie::new();
    for (k, v) in pairs {
        let k = if secure {
            keccak256(k).to_vec()
        } else {
            k.clone()
        };
        let key = Nibbles::unpack(&k);
        match v {
            Some(v) if !v.is_empty() => trie.insert(&key, v.clone(), &mut NoNodes).unwrap(),
            _ => drop(trie.remove(&key, &mut NoNodes).unwrap()),
        }
    }
    trie.root()
}

#[test]
fn trie_tests() {
    let Some(dir) = fixtures("TrieTests") else {
        return;
    };
    let files = [
        ("trietest.json", false),
        ("trieanyorder.json", false),
        ("trietest_secureTrie.json", true),
        ("trieanyorder_secureTrie.json", true),
        ("hex_encoded_securetrie_test.json", true),
    ];
    let (mut passed, mut failed) = (0, Vec::new());
    for (file, secure) in files {
        for (name, case) in load(&dir.join(file)) {
            let pairs: Vec<(Vec<u8>, Option<Vec<u8>>)> = match &case["in"] {
                Value::Array(items) => items
                    .iter()
                    .map(|kv| (bytes(&kv[0]).unwrap(), bytes(&kv[1])))
                    .collect(),
                Value::Object(map) => map
                    .iter()
                    .map(|(k, v)| (bytes(&Value::String(k.clone())).unwrap(), bytes(v)))
                    .collect(),
                other => panic!("{file}/{name}: unexpected input {other}"),
            };
            let expected: alloy_primitives::B256 = case["root"].as_str().unwrap().parse().unwrap();
            let mut ok = root_of(&pairs, secure) == expected;
            if case["in"].is_object() {
                // "any order": the reversed insertion order must give the same root.
                let reversed: Vec<_> = pairs.iter().rev().cloned().collect();
                ok &= root_of(&reversed, secure) == expected;
            }
            if ok {
                passed += 1
            } else {
                failed.push(format!("{file}/{name}"))
            }
        }
    }
    // Ordered traversal: `trietestnextprev.json` asks for each key's neighbours.
    for (name, case) in load(&dir.join("trietestnextprev.json")) {
        let mut trie = SparseTrie::new();
        for k in case["in"].as_array().unwrap() {
            let k = bytes(k).unwrap();
            trie.insert(&Nibbles::unpack(&k), k.clone(), &mut NoNodes)
                .unwrap();
        }
        let keys: Vec<Vec<u8>> = trie
            .entries(&mut NoNodes)
            .unwrap()
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        let mut ok = keys.windows(2).all(|w| w[0] < w[1]);
        for t in case["tests"].as_array().unwrap() {
            let probe = bytes(&t[0]).unwrap();
            let prev = keys
                .iter()
                .rev()
                .find(|k| **k < probe)
                .cloned()
                .unwrap_or_default();
            let next = keys
                .iter()
                .find(|k| **k > probe)
                .cloned()
                .unwrap_or_default();
            ok &= prev == bytes(&t[1]).unwrap() && next == bytes(&t[2]).unwrap();
        }
        if ok {
            passed += 1
        } else {
            failed.push(format!("trietestnextprev.json/{name}"))
        }
    }
    eprintln!(
        "TrieTests: {passed} passed, {} failed, 0 skipped",
        failed.len()
    );
    assert!(failed.is_empty(), "failed: {failed:?}");
    assert!(
        passed >= 26,
        "expected every TrieTests vector to run, ran {passed}"
    );
}

/// A decoded RLP item.
#[derive(Debug, PartialEq)]
enum Item {
    Bytes(Vec<u8>),
    List(Vec<Self>),
}

/// Strict decoding: canonical headers (alloy-rlp enforces them) and no trailing bytes.
fn decode_item(buf: &mut &[u8]) -> Result<Item, alloy_rlp::Error> {
    let header = Header::decode(buf)?;
    if buf.len() < header.payload_length {
        return Err(alloy_rlp::Error::InputTooShort);
    }
    let (payload, rest) = buf.split_at(header.payload_length);
    *buf = rest;
    if !header.list {
        return Ok(Item::Bytes(payload.to_vec()));
    }
    let mut payload = payload;
    let mut items = Vec::new();
    while !payload.is_empty() {
        items.push(decode_item(&mut payload)?);
    }
    Ok(Item::List(items))
}

fn decode_exact(mut buf: &[u8]) -> Result<Item, alloy_rlp::Error> {
    let item = decode_item(&mut buf)?;
    if !buf.is_empty() {
        return Err(alloy_rlp::Error::UnexpectedLength);
    }
    Ok(item)
}

fn encode_item(item: &Item, out: &mut Vec<u8>) {
    match item {
        Item::Bytes(b) => alloy_rlp::Encodable::encode(&b.as_slice(), out),
        Item::List(items) => {
            let mut payload = Vec::new();
            items.iter().for_each(|i| encode_item(i, &mut payload));
            Header {
                list: true,
                payload_length: payload.len(),
            }
            .encode(out);
            out.extend_from_slice(&payload);
        }
    }
}

/// The fixture's JSON input as an item: strings are bytes, integers big-endian minimal,
/// `#<decimal>` big integers.
fn expected_item(v: &Value) -> Item {
    match v {
        Value::String(s) => match s.strip_prefix('#') {
            Some(dec) => Item::Bytes(decimal_to_be_bytes(dec)),
            None => Item::Bytes(s.as_bytes().to_vec()),
        },
        Value::Number(n) => {
            let n = n.as_u64().unwrap();
            Item::Bytes(
                n.to_be_bytes()
                    .iter()
                    .copied()
                    .skip_while(|b| *b == 0)
                    .collect(),
            )
        }
        Value::Array(items) => Item::List(items.iter().map(expected_item).collect()),
        other => panic!("unexpected rlp test input {other}"),
    }
}

/// Arbitrary-precision decimal to minimal big-endian bytes (the vectors go past 2^256).
fn decimal_to_be_bytes(dec: &str) -> Vec<u8> {
    let mut le: Vec<u8> = Vec::new();
    for digit in dec.bytes().map(|d| u32::from(d - b'0')) {
        let mut carry = digit;
        for byte in le.iter_mut() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            le.push(carry as u8);
            carry >>= 8;
        }
    }
    le.reverse();
    le
}

#[test]
fn rlp_tests() {
    let Some(dir) = fixtures("RLPTests") else {
        return;
    };
    let (mut passed, mut failed) = (0, Vec::new());
    let files = [
        "rlptest.json",
        "invalidRLPTest.json",
        "RandomRLPTests/example.json",
    ];
    for file in files {
        for (name, case) in load(&dir.join(file)) {
            let out = alloy_primitives::hex::decode(
                case["out"].as_str().unwrap().trim_start_matches("0x"),
            )
            .unwrap();
            let decoded = decode_exact(&out);
            let ok = match &case["in"] {
                Value::String(s) if s == "INVALID" => decoded.is_err(),
                Value::String(s) if s == "VALID" => decoded.is_ok_and(|item| {
                    let mut re = Vec::new();
                    encode_item(&item, &mut re);
                    re == out
                }),
                input => decoded.is_ok_and(|item| {
                    let mut re = Vec::new();
                    encode_item(&item, &mut re);
                    item == expected_item(input) && re == out
                }),
            };
            if ok {
                passed += 1
            } else {
                failed.push(format!("{file}/{name}"))
            }
        }
    }
    eprintln!(
        "RLPTests: {passed} passed, {} failed, 0 skipped",
        failed.len()
    );
    assert!(failed.is_empty(), "failed: {failed:?}");
    assert!(passed > 50, "expected the RLP vectors to run, ran {passed}");
}

#[test]
fn secure_trie_roots_match_empty_value_semantics() {
    // An empty value deletes, as in Ethereum's trie.
    let mut trie = SparseTrie::new();
    let k = Nibbles::unpack(b"dog");
    trie.insert(&k, b"puppy".to_vec(), &mut NoNodes).unwrap();
    trie.insert(&k, Vec::new(), &mut NoNodes).unwrap();
    assert_eq!(trie.root(), cairn_trie::EMPTY_ROOT_HASH);
    let _ = B256Map::<()>::default();
}
