"""An offline RFC 3161 TSA for tests: its own CA made with openssl (root, then a TSA
certificate with extendedKeyUsage critical,timeStamping), ``openssl ts -reply`` behind a
small HTTP server on loopback. ``mode`` switches the answers: ok, garbage, slow."""

from __future__ import annotations

import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CNF = """\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = {cn}
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_tsa ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = {dir}
serial = $dir/serial
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ess_cert_id_alg = sha256
ess_cert_id_chain = no
crypto_device = builtin
"""


def _run(*args: str, cwd: Path, data: bytes | None = None) -> bytes:
    return subprocess.run(
        ["openssl", *args], cwd=cwd, input=data, capture_output=True, check=True
    ).stdout


class Authority:
    """A CA and a TSA it certified, in ``dir``."""

    def __init__(self, dir: Path, name: str) -> None:
        self.dir = dir
        dir.mkdir(parents=True, exist_ok=True)
        (dir / "openssl.cnf").write_text(CNF.format(cn=f"{name} Root", dir=dir))
        (dir / "serial").write_text("01\n")
        c = "openssl.cnf"
        _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", "root.key", cwd=dir)  # fmt: skip
        _run("req", "-new", "-x509", "-config", c, "-extensions", "v3_ca", "-key", "root.key",
             "-days", "30", "-out", "root.pem", cwd=dir)  # fmt: skip
        _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", "tsa.key", cwd=dir)  # fmt: skip
        _run("req", "-new", "-key", "tsa.key", "-subj", f"/CN={name} TSA", "-out", "tsa.csr",
             cwd=dir)  # fmt: skip
        _run("x509", "-req", "-in", "tsa.csr", "-CA", "root.pem", "-CAkey", "root.key",
             "-CAcreateserial", "-days", "30", "-extfile", c, "-extensions", "v3_tsa",
             "-out", "tsa.pem", cwd=dir)  # fmt: skip

    @property
    def root_pem(self) -> str:
        return (self.dir / "root.pem").read_text()

    def reply(self, query: bytes) -> bytes:
        q = self.dir / f"q-{threading.get_ident()}.tsq"
        q.write_bytes(query)
        return _run("ts", "-reply", "-config", "openssl.cnf", "-queryfile", q.name, cwd=self.dir)

    def stamp(self, data: bytes) -> bytes:
        """A token over ``data`` (as the TSA would answer a request for it)."""
        d = self.dir / "data.bin"
        d.write_bytes(data)
        query = _run("ts", "-query", "-data", d.name, "-sha256", "-cert", cwd=self.dir)
        return self.reply(query)


class Shim:
    """HTTP in front of an Authority on 127.0.0.1 (a thread); ``mode`` is ok/garbage/slow."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority
        self.mode = "ok"
        self.hits = 0
        shim = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                shim.hits += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if shim.mode == "slow":
                    time.sleep(1)
                out = b"<html>not a token</html>" if shim.mode == "garbage" else b""
                if not out:
                    out = shim.authority.reply(body)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/timestamp-reply")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:  # the client gave up (the slow mode)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tsr"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/tsr"


def make_authority(name: str) -> Authority:
    return Authority(Path(tempfile.mkdtemp(prefix=f"tsa-{name}-")), name)
