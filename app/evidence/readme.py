"""The README.txt of a bag: how a reader checks it by hand, without this software."""

from __future__ import annotations

TEXT = """Evidence package of clip {code}
================================{underline}

This is a BagIt bag (RFC 8493), made by a video evidence archive. It holds:

  data/original/      the original video file, byte for byte as it was received
  data/derivatives/   images made from it (keyframes, thumbnails, poster, contact
                      sheet); they are not evidence by themselves, only aids
  metadata/           the catalogue record, the technical probe of the file, the
                      review checklist with the reviewers' notes, the approvals and
                      state changes, and a schema.org VideoObject description
  custody/            the clip's custody events: every upload, access, review step
                      and export, in the archive's append-only log; and, when the bag
                      carries custody/checkpoint.txt, the proofs listed below (this
                      version of the archive does not add them yet)

1. The files are complete and unchanged
---------------------------------------
In this directory run:

    sha256sum -c manifest-sha256.txt        (every payload file: must say OK)
    sha256sum -c tagmanifest-sha256.txt     (every other file: must say OK)
    sha512sum -c manifest-sha512.txt
    sha512sum -c tagmanifest-sha512.txt

The SHA-256 of the original is {sha}.
It is the name the archive stored the file under when it was uploaded, and it appears
in the custody event "media.ingested" in custody/events.jsonl.

2. The custody events are in the archive's log, as the log stood at a date
--------------------------------------------------------------------------
custody/checkpoint.txt is a signed statement by the archive: "my log had N events and
its Merkle root was R". Its signature is checked with the archive's public key,
custody/log-key.pub (also published at /.well-known/archive-log-key on the archive's
web site, and in its README; compare them).

custody/checkpoint.tsr is an RFC 3161 timestamp of that statement by an independent
timestamp authority. Check it with OpenSSL:

    openssl ts -verify -data custody/checkpoint.txt -in custody/checkpoint.tsr \\
        -CAfile custody/tsa-chain.pem

"Verification: OK" means the checkpoint existed at the time printed by

    openssl ts -reply -in custody/checkpoint.tsr -text

The proof rule: custody/proofs.json gives, for each event, its position in the log and
an inclusion proof (RFC 9162, section 2.1.3). The event's leaf hash is
SHA-256(0x00 || the event's canonical JSON); each step combines two hashes as
SHA-256(0x01 || left || right). Following the proof from the leaf must give exactly
the root hash in the checkpoint. If it does, the event was in the log the archive
signed and the authority timestamped, and nobody can have changed it since without
the proof failing.

3. All of it at once
--------------------
With the archive's software installed (no database or network needed):

    archive verify-bag THIS-DIRECTORY-or-FILE.tar

It runs every check above and prints each one by name with PASS or FAIL.
"""


def readme_text(code: str, sha256: str | None) -> bytes:
    return TEXT.format(
        code=code,
        underline="=" * len(code),
        sha=sha256 or "(no original has been uploaded for this clip yet)",
    ).encode()
