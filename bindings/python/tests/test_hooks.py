"""The embedding hooks from Python: a caller-supplied transport (a callable),
waiting for a card with a timeout and cancellation, a key provider that keeps
the AP keys in its own object, and log events on the "cardap" logger.

The transport tests serve the demo card with `cardap sim` (the CLI, found as
CARDAP_BIN or target/debug/cardap) and speak vpcd's framing to it from
Python: the card is a separate process, pcscd is not involved. The PC/SC
tests (pyscard as the transport, waiting for a card) need
CARDAP_TEST_READER: a reader holding the demo card. The wait tests that
insert a card also need CARDAP_TEST_EMPTY_READER and CARDAP_TEST_EMPTY_PORT:
an empty vpcd reader and its port (scripts/test-ffi.sh sets all three).
"""

import gc
import logging
import os
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
from Crypto.Cipher import AES, DES, DES3
from Crypto.Hash import CMAC

import cardap

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
CARD = EXAMPLES / "cards" / "demo.toml"
PROFILES = EXAMPLES / "profiles"
CARDAP_BIN = Path(os.environ.get("CARDAP_BIN", ROOT / "target" / "debug" / "cardap"))

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
EVACUEE_FIELDS = {"name": "山田 花子", "shelter": "市立第一小学校", "birth_date": "19850412"}

KIOSK_KEYS = (bytes.fromhex("000102030405060708090A0B0C0D0E0F"), bytes.fromhex("101112131415161718191A1B1C1D1E1F"))
EVACUEE_KEYS = (
    bytes.fromhex("404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F"),
    bytes.fromhex("606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F"),
)


def profile(name: str) -> cardap.Profile:
    return cardap.Profile.from_file(PROFILES / f"{name}.toml")


def keyless(name: str) -> cardap.Profile:
    """A profile without keys: `[auth]` names the suite only."""
    lines = (PROFILES / f"{name}.toml").read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines if not line.startswith(("k_enc", "k_mac")))
    assert "k_enc =" not in text and "k_mac =" not in text
    return cardap.Profile.from_str(text)


# --- a virtual card over vpcd framing, as a callable transport ---------------


