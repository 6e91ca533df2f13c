"""The Python layer over libcardap: reads, errors mapped to exceptions, handle
lifetimes, the enums against the header's constants, the example script."""

import copy
import dataclasses
import json
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import cardap
from cardap._native import ffi, lib

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
CARD = EXAMPLES / "cards" / "demo.toml"
PROFILES = EXAMPLES / "profiles"

LIBRARY_JSON = (
    '{"name":"city-library","type":"C","aid":"F0434152444150430001","user_id":"1001000000019",'
    '"info":{"info1":"4C4942","info2":"00123456","info3":"07"},'
    '"fields":{"branch":"LIB","member_no":"00123456"},"apdus":2}'
)
KIOSK_JSON = (
    '{"name":"staff-kiosk","type":"A","aid":"F0434152444150410007","user_id":"2007000000029",'
    '"info":{"info1":"53544146462D3031","info2":"20250401"},'
    '"fields":{"staff_no":"STAFF-01","valid_from":"20250401"},"apdus":4}'
)


@pytest.fixture
def card():
    with cardap.Context.virtual_card(CARD) as c:
        yield c


def profile(name: str) -> cardap.Profile:
    return cardap.Profile.from_file(PROFILES / f"{name}.toml")


def test_reads_type_c(card):
    record = card.read(profile("library"))
    assert record.type is cardap.ApType.C
    assert record.user_id == "1001000000019"
    assert record.info == {"info1": b"LIB", "info2": bytes.fromhex("00123456"), "info3": b"\x07"}
    assert record.data is None
    assert record.fields == {"branch": "LIB", "member_no": "00123456"}
    assert record.apdus == 2
    assert record.to_json() == LIBRARY_JSON


def test_reads_type_a(card):
    record = card.read(profile("kiosk"))
    assert record.type is cardap.ApType.A
    assert record.type.label == "A"
    assert record.aid == bytes.fromhex("F0434152444150410007")
    assert record.fields["staff_no"] == "STAFF-01"
    assert record.to_json() == KIOSK_JSON


def test_reads_type_d(card):
    record = card.read(profile("evacuee"))
    assert record.type is cardap.ApType.D
    assert record.user_id == "3003000000035"
    assert record.info == {}
    assert record.data is not None and len(record.data) == 242
    assert record.fields == {"birth_date": "19850412", "name": "山田 花子", "shelter": "市立第一小学校"}
    assert record.apdus == 4


