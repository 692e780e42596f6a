"""LISTEN/NOTIFY between two client connections through switchyard."""
import select
import time

import psycopg2
import psycopg2.extensions

from helpers import unique


def test_notify_reaches_listener_psycopg3(proxy):
    chan = unique("chan")
    with proxy.connect() as listener, proxy.connect() as talker:
        got = []
        listener.add_notify_handler(lambda n: got.append((n.channel, n.payload, n.pid)))
        listener.execute(f"LISTEN {chan}")
        talker.execute("SELECT pg_notify(%s, %s)", (chan, "first"))
        talker.execute(f"NOTIFY {chan}, 'second'")
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            listener.execute("SELECT 1")
            time.sleep(0.05)
        assert [(c, p) for c, p, _ in got] == [(chan, "first"), (chan, "second")]
        # The notifying pid is the talker's backend, as the talker sees it.
        assert got[0][2] == talker.info.backend_pid


def test_notify_delivered_to_idle_listener(proxy):
    """The notification arrives while the listener sits idle: switchyard must relay it unasked."""
    chan = unique("idle")
    listener = psycopg2.connect(proxy.dsn())
    talker = psycopg2.connect(proxy.dsn())
    try:
        listener.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
        talker.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
        listener.cursor().execute(f"LISTEN {chan}")
        payloads = [f"msg-{i}" for i in range(20)]
        cur = talker.cursor()
        for p in payloads:
            cur.execute("SELECT pg_notify(%s, %s)", (chan, p))
        received = []
        deadline = time.monotonic() + 5
        while len(received) < len(payloads) and time.monotonic() < deadline:
            if select.select([listener], [], [], 0.5)[0]:
                listener.poll()
                while listener.notifies:
                    n = listener.notifies.pop(0)
                    received.append((n.channel, n.payload))
        assert received == [(chan, p) for p in payloads]
        # A notification inside a transaction is delivered only at COMMIT.
        talker.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_READ_COMMITTED)
        cur.execute(f"NOTIFY {chan}, 'in-txn'")
        assert not select.select([listener], [], [], 0.5)[0]
        talker.commit()
        assert select.select([listener], [], [], 5)[0]
        listener.poll()
        assert [n.payload for n in listener.notifies] == ["in-txn"]
    finally:
        listener.close()
        talker.close()
