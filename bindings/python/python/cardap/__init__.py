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

Embedding hooks: :meth:`Context.from_transport` (your own transport, a
callable), :func:`wait_for_card` with :class:`Cancel`, :class:`KeyProvider`
(keys kept in your HSM or SAM) and :func:`enable_logging` (log events on the
``logging`` logger ``"cardap"``).
"""

from __future__ import annotations

import atexit
import contextlib
import enum
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    NoReturn,
    Optional,
    Type,
    TypeVar,
    Union,
)

from ._native import ffi, lib

__all__ = [
    "ApEntry",
    "Area",
    "Issuer",
    "ApNotFoundError",
    "ApType",
    "ArgumentError",
    "AuthenticationError",
    "CardDescriptionError",
    "CardError",
    "CardRemovedError",
    "CardEvent",
    "Cancel",
    "Cancelled",
    "CardapTimeout",
    "CardapError",
    "Context",
    "DataError",
    "KeyProvider",
    "NoKeysError",
    "Suite",
    "FrozenDict",
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
    "disable_logging",
    "enable_logging",
    "TRACE",
    "readers",
    "wait_for_card",
]

PathLike = Union[str, "os.PathLike[str]"]
_V = TypeVar("_V")


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
    BUSY = 108
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
    INVALID_WRITE = 310
    REGISTRY = 311
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


class Area(enum.IntEnum):
    """The areas of the free area (``cardap_area``, PROFILE.md §12)."""

    BOTH = 0
    EXTENSION = 1
    LOCAL = 2


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


class CardapTimeout(TransportError):
    """:func:`wait_for_card` reached its timeout with no card."""


class Cancelled(TransportError):
    """A wait was cancelled (:meth:`Cancel.cancel`)."""


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


class NoKeysError(SecurityError):
    """The AP needs keys, and neither the profile nor a :class:`KeyProvider`
    gives them."""


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
    Result.TIMEOUT: CardapTimeout,
    Result.CANCELLED: Cancelled,
    Result.CARD_STATUS: StatusError,
    Result.AP_NOT_FOUND: ApNotFoundError,
    Result.AUTH_FAILED: AuthenticationError,
    Result.SECURE_MESSAGING: SecureMessagingError,
    Result.NO_KEYS: NoKeysError,
    Result.INVALID_WRITE: ArgumentError,
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
    if code in (Result.PANIC, Result.INVALID_HANDLE, Result.BUSY):
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

    def __init__(self, raw: Any, keepalive: Any = None) -> None:
        free = type(self)._free

        def destroy(ptr: Any, _keepalive: Any = keepalive) -> None:
            # `keepalive` (callbacks the native object calls) lives until the
            # native object is freed.
            free(ptr)

        self._raw = ffi.gc(raw, destroy)
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


# --- the loading desk -------------------------------------------------------


class Issuer(_Handle):
    """A loading desk (``cardap_issuer``): the card manager's AID, the issuer
    key set and the user-ID registry of an issuer file such as
    ``examples/issuer.toml`` (PROFILE.md §12). Immutable."""

    _free = lib.cardap_issuer_free

    @classmethod
    def from_file(cls, path: PathLike) -> "Issuer":
        """Reads an issuer file.

        Raises:
            ProfileError: the file cannot be read or is invalid.
        """
        return cls._create(lib.cardap_issuer_new_from_file, "cardap_issuer **", path, "path")


_SUITES = {None: 0, "3des": 1, "aes128": 2, "aes256": 3}


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


class FrozenDict(Dict[str, _V]):
    """A ``dict`` that cannot be changed and can be hashed, in the record's
    order: the maps of a :class:`Record`. It compares equal to a plain dict
    with the same items, and ``dataclasses.asdict``, ``copy``, ``pickle`` and
    ``json.dumps`` treat it as the dict it is."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> "NoReturn":
        raise TypeError("a cardap record is immutable")

    __setitem__ = __delitem__ = _refuse  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]
    __ior__ = _refuse  # type: ignore[assignment]

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> Any:
        return (type(self), (dict(self),))

    def __copy__(self) -> "FrozenDict[_V]":
        return self

    def __deepcopy__(self, memo: Any) -> "FrozenDict[_V]":
        return self

    def __repr__(self) -> str:
        return dict.__repr__(self)


