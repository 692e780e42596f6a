"""Small helpers shared by the integration tests (not fixtures: see conftest.py)."""
import re
import time
import uuid


def unique(prefix: str) -> str:
    """A table/channel name no other test (or earlier run) uses."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def sb_exec(supabase, sql: str, *args):
    """Runs a statement directly on the upstream (bypassing switchyard); rows if it returns any."""
    with supabase.connect() as conn:
        cur = conn.execute(sql, args or None)
        return cur.fetchall() if cur.description is not None else None


LOGFMT_LINE = re.compile(r'^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(error|warn|info|debug)'
                         r'( worker=\d+)?( session=\d+)? msg=("(?:[^"\\]|\\.)*"|\S+)')


def log_lines(proxy, msg=None):
    """Parsed logfmt lines of a proxy's log (optionally only those with msg=<msg>)."""
    out = []
    for line in proxy.log().splitlines():
        fields = parse_logfmt(line)
        if fields is None:
            continue
        if msg is None or fields.get("msg") == msg:
            out.append(fields)
    return out


def parse_logfmt(line: str):
    if not line.startswith("ts="):
        return None
    fields = {}
    for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line):
        v = m.group(2)
        if v.startswith('"'):
            v = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        fields[m.group(1)] = v
    return fields


def wait_for_log(proxy, msg, timeout=5.0, since=0, **match):
    """Waits for a log line with msg=<msg> (and the given field values) after line <since>."""
    deadline = time.monotonic() + timeout
    while True:
        lines = log_lines(proxy)[since:]
        for f in lines:
            if f.get("msg") == msg and all(f.get(k) == str(v) for k, v in match.items()):
                return f
        if time.monotonic() > deadline:
            raise AssertionError(f"no log line msg={msg!r} {match} within {timeout}s; log tail:\n"
                                 + proxy.log()[-3000:])
        time.sleep(0.05)


def wait_upstream_idle(supabase, pid, timeout=5.0):
    """
    Waits until upstream backend <pid> has run switchyard's reset (DISCARD ALL)
    and sits idle in the pool. A client that connects before that gets a new
    upstream (the old one is still busy), so reuse tests wait here first.
    """
    deadline = time.monotonic() + timeout
    while True:
        with supabase.admin() as admin:
            row = admin.execute("SELECT state, query FROM pg_stat_activity WHERE pid = %s",
                                (pid,)).fetchone()
        if row is not None and row[0] == "idle" and row[1] == "DISCARD ALL":
            time.sleep(0.05)  # the ReadyForQuery reaches switchyard
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"upstream {pid} not idle after its reset: {row}")
        time.sleep(0.05)