def test_records_are_hashable_immutable_and_asdict_safe(card):
    record = card.read(profile("library"))
    again = card.read(profile("library"))
    assert record == again and hash(record) == hash(again)
    assert len({record, again, card.read(profile("kiosk"))}) == 2
    plain = dataclasses.asdict(record)
    assert plain["info"] == {"info1": b"LIB", "info2": bytes.fromhex("00123456"), "info3": b"\x07"}
    assert plain["fields"] == {"branch": "LIB", "member_no": "00123456"}
    assert plain["type"] is cardap.ApType.C
    assert json.dumps(plain["fields"]) == '{"branch": "LIB", "member_no": "00123456"}'
    assert list(record.info) == ["info1", "info2", "info3"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.user_id = "x"  # type: ignore[misc]
    for change in (
        lambda: record.fields.__setitem__("branch", "X"),
        lambda: record.fields.update(branch="X"),
        lambda: record.info.pop("info1"),
        lambda: record.info.clear(),
        lambda: record.fields.setdefault("new", "X"),
    ):
        with pytest.raises(TypeError):
            change()
    assert record.fields["branch"] == "LIB"
    assert copy.deepcopy(record) == record
    assert pickle.loads(pickle.dumps(record)) == record
    assert dataclasses.replace(record, apdus=3) != record
    d = card.read(profile("evacuee"))
    assert hash(d) == hash(dataclasses.replace(d)) and isinstance(d.data, bytes)
    entries = card.list()
    assert len(set(entries)) == 3 and dataclasses.asdict(entries[0])["label"] == "city library"


def test_short_apdus_and_string_sources():
    text = CARD.read_text(encoding="utf-8")
    with cardap.Context.virtual_card_from_str(text) as card:
        card.short_apdus = True
        assert card.short_apdus
        record = card.read(cardap.Profile.from_str((PROFILES / "evacuee.toml").read_text(encoding="utf-8")))
        assert record.apdus == 5


def test_profile_properties():
    with profile("evacuee") as p:
        assert p.name == "evacuee-record"
        assert p.type is cardap.ApType.D
        assert p.aid.hex().upper() == "F0434152444150440003"
        assert "evacuee-record" in repr(p)
    assert p.closed
    with pytest.raises(ValueError):
        p.name


def test_list(card):
    entries = card.list()
    assert [e.label for e in entries] == ["city library", "staff ID kiosk", "evacuee record"]
    assert entries[0].aid.hex().upper() == "F0434152444150430001"


def test_profile_errors():
    with pytest.raises(cardap.ProfileError) as e:
        cardap.Profile.from_str('name = "x"\ntype = "A"\naid = "F0 43 41 52 44 41 50 41 00 07"\n')
    assert e.value.code is cardap.Result.PROFILE_INVALID
    assert "auth" in str(e.value)
    with pytest.raises(cardap.ProfileError) as e:
        cardap.Profile.from_file(PROFILES / "missing.toml")
    assert e.value.code is cardap.Result.PROFILE_IO
    assert "missing.toml" in e.value.message


def test_error_texts_name_the_operation_not_the_c_function(card):
    failures = []
    for attempt in (
        lambda: cardap.Profile.from_file(PROFILES / "missing.toml"),
        lambda: cardap.Profile.from_str("x"),
        lambda: cardap.Context.virtual_card_from_str("[[ap]]"),
        lambda: cardap.Context.from_transport(lambda c: b"", atr=bytes(40)),
        lambda: card.read(cardap.Profile.from_str((PROFILES / "library.toml").read_text().replace("43 00 01", "43 00 99"))),
    ):
        with pytest.raises(cardap.CardapError) as e:
            attempt()
        failures.append(str(e.value))
    assert failures[0].startswith("load profile: ") and "missing.toml" in failures[0]
    assert failures[2].startswith("open virtual card: ")
    for text in failures:
        assert "cardap_" not in text and text == text.strip() and ": " in text


def test_card_description_errors():
    with pytest.raises(cardap.CardDescriptionError) as e:
        cardap.Context.virtual_card_from_str('[[ap]]\ntype = "Q"\n')
    assert e.value.code is cardap.Result.CARD_DESCRIPTION_INVALID
    with pytest.raises(cardap.CardDescriptionError) as e:
        cardap.Context.virtual_card(EXAMPLES / "cards" / "missing.toml")
    assert e.value.code is cardap.Result.CARD_DESCRIPTION_IO


def test_wrong_keys_and_absent_ap(card):
    text = (PROFILES / "kiosk.toml").read_text(encoding="utf-8")
    wrong = cardap.Profile.from_str(text.replace("101112131415161718191A1B1C1D1E1F", "0" * 32))
    with pytest.raises(cardap.AuthenticationError) as e:
        card.read(wrong)
    assert isinstance(e.value, cardap.SecurityError)
    assert e.value.code is cardap.Result.AUTH_FAILED
    assert "0000000000" not in str(e.value) and "0A0B0C" not in str(e.value)
    absent = cardap.Profile.from_str((PROFILES / "library.toml").read_text().replace("43 00 01", "43 00 99"))
    with pytest.raises(cardap.ApNotFoundError) as e:
        card.read(absent)
    assert "F0434152444150430099" in str(e.value)
    # The context still works after failures.
    assert card.read(profile("library")).to_json() == LIBRARY_JSON


def test_bad_arguments(card):
    with pytest.raises(cardap.ArgumentError) as e:
        cardap.Profile.from_file("a\0b")
    assert e.value.code is cardap.Result.INVALID_ARGUMENT
    with pytest.raises(TypeError):
        card.read("not a profile")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cardap.Profile.from_file(42)  # type: ignore[arg-type]
    with pytest.raises(UnicodeEncodeError):
        cardap.Profile.from_str("\udc80")
    # Straight through cffi: NULL and oversized lengths give codes, no crash.
    out = ffi.new("cardap_profile **")
    assert lib.cardap_profile_new_from_str(ffi.NULL, 5, out) == cardap.Result.NULL_PARAMETER
    assert lib.cardap_profile_new_from_str(b"x", 2**64 - 1, out) == cardap.Result.TOO_LONG
    assert lib.cardap_context_read(ffi.NULL, ffi.NULL, ffi.NULL) == cardap.Result.NULL_PARAMETER
    garbage = ffi.new("uint64_t[8]", [0xABABABABABABABAB] * 8)
    as_profile = ffi.cast("cardap_profile *", garbage)
    name, length = ffi.new("const char **"), ffi.new("size_t *")
    assert lib.cardap_profile_name(as_profile, name, length) == cardap.Result.INVALID_HANDLE
    assert out[0] == ffi.NULL
    lib.cardap_profile_free(as_profile)
    lib.cardap_profile_free(ffi.NULL)


def test_closed_context():
    card = cardap.Context.virtual_card(CARD)
    card.close()
    card.close()
    with pytest.raises(ValueError):
        card.read(profile("library"))


def test_enums_match_the_header():
    consts = {name: getattr(lib, name) for name in dir(lib) if name.startswith("CARDAP_RESULT_")}
    assert consts == {f"CARDAP_RESULT_{r.name}": r.value for r in cardap.Result}
    types = {name: getattr(lib, name) for name in dir(lib) if name.startswith("CARDAP_AP_TYPE_")}
    assert types == {f"CARDAP_AP_TYPE_{t.name}": t.value for t in cardap.ApType}
    areas = {name: getattr(lib, name) for name in dir(lib) if name.startswith("CARDAP_AREA_")}
    assert areas == {f"CARDAP_AREA_{a.name}": a.value for a in cardap.Area}
    assert all(r.text for r in cardap.Result)
    assert cardap.Result.AUTH_FAILED.text == "mutual authentication failed"


def test_version():
    cargo = (ROOT / "Cargo.toml").read_text()
    assert f'version = "{cardap.__version__}"' in cargo


def test_context_is_shared_by_threads(card):
    p = profile("kiosk")
    results = []

    def worker():
        for _ in range(5):
            results.append(card.read(p).to_json())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [KIOSK_JSON] * 20


def test_close_from_another_thread_waits_for_calls_under_way():
    # Native calls run without the GIL: closing a context or a profile while
    # another thread reads through it must neither free it under that read
    # nor crash; later calls raise ValueError.
    for _ in range(20):
        ctx = cardap.Context.virtual_card(CARD)
        p = profile("evacuee")
        outcomes = []

        def reader():
            for _ in range(50):
                try:
                    outcomes.append(ctx.read(p).user_id)
                except ValueError:
                    outcomes.append("closed")

        t = threading.Thread(target=reader)
        t.start()
        p.close()
        ctx.close()
        t.join()
        assert set(outcomes) <= {"3003000000035", "closed"}
        assert outcomes[-1] == "closed"


def test_readers_answer_with_a_list_or_an_error():
    try:
        found = cardap.readers()
    except cardap.ServiceUnavailableError:
        return
    assert all(isinstance(r.name, str) and r.name for r in found)


READER = os.environ.get("CARDAP_TEST_READER")


@pytest.mark.skipif(not READER, reason="set CARDAP_TEST_READER to a reader holding the demo card")
def test_pcsc_reads_a_c_d():
    with cardap.Context.pcsc(READER) as card:
        assert card.read(profile("library")).to_json() == LIBRARY_JSON
        assert card.read(profile("kiosk")).to_json() == KIOSK_JSON
        assert card.read(profile("evacuee")).fields["birth_date"] == "19850412"


@pytest.mark.skipif(not READER, reason="set CARDAP_TEST_READER to a reader holding the demo card")
def test_pcsc_writes_and_restores():
    with cardap.Context.pcsc(READER) as card:
        library = profile("library")
        assert card.write(library, {"info2": "00424242"}) == 5
        assert card.read(library).fields["member_no"] == "00424242"
        kiosk = profile("kiosk")
        assert card.write(kiosk, ["staff_no=STAFF-42"]) == 4
        assert card.read(kiosk).fields["staff_no"] == "STAFF-42"
        # Put the demo card back as it was for the tests that follow.
        assert card.write(library, {"info2": "00123456"}) == 5
        assert card.write(kiosk, ["staff_no=STAFF-01"]) == 4
        assert card.read(library).to_json() == LIBRARY_JSON
        assert card.read(kiosk).to_json() == KIOSK_JSON


def test_example_script():
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "python" / "read_ap.py"), "--profile", str(PROFILES / "kiosk.toml"),
         "--virtual-card", str(CARD)],
        capture_output=True, text=True, check=True,
    )
    assert out.stdout == KIOSK_JSON + "\n"
    bad = subprocess.run(
        [sys.executable, str(EXAMPLES / "python" / "read_ap.py"), "--profile", "missing.toml", "--virtual-card",
         str(CARD)],
        capture_output=True, text=True,
    )
    assert bad.returncode == 1 and "PROFILE_IO" in bad.stderr


