"""The command line: --check, --version, a bad file at startup."""
import re
import subprocess

from conftest import BIN, Proxy


def run(*args, timeout=30):
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=timeout)


def test_version():
    r = run("--version")
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"switchyard \d+\.\d+\.\d+\S*\n", r.stdout), r.stdout


def test_check_valid_file(supabase, tmp_path):
    p = Proxy(supabase, tmp_path)
    p.write_config()
    r = run("--check", "-c", str(p.config_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "valid" in r.stdout


def test_check_example_config():
    from conftest import ROOT
    r = run("--check", "-c", str(ROOT / "proxy.toml"))
    assert r.returncode == 0, r.stdout + r.stderr


def test_check_lists_every_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[proxy]\n'                                   # 1
        'listen = "127.0.0.1:6432"\n'                 # 2
        'workers = "two"\n'                           # 3
        'mystery = 1\n'                               # 4
        'client_tls = "sometimes"\n'                  # 5
        '\n'                                          # 6
        '[supabase]\n'                                # 7
        'host = "127.0.0.1"\n'                        # 8
        'database = "platform"\n'                     # 9
        'user = "platform_owner"\n'                   # 10
        'port = 70000\n'                              # 11
        'sslmode = "verify-full"\n'                   # 12
        '\n'                                          # 13
        '[[users]]\n'                                 # 14
        'name = "app"\n'                              # 15
        'password = "x"\n'                            # 16
        '[[users]]\n'                                 # 17
        'name = "app"\n'                              # 18
        'password = "y"\n'                            # 19
        '\n'                                          # 20
        '[nonsense]\n'                                # 21
        'a = 1\n')                                    # 22
    r = run("--check", "-c", str(bad))
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    positioned = [l for l in lines if re.match(rf"{re.escape(str(bad))}:\d+:\d+: ", l)]
    where = {int(l.split(":")[1]) for l in positioned}

    def has(line_no, word):
        return any(l.split(":")[1] == str(line_no) and word in l for l in positioned)

    assert has(3, "workers"), lines
    assert has(4, "mystery"), lines
    assert has(5, "client_tls"), lines
    assert has(11, "port"), lines
    assert has(12, "sslrootcert"), lines
    assert has(18, "app"), lines  # the second user of the same name
    assert has(21, "nonsense"), lines
    assert where == {3, 4, 5, 11, 12, 18, 21}, lines


def test_check_missing_file(tmp_path):
    r = run("--check", "-c", str(tmp_path / "nope.toml"))
    assert r.returncode == 1
    assert "nope.toml" in r.stderr


def test_start_with_bad_file_exits_1(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[proxy]\nworkers = -5\n')
    r = run("-c", str(bad), timeout=10)
    assert r.returncode == 1
    assert f"{bad}:2:" in r.stderr, r.stderr


def test_unknown_option():
    r = run("--frobnicate")
    assert r.returncode != 0
    assert "usage" in r.stderr
