"""deploy/prometheus/alerts.yml: valid for promtool, its unit tests pass and cover every alert,
every rule says what to do, and every series it names is on a real /metrics page with the
labels and label values it matches on (a switchyard with [admin], [mysql], [cutover] with
shadow reads, and a verify result)."""
import json
import re
import shutil
import subprocess
import time
import urllib.request

import pytest
import yaml

from conftest import BIN, ROOT, create_legacy_copy, free_port, legacy_overrides, wait_port

RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts_test.yml"
COPY_DB = "alert_rules_copy"

# Labels whose values switchyard enumerates itself: a matcher on one of them must name a value
# the page shows. sqlstate values depend on which errors happened, so only the label is checked.
ENUMERATED = {"backend", "result"}

SELECTOR = re.compile(r"\b(switchyard_[a-z0-9_]+)\b(?:\s*\{([^}]*)\})?")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
COUNTER_FN = re.compile(r"\b(?:rate|increase|irate|resets)\(\s*(switchyard_[a-z0-9_]+)")


def promtool():
    path = shutil.which("promtool")
    assert path, "promtool missing: scripts/install-deps.sh installs Debian's prometheus"
    return path


def rules():
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def test_promtool_check_rules():
    r = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {len(rules())} rules found" in r.stdout, r.stdout


def test_promtool_test_rules():
    r = subprocess.run([promtool(), "test", "rules", str(RULE_TESTS)], capture_output=True,
                       text=True, cwd=RULE_TESTS.parent)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout, r.stdout


def test_every_alert_fires_and_stays_quiet_in_the_unit_tests():
    seen = {}
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for t in case.get("alert_rule_test", []):
            seen.setdefault(t["alertname"], set()).add("fires" if t.get("exp_alerts") else "quiet")
    for r in rules():
        assert seen.get(r["alert"]) == {"fires", "quiet"}, (r["alert"], seen.get(r["alert"]))


def test_every_rule_says_what_to_do():
    text = RULES.read_text()
    names = [r["alert"] for r in rules()]
    assert len(names) == len(set(names))
    for r in rules():
        # The comment block right above "- alert: <name>" starts with "What to do:".
        m = re.search(r"((?:^[ \t]*#.*\n)+)[ \t]*- alert: " + re.escape(r["alert"]) + r"\n",
                      text, re.M)
        assert m and "# What to do:" in m.group(1), r["alert"]
        assert r["labels"]["severity"] in ("warning", "critical"), r["alert"]
        assert r["annotations"]["summary"] and r["annotations"]["description"], r["alert"]


def parse_exposition(text):
    """({name: type}, {name: [labels dict, ...]}) of a text-format page."""
    types, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
        elif line and not line.startswith("#"):
            m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ", line)
            assert m, line
            samples.setdefault(m.group(1), []).append(dict(re.findall(r'(\w+)="([^"]*)"',
                                                                      m.group(2) or "")))
    return types, samples


def family(name, types):
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
            return name[: -len(suffix)], "histogram"
    return name, types.get(name)


@pytest.fixture(scope="module")
def copy_db(supabase, mariadb):
    with create_legacy_copy(supabase, mariadb, COPY_DB):
        pass
    return supabase


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()


def test_every_series_in_the_rules_is_on_a_real_metrics_page(copy_db, make_proxy, mariadb):
    port = free_port()
    p = make_proxy(start=False, **legacy_overrides(
        mariadb, supabase={"database": COPY_DB, "connect_timeout_ms": 15000},
        admin={"listen": f"127.0.0.1:{port}"},
        cutover={"key": "user,application_name", "groups": [["customers", "subscriptions"]],
                 "shadow_percent": 100},
        **{"cutover.weights": {"customers": 50}}))
    p.write_config()
    # A verify result, so the switchyard_verify_* series exist.
    v = subprocess.run([str(BIN), "verify", "-c", str(p.config_path), "--json", "payments"],
                       capture_output=True, text=True, timeout=120)
    assert v.returncode == 0, v.stdout + v.stderr
    assert json.loads(v.stdout)["ok"] is True
    p.start()
    wait_port(port, proc=p.proc)
    for i in range(10):  # half the keys read customers from Supabase at weight 50
        with p.connect(dbname=COPY_DB, application_name=f"alerts-{i}") as c:
            c.execute("SELECT email FROM customers WHERE customer_id = 1").fetchall()
            c.execute("SELECT 1").fetchall()
            for bad in ("SELECT * FROM no_such_table",      # Supabase: 42P01
                        # MySQL (payments stays there at weight 0): 22012
                        "SELECT payment_id / (payment_id - payment_id) FROM payments",
                        "DELETE FROM customers"):           # refused here: 25006
                try:
                    c.execute(bad)
                except Exception:
                    pass
    deadline = time.time() + 10
    while True:  # shadow reads are compared after the client has its answer
        types, samples = parse_exposition(scrape(port))
        if any(s.get("result") == "match" and s.get("table") == "customers"
               for s in samples.get("switchyard_shadow_fingerprint_total", [])) \
                or time.time() > deadline:
            break
        time.sleep(0.2)
    errors_backends = {s["backend"] for s in samples.get("switchyard_errors_total", [])}
    assert {"supabase", "mysql", "local"} <= errors_backends, samples.get("switchyard_errors_total")

    used = set()
    for r in rules():
        expr = r["expr"]
        for name, matchers in SELECTOR.findall(expr):
            used.add(name)
            fam, kind = family(name, types)
            assert kind is not None, f"{r['alert']}: {name} is not on /metrics"
            assert name in samples, f"{r['alert']}: {name} has no sample on /metrics"
            for label, op, value in MATCHER.findall(matchers):
                have = [s for s in samples[name] if label in s]
                assert have, f"{r['alert']}: {name} has no label {label}"
                if op == "=" and label in ENUMERATED:
                    assert any(s[label] == value for s in have), \
                        f"{r['alert']}: no {name}{{{label}=\"{value}\"}} on /metrics"
        for name in COUNTER_FN.findall(expr):
            fam, kind = family(name, types)
            assert kind in ("counter", "histogram"), f"{r['alert']}: rate/increase of {kind} {name}"
        for label in re.findall(r"\$labels\.(\w+)", json.dumps(r["annotations"])):
            if label in ("instance", "job"):
                continue  # added by the scrape
            series = [n for n, _ in SELECTOR.findall(expr)]
            assert any(label in s for n in series for s in samples[n]), (r["alert"], label)
    assert len(used) >= 15, used  # the parse found the selectors at all
