"""Log lines are logfmt and never carry a secret."""
import psycopg
import pytest

from conftest import APP_PASSWORD, APP_USER, VERIFIER_PASSWORD, VERIFIER_USER
from helpers import LOGFMT_LINE, log_lines, wait_for_log
import pgwire

WRONG_PASSWORD = "wrong-pw-Zq8x"


def exercise(proxy):
    """A bit of everything that logs: sessions, failures, queries with secrets in them."""
    with proxy.connect() as conn:
        conn.execute("SELECT 1")
        # A statement that happens to contain a password-like literal.
        conn.execute("SELECT %s::text", (APP_PASSWORD + "-in-a-query",))
    with proxy.connect(user=VERIFIER_USER, password=VERIFIER_PASSWORD) as conn:
        conn.execute("SELECT 1")
    pgwire.connect_error(proxy.port, APP_USER, WRONG_PASSWORD)
    pgwire.connect_error(proxy.port, "nobody", WRONG_PASSWORD)
    pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD, dbname="elsewhere")
    with pytest.raises(psycopg.OperationalError):
        proxy.connect(password=WRONG_PASSWORD)
    # A user name with characters that must be quoted, trying to forge fields.
    pgwire.connect_error(proxy.port, 'evil level=error msg="forged"\nts=x', "pw")


def test_log_is_logfmt(make_proxy):
    proxy = make_proxy(proxy={"log_level": "debug"})
    exercise(proxy)
    proxy.assert_clean_exit()
    lines = proxy.log().splitlines()
    assert len(lines) > 10
    bad = [l for l in lines if not LOGFMT_LINE.match(l)]
    assert not bad, "non-logfmt lines:\n" + "\n".join(bad[:20])
    parsed = log_lines(proxy)
    msgs = {f["msg"] for f in parsed}
    assert {"switchyard started", "session ready", "authentication failed",
            "switchyard stopped"} <= msgs, msgs
    # The forged fields stayed inside a quoted value.
    assert not any(f.get("msg") == "forged" for f in parsed)
    assert all(f["level"] in ("error", "warn", "info", "debug") for f in parsed)


@pytest.mark.parametrize("auth_method", ["scram-sha-256", "md5"])
def test_log_never_contains_passwords(make_proxy, auth_method):
    proxy = make_proxy(proxy={"log_level": "debug", "auth_method": auth_method})
    exercise(proxy)
    # A reload logs too.
    before = len(log_lines(proxy))
    proxy.reload(users=proxy.users + [{"name": "late", "password": "late-secret-pw"}])
    wait_for_log(proxy, "configuration reloaded", since=before)
    with proxy.connect(user="late", password="late-secret-pw") as conn:
        conn.execute("SELECT 1")
    proxy.assert_clean_exit()
    log = proxy.log()
    upstream_password = proxy.sections["supabase"]["password"]
    for secret in (APP_PASSWORD, VERIFIER_PASSWORD, upstream_password, WRONG_PASSWORD,
                   "late-secret-pw"):
        assert secret not in log, f"log contains the secret {secret!r}"
    # Not the SCRAM verifier either.
    verifier = next(u["password"] for u in proxy.users if u["name"] == VERIFIER_USER)
    for part in verifier.split("$")[1:]:
        for piece in part.split(":"):
            if len(piece) > 8:
                assert piece not in log, "log contains part of a SCRAM verifier"
