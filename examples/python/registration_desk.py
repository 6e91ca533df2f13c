#!/usr/bin/env python3
"""Registration desk (STEP 2 of the card AP brochure): tap a card, read the
user ID from its AP, and link it to a member number in the registry.

    python3 examples/python/registration_desk.py --db library.db \\
        --profile examples/profiles/library.toml --virtual-card examples/cards/demo.toml \\
        --member M-0001 --label "Hanako Yamada"
    python3 examples/python/registration_desk.py --db library.db \\
        --profile examples/profiles/library.toml --reader "Virtual PCD 00 01" --member M-0001

Prints {"user_id","ap","member","label"}. A card already registered for this
AP is refused (exit 1) with the member it belongs to.

Needs the `cardap` package: `pip install ./bindings/python`.
"""

import argparse
import json
import sys

import cardap


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the registry: a SQLite file or a postgres:// URL")
    parser.add_argument("--profile", required=True, help="the AP's profile (TOML)")
    parser.add_argument("--member", required=True, help="the member number to link the card to")
    parser.add_argument("--label", help="a free-text label (a name)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--reader", help="a PC/SC reader name")
    source.add_argument("--virtual-card", metavar="CARD.toml", help="an in-process virtual card")
    args = parser.parse_args()
    try:
        with cardap.Registry.open(args.db) as registry, cardap.Profile.from_file(args.profile) as profile:
            if args.virtual_card is not None:
                card = cardap.Context.virtual_card(args.virtual_card)
            else:
                card = cardap.Context.pcsc(args.reader)
            with card:
                entry = registry.register(card, profile, args.member, label=args.label)
    except cardap.MemberExistsError as e:
        print(f"registration_desk: {e}", file=sys.stderr)
        return 1
    except cardap.CardapError as e:
        print(f"registration_desk: {e}", file=sys.stderr)
        return 1
    print(json.dumps(entry, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
