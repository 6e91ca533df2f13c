#!/usr/bin/env python3
"""An entrance gate: for every tap, read the card's AP, decide from the
registry (registered member? card still active?) and print one JSON line,
the same fields as `cardap watch --db`:
time, reader, ok, user_id, decision, reason, source, member, apdus, ms.

    python3 examples/python/gate.py --db library.db \\
        --profile examples/profiles/library.toml --virtual-card examples/cards/demo.toml --taps 1
    python3 examples/python/gate.py --db library.db \\
        --profile examples/profiles/library.toml --reader "Virtual PCD 00 01"

With --virtual-card each tap reads the in-process card once. With --reader
the gate waits for a card in that reader, reads it, decides, prints, and
waits for its removal before the next tap (Ctrl-C ends it). The decision
comes from the local registry file: the gate keeps working when a shared
server is down (copy it with `cardap revocation sync`).

Needs the `cardap` package: `pip install ./bindings/python`.
"""

import argparse
import datetime
import json
import sys
import time

import cardap


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def presence(reader: str) -> bool:
    try:
        return any(r.card_present for r in cardap.readers() if r.name == reader)
    except cardap.CardapError:
        return False


def tap(registry: cardap.Registry, profile: cardap.Profile, open_card, reader: str) -> dict:
    started = time.perf_counter()
    ok, user_id, apdus, error = False, None, None, None
    try:
        with open_card() as card:
            record = card.read(profile)
        ok, user_id, apdus = True, record.user_id, record.apdus
        decision = registry.decide(record.user_id, profile.name)
    except cardap.RegistryError as e:
        # The registry failed: the gate stays shut.
        decision, error = cardap.Decision(user_id, False, None, None, None), f"registry: {e}"
    except cardap.CardapError as e:
        decision, error = cardap.Decision.read_failed(), str(e)
    line = {
        "time": now(),
        "reader": reader,
        "ok": ok,
        "user_id": user_id,
        "decision": decision.decision,
        "reason": decision.reason,
        "source": decision.source,
        "member": decision.member,
        "apdus": apdus,
        "ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if error is not None:
        line["error"] = error
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the registry: a SQLite file or a postgres:// URL")
    parser.add_argument("--profile", required=True, help="the AP's profile (TOML)")
    parser.add_argument("--taps", type=int, help="stop after this many taps")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--reader", help="a PC/SC reader name (exact)")
    source.add_argument("--virtual-card", metavar="CARD.toml", help="an in-process virtual card")
    args = parser.parse_args()
    try:
        registry = cardap.Registry.open(args.db)
        profile = cardap.Profile.from_file(args.profile)
    except cardap.CardapError as e:
        print(f"gate: {e}", file=sys.stderr)
        return 1
    if args.virtual_card is not None:
        reader = "virtual card"
        open_card = lambda: cardap.Context.virtual_card(args.virtual_card)  # noqa: E731
    else:
        reader = args.reader
        open_card = lambda: cardap.Context.pcsc(args.reader)  # noqa: E731
    done = 0
    try:
        while args.taps is None or done < args.taps:
            if args.reader is not None:
                # Presence by polling the reader list (pcscd itself polls the
                # reader about every 0.4 s, so faster polling gains nothing).
                while not presence(args.reader):
                    time.sleep(0.05)
            print(json.dumps(tap(registry, profile, open_card, reader), ensure_ascii=False), flush=True)
            done += 1
            if args.taps is not None and done >= args.taps:
                break
            if args.reader is not None:
                while presence(args.reader):
                    time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    finally:
        registry.close()
        profile.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
