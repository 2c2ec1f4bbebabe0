//! The sparse trie: an arena of nodes, some decoded, some still only hashes.

use crate::{
    error::{Result, TrieError},
    node::{self, ChildRef, DecodeError, DecodedNode},
    provider::NodeProvider,
};
use alloc::vec::Vec;
use alloy_primitives::{B256, Bytes, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles, nodes::RlpNode};

type NodeId = u32;
const NONE: NodeId = NodeId::MAX;

#[derive(Debug, Clone)]
enum Kind {
    /// The empty trie; only ever the root.
    Empty,
    /// A node known only by its hash, decoded on first use.
    Hash(B256),
    Leaf {
        key: Nibbles,
        value: Vec<u8>,
    },
    Extension {
        key: Nibbles,
        child: NodeId,
    },
    Branch {
        children: [NodeId; 16],
        value: Option<Vec<u8>>,
    },
}

#[derive(Debug, Clone)]
struct Slot {
    kind: Kind,
    /// The node's reference as its parent embeds it (inline encoding or hash); `None` when dirty.
    cache: Option<RlpNode>,
}

/// A Merkle Patricia trie whose nodes are decoded lazily from a [`NodeProvider`].
///
/// Start from a root hash ([`SparseTrie::from_root`]) and read or write keys: every node on
/// the way is fetched by hash and decoded on first use. A node the provider lacks is a
/// [`TrieError::MissingNode`] naming its hash and path, and the trie is left unchanged, so the
/// caller can supply the node and retry. Writes restructure the trie exactly as Ethereum's MPT
/// requires (branches with one entry collapse, extensions merge), and [`SparseTrie::root`]
/// rehashes only the nodes that changed.
///
/// Keys are nibble paths of at most 64 nibbles; values are the raw leaf payloads (for the
/// state trie, the RLP of the account). An empty value means "absent".
#[derive(Debug, Clone)]
pub struct SparseTrie {
    nodes: Vec<Slot>,
    root: NodeId,
    buf: Vec<u8>,
    /// Encodings of hash-referenced nodes produced by hashing, when recording.
    written: Option<Vec<Bytes>>,
}

impl Default for SparseTrie {
    fn default() -> Self {
        Self::new()
    }
}

impl SparseTrie {
    /// An empty trie.
    pub fn new() -> Self {
        Self {
            nodes: alloc::vec![Slot {
                kind: Kind::Empty,
                cache: None
            }],
            root: 0,
            buf: Vec::new(),
            written: None,
        }
    }

    /// A trie known only by its root hash.
    pub fn from_root(root: B256) -> Self {
        if root == EMPTY_ROOT_HASH {
            return Self::new();
        }
        Self {
            nodes: alloc::vec![Slot {
                kind: Kind::Hash(root),
                cache: Some(RlpNode::word_rlp(&root))
            }],
            root: 0,
            buf: Vec::new(),
            written: None,
        }
    }

    /// From now on, remember the encoding of every node that [`SparseTrie::root`] hashes
    /// (new or changed nodes referenced by hash, and the root), so a node store can persist
    /// them; see [`SparseTrie::take_written`].
    pub fn record_written(&mut self) {
        self.written.get_or_insert_with(Vec::new);
    }

    /// The node encodings recorded since the last call (see [`SparseTrie::record_written`]).
    pub fn take_written(&mut self) -> Vec<Bytes> {
        self.written
            .as_mut()
            .map(core::mem::take)
            .unwrap_or_default()
    }

