#!/usr/bin/env python3
"""Reads one card AP and prints the JSON object `cardap read` prints.

    python3 examples/python/read_ap.py --profile FILE --virtual-card CARD.toml
    python3 examples/python/read_ap.py --profile FILE --reader NAME

Needs the `cardap` package: `pip install ./bindings/python`.
"""

import argparse
import sys

import cardap


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", required=True, help="the AP's profile (TOML)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--reader", help="a PC/SC reader name")
    source.add_argument("--virtual-card", metavar="CARD.toml", help="an in-process virtual card")
    args = parser.parse_args()
    try:
        profile = cardap.Profile.from_file(args.profile)
        if args.virtual_card is not None:
            card = cardap.Context.virtual_card(args.virtual_card)
        else:
            card = cardap.Context.pcsc(args.reader)
        with card, profile:
            record = card.read(profile)
    except cardap.CardapError as e:
        print(f"read_ap: {e.code.name if hasattr(e.code, 'name') else e.code}: {e}", file=sys.stderr)
        return 1
    print(record.to_json())
    return 0


if __name__ == "__main__":
    sys.exit(main())
