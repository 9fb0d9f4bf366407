"""Merkle tree hashing, proofs and proof verification (RFC 6962 / RFC 9162 §2.1).

Pure functions with no database, so an offline verifier (a bag checker, a partner's script)
can import this module on its own:

- a leaf is ``SHA-256(0x00 || data)``, an interior node ``SHA-256(0x01 || left || right)``;
- the tree over ``n`` leaves splits at ``k``, the largest power of two below ``n``;
- ``inclusion_proof`` / ``consistency_proof`` build the proofs of RFC 9162 §2.1.3.1 and
  §2.1.4.1 from a *node source*: ``node(level, index)`` returns the hash of the perfect
  subtree of ``2**level`` leaves starting at leaf ``index * 2**level``. The database keeps
  exactly those nodes (app/custody/tree.py); ``MemoryTree`` keeps them in lists;
- ``verify_inclusion`` / ``verify_consistency`` follow RFC 9162 §2.1.3.2 and §2.1.4.2.

Hashes are 32-byte ``bytes`` here; callers choose hex or base64 at their edges.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) (RFC 9162 §2.1.1)

NodeSource = Callable[[int, int], bytes]  # (level, index) -> hash of a perfect subtree


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# -- the compact range (frontier): what an append needs -------------------------------------


def frontier_indexes(size: int) -> list[tuple[int, int]]:
    """(level, index) of the perfect subtrees that make up a tree of ``size`` leaves, left
    (largest) to right: one per set bit of ``size``."""
    out = []
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append((level, (size >> level) - 1))
    return out


def append_nodes(frontier: Sequence[bytes], size: int, leaf: bytes) -> list[tuple[int, int, bytes]]:
    """The nodes that appending ``leaf`` as leaf number ``size`` completes: (level, index,
    hash), the leaf itself first. ``frontier`` holds the hashes of ``frontier_indexes(size)``.
    O(log n): at most one node per level."""
    stack = list(frontier)
    made = [(0, size, leaf)]
    h, s, level = leaf, size, 0
    while s & 1:
        h = node_hash(stack.pop(), h)
        s >>= 1
        level += 1
        made.append((level, s, h))
    return made


def frontier_after(frontier: Sequence[bytes], size: int, leaf: bytes) -> list[bytes]:
    """The frontier of ``size + 1`` leaves, from the frontier of ``size``."""
    made = append_nodes(frontier, size, leaf)
    keep = len(frontier) - (len(made) - 1)
    return [*frontier[:keep], made[-1][2]]


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """MTH of the whole tree from its frontier (fold right to left)."""
    if not frontier:
        return EMPTY_ROOT
    h = frontier[-1]
    for left in reversed(frontier[:-1]):
        h = node_hash(left, h)
    return h


def root_of(leaves: Iterable[bytes]) -> bytes:
    """MTH of a list of leaf hashes in O(n) time and O(log n) memory (a full rebuild)."""
    frontier: list[bytes] = []
    for size, leaf in enumerate(leaves):
        frontier = frontier_after(frontier, size, leaf)
    return frontier_root(frontier)


# -- proofs -----------------------------------------------------------------------------------


def subtree_hash(start: int, end: int, node: NodeSource) -> bytes:
    """MTH(D[start:end]) from perfect-subtree nodes (start is aligned as in every proof)."""
    n = end - start
    if n <= 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        return node(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(subtree_hash(start, start + k, node), subtree_hash(start + k, end, node))


def tree_root(size: int, node: NodeSource) -> bytes:
    return subtree_hash(0, size, node)


def inclusion_proof(index: int, size: int, node: NodeSource) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, the sibling nearest the leaf first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            path.append(subtree_hash(start + k, end, node))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, node))
            start, m = start + k, m - k
    path.reverse()
    return path


def consistency_proof(size1: int, size2: int, node: NodeSource) -> list[bytes]:
    """PROOF(size1, D[0:size2]) of RFC 9162 §2.1.4.1."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"no consistency proof from {size1} to {size2} leaves")
    if size1 == 0 or size1 == size2:
        return []
    path: list[bytes] = []
    start, end, m, whole = 0, size2, size1, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                path.append(subtree_hash(start, end, node))
            break
        k = _split(n)
        if m <= k:
            path.append(subtree_hash(start + k, end, node))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, node))
            start, m, whole = start + k, m - k, False
    path.reverse()
    return path


# -- verification (RFC 9162 §2.1.3.2, §2.1.4.2) -------------------------------------------


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to; ValueError when the proof cannot be one."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != HASH_SIZE:
            raise ValueError("a proof hash is not 32 bytes")
        if sn == 0:
            raise ValueError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True when ``proof`` shows leaf ``index`` of a ``size``-leaf tree with ``root`` is
    ``leaf_hash``."""
    try:
        return root_from_inclusion(leaf_hash, index, size, proof) == root
    except ValueError:
        return False


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> bool:
    """True when the ``size1``-leaf tree with ``root1`` is a prefix of the ``size2``-leaf
    tree with ``root2``: nothing in the first ``size1`` leaves was changed or removed."""
    if not 0 <= size1 <= size2 or any(len(p) != HASH_SIZE for p in proof):
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof  # every tree extends the empty one
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    if not path:
        return False
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


# -- an in-memory tree (tests, benchmarks, offline rebuilds) ---------------------------------


class MemoryTree:
    """Every perfect-subtree node in lists: append O(log n), proofs O(log n) look-ups."""

    def __init__(self) -> None:
        self.levels: list[list[bytes]] = [[]]

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def frontier(self) -> list[bytes]:
        return [self.levels[lv][i] for lv, i in frontier_indexes(self.size)]

    def append(self, leaf: bytes) -> None:
        for level, index, h in append_nodes(self.frontier(), self.size, leaf):
            if level == len(self.levels):
                self.levels.append([])
            assert len(self.levels[level]) == index
            self.levels[level].append(h)

    def root(self, size: int | None = None) -> bytes:
        return tree_root(self.size if size is None else size, self.node)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else size, self.node)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        return consistency_proof(size1, self.size if size2 is None else size2, self.node)