class VpcdCard:
    """`cardap sim` connected to a vpcd-style server of our own: a real card
    process whose APDUs we carry ourselves."""

    def __init__(self, card: Path = CARD, extra: tuple = ()) -> None:
        if not CARDAP_BIN.exists():
            pytest.skip(f"no cardap CLI at {CARDAP_BIN} (set CARDAP_BIN)")
        server = socket.create_server(("127.0.0.1", 0))
        server.settimeout(20)
        port = server.getsockname()[1]
        self.process = subprocess.Popen(
            [str(CARDAP_BIN), "sim", "--card", str(card), "--port", str(port), *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            self.sock, _ = server.accept()
        finally:
            server.close()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.commands = []
        self._send(b"\x01")  # power on
        self._send(b"\x04")  # get ATR
        self.atr = self._receive()

    def _send(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">H", len(payload)) + payload)

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("the virtual card went away")
            data += chunk
        return data

    def _receive(self) -> bytes:
        (length,) = struct.unpack(">H", self._exact(2))
        return self._exact(length)

    def transmit(self, command: bytes) -> bytes:
        assert isinstance(command, bytes)
        self.commands.append(command)
        self._send(command)
        return self._receive()

    def close(self) -> None:
        self.sock.close()
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def vpcd_card():
    card = VpcdCard()
    yield card
    card.close()


def test_transport_callable_reads_a_c_d(vpcd_card):
    with cardap.Context.from_transport(vpcd_card.transmit, atr=vpcd_card.atr) as card:
        assert card.read(profile("library")).to_json() == LIBRARY_JSON
        kiosk = card.read(profile("kiosk"))
        assert kiosk.to_json() == KIOSK_JSON
        evacuee = card.read(profile("evacuee"))
        assert evacuee.fields == EVACUEE_FIELDS
        assert evacuee.apdus == 4  # the ATR allows extended length
        assert len(vpcd_card.commands) == 2 + 4 + 4
        assert vpcd_card.commands[0][:3] == bytes.fromhex("00A404")  # SELECT by AID
        assert [e.label for e in card.list()] == ["city library", "staff ID kiosk", "evacuee record"]


def test_transport_without_atr_sends_short_apdus(vpcd_card):
    with cardap.Context.from_transport(vpcd_card.transmit) as card:
        record = card.read(profile("evacuee"))
    assert record.fields == EVACUEE_FIELDS
    assert record.apdus == 5


def test_transport_callable_is_kept_alive_by_the_context(vpcd_card):
    card = cardap.Context.from_transport(lambda command: vpcd_card.transmit(command))
    gc.collect()
    assert card.read(profile("library")).to_json() == LIBRARY_JSON
    card.close()


def test_transport_exceptions_become_transport_errors(vpcd_card):
    failure = {"raise": None}

    def transmit(command: bytes) -> bytes:
        if failure["raise"] is not None:
            raise failure["raise"]
        return vpcd_card.transmit(command)

    with cardap.Context.from_transport(transmit) as card:
        failure["raise"] = ValueError("the NFC stack fell over")
        with pytest.raises(cardap.TransportError) as e:
            card.read(profile("library"))
        assert type(e.value) is cardap.TransportError
        assert e.value.code is cardap.Result.TRANSPORT_FAILURE
        assert isinstance(e.value.__cause__, ValueError)
        assert not str(e.value).startswith("cardap_")

        failure["raise"] = cardap.CardRemovedError(cardap.Result.CARD_REMOVED, "the phone moved away")
        with pytest.raises(cardap.CardRemovedError) as e:
            card.read(profile("library"))
        assert e.value.code is cardap.Result.CARD_REMOVED
        assert isinstance(e.value.__cause__, cardap.CardRemovedError)

        failure["raise"] = KeyboardInterrupt()  # Ctrl-C goes on as itself
        with pytest.raises(KeyboardInterrupt):
            card.read(profile("library"))

        failure["raise"] = None
        assert card.read(profile("library")).to_json() == LIBRARY_JSON


def test_transport_callable_using_its_own_context_gets_busy(vpcd_card):
    holder = {}

    def transmit(command: bytes) -> bytes:
        holder["card"].read(profile("library"))
        return vpcd_card.transmit(command)

    with cardap.Context.from_transport(transmit) as card:
        holder["card"] = card
        with pytest.raises(cardap.TransportError) as e:
            card.read(profile("library"))
        assert isinstance(e.value.__cause__, cardap.CardapError)
        assert e.value.__cause__.code is cardap.Result.BUSY


@pytest.mark.parametrize("reply", ["9000", b"\x90", b"\x00" * 70000, None])
def test_transport_bad_replies_are_transport_errors(reply):
    with cardap.Context.from_transport(lambda command: reply) as card:  # type: ignore[arg-type,return-value]
        with pytest.raises(cardap.TransportError) as e:
            card.read(profile("library"))
    assert e.value.code is cardap.Result.TRANSPORT_FAILURE


def test_transport_arguments():
    with pytest.raises(TypeError):
        cardap.Context.from_transport(b"not callable")  # type: ignore[arg-type]
    with pytest.raises(cardap.ArgumentError) as e:
        cardap.Context.from_transport(lambda c: b"\x90\x00", atr=bytes(34))
    assert e.value.code is cardap.Result.TOO_LONG


# --- key provider -------------------------------------------------------------


def _pad(data: bytes, block: int) -> bytes:
    """ISO/IEC 9797-1 padding method 2."""
    data += b"\x80"
    return data + bytes(-len(data) % block)


class SoftKeys(cardap.KeyProvider):
    """Keys held by this object (standing in for an HSM); the cryptography
    is pycryptodome's, not cardap's."""

    def __init__(self, suite: cardap.Suite, k_enc: bytes, k_mac: bytes) -> None:
        self.suite = suite
        self._k_enc = k_enc
        self._k_mac = k_mac
        self.calls = []

    def _cipher(self):
        if self.suite is cardap.Suite.TDES:
            return DES3.new(self._k_enc, DES3.MODE_CBC, iv=bytes(8))
        return AES.new(self._k_enc, AES.MODE_CBC, iv=bytes(16))

    def encrypt(self, data: bytes) -> bytes:
        self.calls.append("encrypt")
        return self._cipher().encrypt(data)

    def decrypt(self, data: bytes) -> bytes:
        self.calls.append("decrypt")
        return self._cipher().decrypt(data)

    def mac(self, data: bytes) -> bytes:
        self.calls.append("mac")
        if self.suite is cardap.Suite.TDES:
            # ISO/IEC 9797-1 MAC algorithm 3 (retail MAC).
            k1, k2 = self._k_mac[:8], self._k_mac[8:16]
            last = DES.new(k1, DES.MODE_CBC, iv=bytes(8)).encrypt(_pad(data, 8))[-8:]
            return DES.new(k1, DES.MODE_ECB).encrypt(DES.new(k2, DES.MODE_ECB).decrypt(last))
        return CMAC.new(self._k_mac, _pad(data, 16), ciphermod=AES).digest()[:8]


def test_key_provider_reads_a_and_d_with_keys_kept_in_python():
    with cardap.Context.virtual_card(CARD) as card:
        kiosk_keys = SoftKeys(cardap.Suite.AES128, *KIOSK_KEYS)
        assert card.read(keyless("kiosk"), keys=kiosk_keys).to_json() == KIOSK_JSON
        assert sorted(set(kiosk_keys.calls)) == ["decrypt", "encrypt", "mac"]
        evacuee_keys = SoftKeys(cardap.Suite.AES256, *EVACUEE_KEYS)
        assert card.read(keyless("evacuee"), keys=evacuee_keys).fields == EVACUEE_FIELDS
        # Type C needs no keys: the provider is not asked.
        unused = SoftKeys(cardap.Suite.AES128, *KIOSK_KEYS)
        assert card.read(profile("library"), keys=unused).to_json() == LIBRARY_JSON
        assert unused.calls == []
        # Without a provider, a profile without keys cannot be read.
        with pytest.raises(cardap.NoKeysError) as e:
            card.read(keyless("kiosk"))
        assert e.value.code is cardap.Result.NO_KEYS and isinstance(e.value, cardap.SecurityError)
        assert "key" in str(e.value)
        assert repr(kiosk_keys) == "SoftKeys(suite='aes128')"


def test_key_provider_is_used_instead_of_the_profiles_keys():
    wrong = (PROFILES / "kiosk.toml").read_text(encoding="utf-8").replace("101112131415161718191A1B1C1D1E1F", "0" * 32)
    with cardap.Context.virtual_card(CARD) as card:
        with pytest.raises(cardap.AuthenticationError):
            card.read(cardap.Profile.from_str(wrong))
        assert card.read(cardap.Profile.from_str(wrong), keys=SoftKeys(cardap.Suite.AES128, *KIOSK_KEYS)).to_json() \
            == KIOSK_JSON


TDES_CARD = """
[[ap]]
type = "A"
aid = "F0 43 41 52 44 41 50 41 00 33"
suite = "3des"
k_enc = "01 23 45 67 89 AB CD EF FE DC BA 98 76 54 32 10"
k_mac = "0F 1E 2D 3C 4B 5A 69 78 87 96 A5 B4 C3 D2 E1 F0"
user_id = "2007000000029"
records = ["33 44 45 53"]
"""
TDES_PROFILE = """
name = "tdes-kiosk"
type = "A"
aid = "F0 43 41 52 44 41 50 41 00 33"
[auth]
suite = "3des"
[[field]]
name = "tag"
source = "info1"
encoding = "ascii"
"""


def test_suites_match_the_header():
    from cardap._native import lib

    consts = {name: getattr(lib, name) for name in dir(lib) if name.startswith("CARDAP_SUITE_")}
    assert consts == {f"CARDAP_SUITE_{s.label.upper()}": s.value for s in cardap.Suite}


def test_key_provider_3des():
    keys = SoftKeys(cardap.Suite.TDES, bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"),
                    bytes.fromhex("0F1E2D3C4B5A69788796A5B4C3D2E1F0"))
    with cardap.Context.virtual_card_from_str(TDES_CARD) as card:
        record = card.read(cardap.Profile.from_str(TDES_PROFILE), keys=keys)
    assert record.fields == {"tag": "3DES"}
    assert cardap.Suite.TDES.label == "3des"


class Failing(SoftKeys):
    def __init__(self, method: str, result=None) -> None:
        super().__init__(cardap.Suite.AES128, *KIOSK_KEYS)
        self.method, self.result = method, result

    def encrypt(self, data):
        return self._fail("encrypt", super().encrypt(data))

    def decrypt(self, data):
        return self._fail("decrypt", super().decrypt(data))

    def mac(self, data):
        return self._fail("mac", super().mac(data))

    def _fail(self, method, good):
        if method != self.method:
            return good
        if self.result is None:
            raise RuntimeError("the HSM is offline")
        return self.result


@pytest.mark.parametrize("provider", [
    Failing("encrypt"), Failing("mac"), Failing("decrypt"),
    Failing("mac", b"\x00" * 7), Failing("encrypt", b"\x00" * 31), Failing("encrypt", "text"),
    SoftKeys(cardap.Suite.AES128, bytes(16), bytes(16)),
])
def test_key_provider_failures_are_security_errors(provider):
    with cardap.Context.virtual_card(CARD) as card:
        with pytest.raises(cardap.SecurityError) as e:
            card.read(keyless("kiosk"), keys=provider)
        if isinstance(provider, Failing) and provider.result is None:
            assert isinstance(e.value.__cause__, RuntimeError)
        # The context still works afterwards.
        assert card.read(keyless("kiosk"), keys=SoftKeys(cardap.Suite.AES128, *KIOSK_KEYS)).to_json() == KIOSK_JSON


def test_key_provider_arguments():
    with cardap.Context.virtual_card(CARD) as card:
        with pytest.raises(TypeError):
            card.read(keyless("kiosk"), keys=object())  # type: ignore[arg-type]
        bare = cardap.KeyProvider()
        bare.suite = cardap.Suite.AES128
        with pytest.raises(cardap.SecurityError) as e:
            card.read(keyless("kiosk"), keys=bare)
        assert isinstance(e.value.__cause__, NotImplementedError)
        # The provider's suite must be the profile's.
        with pytest.raises(cardap.SecurityError):
            card.read(keyless("kiosk"), keys=SoftKeys(cardap.Suite.AES256, *EVACUEE_KEYS))


# --- log events -----------------------------------------------------------------


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=1)
        self.records = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def cardap_log():
    handler = Collect()
    logger = logging.getLogger("cardap")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(1)
    yield handler
    cardap.disable_logging()
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def test_log_events_reach_the_cardap_logger_without_secrets(cardap_log):
    cardap.enable_logging(cardap.TRACE)
    with cardap.Context.virtual_card(CARD) as card:
        card.read(profile("library"))
        card.read(profile("kiosk"))
        card.read(keyless("evacuee"), keys=SoftKeys(cardap.Suite.AES256, *EVACUEE_KEYS))
        with pytest.raises(cardap.AuthenticationError):
            card.read(keyless("kiosk"), keys=SoftKeys(cardap.Suite.AES128, bytes(16), bytes(16)))
    records = cardap_log.records
    assert records, "no log events"
    assert all(r.name == "cardap" for r in records)
    assert {r.levelno for r in records} <= {logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG, cardap.TRACE}
    assert any("read" in r.getMessage() for r in records)
    assert all(isinstance(r.cardap_target, str) and r.cardap_target for r in records)
    text = "\n".join(f"{r.cardap_target} {r.getMessage()}" for r in records)
    for key in KIOSK_KEYS + EVACUEE_KEYS:
        for form in (key.hex(), key.hex().upper(), key.hex(" "), key.hex(" ").upper(), key.decode("latin-1")):
            assert form not in text
    for secret in ("山田", "花子", "市立第一", "STAFF-01", "53544146462D3031"):
        assert secret not in text


