"""Read My Number Card APs through libcardap, the C ABI of cardap.

A :class:`Profile` says which AP to read and how (type, AID, keys, decoded
fields); a :class:`Context` is a card, in a PC/SC reader or an in-process
virtual card; :meth:`Context.read` returns a :class:`Record`::

    import cardap

    profile = cardap.Profile.from_file("examples/profiles/kiosk.toml")
    with cardap.Context.virtual_card("examples/cards/demo.toml") as card:
        record = card.read(profile)
    print(record.user_id, record.fields)

Every failure raises a :class:`CardapError` subclass carrying the C result
code (:class:`Result`) and a message that never holds key material.

Thread safety: profiles and records are immutable and may be shared; a
context serializes its operations with a lock, so it may be shared too (one
card transaction runs at a time).
"""

from __future__ import annotations

import contextlib
import enum
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Type, TypeVar, Union

from ._native import ffi, lib

__all__ = [
    "ApEntry",
    "ApNotFoundError",
    "ApType",
    "ArgumentError",
    "AuthenticationError",
    "CardDescriptionError",
    "CardError",
    "CardRemovedError",
    "CardapError",
    "Context",
    "DataError",
    "NoCardError",
    "Profile",
    "ProfileError",
    "ReaderInfo",
    "ReaderUnavailableError",
    "Record",
    "Result",
    "SecureMessagingError",
    "SecurityError",
    "ServiceUnavailableError",
    "StatusError",
    "TransportError",
    "UnsupportedError",
    "__version__",
    "readers",
]

PathLike = Union[str, "os.PathLike[str]"]


class Result(enum.IntEnum):
    """The C ABI's result codes (``cardap_result``); values are stable."""

    OK = 0
    NULL_PARAMETER = 100
    INVALID_ARGUMENT = 101
    TOO_LONG = 102
    INVALID_HANDLE = 103
    PANIC = 104
    OUT_OF_RANGE = 105
    NOT_FOUND = 106
    UNSUPPORTED = 107
    CARD_REMOVED = 200
    CARD_RESET = 201
    NO_CARD = 202
    READER_UNAVAILABLE = 203
    SERVICE_UNAVAILABLE = 204
    CANCELLED = 205
    TIMEOUT = 206
    NOT_CARRIED = 207
    REPLAY_MISMATCH = 208
    INTERRUPTED = 209
    TRANSPORT_FAILURE = 299
    CARD_STATUS = 300
    AP_NOT_FOUND = 301
    EXTENDED_REJECTED = 302
    AUTH_FAILED = 400
    SECURE_MESSAGING = 401
    CRYPTO = 402
    NO_KEYS = 403
    MALFORMED = 500
    INVALID_USER_ID = 501
    TLV = 502
    APDU = 503
    PROFILE_INVALID = 600
    PROFILE_IO = 601
    CARD_DESCRIPTION_INVALID = 700
    CARD_DESCRIPTION_IO = 701
    UNKNOWN = 999

    @property
    def text(self) -> str:
        """The library's short English text for this code."""
        return _result_text(int(self))


class ApType(enum.IntEnum):
    """The AP types (``cardap_ap_type``)."""

    A = 1
    C = 3
    D = 4
    CUSTOM = 100

    @property
    def label(self) -> str:
        """``"A"``, ``"C"``, ``"D"`` or ``"custom"``, as in profiles and JSON."""
        return "custom" if self is ApType.CUSTOM else self.name


# --- exceptions -------------------------------------------------------------


