"""``archive verify-bag``: check an evidence bag offline, with no database and no network.

Reads a tar (one or more bags, each under its own directory) in one streaming pass, or a
directory (a bag, or a directory of bags). Every file is hashed (SHA-256 and SHA-512) as
it is read; only the tag files (everything outside data/) are kept in memory. Then each
bag gets these checks, each reported by name: the BagIt declaration, bag-info, no
fetch.txt, the payload manifests, the tag manifests, the custody events, the original's
tie to its ``media.ingested`` event, and the custody proofs (app/evidence/proofs_check.py:
inclusion proofs, the checkpoint's signature, its RFC 3161 timestamp).
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from app.evidence import proofs_check
from app.evidence.checks import Check
from app.evidence.package import ALGORITHMS, BLOCK
from app.kit.canonical import canonical_json

REQUIRED_INFO = ("Source-Organization", "External-Identifier", "Bagging-Date", "Payload-Oxum")
TAG_LIMIT = 64 * 1024 * 1024  # a tag file larger than this is not kept (and fails its check)
BODY = ("occurred_at", "actor", "action", "clip_code", "payload")


def chain_hash(event: dict[str, object]) -> str:
    """The custody log's event hash: SHA-256(prev_hash || canonical JSON of the body)."""
    body = {k: event[k] for k in BODY}
    return hashlib.sha256((str(event["prev_hash"]) + canonical_json(body)).encode()).hexdigest()


@dataclass
class Bag:
    root: str
    digests: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> algo -> hex
    sizes: dict[str, int] = field(default_factory=dict)
    tags: dict[str, bytes] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)


def _consume(bag: Bag, name: str, fh: IO[bytes]) -> None:
    hashers = {a: hashlib.new(a) for a in ALGORITHMS}
    keep = not name.startswith("data/")
    kept: list[bytes] = []
    size = 0
    while block := fh.read(BLOCK):
        for h in hashers.values():
            h.update(block)
        size += len(block)
        if keep and size <= TAG_LIMIT:
            kept.append(block)
    bag.digests[name] = {a: h.hexdigest() for a, h in hashers.items()}
    bag.sizes[name] = size
    if keep and size <= TAG_LIMIT:
        bag.tags[name] = b"".join(kept)


def read_tar(path: Path) -> list[Bag]:
    bags: dict[str, Bag] = {}
    with tarfile.open(path, "r|*") as tar:
        for member in tar:
            if not member.isfile():
                continue
            root, _, name = member.name.lstrip("./").partition("/")
            if not name:
                continue
            fh = tar.extractfile(member)
            assert fh is not None
            _consume(bags.setdefault(root, Bag(root)), name, fh)
    return list(bags.values())


def read_dir(path: Path) -> list[Bag]:
    roots = (
        [path]
        if (path / "bagit.txt").is_file()
        else sorted(p for p in path.iterdir() if (p / "bagit.txt").is_file())
    )
    bags = []
    for root in roots:
        bag = Bag(root.name)
        for f in sorted(p for p in root.rglob("*") if p.is_file()):
            with open(f, "rb") as fh:
                _consume(bag, f.relative_to(root).as_posix(), fh)
        bags.append(bag)
    return bags


def _manifest(bag: Bag, name: str) -> dict[str, str] | None:
    data = bag.tags.get(name)
    if data is None:
        return None
    out = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if line.strip():
            digest, _, path = line.strip().partition(" ")
            out[path.strip().lstrip("*")] = digest.lower()
    return out


def _compare(bag: Bag, listed: dict[str, str], algorithm: str, names: set[str]) -> str:
    """'' when every listed file is there with its digest and ``names`` are all listed."""
    for path, digest in sorted(listed.items()):
        if path not in bag.digests:
            return f"{path} is listed but missing"
        if bag.digests[path][algorithm] != digest:
            return f"{path} does not match its {algorithm.upper()}"
    unlisted = sorted(names - set(listed))
    return f"{unlisted[0]} is not in the manifest" if unlisted else ""


def _bagit_checks(bag: Bag) -> Iterator[Check]:
    decl = bag.tags.get("bagit.txt", b"").decode("utf-8", "replace")
    yield Check(
        "bagit.declaration",
        "BagIt-Version: 1.0" in decl and "Tag-File-Character-Encoding: UTF-8" in decl,
        "BagIt 1.0, UTF-8" if decl else "bagit.txt is missing",
    )
    info: dict[str, str] = {}
    for line in bag.tags.get("bag-info.txt", b"").decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    payload = {n for n in bag.digests if n.startswith("data/")}
    oxum = f"{sum(bag.sizes[n] for n in payload)}.{len(payload)}"
    missing = [k for k in REQUIRED_INFO if k not in info]
    if missing:
        yield Check("bagit.bag-info", False, f"missing {', '.join(missing)}")
    elif info["Payload-Oxum"] != oxum:
        yield Check("bagit.bag-info", False, f"Payload-Oxum {info['Payload-Oxum']}, found {oxum}")
    else:
        yield Check("bagit.bag-info", True, f"{info['External-Identifier']}, Payload-Oxum {oxum}")
    yield Check("bagit.no-fetch", "fetch.txt" not in bag.digests, "no fetch.txt")
    tagmanifests = {f"tagmanifest-{a}.txt" for a in ALGORITHMS}
    others = set(bag.digests) - payload - tagmanifests
    for kind, names in (("manifest", payload), ("tagmanifest", others)):
        for a in ALGORITHMS:
            name = f"{kind}-{a}.txt"
            listed = _manifest(bag, name)
            if listed is None:
                yield Check(f"bagit.{name}", False, f"{name} is missing")
                continue
            problem = _compare(bag, listed, a, names)
            yield Check(f"bagit.{name}", not problem, problem or f"{len(listed)} files match")


def _events(bag: Bag) -> tuple[list[dict[str, object]], Check]:
    data = bag.tags.get("custody/events.jsonl")
    if data is None:
        return [], Check("custody.events", False, "custody/events.jsonl is missing")
    events: list[dict[str, object]] = []
    for n, line in enumerate(data.decode("utf-8").splitlines(), 1):
        try:
            e = json.loads(line)
            if chain_hash(e) != e["hash"]:
                return events, Check("custody.events", False, f"event {e['id']} was edited")
        except (ValueError, KeyError, TypeError):
            return events, Check("custody.events", False, f"line {n} is not a custody event")
        events.append(e)
    return events, Check("custody.events", True, f"{len(events)} events, each hash recomputed")


def _original_tie(bag: Bag, events: list[dict[str, object]]) -> Check:
    originals = [n for n in bag.digests if n.startswith("data/original/")]
    if not originals:
        return Check("custody.original", None, "the bag has no original")
    sha = bag.digests[originals[0]]["sha256"]
    ingested = [e for e in events if e.get("action") == "media.ingested"]
    if not any(
        isinstance(e["payload"], dict) and e["payload"].get("sha256") == sha for e in ingested
    ):
        return Check("custody.original", False, f"no media.ingested event records SHA-256 {sha}")
    return Check("custody.original", True, f"the original's SHA-256 {sha} is the one ingested")


def verify(path: Path, key: str | None = None) -> list[Bag]:
    """Check every bag under ``path``; ``key``: the archive's published verifier key, to
    check the checkpoint against (else the key in the bag is used, and printed)."""
    bags = read_dir(path) if path.is_dir() else read_tar(path)
    for bag in bags:
        bag.checks += _bagit_checks(bag)
        events, check = _events(bag)
        bag.checks.append(check)
        bag.checks.append(_original_tie(bag, events))
        bag.checks += proofs_check.checks(bag.tags, events, key)
    return bags