def test_write_info_fields_and_read_them_back():
    with cardap.Context.virtual_card(CARD) as c:
        library = profile("library")
        assert c.write(library, {"info2": "00777777", "branch": "NORTH"}) == 5
        rec = c.read(library)
        assert rec.fields["member_no"] == "00777777"
        assert rec.fields["branch"] == "NORTH"
        evacuee = profile("evacuee")
        assert c.write(evacuee, ["data@13=E5B1B1"]) == 4
        assert c.read(evacuee).data[:3] == bytes.fromhex("E5B1B1")
        with pytest.raises(cardap.ArgumentError) as e:
            c.write(evacuee, ["data@0=3030"])
        assert e.value.code == cardap.Result.INVALID_WRITE
        assert "user ID" in str(e.value)
        with pytest.raises(ValueError):
            c.write(library, ["no equals sign"])
        # The read keys are not the update keys: the authentication fails.
        kiosk_text = (PROFILES / "kiosk.toml").read_text()
        read_keys = kiosk_text.split("[auth]")[1].split("#")[0]
        wrong = kiosk_text.split("# The update keys")[0] + "[auth.update]" + read_keys
        with pytest.raises(cardap.AuthenticationError):
            c.write(cardap.Profile.from_str(wrong), {"info1": "00"})
        assert c.read(profile("kiosk")).fields["staff_no"] == "STAFF-01"


