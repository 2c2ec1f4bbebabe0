//! Parameter and response types of the API.

use alloy_primitives::{B256, Bytes};
use cairn_exec::commit::{CallProof, CallResult, LeafKind};
use cairn_qmtree::{LeafComponents, Proof, quantity};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use serde_json::Value;
use std::fmt;

/// A quantity parameter (a txNum): a hex quantity (`"0x1a"`) or a JSON number; written as a
/// hex quantity.
///
/// ```
/// use cairn_rpc::Quantity;
///
/// assert_eq!(serde_json::from_str::<Quantity>(r#""0x1a""#)?, Quantity(26));
/// assert_eq!(serde_json::from_str::<Quantity>("26")?, Quantity(26));
/// assert!(serde_json::from_str::<Quantity>(r#""26""#).is_err());
/// assert_eq!(serde_json::to_string(&Quantity(26))?, r#""0x1a""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Quantity(#[serde(with = "quantity")] pub u64);

impl From<u64> for Quantity {
    fn from(v: u64) -> Self {
        Self(v)
    }
}

impl From<Quantity> for u64 {
    fn from(q: Quantity) -> Self {
        q.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A block parameter: a hex quantity (`"0x1a"`), `"latest"` or `"earliest"`.
///
/// The tags `"pending"`, `"safe"` and `"finalized"` mean nothing to a node that only
/// replays a chain, so they are refused with an invalid-params error that says so.
///
/// ```
/// use cairn_rpc::BlockParam;
///
/// let b: BlockParam = serde_json::from_str(r#""0x1a""#)?;
/// assert_eq!(b, BlockParam::Number(26));
/// assert_eq!(serde_json::to_string(&BlockParam::Latest)?, r#""latest""#);
/// assert!(serde_json::from_str::<BlockParam>(r#""pending""#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockParam {
    /// A block number.
    Number(u64),
    /// The newest imported block.
    #[default]
    Latest,
    /// The first block the node holds (its genesis).
    Earliest,
}

impl From<u64> for BlockParam {
    fn from(number: u64) -> Self {
        Self::Number(number)
    }
}

impl fmt::Display for BlockParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n:#x}"),
            Self::Latest => f.write_str("latest"),
            Self::Earliest => f.write_str("earliest"),
        }
    }
}

impl std::str::FromStr for BlockParam {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "latest" => Ok(Self::Latest),
            "earliest" => Ok(Self::Earliest),
            "pending" | "safe" | "finalized" => Err(format!(
                "block tag {s:?} is not supported: give a hex block number, \"latest\" or \"earliest\""
            )),
            _ => quantity::parse(s).map(Self::Number).ok_or_else(|| {
                format!("{s:?} is not a block: give a hex block number (0x..), \"latest\" or \"earliest\"")
            }),
        }
    }
}

impl Serialize for BlockParam {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BlockParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => s.parse().map_err(D::Error::custom),
            other => Err(D::Error::custom(format!(
                "{other} is not a block: give a hex block number (0x..), \"latest\" or \"earliest\""
            ))),
        }
    }
}

/// `qm_getRoot`: a block's QMTree root and where its leaves sit. Numbers are hex quantities
/// in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RootResponse {
    /// The block.
    #[serde(with = "quantity")]
    pub block_number: u64,
    /// Its hash.
    pub block_hash: B256,
    /// The QMTree root after the block.
    pub root: B256,
    /// txNum of the block's first leaf.
    #[serde(with = "quantity")]
    pub first_tx_num: u64,
    /// txNum of its closing leaf (its last).
    #[serde(with = "quantity")]
    pub last_tx_num: u64,
    /// Leaves in the tree at this block (`lastTxNum + 1`).
    #[serde(with = "quantity")]
    pub leaf_count: u64,
}

/// `qm_getLeaf`: a leaf's four components, its hash, and what it stands for.
///
/// In JSON the components sit at the top level next to `kind` (`"preBlock"`,
/// `"transaction"`, `"postBlock"`, `"withdrawals"`, `"blockEnd"`) and, for the first three,
/// `index`; numbers are hex quantities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeafResponse {
    /// The leaf's txNum.
    #[serde(with = "quantity")]
    pub tx_num: u64,
    /// The block it belongs to.
    #[serde(with = "quantity")]
    pub block_number: u64,
    /// That block's hash.
    pub block_hash: B256,
    /// What the leaf stands for.
    #[serde(flatten)]
    pub kind: LeafKind,
    /// `preStateHash`, `stateChangeHash`, `transitionHash`, `previousLeafHash`.
    #[serde(flatten)]
    pub components: LeafComponents,
    /// The leaf hash.
    pub leaf_hash: B256,
}

/// `qm_getProof`: an inclusion proof of a leaf against a block's root. Numbers are hex
/// quantities in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofResponse {
    /// The leaf's txNum.
    #[serde(with = "quantity")]
    pub tx_num: u64,
    /// The block whose root the proof is against.
    #[serde(with = "quantity")]
    pub block_number: u64,
    /// That root.
    pub root: B256,
    /// Leaves in the tree at that block.
    #[serde(with = "quantity")]
    pub leaf_count: u64,
    /// The leaf hash proven.
    pub leaf_hash: B256,
    /// The proof in its JSON form (`{"type": "inclusion", ..}`), ready for `qm_verifyProof`.
    pub proof: Proof,
    /// The same proof in its compact binary form (see `cairn-qmtree`).
    pub proof_bytes: Bytes,
}

/// What `qm_verifyProof` checks: a QMTree proof (JSON object or `0x` binary) or a
/// `qm_call` proof.
///
/// A JSON object with a `type` field is a QMTree proof; one without is a call proof; a
/// string is a binary QMTree proof. A binary proof is decoded by the method itself, so a
/// malformed one is reported as invalid rather than refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofInput {
    /// A QMTree proof in its JSON form.
    Tree(Proof),
    /// A QMTree proof in its binary form.
    Binary(Bytes),
    /// A `qm_call` proof.
    Call(Box<CallProof>),
}

