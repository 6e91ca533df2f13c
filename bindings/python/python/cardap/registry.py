"""The business-system side: members, card statuses and gate decisions in a
registry (a SQLite file or a PostgreSQL server), over ``cardap_registry``.

::

    import cardap

    with cardap.Registry.open("gate.db") as registry:
        registry.import_feed("feed.csv", full=True)       # the daily feed
        registry.set_status("1001000000019", "suspended") # at once
        decision = registry.decide("1001000000019", "city-library")
        print(decision.allow, decision.reason, decision.source)

Thread safety: calls on one :class:`Registry` are serialized by a lock (an
import holds it until it commits). A gate that decides on one thread while
another imports opens one :class:`Registry` per thread on the same location:
each decision sees the import whole or not at all.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Dict, Optional

from . import Context, PathLike, Profile, _check, _encode, _Handle, _unpack_str
from ._native import ffi, lib

_STATUS = {"active": 1, "suspended": 2, "abolished": 3}


@dataclass(frozen=True)
class Decision:
    """A gate's decision for one user ID and AP.

    Attributes:
        user_id: the user ID decided on.
        allow: whether the gate opens.
        reason: ``None`` when allowed, else ``"unknown_user"``,
            ``"suspended"``, ``"abolished"``, ``"wrong_ap"`` or
            ``"read_failed"``.
        source: where the status that applied came from: ``"feed"``,
            ``"provider"`` or ``None``.
        member: the member key registered for this user ID and AP, if any.
    """

    user_id: Optional[str]
    allow: bool
    reason: Optional[str]
    source: Optional[str]
    member: Optional[str]

    @property
    def decision(self) -> str:
        """``"allow"`` or ``"deny"``."""
        return "allow" if self.allow else "deny"

    @classmethod
    def read_failed(cls) -> "Decision":
        """The decision for a card that could not be read."""
        return cls(None, False, "read_failed", None, None)

    def to_dict(self) -> Dict[str, Any]:
        """``{"user_id","decision","reason","source","member"}``."""
        return {
            "user_id": self.user_id,
            "decision": self.decision,
            "reason": self.reason,
            "source": self.source,
            "member": self.member,
        }


class Registry(_Handle):
    """A registry (``cardap_registry``): a SQLite file, created if missing,
    or a ``postgres://`` URL."""

    _free = lib.cardap_registry_free

    def __init__(self, raw: Any) -> None:
        super().__init__(raw)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, location: PathLike) -> "Registry":
        """Opens a registry file or server.

        Raises:
            RegistryError: the file cannot be opened or the server reached.
        """
        return cls._create(lib.cardap_registry_open, "cardap_registry **", location, "location")

    def _json(self, call: Any, *args: Any) -> Any:
        text = ffi.new("const char **")
        length = ffi.new("size_t *")
        with self._lock, self._borrow() as raw:
            _check(call(raw, *args, text, length))
            # Borrowed from the handle until its next call: copied under the lock.
            return json.loads(_unpack_str(text[0], length[0]))

    def check(self, user_id: str) -> Dict[str, Any]:
        """``{"user_id","status","source","updated_at"}`` for a user ID
        (status ``active``, ``suspended``, ``abolished`` or ``unlisted``).

        Raises:
            ArgumentError: not a valid user ID.
        """
        uid = _encode(user_id, "user_id")
        return self._json(lib.cardap_registry_check, uid, len(uid))

    def decide(self, user_id: str, ap: str) -> Decision:
        """The gate's decision for a user ID read from the AP named ``ap``
        (the profile's name)."""
        uid = _encode(user_id, "user_id")
        name = _encode(ap, "ap")
        out = ffi.new("cardap_decision *")
        v = self._json(lib.cardap_registry_decide, uid, len(uid), name, len(name), out)
        return Decision(v["user_id"], bool(out.allow), v["reason"], v["source"], v["member"])

    def import_feed(self, path: PathLike, full: bool) -> Dict[str, Any]:
        """Imports a feed file (CSV ``user_id,status,updated_at``) in one
        transaction: ``full=True`` replaces every feed status, ``False``
        inserts or updates its rows. Returns ``{"mode","rows","changed","removed"}``.

        Raises:
            FeedError: a malformed row (nothing imported) or no such file.
        """
        raw = _encode(path, "path")
        mode = lib.CARDAP_IMPORT_FULL if full else lib.CARDAP_IMPORT_DELTA
        return self._json(lib.cardap_registry_import, raw, len(raw), mode)

    def set_status(self, user_id: str, status: str) -> None:
        """Sets the provider's status (``active``, ``suspended`` or
        ``abolished``), in effect at once and winning over the feed until
        :meth:`clear_status`."""
        if status not in _STATUS:
            raise ValueError(f"status must be one of {sorted(_STATUS)}, not {status!r}")
        uid = _encode(user_id, "user_id")
        with self._lock, self._borrow() as raw:
            _check(lib.cardap_registry_set_status(raw, uid, len(uid), _STATUS[status]))

    def clear_status(self, user_id: str) -> None:
        """Clears the provider's status: the feed's applies again."""
        uid = _encode(user_id, "user_id")
        with self._lock, self._borrow() as raw:
            _check(lib.cardap_registry_clear_status(raw, uid, len(uid)))

    def add_member(self, user_id: str, ap: str, member: str, label: Optional[str] = None) -> None:
        """Registers a member without a card.

        Raises:
            MemberExistsError: the user ID is already registered for this AP.
        """
        uid, name, key = (_encode(user_id, "user_id"), _encode(ap, "ap"), _encode(member, "member"))
        lab = _encode(label, "label") if label is not None else ffi.NULL
        lab_len = len(lab) if label is not None else 0
        with self._lock, self._borrow() as raw:
            _check(
                lib.cardap_registry_add_member(
                    raw, uid, len(uid), name, len(name), key, len(key), lab, lab_len
                )
            )

    def register(
        self, card: Context, profile: Profile, member: str, label: Optional[str] = None
    ) -> Dict[str, Any]:
        """The registration desk: reads the AP ``profile`` describes from
        ``card`` and registers its user ID for ``member``. Returns
        ``{"user_id","ap","member","label"}``.

        Raises:
            MemberExistsError: this card is already registered for this AP.
            CardapError: the card could not be read (a subclass says why).
        """
        if not isinstance(card, Context) or not isinstance(profile, Profile):
            raise TypeError("register(card: cardap.Context, profile: cardap.Profile, member)")
        key = _encode(member, "member")
        lab = _encode(label, "label") if label is not None else ffi.NULL
        lab_len = len(lab) if label is not None else 0
        text = ffi.new("const char **")
        length = ffi.new("size_t *")
        with card._lock, card._borrow() as ctx, profile._borrow() as prof:
            with self._lock, self._borrow() as raw:
                _check(
                    lib.cardap_registry_register(
                        raw, ctx, prof, key, len(key), lab, lab_len, text, length
                    )
                )
                return json.loads(_unpack_str(text[0], length[0]))
