"""A tiny Postgres wire client for the foundation integration tests.

libpq (and so psql, psycopg, psycopg2) hides the SQLSTATE of an error that
ends a connection during startup, and will not send arbitrary startup
parameters or malformed bytes. The tests that need either speak the protocol
themselves through this module: startup (plain or TLS), SCRAM-SHA-256 and md5
as a client, simple and extended queries, and raw byte access for the garbage
tests. (tests/integration/rawpg.py is the routing tests' own client.)
"""
import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct
import time

PROTOCOL_3_0 = 196608
SSL_REQUEST_CODE = 80877103
CANCEL_REQUEST_CODE = 80877102


class WireError(Exception):
    """An ErrorResponse: fields by their one-letter code (S, C, M, D, ...)."""

    def __init__(self, fields):
        self.fields = fields
        super().__init__(f"{fields.get('S')} {fields.get('C')}: {fields.get('M')}")

    @property
    def sqlstate(self):
        return self.fields.get("C")

    @property
    def message(self):
        return self.fields.get("M", "")

    @property
    def severity(self):
        return self.fields.get("V") or self.fields.get("S")


class ConnectionClosed(Exception):
    """The peer closed the connection before a complete message arrived."""


def parse_error_fields(body: bytes) -> dict:
    fields = {}
    i = 0
    while i < len(body) and body[i] != 0:
        code = chr(body[i])
        end = body.index(b"\0", i + 1)
        fields[code] = body[i + 1:end].decode(errors="replace")
        i = end + 1
    return fields


def message(mtype: bytes, body: bytes = b"") -> bytes:
    return mtype + struct.pack("!I", len(body) + 4) + body


def cstr(s) -> bytes:
    return (s.encode() if isinstance(s, str) else s) + b"\0"


def startup_packet(params: dict, protocol: int = PROTOCOL_3_0) -> bytes:
    body = struct.pack("!I", protocol)
    for k, v in params.items():
        body += cstr(k) + cstr(v)
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


class RawConn:
    """One client connection, driven step by step."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.params = {}
        self.backend_pid = None
        self.backend_secret = None
        self.notices = []
        self.txn_status = None

    # ---- bytes ----

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self, n: int):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionClosed(f"closed with {len(self.buf)} of {n} bytes read")
            self.buf += chunk

    def read_bytes(self, n: int) -> bytes:
        self._fill(n)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_msg(self):
        self._fill(5)
        mtype = self.buf[:1]
        (length,) = struct.unpack("!I", self.buf[1:5])
        self._fill(1 + length)
        body = self.buf[5:1 + length]
        self.buf = self.buf[1 + length:]
        return mtype, body

    def is_closed(self, timeout: float = 5.0) -> bool:
        """True once the peer has closed (reading any pending bytes first)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # ---- startup ----

    def start_tls(self, cafile=None, server_hostname="127.0.0.1", verify=True) -> bytes:
        self.send(struct.pack("!II", 8, SSL_REQUEST_CODE))
        answer = self.read_bytes(1)
        if answer != b"S":
            return answer
        ctx = ssl.create_default_context(cafile=cafile) if verify else ssl._create_unverified_context()
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)
        return answer

    def startup(self, params: dict):
        self.send(startup_packet(params))

    def authenticate(self, user: str, password: str):
        """Answers Authentication requests until AuthenticationOk; raises WireError on ErrorResponse."""
        scram = None
        while True:
            mtype, body = self.read_msg()
            if mtype == b"E":
                raise WireError(parse_error_fields(body))
            if mtype == b"v":
                continue
            if mtype != b"R":
                raise AssertionError(f"unexpected message {mtype!r} during authentication")
            (code,) = struct.unpack("!I", body[:4])
            data = body[4:]
            if code == 0:
                return
            if code == 3:
                self.send(message(b"p", cstr(password)))
            elif code == 5:
                inner = hashlib.md5((password + user).encode()).hexdigest()
                outer = hashlib.md5(inner.encode() + data[:4]).hexdigest()
                self.send(message(b"p", cstr("md5" + outer)))
            elif code == 10:
                mechs = [m for m in data.split(b"\0") if m]
                assert b"SCRAM-SHA-256" in mechs, mechs
                scram = ScramClient(password)
                first = scram.first().encode()
                self.send(message(b"p", cstr("SCRAM-SHA-256") + struct.pack("!i", len(first)) + first))
            elif code == 11:
                self.send(message(b"p", scram.final(data.decode()).encode()))
            elif code == 12:
                scram.verify(data.decode())
            else:
                raise AssertionError(f"unsupported authentication request {code}")

    def read_until_ready(self):
        """Reads until ReadyForQuery; returns the messages before it. Raises on ErrorResponse."""
        msgs = []
        error = None
        while True:
            mtype, body = self.read_msg()
            if mtype == b"Z":
                self.txn_status = body.decode()
                if error is not None:
                    raise error
                return msgs
            if mtype == b"E":
                fields = parse_error_fields(body)
                error = WireError(fields)
                if fields.get("S") in ("FATAL", "PANIC"):
                    raise error
            elif mtype == b"S":
                name, value, _ = body.split(b"\0", 2)
                self.params[name.decode()] = value.decode()
            elif mtype == b"K":
                self.backend_pid, self.backend_secret = struct.unpack("!ii", body)
            elif mtype == b"N":
                self.notices.append(parse_error_fields(body))
            msgs.append((mtype, body))

    def read_through_ready(self):
        """Every message up to and including ReadyForQuery, errors included, in order."""
        msgs = []
        while True:
            mtype, body = self.read_msg()
            msgs.append((mtype, body))
            if mtype == b"Z":
                self.txn_status = body.decode()
                return msgs

    # ---- queries ----

    def query(self, sql: str):
        """Simple query; returns the rows of every result as lists of str/None."""
        self.send(message(b"Q", cstr(sql)))
        rows = []
        for mtype, body in self.read_until_ready():
            if mtype == b"D":
                rows.append(decode_data_row(body))
        return rows

    def terminate(self):
        try:
            self.send(message(b"X"))
        except OSError:
            pass
        self.close()