def test_the_loading_desk(tmp_path):
    desk_file = tmp_path / "issuer.toml"
    desk_file.write_text((EXAMPLES / "issuer.toml").read_text())
    card_copy = tmp_path / "card.toml"
    card_copy.write_text(CARD.read_text())
    with cardap.Context.virtual_card(card_copy) as c, cardap.Issuer.from_file(desk_file) as desk:
        out = tmp_path / "taxi.toml"
        aid = bytes.fromhex("F0434152444150410300")
        user_id = c.install(desk, cardap.ApType.A, cardap.Area.LOCAL, aid, "taxi", out,
                            info={"info1": "5441584931", "info2": ""}, suite="aes256")
        assert len(user_id) == 13 and user_id.isdigit()
        taxi = cardap.Profile.from_file(out)
        rec = c.read(taxi)
        assert rec.user_id == user_id
        assert c.write(taxi, {"info2": "20260401"}) == 4
        assert c.read(taxi).info["info2"] == bytes.fromhex("20260401")
        local = c.list_area(desk, cardap.Area.LOCAL)
        assert [e["user_id"] for e in local] == ["1001000000019", user_id]
        with pytest.raises(cardap.StatusError) as e:
            c.install(desk, cardap.ApType.C, cardap.Area.LOCAL, aid, "again", tmp_path / "x.toml")
        assert e.value.sw == 0x6A89
        assert c.move_out(desk) == 2
        with pytest.raises(cardap.ApNotFoundError):
            c.read(taxi)
        c.delete_ap(desk, bytes.fromhex("F0434152444150410007"))
        with pytest.raises(cardap.ApNotFoundError):
            c.delete_ap(desk, bytes.fromhex("F0434152444150410007"))
        assert [e["area"] for e in c.list_area(desk)] == ["extension"]
