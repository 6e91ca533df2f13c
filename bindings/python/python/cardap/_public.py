"""The card's own public APs (JPKI and kenhojo) on a :class:`cardap.Context`.

The library applies the PIN safety rules for every caller: a malformed PIN
is refused before anything is sent, the tries left are read first without
spending one, a VERIFY is refused at or below the floor (1 by default: the
last try is never used unless ``context.pin_floor = 0``), and a VERIFY is
never sent twice. PINs are passed as ``bytes``/``bytearray`` (or ``str``);
the library wipes its own copies, and a ``bytearray`` lets the caller wipe
theirs.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Union

from ._native import ffi, lib

PinLike = Union[bytes, bytearray, str]

_CERTIFICATES = {"auth": 0, "auth-ca": 1, "sign": 2, "sign-ca": 3}
_KEYS = {"auth": 0, "sign": 1}
_HASHES = {"sha256": 0, "sha1": 1, "sha384": 2, "sha512": 3}
_MY_NUMBER = 1
_VERIFY = 2


def _pin_buffer(pin: Optional[PinLike]) -> Any:
    if pin is None:
        return ffi.NULL, 0
    if isinstance(pin, str):
        pin = pin.encode("utf-8")
    if not isinstance(pin, (bytes, bytearray)):
        raise TypeError(f"a PIN is bytes, bytearray or str, not {type(pin).__name__}")
    buf = ffi.from_buffer("uint8_t[]", pin)
    return buf, len(pin)


def _choice(table: Dict[str, int], value: str, what: str) -> int:
    try:
        return table[value]
    except KeyError:
        raise ValueError(f"{what} must be one of {', '.join(table)}, not {value!r}") from None


class PublicApsMixin:
    """Methods of :class:`cardap.Context` for the card's public APs."""

    _lock: Any

    def _bytes_call(self, fn: Any, *args: Any) -> bytes:
        from . import _check  # the package's helpers (no import cycle at load)

        out = ffi.new("cardap_bytes **")
        with self._lock, self._borrow() as raw:  # type: ignore[attr-defined]
            code = fn(raw, *args, out)
            if code != 0:
                self._raise_from_context(raw, code)  # type: ignore[attr-defined]
        handle = ffi.gc(out[0], lib.cardap_bytes_free)
        try:
            data = ffi.new("const uint8_t **")
            length = ffi.new("size_t *")
            _check(lib.cardap_bytes_data(handle, data, length))
            return bytes(ffi.unpack(data[0], length[0]))
        finally:
            ffi.release(handle)

    @property
    def pin_floor(self) -> int:
        """VERIFY is refused when the tries left are at or below this (default
        1; 0 lets the last try be used)."""
        return getattr(self, "_pin_floor", 1)

    @pin_floor.setter
    def pin_floor(self, value: int) -> None:
        from . import _check

        if not 0 <= int(value) <= 255:
            raise ValueError("the PIN floor is 0 to 255")
        with self._lock, self._borrow() as raw:  # type: ignore[attr-defined]
            _check(lib.cardap_context_set_pin_floor(raw, int(value)))
            self._pin_floor = int(value)

    def card_info(self) -> Dict[str, Any]:
        """Identifies the card by SELECT and the JPKI token (never the ATR):
        ``{"card": "mynumber" | "jpki-other" | "unknown", "token", "aps"}``."""
        return json.loads(self._bytes_call(lib.cardap_context_card_info).decode("utf-8"))

    def pin_status(self) -> Dict[str, Optional[int]]:
        """Tries left of the three PINs, spending none:
        ``{"jpki_auth", "jpki_sign", "kenhojo"}`` (``None``: AP absent)."""
        counts = [ffi.new("int32_t *") for _ in range(3)]
        with self._lock, self._borrow() as raw:  # type: ignore[attr-defined]
            code = lib.cardap_context_pin_status(raw, *counts)
            if code != 0:
                self._raise_from_context(raw, code)  # type: ignore[attr-defined]
        values = [c[0] if c[0] >= 0 else None for c in counts]
        return dict(zip(("jpki_auth", "jpki_sign", "kenhojo"), values))

    def jpki_certificate(self, which: str = "auth", pin: Optional[PinLike] = None) -> bytes:
        """A JPKI certificate, DER: ``auth``, ``auth-ca``, ``sign`` (needs the
        signature PIN) or ``sign-ca``."""
        buf, length = _pin_buffer(pin)
        return self._bytes_call(
            lib.cardap_context_jpki_certificate,
            _choice(_CERTIFICATES, which, "which"),
            buf,
            length,
        )

    def jpki_sign(self, key: str, data: bytes, pin: PinLike, hash: str = "sha256") -> bytes:
        """Signs ``data``'s digest on the card (PKCS#1 v1.5) with the ``auth``
        key (authentication PIN) or the ``sign`` key (signature PIN)."""
        buf, length = _pin_buffer(pin)
        payload = ffi.from_buffer("uint8_t[]", data) if data else ffi.NULL
        return self._bytes_call(
            lib.cardap_context_jpki_sign,
            _choice(_KEYS, key, "key"),
            _choice(_HASHES, hash, "hash"),
            buf,
            length,
            payload,
            len(data),
        )

    def kenhojo(
        self,
        pin: PinLike,
        my_number: bool = False,
        verify: bool = False,
        verify_key: Optional[bytes] = None,
    ) -> Dict[str, Any]:
        """The four facts of the card face after the kenhojo PIN:
        ``{"name", "address", "birth_date", "sex"}``, plus ``my_number`` when
        asked, plus ``verification`` with ``verify`` (the signature checked
        with ``verify_key``, a public key or certificate in PEM or DER)."""
        buf, length = _pin_buffer(pin)
        flags = (_MY_NUMBER if my_number else 0) | (_VERIFY if verify else 0)
        key = ffi.from_buffer("uint8_t[]", verify_key) if verify_key else ffi.NULL
        text = self._bytes_call(
            lib.cardap_context_kenhojo,
            buf,
            length,
            flags,
            key,
            len(verify_key) if verify_key else 0,
        )
        return json.loads(text.decode("utf-8"))