def decode_data_row(body: bytes):
    (n,) = struct.unpack("!H", body[:2])
    off = 2
    row = []
    for _ in range(n):
        (ln,) = struct.unpack("!i", body[off:off + 4])
        off += 4
        if ln < 0:
            row.append(None)
        else:
            row.append(body[off:off + ln].decode())
            off += ln
    return row


class ScramClient:
    """SCRAM-SHA-256 without channel binding, as libpq does it over plain TCP."""

    def __init__(self, password: str):
        self.password = password
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = f"n=,r={self.nonce}"

    def first(self) -> str:
        return "n,," + self.first_bare

    def final(self, server_first: str) -> str:
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        assert attrs["r"].startswith(self.nonce)
        salt = base64.b64decode(attrs["s"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt, int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={attrs['r']}"
        auth_message = f"{self.first_bare},{server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        self.expected_server_sig = hmac.new(server_key, auth_message, hashlib.sha256).digest()
        return f"{without_proof},p={base64.b64encode(proof).decode()}"

    def verify(self, server_final: str):
        attrs = dict(kv.split("=", 1) for kv in server_final.split(","))
        assert base64.b64decode(attrs["v"]) == self.expected_server_sig, "bad server signature"


def connect(port: int, user: str, password: str, dbname: str = "platform", extra=None,
            tls: bool = False, cafile=None, timeout: float = 10.0) -> RawConn:
    """A ready connection, or WireError with the server's SQLSTATE."""
    conn = RawConn(port, timeout=timeout)
    try:
        if tls:
            answer = conn.start_tls(cafile=cafile)
            assert answer == b"S", f"SSLRequest answered {answer!r}"
        params = {"user": user, "database": dbname}
        params.update(extra or {})
        conn.startup(params)
        conn.authenticate(user, password)
        conn.read_until_ready()
        return conn
    except BaseException:
        conn.close()
        raise


def connect_error(port: int, user: str, password: str, dbname: str = "platform", **kw) -> WireError:
    """Connects expecting a refusal; returns the WireError (fails the test if it succeeds)."""
    try:
        conn = connect(port, user, password, dbname, **kw)
    except WireError as e:
        return e
    conn.terminate()
    raise AssertionError(f"connection as {user!r} to {dbname!r} unexpectedly succeeded")


def scram_server_first(port: int, user: str, dbname: str = "platform") -> dict:
    """Starts a SCRAM exchange as <user> and returns the server-first-message's attributes."""
    conn = RawConn(port)
    try:
        conn.startup({"user": user, "database": dbname})
        mtype, body = conn.read_msg()
        assert mtype == b"R" and struct.unpack("!I", body[:4])[0] == 10, (mtype, body)
        scram = ScramClient("irrelevant")
        first = scram.first().encode()
        conn.send(message(b"p", cstr("SCRAM-SHA-256") + struct.pack("!i", len(first)) + first))
        mtype, body = conn.read_msg()
        if mtype == b"E":
            raise WireError(parse_error_fields(body))
        assert mtype == b"R" and struct.unpack("!I", body[:4])[0] == 11, (mtype, body)
        return dict(kv.split("=", 1) for kv in body[4:].decode().split(","))
    finally:
        conn.close()


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


# ---- extended-protocol message builders ----

def parse_msg(sql: str, name: str = "", types=()) -> bytes:
    return message(b"P", cstr(name) + cstr(sql) + struct.pack("!H", len(types))
                   + b"".join(struct.pack("!I", t) for t in types))


def bind_msg(params=(), portal: str = "", stmt: str = "", result_formats=()) -> bytes:
    body = cstr(portal) + cstr(stmt) + struct.pack("!H", 0) + struct.pack("!H", len(params))
    for p in params:
        if p is None:
            body += struct.pack("!i", -1)
        else:
            data = p.encode() if isinstance(p, str) else p
            body += struct.pack("!i", len(data)) + data
    body += struct.pack("!H", len(result_formats))
    body += b"".join(struct.pack("!H", f) for f in result_formats)
    return message(b"B", body)


def describe_msg(kind: bytes = b"P", name: str = "") -> bytes:
    return message(b"D", kind + cstr(name))


def execute_msg(portal: str = "", max_rows: int = 0) -> bytes:
    return message(b"E", cstr(portal) + struct.pack("!i", max_rows))


def close_msg(kind: bytes = b"S", name: str = "") -> bytes:
    return message(b"C", kind + cstr(name))


SYNC = message(b"S")
FLUSH = message(b"H")


def query_msg(sql: str) -> bytes:
    return message(b"Q", cstr(sql))


def copy_data(data: bytes) -> bytes:
    return message(b"d", data)


COPY_DONE = message(b"c")