class CardapError(Exception):
    """A call into libcardap failed.

    Attributes:
        code: the C result code (a :class:`Result`, or a plain ``int`` for a
            code this version of the bindings does not know).
        message: the library's detailed message (no key material).
    """

    def __init__(self, code: Union[Result, int], message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class ArgumentError(CardapError, ValueError):
    """An argument was refused (not UTF-8, too long, NUL in a path, ...)."""


class UnsupportedError(CardapError):
    """libcardap was built without this feature (PC/SC)."""


class TransportError(CardapError):
    """The reader or the link failed (2xx codes)."""


class CardRemovedError(TransportError):
    """The card was removed or reset: its security state is lost."""


class NoCardError(TransportError):
    """No card is in the reader."""


class ReaderUnavailableError(TransportError):
    """The reader is unknown or gone."""


class ServiceUnavailableError(TransportError):
    """The smart-card service (pcscd) is not running."""


class CardError(CardapError):
    """The card refused a command (3xx codes)."""


class StatusError(CardError):
    """The card answered with an error status word.

    Attributes:
        sw: the status word (``SW1 << 8 | SW2``), when known.
    """

    def __init__(self, code: Union[Result, int], message: str, sw: Optional[int] = None) -> None:
        super().__init__(code, message)
        self.sw = sw


class ApNotFoundError(CardError):
    """The AP the profile names is not on the card."""


class SecurityError(CardapError):
    """Authentication, secure messaging or cryptography failed (4xx codes)."""


class AuthenticationError(SecurityError):
    """Mutual authentication failed (wrong keys, or not the expected card)."""


class SecureMessagingError(SecurityError):
    """A protected response did not verify; none of its data are returned."""


class DataError(CardapError):
    """Data read from the card are malformed (5xx codes)."""


class ProfileError(CardapError):
    """A profile is invalid or cannot be read (6xx codes)."""


class CardDescriptionError(CardapError):
    """A virtual card description is invalid or cannot be read (7xx codes)."""


_EXACT: Dict[int, Type[CardapError]] = {
    Result.UNSUPPORTED: UnsupportedError,
    Result.CARD_REMOVED: CardRemovedError,
    Result.CARD_RESET: CardRemovedError,
    Result.NO_CARD: NoCardError,
    Result.READER_UNAVAILABLE: ReaderUnavailableError,
    Result.SERVICE_UNAVAILABLE: ServiceUnavailableError,
    Result.CARD_STATUS: StatusError,
    Result.AP_NOT_FOUND: ApNotFoundError,
    Result.AUTH_FAILED: AuthenticationError,
    Result.SECURE_MESSAGING: SecureMessagingError,
}

_BY_HUNDRED: Dict[int, Type[CardapError]] = {
    1: ArgumentError,
    2: TransportError,
    3: CardError,
    4: SecurityError,
    5: DataError,
    6: ProfileError,
    7: CardDescriptionError,
}


def _exception_class(code: int) -> Type[CardapError]:
    if code in _EXACT:
        return _EXACT[code]
    if code in (Result.PANIC, Result.INVALID_HANDLE):
        return CardapError
    return _BY_HUNDRED.get(code // 100, CardapError)


# --- plumbing ---------------------------------------------------------------


def _unpack_str(ptr: Any, length: int) -> str:
    return bytes(ffi.unpack(ptr, length)).decode("utf-8")


def _result_text(code: int) -> str:
    text = ffi.new("const char **")
    length = ffi.new("size_t *")
    lib.cardap_result_text(code, text, length)
    return _unpack_str(text[0], length[0])


def _last_error() -> str:
    text = ffi.new("const char **")
    length = ffi.new("size_t *")
    if lib.cardap_last_error(text, length) != Result.OK:
        return ""
    return _unpack_str(text[0], length[0])


def _code(value: int) -> Union[Result, int]:
    try:
        return Result(value)
    except ValueError:
        return value


def _check(code: int) -> None:
    """Raises the exception for a result code (the message is this thread's
    last error, read right away)."""
    if code == Result.OK:
        return
    message = _last_error() or _result_text(code)
    raise _exception_class(code)(_code(code), message)


def _encode(value: Union[str, "os.PathLike[str]"], what: str) -> bytes:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str or a path, not {type(value).__name__}")
    return value.encode("utf-8")


_H = TypeVar("_H", bound="_Handle")


class _Handle:
    """An owned native handle, freed by :meth:`close`, by ``with``, or when
    garbage-collected."""

    _free: Callable[[Any], None]

    def __init__(self, raw: Any) -> None:
        self._raw = ffi.gc(raw, type(self)._free)
        # Native calls run without the GIL: a handle in use by one thread is
        # not freed by another's close() until that call is over.
        self._users = 0
        self._idle = threading.Condition()

    @contextlib.contextmanager
    def _borrow(self) -> Iterator[Any]:
        """The native pointer, kept alive (close() waits) while in use."""
        with self._idle:
            if self._raw is None:
                raise ValueError(f"{type(self).__name__} is closed")
            self._users += 1
            raw = self._raw
        try:
            yield raw
        finally:
            with self._idle:
                self._users -= 1
                self._idle.notify_all()

    def close(self) -> None:
        """Frees the native object (after any call other threads have under
        way on it); further use raises ``ValueError``."""
        with self._idle:
            while self._users:
                self._idle.wait()
            raw, self._raw = self._raw, None
        if raw is not None:
            ffi.release(raw)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._raw is None

    @classmethod
    def _create(cls: Type[_H], native: Callable[..., int], ctype: str, value: PathLike, what: str) -> _H:
        """Calls a ``cardap_*_new_*`` function taking (text, length, out)."""
        raw = _encode(value, what)
        out = ffi.new(ctype)
        _check(native(raw, len(raw), out))
        return cls(out[0])

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- profiles ---------------------------------------------------------------


class Profile(_Handle):
    """A validated profile (``cardap_profile``): which AP to read and how.

    Make one with :meth:`from_file` or :meth:`from_str`. Immutable; may be
    shared by threads and contexts.
    """

    _free = lib.cardap_profile_free

    @classmethod
    def from_file(cls, path: PathLike) -> "Profile":
        """Loads a profile file (keys given by environment variable are read now).

        Raises:
            ProfileError: the file cannot be read or is invalid.
        """
        return cls._create(lib.cardap_profile_new_from_file, "cardap_profile **", path, "path")

    @classmethod
    def from_str(cls, text: str) -> "Profile":
        """Parses a profile given as TOML text.

        Raises:
            ProfileError: the profile is invalid.
        """
        return cls._create(lib.cardap_profile_new_from_str, "cardap_profile **", text, "text")

    @property
    def name(self) -> str:
        """The profile's ``name``."""
        text = ffi.new("const char **")
        length = ffi.new("size_t *")
        with self._borrow() as raw:
            _check(lib.cardap_profile_name(raw, text, length))
        return _unpack_str(text[0], length[0])

    @property
    def type(self) -> ApType:
        """The AP type."""
        out = ffi.new("cardap_ap_type *")
        with self._borrow() as raw:
            _check(lib.cardap_profile_type(raw, out))
        return ApType(out[0])

    @property
    def aid(self) -> bytes:
        """The AP's AID."""
        data = ffi.new("const uint8_t **")
        length = ffi.new("size_t *")
        with self._borrow() as raw:
            _check(lib.cardap_profile_aid(raw, data, length))
        return bytes(ffi.unpack(data[0], length[0]))

    def __repr__(self) -> str:
        if self.closed:
            return "Profile(<closed>)"
        return f"Profile(name={self.name!r}, type={self.type.label!r}, aid={self.aid.hex().upper()!r})"


# --- records ----------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """What one read returned, copied out of the native record.

    Attributes:
        name: the profile's name.
        type: the AP type.
        aid: the AID read.
        user_id: the validated 13-digit user ID.
        info: info fields by name (``info1``, ...), Types A and C.
        data: file bytes 13 onwards (Type D) or the step outputs (custom).
        steps: each ``[[read]]`` step's output (custom APs).
        fields: decoded fields, per the profile.
        apdus: command APDUs sent (card round trips).
    """

    name: str
    type: ApType
    aid: bytes
    user_id: str
    info: Dict[str, bytes] = field(default_factory=dict)
    data: Optional[bytes] = None
    steps: Dict[str, bytes] = field(default_factory=dict)
    fields: Dict[str, str] = field(default_factory=dict)
    apdus: int = 0
    _json: str = field(default="", repr=False, compare=False)

    def to_json(self) -> str:
        """The one-line JSON object ``cardap read`` prints, byte for byte."""
        return self._json

    @classmethod
    def _from_native(cls, rec: Any) -> "Record":
        text = ffi.new("const char **")
        value = ffi.new("const char **")
        data = ffi.new("const uint8_t **")
        length = ffi.new("size_t *")
        value_length = ffi.new("size_t *")
        count = ffi.new("size_t *")

        def string(fn: Any) -> str:
            _check(fn(rec, text, length))
            return _unpack_str(text[0], length[0])

        def pairs(count_fn: Any, at_fn: Any) -> Dict[str, bytes]:
            _check(count_fn(rec, count))
            out: Dict[str, bytes] = {}
            for i in range(count[0]):
                _check(at_fn(rec, i, text, length, data, value_length))
                out[_unpack_str(text[0], length[0])] = bytes(ffi.unpack(data[0], value_length[0]))
            return out

        kind = ffi.new("cardap_ap_type *")
        _check(lib.cardap_record_type(rec, kind))
        _check(lib.cardap_record_aid(rec, data, length))
        aid = bytes(ffi.unpack(data[0], length[0]))
        code = lib.cardap_record_data(rec, data, length)
        payload = None if code == Result.NOT_FOUND else b""
        if payload is not None:
            _check(code)
            payload = bytes(ffi.unpack(data[0], length[0]))
        _check(lib.cardap_record_field_count(rec, count))
        fields: Dict[str, str] = {}
        for i in range(count[0]):
            _check(lib.cardap_record_field_at(rec, i, text, length, value, value_length))
            fields[_unpack_str(text[0], length[0])] = _unpack_str(value[0], value_length[0])
        _check(lib.cardap_record_apdus(rec, count))
        apdus = count[0]
        return cls(
            name=string(lib.cardap_record_name),
            type=ApType(kind[0]),
            aid=aid,
            user_id=string(lib.cardap_record_user_id),
            info=pairs(lib.cardap_record_info_count, lib.cardap_record_info_at),
            data=payload,
            steps=pairs(lib.cardap_record_step_count, lib.cardap_record_step_at),
            fields=fields,
            apdus=apdus,
            _json=string(lib.cardap_record_to_json),
        )


@dataclass(frozen=True)
class ApEntry:
    """One AP listed in the card's EF.DIR."""

    aid: bytes
    label: Optional[str]


@dataclass(frozen=True)
class ReaderInfo:
    """One PC/SC reader."""

    name: str
    card_present: bool


# --- contexts ---------------------------------------------------------------


class Context(_Handle):
    """A card to read (``cardap_context``): a card in a PC/SC reader, or an
    in-process virtual card.

    Use it as a context manager, or call :meth:`close`. Operations are
    serialized by a lock, so a context may be shared by threads; each
    operation is one card transaction.
    """

    _free = lib.cardap_context_free

    def __init__(self, raw: Any) -> None:
        super().__init__(raw)
        self._lock = threading.Lock()

    @classmethod
    def virtual_card(cls, path: PathLike) -> "Context":
        """An in-process virtual card from a description file (PROFILE.md §10).

        Raises:
            CardDescriptionError: the file cannot be read or is invalid.
        """
        return cls._create(lib.cardap_context_new_virtual_card_file, "cardap_context **", path, "path")

    @classmethod
    def virtual_card_from_str(cls, text: str) -> "Context":
        """An in-process virtual card from a description given as TOML text.

        Raises:
            CardDescriptionError: the description is invalid.
        """
        return cls._create(lib.cardap_context_new_virtual_card_str, "cardap_context **", text, "text")

    @classmethod
    def pcsc(cls, reader: Optional[str] = None) -> "Context":
        """The card in a PC/SC reader, chosen by case-insensitive name (exact,
        else the first reader whose name contains it and holds a card);
        ``None`` takes the first reader holding a card.

        Raises:
            ServiceUnavailableError: pcscd is not running.
            ReaderUnavailableError, NoCardError: no such reader, or no card.
        """
        out = ffi.new("cardap_context **")
        if reader is None:
            _check(lib.cardap_context_new_pcsc(ffi.NULL, 0, out))
        else:
            raw = _encode(reader, "reader")
            _check(lib.cardap_context_new_pcsc(raw, len(raw), out))
        return cls(out[0])

    @property
    def short_apdus(self) -> bool:
        """Whether only short APDUs are sent (for readers without extended
        length); by default the card's ATR decides."""
        return getattr(self, "_short", False)

    @short_apdus.setter
    def short_apdus(self, value: bool) -> None:
        with self._lock, self._borrow() as raw:
            _check(lib.cardap_context_set_short_apdus(raw, bool(value)))
            self._short = bool(value)

    def _raise_from_context(self, raw: Any, code: int) -> None:
        """Raises for a failed operation, with the context's message and, for
        a status error, the status word."""
        text = ffi.new("const char **")
        length = ffi.new("size_t *")
        message = ""
        if lib.cardap_context_last_error(raw, text, length) == Result.OK:
            message = _unpack_str(text[0], length[0])
        message = message or _last_error() or _result_text(code)
        cls = _exception_class(code)
        if cls is StatusError:
            sw = ffi.new("uint16_t *")
            found = lib.cardap_context_last_status_word(raw, sw) == Result.OK
            raise StatusError(_code(code), message, sw[0] if found else None)
        raise cls(_code(code), message)

    def read(self, profile: Profile) -> Record:
        """Reads the AP a profile describes (SELECT, mutual authentication
        where needed, protected reads, user-ID check), in one transaction.

        Raises:
            CardapError: a subclass saying what failed.
        """
        if not isinstance(profile, Profile):
            raise TypeError(f"profile must be a cardap.Profile, not {type(profile).__name__}")
        out = ffi.new("cardap_record **")
        with self._lock, self._borrow() as raw, profile._borrow() as prof:
            code = lib.cardap_context_read(raw, prof, out)
            if code != Result.OK:
                self._raise_from_context(raw, code)
        rec = ffi.gc(out[0], lib.cardap_record_free)
        try:
            return Record._from_native(rec)
        finally:
            ffi.release(rec)

    def list(self) -> List[ApEntry]:
        """Lists the APs on the card (EF.DIR), in one transaction."""
        out = ffi.new("cardap_ap_list **")
        with self._lock, self._borrow() as raw:
            code = lib.cardap_context_list(raw, out)
            if code != Result.OK:
                self._raise_from_context(raw, code)
        handle = ffi.gc(out[0], lib.cardap_ap_list_free)
        try:
            count = ffi.new("size_t *")
            _check(lib.cardap_ap_list_count(handle, count))
            data = ffi.new("const uint8_t **")
            text = ffi.new("const char **")
            length = ffi.new("size_t *")
            entries = []
            for i in range(count[0]):
                _check(lib.cardap_ap_list_aid(handle, i, data, length))
                aid = bytes(ffi.unpack(data[0], length[0]))
                code = lib.cardap_ap_list_label(handle, i, text, length)
                label = None if code == Result.NOT_FOUND else ""
                if label is not None:
                    _check(code)
                    label = _unpack_str(text[0], length[0])
                entries.append(ApEntry(aid, label))
            return entries
        finally:
            ffi.release(handle)


def readers() -> List[ReaderInfo]:
    """The PC/SC readers, with whether each holds a card.

    Raises:
        ServiceUnavailableError: pcscd is not running.
        UnsupportedError: libcardap was built without PC/SC.
    """
    out = ffi.new("cardap_reader_list **")
    _check(lib.cardap_reader_list_new(out))
    handle = ffi.gc(out[0], lib.cardap_reader_list_free)
    try:
        count = ffi.new("size_t *")
        _check(lib.cardap_reader_list_count(handle, count))
        text = ffi.new("const char **")
        length = ffi.new("size_t *")
        present = ffi.new("bool *")
        result = []
        for i in range(count[0]):
            _check(lib.cardap_reader_list_name(handle, i, text, length))
            _check(lib.cardap_reader_list_card_present(handle, i, present))
            result.append(ReaderInfo(_unpack_str(text[0], length[0]), bool(present[0])))
        return result
    finally:
        ffi.release(handle)


def _version() -> str:
    text = ffi.new("const char **")
    length = ffi.new("size_t *")
    _check(lib.cardap_version(text, length))
    return _unpack_str(text[0], length[0])


__version__: str = _version()
"""The libcardap version (the Cargo version)."""
