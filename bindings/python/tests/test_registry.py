"""The registry through the Python layer: decisions, feeds, statuses,
registration from the demo card, errors, and a gate thread deciding on its
own handle while another thread imports."""

import os
import threading
from pathlib import Path

import pytest

import cardap

ROOT = Path(__file__).resolve().parents[3]
CARD = ROOT / "examples" / "cards" / "demo.toml"
LIBRARY = ROOT / "examples" / "profiles" / "library.toml"
DEMO_ID = "1001000000019"


def uid(n: int) -> str:
    body = f"{n:012d}"
    weights = [2, 3, 4, 5, 6, 7] * 2
    s = sum(int(d) * w for d, w in zip(reversed(body), weights))
    r = s % 11
    return body + str(0 if r <= 1 else 11 - r)


def feed(path: Path, rows) -> Path:
    path.write_text(
        "user_id,status,updated_at\n"
        + "".join(f"{uid(n)},{status},2026-11-30T00:00:00Z\n" for n, status in rows)
    )
    return path


def test_register_decide_and_statuses(tmp_path):
    with cardap.Registry.open(tmp_path / "r.db") as reg:
        with cardap.Context.virtual_card(CARD) as card:
            profile = cardap.Profile.from_file(LIBRARY)
            desk = reg.register(card, profile, "M-0001", label="Hanako")
            assert desk == {"user_id": DEMO_ID, "ap": "city-library", "member": "M-0001", "label": "Hanako"}
            with pytest.raises(cardap.MemberExistsError) as e:
                reg.register(card, profile, "M-0002")
            assert e.value.code == cardap.Result.MEMBER_EXISTS
        d = reg.decide(DEMO_ID, "city-library")
        assert (d.allow, d.reason, d.source, d.member) == (True, None, None, "M-0001")
        assert d.to_dict()["decision"] == "allow"
        assert reg.decide(DEMO_ID, "gym").reason == "wrong_ap"
        assert reg.decide(uid(5), "city-library").reason == "unknown_user"

        report = reg.import_feed(feed(tmp_path / "f.csv", [(1001000001, "suspended")]), full=True)
        assert report == {"mode": "full", "rows": 1, "changed": 1, "removed": 0}
        reg.import_feed(feed(tmp_path / "d.csv", [(100100000001, "suspended")]), full=False)
        assert reg.check(DEMO_ID) == {
            "user_id": DEMO_ID,
            "status": "suspended",
            "source": "feed",
            "updated_at": "2026-11-30T00:00:00Z",
        }
        d = reg.decide(DEMO_ID, "city-library")
        assert (d.allow, d.reason, d.source) == (False, "suspended", "feed")
        reg.set_status(DEMO_ID, "active")
        assert reg.decide(DEMO_ID, "city-library").source == "provider"
        reg.clear_status(DEMO_ID)
        assert reg.check(DEMO_ID)["source"] == "feed"
        reg.add_member(uid(7), "city-library", "M-7")
        assert reg.check(uid(7))["status"] == "unlisted"


def test_errors(tmp_path):
    with cardap.Registry.open(tmp_path / "r.db") as reg:
        with pytest.raises(cardap.ArgumentError):
            reg.check("1001000000010")
        with pytest.raises(ValueError):
            reg.set_status(DEMO_ID, "lost")
        bad = tmp_path / "bad.csv"
        bad.write_text(f"user_id,status,updated_at\n{DEMO_ID},lost,2026-01-01T00:00:00Z\n{DEMO_ID},active,x\n")
        with pytest.raises(cardap.FeedError) as e:
            reg.import_feed(bad, full=True)
        assert e.value.code == cardap.Result.FEED_INVALID
        assert "line 2: unknown status" in e.value.message
        assert "line 3: bad time" in e.value.message
        with pytest.raises(cardap.FeedError):
            reg.import_feed(tmp_path / "missing.csv", full=False)
    with pytest.raises(cardap.RegistryError) as e:
        cardap.Registry.open("/nonexistent/dir/r.db")
    assert e.value.code == cardap.Result.REGISTRY_STORE


def test_a_gate_thread_decides_during_an_import(tmp_path):
    n = 20000
    db = tmp_path / "r.db"
    old = feed(tmp_path / "old.csv", [(i, "active") for i in range(1, n + 1)])
    new = feed(tmp_path / "new.csv", [(i, "suspended") for i in range(1, n + 1)])
    importer = cardap.Registry.open(db)
    importer.import_feed(old, full=True)
    importer.add_member(uid(n), "city-library", "M-N")
    gate = cardap.Registry.open(db)
    done = threading.Event()
    seen = []

    def decide():
        while True:
            finished = done.is_set()
            seen.append(gate.decide(uid(n), "city-library").reason)
            if finished:
                return

    t = threading.Thread(target=decide)
    t.start()
    importer.import_feed(new, full=True)
    done.set()
    t.join()
    assert set(seen) <= {None, "suspended"}
    first_new = seen.index("suspended")
    assert all(r == "suspended" for r in seen[first_new:]), "old after new"
    importer.close()
    gate.close()


def run_example(name, *args):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / "python" / name), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_desk_and_gate_examples_on_the_demo_card(tmp_path):
    import json

    db = tmp_path / "library.db"
    src = ("--profile", LIBRARY, "--virtual-card", CARD)
    gate = run_example("gate.py", "--db", db, *src, "--taps", "1")
    assert gate.returncode == 0, gate.stderr
    line = json.loads(gate.stdout)
    assert (line["ok"], line["decision"], line["reason"]) == (True, "deny", "unknown_user")
    desk = run_example("registration_desk.py", "--db", db, *src, "--member", "M-0001", "--label", "山田 花子")
    assert desk.returncode == 0, desk.stderr
    assert json.loads(desk.stdout) == {"user_id": DEMO_ID, "ap": "city-library", "member": "M-0001", "label": "山田 花子"}
    again = run_example("registration_desk.py", "--db", db, *src, "--member", "M-0002")
    assert again.returncode == 1 and "M-0001" in again.stderr
    gate = run_example("gate.py", "--db", db, *src, "--taps", "2")
    lines = [json.loads(l) for l in gate.stdout.splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert set(line) == {"time", "reader", "ok", "user_id", "decision", "reason", "source", "member", "apdus", "ms"}
        assert (line["decision"], line["member"], line["apdus"]) == ("allow", "M-0001", 2)
    with cardap.Registry.open(db) as reg:
        reg.set_status(DEMO_ID, "suspended")
    line = json.loads(run_example("gate.py", "--db", db, *src, "--taps", "1").stdout)
    assert (line["decision"], line["reason"], line["source"]) == ("deny", "suspended", "provider")


@pytest.mark.skipif(not os.environ.get("CARDAP_TEST_READER"), reason="needs CARDAP_TEST_READER (pcscd + vpcd)")
def test_pcsc_desk_and_gate_examples(tmp_path):
    import json

    reader = os.environ["CARDAP_TEST_READER"]
    db = tmp_path / "library.db"
    src = ("--profile", LIBRARY, "--reader", reader)
    desk = run_example("registration_desk.py", "--db", db, *src, "--member", "M-0001")
    assert desk.returncode == 0, desk.stderr
    assert json.loads(desk.stdout)["user_id"] == DEMO_ID
    gate = run_example("gate.py", "--db", db, *src, "--taps", "1")
    assert gate.returncode == 0, gate.stderr
    line = json.loads(gate.stdout)
    assert (line["reader"], line["decision"], line["member"]) == (reader, "allow", "M-0001")