impl From<Proof> for ProofInput {
    fn from(proof: Proof) -> Self {
        Self::Tree(proof)
    }
}

impl From<CallProof> for ProofInput {
    fn from(proof: CallProof) -> Self {
        Self::Call(Box::new(proof))
    }
}

impl Serialize for ProofInput {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Tree(p) => p.serialize(s),
            Self::Binary(b) => b.serialize(s),
            Self::Call(p) => p.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ProofInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => serde_json::from_value(Value::String(s))
                .map(Self::Binary)
                .map_err(|e| D::Error::custom(format!("binary proof: {e}"))),
            Value::Object(m) if m.contains_key("type") => serde_json::from_value(Value::Object(m))
                .map(Self::Tree)
                .map_err(|e| D::Error::custom(format!("qmtree proof: {e}"))),
            Value::Object(m) => serde_json::from_value(Value::Object(m))
                .map(|p| Self::Call(Box::new(p)))
                .map_err(|e| {
                    D::Error::custom(format!("call proof (an object without \"type\"): {e}"))
                }),
            other => Err(D::Error::custom(format!(
                "{} is not a proof: give a qmtree proof object, its 0x binary form, or a call proof",
                kind_of(&other)
            ))),
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The kind of proof `qm_verifyProof` was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ProofKind {
    /// A QMTree inclusion proof.
    Inclusion,
    /// A QMTree range (consistency) proof.
    Range,
    /// A `qm_call` proof.
    Call,
}

/// `qm_verifyProof`: the verdict. An invalid proof is a result with `valid: false` and a
/// `reason`, never a JSON-RPC error. Numbers are hex quantities in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    /// Whether the proof checks out against the root(s) given.
    pub valid: bool,
    /// What was checked.
    pub kind: ProofKind,
    /// Why it does not check out (absent when valid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Inclusion: the leaf's txNum.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "quantity::opt"
    )]
    pub tx_num: Option<u64>,
    /// Inclusion: the leaf hash proven.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_hash: Option<B256>,
    /// Range: leaves in the older tree.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "quantity::opt"
    )]
    pub old_size: Option<u64>,
    /// Range: leaves in the newer tree.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "quantity::opt"
    )]
    pub new_size: Option<u64>,
    /// Call: the block the call ran on.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "quantity::opt"
    )]
    pub block_number: Option<u64>,
    /// Call: the proven result (only when valid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<CallResult>,
}

impl VerifyResponse {
    pub(crate) fn new(kind: ProofKind, outcome: Result<(), String>) -> Self {
        Self {
            valid: outcome.is_ok(),
            kind,
            reason: outcome.err(),
            tx_num: None,
            leaf_hash: None,
            old_size: None,
            new_size: None,
            block_number: None,
            result: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_qmtree::InclusionProof;
    use serde_json::json;

    #[test]
    fn block_params() {
        let parse = |v: Value| serde_json::from_value::<BlockParam>(v);
        assert_eq!(parse(json!("0x0")).unwrap(), BlockParam::Number(0));
        assert_eq!(
            parse(json!("0xffffffffffffffff")).unwrap(),
            BlockParam::Number(u64::MAX)
        );
        assert_eq!(parse(json!("earliest")).unwrap(), BlockParam::Earliest);
        for bad in [
            json!("0x"),
            json!("12"),
            json!("0x1ffffffffffffffff"),
            json!("0xzz"),
            json!(5),
            json!(null),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
        let e = parse(json!("finalized")).unwrap_err().to_string();
        assert!(e.contains("not supported"), "{e}");
        for b in [
            BlockParam::Number(300),
            BlockParam::Latest,
            BlockParam::Earliest,
        ] {
            assert_eq!(parse(serde_json::to_value(b).unwrap()).unwrap(), b);
        }
    }

    #[test]
    fn proof_inputs_dispatch_on_shape() {
        let p = Proof::Inclusion(InclusionProof {
            tx_num: 1,
            leaf_hash: B256::repeat_byte(1),
            siblings: vec![B256::repeat_byte(2)],
        });
        let tree: ProofInput = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(tree, ProofInput::Tree(p.clone()));
        let bin: ProofInput = serde_json::from_value(json!(Bytes::from(p.to_bytes()))).unwrap();
        assert_eq!(bin, ProofInput::Binary(p.to_bytes().into()));
        let e = serde_json::from_value::<ProofInput>(json!({"type": "nope"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("qmtree proof"), "{e}");
        let e = serde_json::from_value::<ProofInput>(json!({"blockNumber": 1}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("call proof"), "{e}");
        assert!(serde_json::from_value::<ProofInput>(json!(7)).is_err());
        assert!(serde_json::from_value::<ProofInput>(json!("0xzz")).is_err());
    }

    #[test]
    fn leaf_response_json_is_flat() {
        let leaf = LeafResponse {
            tx_num: 3,
            block_number: 1,
            block_hash: B256::ZERO,
            kind: LeafKind::Transaction { index: 2 },
            components: LeafComponents::default(),
            leaf_hash: B256::ZERO,
        };
        let v = serde_json::to_value(&leaf).unwrap();
        assert_eq!(v["kind"], "transaction");
        assert_eq!(v["index"], "0x2");
        assert_eq!(
            (&v["txNum"], &v["blockNumber"]),
            (&"0x3".into(), &"0x1".into())
        );
        assert!(v["preStateHash"].is_string() && v["previousLeafHash"].is_string());
        assert_eq!(serde_json::from_value::<LeafResponse>(v).unwrap(), leaf);
    }
}