def test_log_levels_and_turning_off(cardap_log):
    cardap.enable_logging(logging.WARNING)
    with cardap.Context.virtual_card(CARD) as card:
        card.read(profile("library"))
        assert all(r.levelno >= logging.WARNING for r in cardap_log.records)
        cardap.enable_logging(logging.DEBUG)
        card.read(profile("library"))
        assert cardap_log.records and all(r.levelno >= logging.DEBUG for r in cardap_log.records)
        cardap.disable_logging()
        seen = len(cardap_log.records)
        card.read(profile("library"))
        assert len(cardap_log.records) == seen


def test_a_failing_log_handler_does_not_break_reads(cardap_log):
    class Broken(logging.Handler):
        def emit(self, record):
            raise RuntimeError("handler bug")

        def handleError(self, record):
            raise RuntimeError("and its error handling too")

    broken = Broken()
    logging.getLogger("cardap").addHandler(broken)
    try:
        cardap.enable_logging(cardap.TRACE)
        with cardap.Context.virtual_card(CARD) as card:
            assert card.read(profile("library")).to_json() == LIBRARY_JSON
    finally:
        logging.getLogger("cardap").removeHandler(broken)


# --- waiting for a card (PC/SC) -----------------------------------------------

READER = os.environ.get("CARDAP_TEST_READER")
EMPTY_READER = os.environ.get("CARDAP_TEST_EMPTY_READER")
EMPTY_PORT = os.environ.get("CARDAP_TEST_EMPTY_PORT")
pcsc = pytest.mark.skipif(not READER, reason="set CARDAP_TEST_READER to a reader holding the demo card")
empty = pytest.mark.skipif(not (READER and EMPTY_READER and EMPTY_PORT),
                           reason="set CARDAP_TEST_EMPTY_READER and CARDAP_TEST_EMPTY_PORT to an empty vpcd reader")