@dataclass(frozen=True)
class Record:
    """What one read returned, copied out of the native record. Immutable and
    hashable; ``dataclasses.asdict(record)`` gives plain data.

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
    info: "FrozenDict[bytes]" = field(default_factory=FrozenDict)
    data: Optional[bytes] = None
    steps: "FrozenDict[bytes]" = field(default_factory=FrozenDict)
    fields: "FrozenDict[str]" = field(default_factory=FrozenDict)
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

        def pairs(count_fn: Any, at_fn: Any) -> "FrozenDict[bytes]":
            _check(count_fn(rec, count))
            out: Dict[str, bytes] = {}
            for i in range(count[0]):
                _check(at_fn(rec, i, text, length, data, value_length))
                out[_unpack_str(text[0], length[0])] = bytes(ffi.unpack(data[0], value_length[0]))
            return FrozenDict(out)

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
            fields=FrozenDict(fields),
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

    def __init__(self, raw: Any, keepalive: Any = None) -> None:
        super().__init__(raw, keepalive)
        # Reentrant: a callback that uses its own context gets BUSY from
        # libcardap instead of a deadlock.
        self._lock = threading.RLock()
        # What a Python callback of this context raised, for the exception's
        # __cause__.
        self._failures = _CallbackFailures()

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

    @classmethod
    def from_transport(cls, transmit: Callable[[bytes], bytes], atr: Optional[bytes] = None) -> "Context":
        """A card reached through your own transport (an NFC stack, a vendor
        SDK, a phone): ``transmit(command) -> response`` sends one command
        APDU and returns the card's response including its status word.

        ``atr`` (optional) tells cardap whether the card takes extended-length
        APDUs. The callable is kept alive as long as the context. It runs on
        the thread that calls :meth:`read` or :meth:`list`. An exception it
        raises fails the operation with a :class:`TransportError` (the same
        subclass when it raises a :class:`TransportError` itself, such as
        :class:`CardRemovedError`), whose ``__cause__`` is that exception.
        """
        if not callable(transmit):
            raise TypeError(f"transmit must be callable, not {type(transmit).__name__}")
        atr_bytes = b"" if atr is None else bytes(atr)
        failures = _CallbackFailures()
        callback = ffi.callback("cardap_transmit_fn", _transmit_function(transmit), onerror=failures.transport)
        out = ffi.new("cardap_context **")
        _check(lib.cardap_context_new_transport(callback, ffi.NULL, atr_bytes or ffi.NULL, len(atr_bytes), out))
        context = cls(out[0], keepalive=(callback, transmit))
        context._failures = failures
        return context

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
        cause = self._failures.take()
        if cause is not None and not isinstance(cause, Exception):
            # Ctrl-C (KeyboardInterrupt) or SystemExit inside a callback ended
            # the operation: it goes on as itself.
            raise cause
        if cls is StatusError:
            sw = ffi.new("uint16_t *")
            found = lib.cardap_context_last_status_word(raw, sw) == Result.OK
            raise StatusError(_code(code), message, sw[0] if found else None) from cause
        raise cls(_code(code), message) from cause

    def read(self, profile: Profile, keys: Optional["KeyProvider"] = None) -> Record:
        """Reads the AP a profile describes (SELECT, mutual authentication
        where needed, protected reads, user-ID check), in one transaction.

        ``keys``: a :class:`KeyProvider` that computes with the AP's keys
        (held in your HSM or SAM) instead of keys in the profile; the profile
        then gives only the suite (``[auth] suite = ...``).

        Raises:
            CardapError: a subclass saying what failed.
        """
        if not isinstance(profile, Profile):
            raise TypeError(f"profile must be a cardap.Profile, not {type(profile).__name__}")
        out = ffi.new("cardap_record **")
        with self._lock, self._borrow() as raw, profile._borrow() as prof:
            if keys is None:
                code = lib.cardap_context_read(raw, prof, out)
            else:
                with _native_key_provider(keys, self._failures) as provider:
                    code = lib.cardap_context_read_with_keys(raw, prof, provider, out)
            if code != Result.OK:
                self._raise_from_context(raw, code)
            self._failures.take()
        rec = ffi.gc(out[0], lib.cardap_record_free)
        try:
            return Record._from_native(rec)
        finally:
            ffi.release(rec)

    def write(self, profile: Profile, writes: "Union[Mapping[str, str], Iterable[str]]") -> int:
        """Writes info fields of the AP a profile describes, with the update
        keys of its ``[auth.update]`` table, in one transaction (PROFILE.md
        §11). ``writes`` is a mapping or a sequence of ``KEY=VALUE`` strings,
        in the form of ``cardap write --set``: ``infoN`` → hex (Types A, C),
        ``data@OFFSET`` → hex (Type D), or a ``[[field]]`` name → text.
        Returns the number of command APDUs sent.

        Raises:
            ArgumentError: a write the profile does not allow (nothing sent).
            StatusError: the card refused (it kept its old value).
            CardapError: another subclass saying what failed; after a card
                was pulled out during a write, read it again to learn which
                value it holds (nothing is resent).
        """
        if not isinstance(profile, Profile):
            raise TypeError(f"profile must be a cardap.Profile, not {type(profile).__name__}")
        if isinstance(writes, Mapping):
            items = [f"{k}={v}" for k, v in writes.items()]
        elif isinstance(writes, str):
            items = [writes]
        else:
            items = list(writes)
        for item in items:
            if not isinstance(item, str) or "\n" in item or "=" not in item:
                raise ValueError("each write is one line KEY=VALUE")
        text = "\n".join(items).encode("utf-8")
        apdus = ffi.new("size_t *")
        with self._lock, self._borrow() as raw, profile._borrow() as prof:
            code = lib.cardap_context_write(raw, prof, text, len(text), apdus)
            if code != Result.OK:
                self._raise_from_context(raw, code)
        return int(apdus[0])

    def install(
        self,
        issuer: Issuer,
        ap_type: ApType,
        area: Area,
        aid: bytes,
        label: str,
        profile_path: PathLike,
        info: "Union[Mapping[str, str], Iterable[str]]" = (),
        suite: Optional[str] = None,
    ) -> str:
        """Installs an AP (PROFILE.md §12.2) with a new user ID from the desk's
        registry and fresh key sets; writes the AP's ready profile to
        ``profile_path`` and returns the user ID. ``info`` holds the initial
        contents (``infoN`` → hex, or ``data`` → hex for Type D); ``suite``
        is ``"3des"``, ``"aes128"``, ``"aes256"`` or ``None`` (the desk's).

        Raises:
            StatusError: ``0x6A84`` the free area is full, ``0x6A89`` the AID
                exists.
            CardapError: another subclass saying what failed.
        """
        if suite not in _SUITES:
            raise ValueError(f"unknown suite {suite!r}")
        items = [f"{k}={v}" for k, v in info.items()] if isinstance(info, Mapping) else list(info)
        info_raw = "\n".join(items).encode("utf-8")
        label_raw = label.encode("utf-8")
        path_raw = _encode(profile_path, "profile_path")
        aid = bytes(aid)
        user_id = ffi.new("uint8_t[14]")
        with self._lock, self._borrow() as raw, issuer._borrow() as desk:
            code = lib.cardap_context_install(
                raw, desk, int(ap_type), int(area), aid, len(aid), label_raw, len(label_raw),
                info_raw if info_raw else ffi.NULL, len(info_raw), _SUITES[suite],
                path_raw, len(path_raw), user_id,
            )
            if code != Result.OK:
                self._raise_from_context(raw, code)
        return bytes(ffi.unpack(user_id, 13)).decode("ascii")

    def delete_ap(self, issuer: Issuer, aid: bytes) -> None:
        """Deletes the AP with this AID (PROFILE.md §12.3).

        Raises:
            ApNotFoundError: no AP has this AID.
        """
        aid = bytes(aid)
        with self._lock, self._borrow() as raw, issuer._borrow() as desk:
            code = lib.cardap_context_delete_ap(raw, desk, aid, len(aid))
            if code != Result.OK:
                self._raise_from_context(raw, code)

    def move_out(self, issuer: Issuer) -> int:
        """Move-out (PROFILE.md §12.4): deletes every local-resident AP and
        nothing else; returns how many went."""
        count = ffi.new("size_t *")
        with self._lock, self._borrow() as raw, issuer._borrow() as desk:
            code = lib.cardap_context_move_out(raw, desk, count)
            if code != Result.OK:
                self._raise_from_context(raw, code)
        return int(count[0])

    def list_area(self, issuer: Issuer, area: Area = Area.BOTH) -> List[Dict[str, Any]]:
        """The APs of an area with their types and user IDs (PROFILE.md
        §12.5): dicts with ``aid``, ``label``, ``type``, ``area``, ``user_id``."""
        import json

        length = ffi.new("size_t *")
        capacity = 4096
        while True:
            buffer = ffi.new("char[]", capacity)
            with self._lock, self._borrow() as raw, issuer._borrow() as desk:
                code = lib.cardap_context_list_area(raw, desk, int(area), buffer, capacity, length)
                if code == Result.TOO_LONG and length[0] >= capacity:
                    capacity = length[0] + 1
                    continue
                if code != Result.OK:
                    self._raise_from_context(raw, code)
            return json.loads(bytes(ffi.unpack(buffer, length[0])).decode("utf-8"))

    def list(self) -> List[ApEntry]:
        """Lists the APs on the card (EF.DIR), in one transaction."""
        out = ffi.new("cardap_ap_list **")
        with self._lock, self._borrow() as raw:
            code = lib.cardap_context_list(raw, out)
            if code != Result.OK:
                self._raise_from_context(raw, code)
            self._failures.take()
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


# --- embedding hooks: callbacks ---------------------------------------------


class _CallbackFailures:
    """Keeps what a Python callback raised inside a native call, so that the
    exception the call ends with can name it as its ``__cause__``; the
    callback itself returns an error code to libcardap (never a crash)."""

    def __init__(self) -> None:
        self._error: Optional[BaseException] = None

    def take(self) -> Optional[BaseException]:
        error, self._error = self._error, None
        return error

    def _keep(self, error: Optional[BaseException]) -> None:
        if self._error is None:
            self._error = error

    def transport(self, exc_type: Any, error: Optional[BaseException], traceback: Any) -> int:
        """cffi's ``onerror`` for a transmit callback: the code it returns."""
        self._keep(error)
        code = getattr(error, "code", None)
        if isinstance(error, TransportError) and isinstance(code, int) and 200 <= code < 300:
            return int(code)
        return int(Result.TRANSPORT_FAILURE)

    def crypto(self, exc_type: Any, error: Optional[BaseException], traceback: Any) -> int:
        """cffi's ``onerror`` for a key provider callback."""
        self._keep(error)
        return int(Result.CRYPTO)


def _output(value: Any, what: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{what} returned {type(value).__name__}, not bytes")
    return bytes(value)


def _transmit_function(transmit: Callable[[bytes], bytes]) -> Callable[..., int]:
    def call(userdata: Any, command: Any, command_len: int, response: Any, capacity: int, response_len: Any) -> int:
        reply = _output(transmit(bytes(ffi.buffer(command, command_len))), "the transport")
        if len(reply) > capacity:
            raise ValueError(f"the transport returned {len(reply)} bytes; at most {capacity} fit")
        ffi.memmove(response, reply, len(reply))
        response_len[0] = len(reply)
        return int(Result.OK)

    return call


class Suite(enum.IntEnum):
    """The cipher suites of mutual authentication (``cardap_suite``)."""

    TDES = 1
    AES128 = 2
    AES256 = 3

    @property
    def label(self) -> str:
        """``"3des"``, ``"aes128"`` or ``"aes256"``, as in profiles."""
        return "3des" if self is Suite.TDES else self.name.lower()


class KeyProvider:
    """Computes with an AP's keys ``K_enc`` and ``K_mac`` wherever they live
    (an HSM, a SAM, your own object), so that the keys never pass through
    cardap. Subclass it and pass it to :meth:`Context.read`.

    The methods get and return ``bytes``; an exception they raise fails the
    read with a :class:`SecurityError` whose ``__cause__`` it is. They run on
    the thread that calls :meth:`Context.read`.
    """

    #: The suite of the keys.
    suite: Suite

    def encrypt(self, data: bytes) -> bytes:
        """``E(K_enc, data)``: CBC with a zero IV and no padding, over whole
        cipher blocks."""
        raise NotImplementedError

    def decrypt(self, data: bytes) -> bytes:
        """The inverse of :meth:`encrypt` (CBC, zero IV, no padding)."""
        raise NotImplementedError

    def mac(self, data: bytes) -> bytes:
        """``MAC(K_mac, data)``: the suite's 8-byte MAC (ISO/IEC 9797-1 MAC
        algorithm 3 for 3DES, AES-CMAC cut to 8 bytes for AES). The provider
        pads: ISO/IEC 9797-1 padding method 2 to the cipher block size."""
        raise NotImplementedError

    def __repr__(self) -> str:
        suite = getattr(self, "suite", None)
        return f"{type(self).__name__}(suite={getattr(suite, 'label', suite)!r})"


class _KeyProviderHandle(_Handle):
    def _free(raw: Any) -> None:  # type: ignore[misc]
        lib.cardap_key_provider_free(raw)


@contextlib.contextmanager
def _native_key_provider(keys: KeyProvider, failures: _CallbackFailures) -> Iterator[Any]:
    """A native key provider calling ``keys``, for the time of one call."""
    for name in ("encrypt", "decrypt", "mac"):
        if not callable(getattr(keys, name, None)):
            raise TypeError(f"keys must be a cardap.KeyProvider (no {name} method on {type(keys).__name__})")
    suite = Suite(getattr(keys, "suite", None))

    def cipher(method: Callable[[bytes], bytes], what: str) -> Callable[..., int]:
        def call(userdata: Any, data: Any, data_len: int, output: Any, capacity: int, output_len: Any) -> int:
            result = _output(method(bytes(ffi.buffer(data, data_len))), what)
            if len(result) > capacity:
                raise ValueError(f"{what} returned {len(result)} bytes; at most {capacity} fit")
            ffi.memmove(output, result, len(result))
            output_len[0] = len(result)
            return int(Result.OK)

        return call

    def mac(userdata: Any, data: Any, data_len: int, mac_out: Any) -> int:
        result = _output(keys.mac(bytes(ffi.buffer(data, data_len))), "KeyProvider.mac")
        if len(result) != 8:
            raise ValueError(f"KeyProvider.mac returned {len(result)} bytes, not 8")
        ffi.memmove(mac_out, result, 8)
        return int(Result.OK)

    callbacks = (
        ffi.callback("cardap_cipher_fn", cipher(keys.encrypt, "KeyProvider.encrypt"), onerror=failures.crypto),
        ffi.callback("cardap_cipher_fn", cipher(keys.decrypt, "KeyProvider.decrypt"), onerror=failures.crypto),
        ffi.callback("cardap_mac_fn", mac, onerror=failures.crypto),
    )
    out = ffi.new("cardap_key_provider **")
    _check(lib.cardap_key_provider_new(int(suite), callbacks[0], callbacks[1], callbacks[2], ffi.NULL, out))
    with _KeyProviderHandle(out[0], keepalive=callbacks) as handle, handle._borrow() as raw:
        yield raw


# --- embedding hooks: waiting for a card ------------------------------------


@dataclass(frozen=True)
class CardEvent:
    """A card found by :func:`wait_for_card`."""

    reader: str
    atr: bytes


class Cancel(_Handle):
    """Cancels a :func:`wait_for_card` from another thread: pass it as
    ``cancel=`` and call :meth:`cancel`. Once cancelled it stays cancelled
    (a wait given it ends at once); make a new one for the next wait."""

    def _free(raw: Any) -> None:  # type: ignore[misc]
        lib.cardap_cancel_free(raw)

    def __init__(self) -> None:
        out = ffi.new("cardap_cancel **")
        _check(lib.cardap_cancel_new(out))
        super().__init__(out[0])
        self._cancelled = False

    def cancel(self) -> None:
        """Ends the waits that use this token (from any thread)."""
        with self._borrow() as raw:
            _check(lib.cardap_cancel_trigger(raw))
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancelled


# A wait runs in native slices this long, so that Ctrl-C (KeyboardInterrupt)
# is handled between them.
_WAIT_SLICE_MS = 500


def wait_for_card(reader: Optional[str] = None, timeout: Optional[float] = None,
                  cancel: Optional[Cancel] = None) -> CardEvent:
    """Blocks until a card is present in a PC/SC reader and returns the
    reader's name and the card's ATR.

    Args:
        reader: a case-insensitive part of the reader's name; ``None`` waits
            on every reader.
        timeout: seconds; ``None`` waits without end.
        cancel: a :class:`Cancel` another thread may trigger.

    Raises:
        CardapTimeout: no card within ``timeout``.
        Cancelled: ``cancel`` was triggered.
        ServiceUnavailableError: pcscd is not running.
        ReaderUnavailableError: no reader matches ``reader``.
        UnsupportedError: libcardap was built without PC/SC.
    """
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be positive or None")
    if cancel is not None and not isinstance(cancel, Cancel):
        raise TypeError(f"cancel must be a cardap.Cancel, not {type(cancel).__name__}")
    name = ffi.NULL
    if reader is not None:
        name = _encode(reader, "reader")
        if b"\0" in name:
            raise ArgumentError(Result.INVALID_ARGUMENT, "waiting for a card: the reader name holds a NUL character")
    deadline = None if timeout is None else time.monotonic() + timeout
    out = ffi.new("cardap_card_event **")
    while True:
        slice_ms = _WAIT_SLICE_MS
        if deadline is not None:
            slice_ms = max(1, min(slice_ms, int((deadline - time.monotonic()) * 1000) + 1))
        with (cancel._borrow() if cancel is not None else contextlib.nullcontext(ffi.NULL)) as token:
            code = lib.cardap_wait_for_card(name, slice_ms, token, out)
        if code == Result.OK:
            break
        if code == Result.TIMEOUT and (deadline is None or time.monotonic() < deadline):
            continue
        _check(code)
    event = ffi.gc(out[0], lib.cardap_card_event_free)
    try:
        text = ffi.new("const char **")
        data = ffi.new("const uint8_t **")
        length = ffi.new("size_t *")
        _check(lib.cardap_card_event_reader(event, text, length))
        found = _unpack_str(text[0], length[0])
        _check(lib.cardap_card_event_atr(event, data, length))
        return CardEvent(found, bytes(ffi.unpack(data[0], length[0])))
    finally:
        ffi.release(event)


# --- embedding hooks: log events --------------------------------------------

#: The level of cardap's ``trace`` events in :mod:`logging` (below DEBUG).
TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_LOGGER = logging.getLogger("cardap")
_PY_LEVELS = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG, 5: TRACE}
_log_callback: Any = None
_log_lock = threading.Lock()


def _emit(userdata: Any, level: int, target: Any, target_len: int, message: Any, message_len: int) -> None:
    text = bytes(ffi.buffer(message, message_len)).decode("utf-8", "replace")
    origin = bytes(ffi.buffer(target, target_len)).decode("utf-8", "replace")
    _LOGGER.log(_PY_LEVELS.get(level, TRACE), "%s", text, extra={"cardap_target": origin})


def _ignore_log_error(exc_type: Any, error: Any, traceback: Any) -> None:
    return None


def enable_logging(level: int = logging.INFO) -> None:
    """Sends cardap's log events at ``level`` and above (a :mod:`logging`
    level; :data:`TRACE` for everything) to the logger named ``"cardap"``;
    each record carries the event's origin as ``record.cardap_target``. The
    logger's own level and handlers then decide what is shown. Events never
    hold keys, PINs or card data. Process-wide; events come from whichever
    thread runs a cardap operation."""
    global _log_callback
    if level <= TRACE:
        max_level = 5
    elif level <= logging.DEBUG:
        max_level = 4
    elif level <= logging.INFO:
        max_level = 3
    elif level <= logging.WARNING:
        max_level = 2
    else:
        max_level = 1
    with _log_lock:
        if _log_callback is None:
            # Created once and never freed: a thread may still be inside it
            # when logging is turned off.
            _log_callback = ffi.callback("cardap_log_fn", _emit, onerror=_ignore_log_error)
            atexit.register(disable_logging)
        _check(lib.cardap_set_log_callback(_log_callback, ffi.NULL, max_level))


def disable_logging() -> None:
    """Stops cardap's log events (the default)."""
    with _log_lock:
        _check(lib.cardap_set_log_callback(ffi.NULL, ffi.NULL, 0))


def _version() -> str:
    text = ffi.new("const char **")
    length = ffi.new("size_t *")
    _check(lib.cardap_version(text, length))
    return _unpack_str(text[0], length[0])


__version__: str = _version()
"""The libcardap version (the Cargo version)."""
