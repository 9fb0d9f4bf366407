"""app/custody/merkle.py against the RFC 9162 definitions written out naively (recursion on
lists, §2.1.1, §2.1.3.1, §2.1.4.1): every size up to 40, every leaf, every pair of sizes;
and the verifiers refuse a proof for another leaf, index, size or root."""

from __future__ import annotations

import hashlib

import pytest

from app.custody import merkle as m

pytestmark = pytest.mark.nodb


def mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return d[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(i: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if i < k:
        return path(i, d[:k]) + [mth(d[k:])]
    return path(i - k, d[k:]) + [mth(d[:k])]


def subproof(mm: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if mm == n:
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if mm <= k:
        return subproof(mm, d[:k], b) + [mth(d[k:])]
    return subproof(mm - k, d[k:], False) + [mth(d[:k])]


LEAVES = [m.leaf_hash(f"event {i}".encode()) for i in range(40)]


@pytest.fixture(scope="module")
def tree() -> m.MemoryTree:
    t = m.MemoryTree()
    for leaf in LEAVES:
        t.append(leaf)
    return t


def test_hashing_follows_rfc_6962() -> None:
    assert m.leaf_hash(b"") == bytes.fromhex(
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert (
        m.node_hash(b"a" * 32, b"b" * 32)
        == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    assert m.root_of([]) == hashlib.sha256(b"").digest()


def test_roots_frontiers_and_proofs_match_the_rfc(tree: m.MemoryTree) -> None:
    frontier: list[bytes] = []
    for n in range(1, len(LEAVES) + 1):
        frontier = m.frontier_after(frontier, n - 1, LEAVES[n - 1])
        root = mth(LEAVES[:n])
        assert m.frontier_root(frontier) == root
        assert tree.root(n) == root
        assert m.root_of(LEAVES[:n]) == root
        for i in range(n):
            proof = tree.inclusion_proof(i, n)
            assert proof == path(i, LEAVES[:n]), (i, n)
            assert m.verify_inclusion(LEAVES[i], i, n, proof, root)
        for s1 in range(1, n + 1):
            proof = tree.consistency_proof(s1, n)
            expected = [] if s1 == n else subproof(s1, LEAVES[:n], True)
            assert proof == expected, (s1, n)
            assert m.verify_consistency(s1, n, proof, mth(LEAVES[:s1]), root), (s1, n)


def test_a_wrong_leaf_index_size_or_root_is_refused(tree: m.MemoryTree) -> None:
    n = 37
    root = tree.root(n)
    proof = tree.inclusion_proof(21, n)
    assert not m.verify_inclusion(LEAVES[22], 21, n, proof, root)
    assert not m.verify_inclusion(LEAVES[21], 22, n, proof, root)
    assert not m.verify_inclusion(LEAVES[21], 21, 24, proof, root)  # another tree's shape
    assert not m.verify_inclusion(LEAVES[21], 21, n, proof, tree.root(n - 1))
    assert not m.verify_inclusion(LEAVES[21], 21, n, proof[:-1], root)
    assert not m.verify_inclusion(LEAVES[21], 21, n, [*proof, root], root)
    assert not m.verify_inclusion(LEAVES[21], n, n, proof, root)


def test_consistency_catches_an_edited_or_dropped_early_leaf(tree: m.MemoryTree) -> None:
    old = tree.root(13)
    forged = list(LEAVES)
    forged[5] = m.leaf_hash(b"forged")
    rewritten = m.MemoryTree()
    for leaf in forged:
        rewritten.append(leaf)
    proof = rewritten.consistency_proof(13, 40)
    assert not m.verify_consistency(13, 40, proof, old, rewritten.root(40))
    dropped = m.MemoryTree()
    for leaf in LEAVES[:5] + LEAVES[6:]:
        dropped.append(leaf)
    proof = dropped.consistency_proof(13, 39)
    assert not m.verify_consistency(13, 39, proof, old, dropped.root(39))
    # a truncated log has no proof to give: 13 -> 12 is not a growth
    assert not m.verify_consistency(13, 12, [], old, tree.root(12))
    assert not m.verify_consistency(16, 16, [], tree.root(16), tree.root(15))
