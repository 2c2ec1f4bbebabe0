#!/usr/bin/env python3
"""Independent QMTree test vectors, from the formulas in the crate docs only.

Writes JSON to stdout; `tests/it/vectors.rs` compares the crate with it:

    python3 crates/qmtree/scripts/vectors.py > crates/qmtree/tests/it/vectors.json

Needs pycryptodome (`pip install pycryptodome`) for Keccak-256. Nothing here
is taken from the Rust code: leaves, nodes, roots and proofs are computed
from their definitions (a recursive padded tree), and the proofs are
checked by the documented verification procedures.
"""

import json
import sys

from Crypto.Hash import keccak


def keccak256(data: bytes) -> bytes:
    h = keccak.new(digest_bits=256)
    h.update(data)
    return h.digest()


ZERO = bytes(32)


def leaf_hash(pre: bytes, change: bytes, transition: bytes, previous: bytes) -> bytes:
    # leaf = keccak256(0x00 ‖ preStateHash ‖ stateChangeHash ‖ transitionHash ‖ previousLeafHash)
    return keccak256(b"\x00" + pre + change + transition + previous)


def node(left: bytes, right: bytes) -> bytes:
    # node = keccak256(0x01 ‖ left ‖ right)
    return keccak256(b"\x01" + left + right)


# E[0] = 32 zero bytes, E[h + 1] = node(E[h], E[h]).
EMPTY = [ZERO]
for _ in range(64):
    EMPTY.append(node(EMPTY[-1], EMPTY[-1]))


def depth(n: int) -> int:
    # d = ceil(log2 n), 0 for n <= 1.
    return 0 if n <= 1 else (n - 1).bit_length()


def node_at(leaves, h, i):
    """Node (h, i) of the perfect tree over `leaves` padded with empty slots."""
    if i << h >= len(leaves):
        return EMPTY[h]
    if h == 0:
        return leaves[i]
    return node(node_at(leaves, h - 1, 2 * i), node_at(leaves, h - 1, 2 * i + 1))


def root(leaves) -> bytes:
    # The top node of the depth-d tree; E[0] for the empty tree.
    if not leaves:
        return EMPTY[0]
    return node_at(leaves, depth(len(leaves)), 0)


def component(tag: bytes, i: int) -> bytes:
    return keccak256(tag + i.to_bytes(8, "big"))


def chain(n: int):
    """Leaf i has components keccak("pre" ‖ i), keccak("chg" ‖ i), keccak("trn" ‖ i)."""
    leaves, previous = [], ZERO
    for i in range(n):
        previous = leaf_hash(component(b"pre", i), component(b"chg", i), component(b"trn", i), previous)
        leaves.append(previous)
    return leaves


def inclusion_proof(leaves, t: int) -> bytes:
    # index (ceil(d/8) bytes BE) ‖ leafHash ‖ d siblings, bottom-up, empty ones included.
    d = depth(len(leaves))
    out = t.to_bytes((d + 7) // 8, "big") + leaves[t]
    for h in range(d):
        out += node_at(leaves, h, (t >> h) ^ 1)
    return out


def verify_inclusion(proof: bytes, expected_root: bytes) -> bool:
    body = len(proof) - 32
    d, k = body // 32, body % 32
    if body < 0 or d > 64 or k != (d + 7) // 8:
        return False
    t = int.from_bytes(proof[:k], "big")
    if t >> d:
        return False
    x = proof[k : k + 32]
    for h in range(d):
        s = proof[k + 32 + 32 * h : k + 64 + 32 * h]
        x = node(s, x) if (t >> h) & 1 else node(x, s)
    return x == expected_root


def range_proof(new_leaves, m: int) -> bytes:
    n = len(new_leaves)
    nodes = []
    if 0 < m < n:
        nodes += [node_at(new_leaves, h, (m >> h) - 1) for h in range(64) if (m >> h) & 1]
        nodes.append(new_leaves[m])
        nodes += [
            node_at(new_leaves, h, (m >> h) + 1)
            for h in range(depth(n))
            if not (m >> h) & 1 and ((m >> h) + 1) << h < n
        ]
    return b"\x02" + m.to_bytes(8, "big") + n.to_bytes(8, "big") + b"".join(nodes)


def verify_range(proof: bytes, old_root: bytes, new_root: bytes) -> bool:
    m = int.from_bytes(proof[1:9], "big")
    n = int.from_bytes(proof[9:17], "big")
    nodes = [proof[17 + 32 * i : 49 + 32 * i] for i in range((len(proof) - 17) // 32)]
    if m == 0:
        return old_root == EMPTY[0]
    if m == n:
        return old_root == new_root
    bits = [h for h in range(64) if (m >> h) & 1]
    frontier = dict(zip(bits, nodes))
    rest = nodes[len(bits) :]
    # Old root: from E[z] (z the lowest set bit) up to d(m).
    if m & (m - 1) == 0:
        old = frontier[bits[0]]
    else:
        old = EMPTY[bits[0]]
        for h in range(bits[0], depth(m)):
            old = node(frontier[h], old) if (m >> h) & 1 else node(old, EMPTY[h])
    x, right = rest[0], iter(rest[1:])
    for h in range(depth(n)):
        if (m >> h) & 1:
            x = node(frontier[h], x)
        elif ((m >> h) + 1) << h < n:
            x = node(x, next(right))
        else:
            x = node(x, EMPTY[h])
    return old == old_root and x == new_root


def main():
    sizes = [0, 1, 2, 3, 4, 5, 7, 8, 9, 17, 33, 40, 100]
    leaves = chain(max(sizes))
    roots = [{"leaves": n, "root": root(leaves[:n]).hex()} for n in sizes]
    # One block per entry: block b ends at blocks[b] leaves.
    blocks = [1, 5, 8, 9, 17, 33, 40]
    inclusion = []
    for tx, block in [(0, 0), (4, 1), (5, 3), (7, 2), (16, 4), (32, 5), (39, 6), (0, 6)]:
        tree = leaves[: blocks[block]]
        p = inclusion_proof(tree, tx)
        assert verify_inclusion(p, root(tree)), (tx, block)
        inclusion.append({"txNum": tx, "block": block, "proof": p.hex()})
    ranges = []
    for a, b in [(0, 6), (1, 4), (2, 5), (3, 3), (4, 6)]:
        old, new = leaves[: blocks[a]], leaves[: blocks[b]]
        p = range_proof(new, len(old))
        assert verify_range(p, root(old), root(new)), (a, b)
        ranges.append({"from": a, "to": b, "proof": p.hex()})
    json.dump(
        {
            "emptySubtree": [e.hex() for e in EMPTY[:4]] + [EMPTY[64].hex()],
            "roots": roots,
            "blocks": blocks,
            "inclusion": inclusion,
            "range": ranges,
        },
        sys.stdout,
        indent=1,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
