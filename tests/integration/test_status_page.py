"""The status page in headless Chromium: it renders every group with its weight and its SVG
charts, follows a weight change made through the API (by polling /status), and its own form
changes a weight. Driven over the DevTools protocol on a pipe (--remote-debugging-pipe), so no
websocket library is needed; a screenshot is kept in the test's tmp_path."""
import base64
import fcntl
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import wait_port

from test_admin import admin_overrides, admin_port, request, weights

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium, one page, spoken to in CDP over fds 3 (in) and 4 (out)."""

    def __init__(self, profile):
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        # Out of the way of 3 and 4 first, so the dup2s below cannot clobber each other.
        hi_r, hi_w = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
        os.close(to_child_r)
        os.close(from_child_w)

        def fds():
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "--window-size=1200,1600", "--no-first-run",
             "--disable-extensions", "--mute-audio", "about:blank"],
            preexec_fn=fds, stdout=subprocess.DEVNULL, stderr=open(profile.parent / "chromium.log", "wb"),
            pass_fds=(3, 4))
        os.close(hi_r)
        os.close(hi_w)
        self.buf = b""
        self.next_id = 0
        self.session = None

    def call(self, method, timeout=30.0, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self.buf:
                raw, self.buf = self.buf.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.next_id:
                    assert "error" not in reply, reply
                    return reply["result"]
            assert time.monotonic() < deadline, f"no answer to {method}"
            chunk = os.read(self.from_child, 1 << 20)
            assert chunk, "chromium closed the DevTools pipe"
            self.buf += chunk

    def open(self, url):
        target = self.call("Target.createTarget", url=url)["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in r, r
        return r["result"].get("value")

    def wait_js(self, expr, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            v = self.js(expr)
            if v:
                return v
            assert time.monotonic() < deadline, f"timed out waiting for {expr}"
            time.sleep(0.2)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_child)
        os.close(self.from_child)


@pytest.fixture
def browser(tmp_path):
    if CHROMIUM is None:
        pytest.fail("chromium missing: scripts/install-deps.sh installs Debian's chromium")
    b = Browser(tmp_path / "chromium-profile")
    yield b
    b.close()


WEIGHT_OF = "(t => { const e = document.querySelector('.weight[data-table=\"' + t + '\"]');" \
            " return e ? e.textContent : null; })"


def test_page_renders_and_follows_weight_changes(make_proxy, browser, tmp_path):
    p = make_proxy(**admin_overrides())
    wait_port(admin_port(p), proc=p.proc)
    with p.connect() as conn:
        conn.execute("SELECT 1")
    browser.open(f"http://127.0.0.1:{admin_port(p)}/")
    browser.wait_js("document.querySelectorAll('section.group').length === 2")

    groups = browser.js("[...document.querySelectorAll('section.group')].map(s => s.dataset.group)")
    assert groups == ["customers+subscriptions", "payments"]
    headings = browser.js("[...document.querySelectorAll('section.group h2')].map(h => h.textContent)")
    assert "customers, subscriptions" in headings[0] and "payments" in headings[1]
    assert browser.js(WEIGHT_OF + "('customers')") == "0"
    assert browser.js(WEIGHT_OF + "('payments')") == "0"
    # Five charts per group, each an SVG with a line per series over the 60 history points.
    assert browser.js("document.querySelectorAll('svg.chart').length") == 10
    assert browser.js("document.querySelectorAll('svg.chart polyline').length") == 16
    assert browser.js("document.querySelector('svg.chart polyline').getAttribute('points')"
                      ".trim().split(' ').length") == 60
    assert "version" in browser.js("document.getElementById('summary').textContent")
    assert browser.js("document.getElementById('error').textContent") == ""

    # A change made elsewhere shows up on the open page within a poll or two.
    assert request(p, "PUT", "/cutover/subscriptions", {"weight": 25})[0] == 200
    browser.wait_js(WEIGHT_OF + "('customers') === '25'", timeout=8)
    text = browser.js("document.querySelector('section.group').textContent")
    assert "changed" in text and "by admin" in text

    # The page's own form sends the PUT.
    browser.js("""(() => { const f = document.querySelector('form[data-table="payments"]');
                   f.querySelector('input').value = '60'; f.requestSubmit(); return true; })()""")
    browser.wait_js(WEIGHT_OF + "('payments') === '60'", timeout=8)
    assert weights(p) == {"customers": 25, "subscriptions": 25, "payments": 60}

    # The last `switchyard verify` per table (its results file, as verify writes it).
    assert "verify payments: never run" in browser.js(
        "document.querySelector('section.group[data-group=\"payments\"]').textContent")
    (p.config_path.parent / "verify-results.json").write_text(json.dumps({"tables": {
        "payments": {"table": "payments", "status": "differ", "at": int(time.time()),
                     "rows_mysql": 40, "rows_supabase": 40, "missing": 0, "extra": 0,
                     "changed": 2}}}))
    browser.wait_js("(document.querySelector('.verify.reason[data-table=\"payments\"]') || {})"
                    ".textContent?.includes('differ: 0 missing, 0 extra, 2 changed of 40 rows')",
                    timeout=8)

    shot = tmp_path / "status-page.png"
    browser.screenshot(shot)
    assert shot.stat().st_size > 10000
    print(f"status page screenshot: {shot}")
