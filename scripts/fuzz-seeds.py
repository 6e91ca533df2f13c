#!/usr/bin/env python3
"""Seed corpora for the fuzz targets (fuzz/corpus/TARGET/), from the golden
transcripts (tests/vectors/profile-v1.json), the example profiles and cards,
and the benchmark's cards and profiles. Idempotent: files are named by
content hash. Usage: python3 scripts/fuzz-seeds.py [ROOT]"""

import glob
import hashlib
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
out = os.path.join(root, "fuzz", "corpus")


def put(target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def segments(parts):
    b = bytearray()
    for p in parts:
        p = p[:255]
        b.append(len(p))
        b += p
    return bytes(b)


def text(path):
    with open(path, "rb") as f:
        return f.read()


vectors = json.load(open(os.path.join(root, "tests", "vectors", "profile-v1.json")))
for t in vectors["transcripts"]:
    cmds = [bytes.fromhex(e["command"]) for e in t["exchanges"]]
    resps = [bytes.fromhex(e["response"]) for e in t["exchanges"]]
    for x in cmds + resps:
        put("apdu_tlv_atr", x)
    if "atr" in t["card"]:
        put("apdu_tlv_atr", bytes.fromhex(t["card"]["atr"]))
    kind = {"C": 0, "A": 1, "D": 2}[t["name"][0]]
    put("reader_answers", bytes([kind]) + segments(resps))
    put("virtual_card", segments(cmds))
    kind_ap = {"C": 0, "A": 1, "D": 2}[t["name"][0]]
    card_ = t["card"]
    if kind_ap == 2:
        put("ap_parsers", bytes([2]) + bytes.fromhex(card_["file"]))
    elif kind_ap == 1 and "ef_records" in card_:
        put("ap_parsers", bytes([1]) + b"".join(bytes.fromhex(r) for r in card_["ef_records"]))
    elif kind_ap == 0 and "file" in card_:
        put("ap_parsers", bytes([0]) + bytes.fromhex(card_["file"]))
    suite = {"3des": 0, "aes128": 1, "aes256": 2}.get(t.get("suite"), 0)
    mode = suite | (4 if t["name"][0] == "D" else 0)
    put("sm_unwrap", bytes([mode]) + segments(resps[3:]))
    card = t["card"]
    if t["name"][0] == "A":
        recs = [bytes.fromhex(r) for r in card.get("records", [])]
        put("card_contents", bytes([suite | 0x10]) + segments(recs))
        put("card_contents", bytes([suite]) + segments(recs))
    elif t["name"][0] == "D":
        put("card_contents", bytes([suite | 4 | 0x10]) + bytes.fromhex(card["data"]))
        put("card_contents", bytes([suite | 4]) + bytes.fromhex(card["data"]))
    else:
        put("card_contents", bytes([8]) + segments([b"LIB", b"\x00\x12\x34\x56", b"\x07"]))

put("ap_parsers", bytes([3]) + segments([b"\x61\x12\x4F\x0A\xF0\x43\x41\x52\x44\x41\x50\x43\x00\x01\x50\x04test"]))
put("ap_parsers", bytes([4]) + "山田 花子".encode("shift_jis"))
# EF.DIR listing answers: SELECT ok, then records.
put("reader_answers", bytes([3]) + segments([b"\x90\x00", b"\x61\x12\x4F\x0A\xF0\x43\x41\x52\x44\x41\x50\x43\x00\x01\x50\x04\x74\x65\x73\x74\x90\x00", b"\x6A\x83"]))

profiles = glob.glob(os.path.join(root, "examples", "profiles", "*.toml")) + glob.glob(
    os.path.join(root, "bench", "profiles", "*.toml"))
cards = glob.glob(os.path.join(root, "examples", "cards", "*.toml")) + glob.glob(
    os.path.join(root, "bench", "card.toml"))
for p in profiles:
    put("profile", text(p))
for c in cards:
    put("card_description", text(c))
for p in profiles:
    for c in cards:
        put("c_abi", text(p) + b"\x00" + text(c))
for f in glob.glob(os.path.join(root, "tests", "vectors", "*.trace")) + glob.glob(
        os.path.join(root, "tests", "**", "*.trace"), recursive=True):
    put("apdu_tlv_atr", text(f))
# The loading desk: the card's answers of the lifecycle transcripts, with
# the operation byte desk_answers reads (suite = byte % 3, operation =
# byte / 3 % 4: list, delete, move-out, install).
lifecycle = json.load(open(os.path.join(root, "tests", "vectors", "profile-v2-lifecycle.json")))
for t in lifecycle["transcripts"]:
    resps = [bytes.fromhex(e["response"]) for e in t["exchanges"] if e.get("response")]
    suite = {"3des": 0, "aes128": 1, "aes256": 2}.get(t.get("suite"), 0)
    op = {"list": 0, "delete": 1, "move": 2, "install": 3}.get(t["name"].split("-")[0])
    if op is not None:
        put("desk_answers", bytes([suite + 3 * op]) + segments(resps))
# Public APs: each operation over plain "90 00" answers (the fuzzer builds the rest).
for op in range(2, 8):
    put("public_answers", bytes([op]) + segments([b"\x90\x00"] * 8))
put("public_answers", bytes([0]) + b"19850412")
# Revocation feeds.
feed = (b"user_id,status,updated_at\n"
        b"1001000000019,suspended,2026-04-01T09:00:00+09:00\n"
        b"1001000000027,active,2026-04-02T10:30:00+09:00\n"
        b"1001000000035,abolished,2026-04-03T00:00:00Z\n")
put("revocation_feed", feed)
put("revocation_feed", b"\xEF\xBB\xBF" + feed.replace(b"\n", b"\r\n"))
put("revocation_feed", b"status,updated_at,user_id\nsuspended,2026-04-01T09:00:00+09:00,1001000000019\n")
print("seeds written to", out)