    /// Number of nodes held in memory (decoded or not).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    fn push(&mut self, kind: Kind) -> NodeId {
        self.nodes.push(Slot { kind, cache: None });
        (self.nodes.len() - 1) as NodeId
    }

    /// Decodes the node behind a hash reference in place.
    fn resolve(
        &mut self,
        id: NodeId,
        path: Nibbles,
        provider: &mut impl NodeProvider,
    ) -> Result<()> {
        let Kind::Hash(hash) = self.nodes[id as usize].kind else {
            return Ok(());
        };
        let bytes = provider
            .trie_node(&hash)
            .map_err(|source| TrieError::Provider {
                hash,
                source: source.into(),
            })?
            .ok_or(TrieError::MissingNode { hash, path })?;
        let kind = self.decode(&bytes, path, Some(hash))?;
        if matches!(kind, Kind::Empty) {
            return Err(TrieError::InvalidNode {
                path,
                hash: Some(hash),
                reason: "empty node referenced by hash",
            });
        }
        self.nodes[id as usize].kind = kind;
        Ok(())
    }

    /// Decodes `bytes` into a node kind, pushing slots for its children.
    fn decode(&mut self, bytes: &[u8], path: Nibbles, hash: Option<B256>) -> Result<Kind> {
        let decoded = node::decode_node(bytes).map_err(|e| match e {
            DecodeError::Rlp(source) => TrieError::Rlp { path, source },
            DecodeError::Invalid(reason) => TrieError::InvalidNode { path, hash, reason },
        })?;
        Ok(match decoded {
            DecodedNode::Empty => Kind::Empty,
            DecodedNode::Leaf { key, value } => {
                if path.len() + key.len() > 64 {
                    return Err(TrieError::InvalidNode {
                        path,
                        hash,
                        reason: "leaf path longer than 64 nibbles",
                    });
                }
                Kind::Leaf {
                    key,
                    value: value.to_vec(),
                }
            }
            DecodedNode::Extension { key, child } => {
                if path.len() + key.len() >= 64 {
                    return Err(TrieError::InvalidNode {
                        path,
                        hash,
                        reason: "extension path too long",
                    });
                }
                let child = self.child_slot(child, path.join(&key))?;
                Kind::Extension { key, child }
            }
            DecodedNode::Branch { children, value } => {
                let mut ids = [NONE; 16];
                for (nibble, child) in children.into_iter().enumerate() {
                    if child != ChildRef::Empty {
                        let mut child_path = path;
                        if child_path.len() >= 64 {
                            return Err(TrieError::InvalidNode {
                                path,
                                hash,
                                reason: "branch below 64 nibbles",
                            });
                        }
                        child_path.push(nibble as u8);
                        ids[nibble] = self.child_slot(child, child_path)?;
                    }
                }
                Kind::Branch {
                    children: ids,
                    value: value.map(<[u8]>::to_vec),
                }
            }
        })
    }

    fn child_slot(&mut self, child: ChildRef<'_>, path: Nibbles) -> Result<NodeId> {
        match child {
            ChildRef::Empty => Ok(NONE),
            ChildRef::Hash(hash) => {
                self.nodes.push(Slot {
                    kind: Kind::Hash(hash),
                    cache: Some(RlpNode::word_rlp(&hash)),
                });
                Ok((self.nodes.len() - 1) as NodeId)
            }
            ChildRef::Inline(bytes) => {
                let kind = self.decode(bytes, path, None)?;
                if matches!(kind, Kind::Empty) {
                    return Err(TrieError::InvalidNode {
                        path,
                        hash: None,
                        reason: "embedded empty node",
                    });
                }
                self.nodes.push(Slot {
                    kind,
                    cache: RlpNode::from_raw(bytes),
                });
                Ok((self.nodes.len() - 1) as NodeId)
            }
        }
    }

    /// Walks the path of `key`, decoding nodes on the way, and returns the id and kind of the
    /// node where the walk ended: `Some(id)` for the leaf or branch holding the key's value,
    /// `None` when the key is absent.
    fn walk(&mut self, key: &Nibbles, provider: &mut impl NodeProvider) -> Result<Option<NodeId>> {
        if key.len() > 64 {
            return Err(TrieError::KeyTooLong { len: key.len() });
        }
        let mut id = self.root;
        let mut pos = 0;
        loop {
            match &self.nodes[id as usize].kind {
                Kind::Empty => return Ok(None),
                Kind::Hash(_) => self.resolve(id, key.slice(..pos), provider)?,
                Kind::Leaf { key: k, .. } => {
                    return Ok((key.len() - pos == k.len() && key.slice(pos..) == *k).then_some(id));
                }
                Kind::Extension { key: k, child } => {
                    if key.len() - pos < k.len() || key.slice(pos..pos + k.len()) != *k {
                        return Ok(None);
                    }
                    pos += k.len();
                    id = *child;
                }
                Kind::Branch { children, value } => {
                    if pos == key.len() {
                        return Ok(value.is_some().then_some(id));
                    }
                    let child = children[key.get_unchecked(pos) as usize];
                    if child == NONE {
                        return Ok(None);
                    }
                    pos += 1;
                    id = child;
                }
            }
        }
    }

    /// Reads the value at `key`: `Some(value)`, or `None` when the trie proves it absent.
    ///
    /// # Errors
    /// [`TrieError::MissingNode`] when a node on the path is not available.
    pub fn get(
        &mut self,
        key: &Nibbles,
        provider: &mut impl NodeProvider,
    ) -> Result<Option<&[u8]>> {
        let Some(id) = self.walk(key, provider)? else {
            return Ok(None);
        };
        Ok(match &self.nodes[id as usize].kind {
            Kind::Leaf { value, .. } => Some(value.as_slice()),
            Kind::Branch { value, .. } => value.as_deref(),
            _ => None,
        })
    }

    /// Inserts or updates `key`. An empty `value` deletes the key.
    ///
    /// # Errors
    /// [`TrieError::MissingNode`] when a node on the path is not available; the trie is then
    /// unchanged.
    pub fn insert(
        &mut self,
        key: &Nibbles,
        value: Vec<u8>,
        provider: &mut impl NodeProvider,
    ) -> Result<()> {
        if value.is_empty() {
            return self.remove(key, provider).map(drop);
        }
        self.walk(key, provider)?;
        self.root = self.insert_at(self.root, key, 0, value);
        Ok(())
    }

    /// Inserts below `id`, whose path (`key[..pos]`) has been walked and decoded already.
    fn insert_at(&mut self, id: NodeId, key: &Nibbles, pos: usize, value: Vec<u8>) -> NodeId {
        let rest = key.slice(pos..);
        let slot = &mut self.nodes[id as usize];
        slot.cache = None;
        match &mut slot.kind {
            Kind::Empty => slot.kind = Kind::Leaf { key: rest, value },
            Kind::Hash(_) => unreachable!("insert path is decoded by walk() before mutation"),
            Kind::Leaf { key: k, value: v } => {
                if *k == rest {
                    *v = value;
                } else {
                    let (k, v) = (*k, core::mem::take(v));
                    let c = k.common_prefix_length(&rest);
                    let mut children = [NONE; 16];
                    let mut bvalue = None;
                    if k.len() == c {
                        bvalue = Some(v);
                    } else {
                        children[k.get_unchecked(c) as usize] = self.push(Kind::Leaf {
                            key: k.slice(c + 1..),
                            value: v,
                        });
                    }
                    self.nodes[id as usize].kind = self.split(c, rest, value, children, bvalue);
                }
            }
            Kind::Extension { key: k, child } => {
                let (k, child) = (*k, *child);
                let c = k.common_prefix_length(&rest);
                if c == k.len() {
                    let new_child = self.insert_at(child, key, pos + c, value);
                    self.nodes[id as usize].kind = Kind::Extension {
                        key: k,
                        child: new_child,
                    };
                } else {
                    let mut children = [NONE; 16];
                    let below = k.slice(c + 1..);
                    children[k.get_unchecked(c) as usize] = if below.is_empty() {
                        child
                    } else {
                        self.push(Kind::Extension { key: below, child })
                    };
                    self.nodes[id as usize].kind = self.split(c, rest, value, children, None);
                }
            }
            Kind::Branch {
                children,
                value: bvalue,
            } => {
                if rest.is_empty() {
                    *bvalue = Some(value);
                } else {
                    let nibble = rest.get_unchecked(0) as usize;
                    let child = children[nibble];
                    let new_child = if child == NONE {
                        self.push(Kind::Leaf {
                            key: rest.slice(1..),
                            value,
                        })
                    } else {
                        self.insert_at(child, key, pos + 1, value)
                    };
                    if let Kind::Branch { children, .. } = &mut self.nodes[id as usize].kind {
                        children[nibble] = new_child;
                    }
                }
            }
        }
        id
    }

    /// The node replacing a leaf or extension that shares `c` nibbles with `rest`: a branch
    /// holding the existing entry (already in `children`/`bvalue`) and the new one, behind an
    /// extension for the shared prefix when there is one.
    fn split(
        &mut self,
        c: usize,
        rest: Nibbles,
        value: Vec<u8>,
        mut children: [NodeId; 16],
        mut bvalue: Option<Vec<u8>>,
    ) -> Kind {
        if rest.len() == c {
            bvalue = Some(value);
        } else {
            children[rest.get_unchecked(c) as usize] = self.push(Kind::Leaf {
                key: rest.slice(c + 1..),
                value,
            });
        }
        let branch = Kind::Branch {
            children,
            value: bvalue,
        };
        if c == 0 {
            branch
        } else {
            let child = self.push(branch);
            Kind::Extension {
                key: rest.slice(..c),
                child,
            }
        }
    }

    /// Removes `key`. Returns whether it was present.
    ///
    /// # Errors
    /// [`TrieError::MissingNode`] when a node on the path, or the sibling a collapsing branch
    /// merges with, is not available; the trie is then unchanged.
    pub fn remove(&mut self, key: &Nibbles, provider: &mut impl NodeProvider) -> Result<bool> {
        if self.walk(key, provider)?.is_none() {
            return Ok(false);
        }
        self.prepare_collapse(key, provider)?;
        self.root = match self.remove_at(self.root, key, 0) {
            Some(id) => id,
            None => self.push(Kind::Empty),
        };
        Ok(true)
    }

    /// Decodes the sibling a branch on the path of `key` will merge with when `key` goes.
    fn prepare_collapse(&mut self, key: &Nibbles, provider: &mut impl NodeProvider) -> Result<()> {
        // Find the deepest branch on the path and the path position where it sits.
        let mut id = self.root;
        let mut pos = 0;
        let mut deepest: Option<(NodeId, usize)> = None;
        loop {
            match &self.nodes[id as usize].kind {
                Kind::Extension { key: k, child } => {
                    pos += k.len();
                    id = *child;
                }
                Kind::Branch { children, .. } => {
                    deepest = Some((id, pos));
                    if pos == key.len() {
                        break;
                    }
                    id = children[key.get_unchecked(pos) as usize];
                    pos += 1;
                }
                _ => break,
            }
        }
        let Some((branch, at)) = deepest else {
            return Ok(());
        };
        let Kind::Branch { children, value } = &self.nodes[branch as usize].kind else {
            return Ok(());
        };
        // Entries left in the branch once the key is gone.
        let removing_value = at == key.len();
        let mut left = children
            .iter()
            .enumerate()
            .filter(|(nibble, child)| {
                **child != NONE && (removing_value || *nibble != key.get_unchecked(at) as usize)
            })
            .map(|(nibble, child)| (nibble, *child));
        let remaining_value = value.is_some() && !removing_value;
        // A deleted child that is itself a branch (or an extension to one) does not vanish.
        if !removing_value {
            let child = children[key.get_unchecked(at) as usize];
            if !matches!(self.nodes[child as usize].kind, Kind::Leaf { .. }) {
                return Ok(());
            }
        }
        let (Some((nibble, sibling)), None, false) = (left.next(), left.next(), remaining_value)
        else {
            return Ok(());
        };
        let mut path = key.slice(..at);
        path.push(nibble as u8);
        self.resolve(sibling, path, provider)
    }

    /// Removes below `id`; returns the replacement node, or `None` if the subtree vanished.
    fn remove_at(&mut self, id: NodeId, key: &Nibbles, pos: usize) -> Option<NodeId> {
        self.nodes[id as usize].cache = None;
        match self.nodes[id as usize].kind.clone_shallow() {
            Shallow::Leaf => None,
            Shallow::Extension(k, child) => {
                let new_child = self.remove_at(child, key, pos + k.len())?;
                Some(self.merge_extension(id, k, new_child))
            }
            Shallow::Branch => {
                let Kind::Branch { children, value } = &mut self.nodes[id as usize].kind else {
                    return Some(id);
                };
                if pos == key.len() {
                    *value = None;
                } else {
                    let nibble = key.get_unchecked(pos) as usize;
                    let child = children[nibble];
                    let replacement = self.remove_at(child, key, pos + 1).unwrap_or(NONE);
                    if let Kind::Branch { children, .. } = &mut self.nodes[id as usize].kind {
                        children[nibble] = replacement;
                    }
                }
                Some(self.collapse_branch(id))
            }
            Shallow::Other => Some(id),
        }
    }

    /// Replaces a branch left with a single entry by the equivalent leaf or extension.
    fn collapse_branch(&mut self, id: NodeId) -> NodeId {
        let Kind::Branch { children, value } = &mut self.nodes[id as usize].kind else {
            return id;
        };
        let mut occupied = children.iter().enumerate().filter(|(_, c)| **c != NONE);
        let only = match (occupied.next(), occupied.next(), value.is_some()) {
            (None, _, true) => {
                let value = value.take().unwrap_or_default();
                self.nodes[id as usize].kind = Kind::Leaf {
                    key: Nibbles::new(),
                    value,
                };
                return id;
            }
            (Some((nibble, child)), None, false) => (nibble as u8, *child),
            _ => return id,
        };
        let (nibble, child) = only;
        let prefix = Nibbles::from_nibbles_unchecked([nibble]);
        let kind = match &mut self.nodes[child as usize].kind {
            Kind::Leaf { key, value } => Kind::Leaf {
                key: prefix.join(key),
                value: core::mem::take(value),
            },
            Kind::Extension { key, child } => Kind::Extension {
                key: prefix.join(key),
                child: *child,
            },
            // A branch (or, only in a trie the caller failed to prepare, a hash).
            _ => Kind::Extension { key: prefix, child },
        };
        self.nodes[id as usize].kind = kind;
        id
    }

    /// An extension `k` above `child` after `child` changed: merge with a leaf or extension.
    fn merge_extension(&mut self, id: NodeId, k: Nibbles, child: NodeId) -> NodeId {
        let kind = match &mut self.nodes[child as usize].kind {
            Kind::Leaf { key, value } => Kind::Leaf {
                key: k.join(key),
                value: core::mem::take(value),
            },
            Kind::Extension { key, child } => Kind::Extension {
                key: k.join(key),
                child: *child,
            },
            _ => Kind::Extension { key: k, child },
        };
        self.nodes[id as usize].kind = kind;
        id
    }

    /// The reference (inline encoding or hash) of a node, from cache or freshly encoded.
    fn node_ref(&mut self, id: NodeId) -> RlpNode {
        if let Some(cached) = &self.nodes[id as usize].cache {
            return cached.clone();
        }
        let rlp = self.encode(id);
        if let Some(written) = &mut self.written
            && rlp.is_hash()
        {
            written.push(Bytes::copy_from_slice(&self.buf));
        }
        self.nodes[id as usize].cache = Some(rlp.clone());
        rlp
    }

    /// Encodes a node into `self.buf` (children first) and returns its reference.
    fn encode(&mut self, id: NodeId) -> RlpNode {
        let mut refs: [Option<RlpNode>; 16] = Default::default();
        let mut ext_child = None;
        match &self.nodes[id as usize].kind {
            Kind::Extension { child, .. } => {
                let child = *child;
                ext_child = Some(self.node_ref(child));
            }
            Kind::Branch { children, .. } => {
                let children = *children;
                for (slot, child) in refs.iter_mut().zip(children) {
                    if child != NONE {
                        *slot = Some(self.node_ref(child));
                    }
                }
            }
            _ => {}
        }
        let Self { nodes, buf, .. } = self;
        match (&nodes[id as usize].kind, ext_child) {
            (Kind::Leaf { key, value }, _) => node::encode_leaf(key, value, buf),
            (Kind::Extension { key, .. }, Some(child)) => node::encode_extension(key, &child, buf),
            (Kind::Branch { value, .. }, _) => node::encode_branch(&refs, value.as_deref(), buf),
            (Kind::Hash(hash), _) => RlpNode::word_rlp(hash),
            _ => {
                buf.clear();
                buf.push(alloy_rlp::EMPTY_STRING_CODE);
                RlpNode::from_rlp(buf)
            }
        }
    }

    /// The root hash. Only nodes changed since the last call are rehashed.
    pub fn root(&mut self) -> B256 {
        match &self.nodes[self.root as usize].kind {
            Kind::Empty => EMPTY_ROOT_HASH,
            Kind::Hash(hash) => *hash,
            _ => {
                let rlp = self.node_ref(self.root);
                rlp.as_hash().unwrap_or_else(|| {
                    // A root shorter than 32 bytes is still stored by its hash.
                    if let Some(written) = &mut self.written {
                        written.push(Bytes::copy_from_slice(&rlp));
                    }
                    keccak256(rlp.as_slice())
                })
            }
        }
    }

    /// The encodings of the nodes on the path of `key`, root first: a proof of its value or of
    /// its absence, as `eth_getProof` returns it.
    ///
    /// # Errors
    /// [`TrieError::MissingNode`] when a node on the path is not available.
    pub fn proof(&mut self, key: &Nibbles, provider: &mut impl NodeProvider) -> Result<Vec<Bytes>> {
        self.walk(key, provider)?;
        let mut out = Vec::new();
        let mut id = self.root;
        let mut pos = 0;
        loop {
            let is_root = id == self.root;
            let rlp = self.node_ref(id);
            if matches!(self.nodes[id as usize].kind, Kind::Empty) {
                break;
            }
            if is_root || rlp.is_hash() {
                self.encode(id);
                out.push(Bytes::copy_from_slice(&self.buf));
            }
            match &self.nodes[id as usize].kind {
                Kind::Extension { key: k, child }
                    if key.len() - pos >= k.len() && key.slice(pos..pos + k.len()) == *k =>
                {
                    pos += k.len();
                    id = *child;
                }
                Kind::Branch { children, .. } if pos < key.len() => {
                    let child = children[key.get_unchecked(pos) as usize];
                    if child == NONE {
                        break;
                    }
                    pos += 1;
                    id = child;
                }
                _ => break,
            }
        }
        Ok(out)
    }

    /// Every key and value in the trie, in key order, decoding the whole trie.
    ///
    /// # Errors
    /// [`TrieError::MissingNode`] for any node the provider lacks.
    pub fn entries(&mut self, provider: &mut impl NodeProvider) -> Result<Vec<(Nibbles, Vec<u8>)>> {
        let mut out = Vec::new();
        let mut stack = alloc::vec![(self.root, Nibbles::new())];
        while let Some((id, path)) = stack.pop() {
            self.resolve(id, path, provider)?;
            match &self.nodes[id as usize].kind {
                Kind::Empty | Kind::Hash(_) => {}
                Kind::Leaf { key, value } => out.push((path.join(key), value.clone())),
                Kind::Extension { key, child } => stack.push((*child, path.join(key))),
                Kind::Branch { children, value } => {
                    if let Some(value) = value {
                        out.push((path, value.clone()));
                    }
                    for (nibble, child) in children.iter().enumerate().rev() {
                        if *child != NONE {
                            let mut p = path;
                            p.push(nibble as u8);
                            stack.push((*child, p));
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

/// The part of a node `remove_at` needs before it recurses.
enum Shallow {
    Leaf,
    Extension(Nibbles, NodeId),
    Branch,
    Other,
}

impl Kind {
    fn clone_shallow(&self) -> Shallow {
        match self {
            Self::Leaf { .. } => Shallow::Leaf,
            Self::Extension { key, child } => Shallow::Extension(*key, *child),
            Self::Branch { .. } => Shallow::Branch,
            Self::Empty | Self::Hash(_) => Shallow::Other,
        }
    }
}