@pcsc
def test_pcsc_wait_for_a_present_card():
    event = cardap.wait_for_card(READER, timeout=5)
    assert event.reader == READER
    assert event.atr[:1] == b"\x3B" and len(event.atr) > 4
    assert event == cardap.wait_for_card(READER.lower(), timeout=5)
    assert hash(event) == hash(cardap.CardEvent(event.reader, event.atr))
    # Any reader: the one holding a card.
    assert cardap.wait_for_card(timeout=5) == event


@empty
def test_pcsc_wait_times_out():
    started = time.monotonic()
    with pytest.raises(cardap.CardapTimeout) as e:
        cardap.wait_for_card(EMPTY_READER, timeout=0.7)
    elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 5
    assert e.value.code is cardap.Result.TIMEOUT
    assert isinstance(e.value, cardap.TransportError)


@empty
def test_pcsc_wait_is_cancelled_from_another_thread():
    cancel = cardap.Cancel()
    outcome = {}

    def wait():
        started = time.monotonic()
        try:
            cardap.wait_for_card(EMPTY_READER, cancel=cancel)
        except cardap.Cancelled as e:
            outcome["error"] = e
        outcome["elapsed"] = time.monotonic() - started

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    assert waiter.is_alive()
    cancel.cancel()
    waiter.join(5)
    assert not waiter.is_alive()
    assert outcome["error"].code is cardap.Result.CANCELLED
    assert outcome["elapsed"] < 3 and cancel.cancelled
    # A cancelled token ends a later wait at once.
    with pytest.raises(cardap.Cancelled):
        cardap.wait_for_card(EMPTY_READER, timeout=10, cancel=cancel)
    cancel.close()


