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
  custody/            the clip's custody events (every upload, review step and
                      export, in the archive's append-only log; the last one is this
                      export), the proof that each is in the log (inclusion-proofs.json),
                      the archive's signed statement of its log (checkpoint.txt), and
                      the archive's public key (log-key.pub)

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

2. The archive signed the state of its log
------------------------------------------
custody/checkpoint.txt is a signed statement by the archive: "my log had N events and
its Merkle root was R" (line 1: the log's name; line 2: N; line 3: R in base64; then
the time; after the blank line, the signature). The signature is Ed25519, checked with
the archive's public key, custody/log-key.pub. First compare that key with the one the
archive publishes at /.well-known/archive-log-key on its web site and in its README: a
forger can sign with his own key, but not with the archive's. Then, with OpenSSL 3:

    sed '/^$/,$d' custody/checkpoint.txt > body.txt
    tail -n 1 custody/checkpoint.txt | cut -d' ' -f3 | base64 -d | tail -c 64 > sig.bin
    ( printf '\\060\\052\\060\\005\\006\\003\\053\\145\\160\\003\\041\\000'
      cut -d+ -f3- custody/log-key.pub | base64 -d | tail -c 32 ) > key.der
    openssl pkey -pubin -inform DER -in key.der -out key.pem
    openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in body.txt -sigfile sig.bin

"Signature Verified Successfully" means the archive signed exactly this checkpoint.

When the bag has custody/checkpoint.tsr, it is an RFC 3161 timestamp of the checkpoint
by an independent timestamp authority. Check it with OpenSSL:

    openssl ts -verify -data custody/checkpoint.txt -in custody/checkpoint.tsr \\
        -CAfile custody/tsa-chain.pem

"Verification: OK" means the checkpoint existed at the time printed by

    openssl ts -reply -in custody/checkpoint.tsr -text

3. Each custody event is in the signed log (the proof rule)
-----------------------------------------------------------
custody/inclusion-proofs.json gives, for each event (by its "id" in events.jsonl): its
position in the log (leaf_index), the size of the signed log (tree_size), leaf_data
(the event's fields occurred_at, actor, action, clip_code and payload written as
canonical JSON: keys sorted, no spaces, UTF-8), its leaf_hash, and an audit_path: the
hashes needed to climb from the event to the root. H is SHA-256.

  a. leaf = H(0x00 || leaf_data); it must equal leaf_hash, and leaf_data must hold the
     same values as the event's line in events.jsonl.
  b. Follow the path (RFC 9162, section 2.1.3.2): fn = leaf_index, sn = tree_size - 1,
     r = leaf. For each hash p of audit_path, in order:
       - if sn is 0, the proof is too long: it fails;
       - if fn is odd, or fn equals sn: r = H(0x01 || p || r); then, if fn was even,
         halve fn and sn (dropping remainders) until fn is odd or 0;
       - otherwise: r = H(0x01 || r || p);
       - halve fn and sn.
     At the end sn must be 0 and r must equal the root in the checkpoint (line 3,
     base64; also "root" in hex in inclusion-proofs.json).

If it does, the event was in the log the archive signed, and nobody can have changed it
since without the proof failing. The last event is this export, the last one in the
signed log; its payload "custody_events" counts the clip's earlier events, so an event
taken out of this bag is noticed.

4. All of it at once
--------------------
With the archive's software installed (no database or network needed):

    archive verify-bag THIS-DIRECTORY-or-FILE.tar --key published-key.txt

where published-key.txt holds the key the archive publishes (the text of
https://ARCHIVE/.well-known/archive-log-key); without --key, the key in the bag is used
and printed, to be compared by eye.

It runs every check above and prints each one by name with PASS or FAIL.
"""


def readme_text(code: str, sha256: str | None) -> bytes:
    return TEXT.format(
        code=code,
        underline="=" * len(code),
        sha=sha256 or "(no original has been uploaded for this clip yet)",
    ).encode()
