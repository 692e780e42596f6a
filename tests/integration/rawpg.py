"""rawpg — a minimal Postgres v3 client for routing tests (exact message sequences).

Drivers hide the exact message sequence; some tests need to send a precise
pipeline (Parse/Bind/Execute/Sync in one write) and see every message that
comes back, in order. This client speaks plaintext and md5 or SCRAM-SHA-256
authentication, and nothing else.
"""
import base64
import hashlib
import hmac
import os
import socket
import struct


class ServerError(Exception):
    def __init__(self, fields):
        self.fields = fields
        super().__init__(f"{fields.get('C')}: {fields.get('M')}")

    @property
    def sqlstate(self):
        return self.fields.get("C")


def parse_fields(body: bytes) -> dict:
    fields = {}
    i = 0
    while i < len(body) and body[i] != 0:
        code = chr(body[i])
        end = body.index(b"\0", i + 1)
        fields[code] = body[i + 1:end].decode()
        i = end + 1
    return fields


def msg(type_: bytes, body: bytes = b"") -> bytes:
    return type_ + struct.pack("!I", len(body) + 4) + body


def cstr(s: str) -> bytes:
    return s.encode() + b"\0"


def query(sql: str) -> bytes:
    return msg(b"Q", cstr(sql))


def parse(sql: str, name: str = "") -> bytes:
    return msg(b"P", cstr(name) + cstr(sql) + struct.pack("!h", 0))


def bind(stmt: str = "", portal: str = "", params=()) -> bytes:
    body = cstr(portal) + cstr(stmt) + struct.pack("!h", 0) + struct.pack("!h", len(params))
    for p in params:
        if p is None:
            body += struct.pack("!i", -1)
        else:
            b = str(p).encode()
            body += struct.pack("!i", len(b)) + b
    return msg(b"B", body + struct.pack("!h", 0))


def describe_portal(portal: str = "") -> bytes:
    return msg(b"D", b"P" + cstr(portal))


def execute(portal: str = "", max_rows: int = 0) -> bytes:
    return msg(b"E", cstr(portal) + struct.pack("!i", max_rows))


def sync() -> bytes:
    return msg(b"S")


def flush() -> bytes:
    return msg(b"H")


class RawClient:
    def __init__(self, port: int, user: str, password: str, dbname: str = "platform",
                 host: str = "127.0.0.1", params=None, timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.params = {}
        self.backend_key = None
        startup = {"user": user, "database": dbname}
        startup.update(params or {})
        body = struct.pack("!I", 196608)
        for k, v in startup.items():
            body += cstr(k) + cstr(v)
        body += b"\0"
        self.sock.sendall(struct.pack("!I", len(body) + 4) + body)
        self._authenticate(user, password)

    # -- plumbing --
    def send(self, data: bytes):
        self.sock.sendall(data)

    def recv_msg(self):
        while True:
            if len(self.buf) >= 5:
                length = struct.unpack("!I", self.buf[1:5])[0]
                if len(self.buf) >= 1 + length:
                    t, body = self.buf[0:1], self.buf[5:1 + length]
                    self.buf = self.buf[1 + length:]
                    return t, body
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk

    def until_ready(self):
        """All messages up to and including ReadyForQuery, as (type, body) pairs."""
        out = []
        while True:
            t, body = self.recv_msg()
            out.append((t, body))
            if t == b"Z":
                return out

    def close(self):
        try:
            self.send(msg(b"X"))
        except OSError:
            pass
        self.sock.close()

    # -- authentication --
    def _authenticate(self, user, password):
        scram = None
        while True:
            t, body = self.recv_msg()
            if t == b"E":
                raise ServerError(parse_fields(body))
            if t == b"R":
                code = struct.unpack("!I", body[:4])[0]
                if code == 0:
                    continue
                if code == 5:
                    salt = body[4:8]
                    inner = hashlib.md5((password + user).encode()).hexdigest()
                    outer = hashlib.md5(inner.encode() + salt).hexdigest()
                    self.send(msg(b"p", cstr("md5" + outer)))
                elif code == 10:
                    scram = _Scram(password)
                    first = scram.first().encode()
                    self.send(msg(b"p", cstr("SCRAM-SHA-256") + struct.pack("!i", len(first)) + first))
                elif code == 11:
                    self.send(msg(b"p", scram.final(body[4:].decode()).encode()))
                elif code == 12:
                    scram.verify(body[4:].decode())
                else:
                    raise RuntimeError(f"unsupported auth request {code}")
            elif t == b"S":
                k, v = body.split(b"\0")[:2]
                self.params[k.decode()] = v.decode()
            elif t == b"K":
                self.backend_key = struct.unpack("!ii", body)
            elif t == b"Z":
                return


class _Scram:
    def __init__(self, password):
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"

    def first(self):
        return "n,," + self.first_bare

    def final(self, server_first):
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        salt = base64.b64decode(attrs["s"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password, salt, int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth = f"{self.first_bare},{server_first},{without_proof}".encode()
        sig = hmac.new(stored, auth, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        self.expected = base64.b64encode(hmac.new(server_key, auth, hashlib.sha256).digest()).decode()
        return f"{without_proof},p={base64.b64encode(proof).decode()}"

    def verify(self, server_final):
        if server_final != f"v={self.expected}":
            raise RuntimeError("bad server signature")


def types(messages):
    return b"".join(t for t, _ in messages).decode()


def errors(messages):
    return [parse_fields(body) for t, body in messages if t == b"E"]