@empty
def test_pcsc_wait_sees_a_card_inserted():
    found = {}

    def wait():
        found["event"] = cardap.wait_for_card(EMPTY_READER, timeout=20)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    assert waiter.is_alive()
    sim = subprocess.Popen([str(CARDAP_BIN), "sim", "--card", str(CARD), "--port", EMPTY_PORT],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        waiter.join(20)
        assert not waiter.is_alive()
        assert found["event"].reader == EMPTY_READER
        assert found["event"].atr[:1] == b"\x3B"
    finally:
        sim.terminate()
        sim.wait(10)
    # The card goes with the simulator: the reader is empty again.
    deadline = time.monotonic() + 10
    while any(r.name == EMPTY_READER and r.card_present for r in cardap.readers()):
        assert time.monotonic() < deadline
        time.sleep(0.1)


# --- a PC/SC transport of the caller's own (pyscard) ---------------------------


@pcsc
def test_pcsc_transport_through_pyscard_reads_a_c_d():
    from smartcard import scard

    rv, hcontext = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert rv == scard.SCARD_S_SUCCESS
    try:
        rv, hcard, protocol = scard.SCardConnect(hcontext, READER, scard.SCARD_SHARE_SHARED,
                                                 scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        assert rv == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(rv)
        rv, _, _, _, atr = scard.SCardStatus(hcard)
        assert rv == scard.SCARD_S_SUCCESS

        def transmit(command: bytes) -> bytes:
            rv, response = scard.SCardTransmit(hcard, protocol, list(command))
            if rv != scard.SCARD_S_SUCCESS:
                raise cardap.TransportError(cardap.Result.TRANSPORT_FAILURE, scard.SCardGetErrorMessage(rv))
            return bytes(response)

        # One PC/SC transaction for the reads: the transport has none of its own.
        assert scard.SCardBeginTransaction(hcard) == scard.SCARD_S_SUCCESS
        try:
            with cardap.Context.from_transport(transmit, atr=bytes(atr)) as card:
                assert card.read(profile("library")).to_json() == LIBRARY_JSON
                assert card.read(profile("kiosk")).to_json() == KIOSK_JSON
                assert card.read(keyless("evacuee"), keys=SoftKeys(cardap.Suite.AES256, *EVACUEE_KEYS)).fields \
                    == EVACUEE_FIELDS
        finally:
            scard.SCardEndTransaction(hcard, scard.SCARD_LEAVE_CARD)
            scard.SCardDisconnect(hcard, scard.SCARD_RESET_CARD)
    finally:
        scard.SCardReleaseContext(hcontext)
