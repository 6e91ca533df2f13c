#!/usr/bin/env python3
"""A card-AP reader in Python with pyscard, written for the benchmark: the
same reads as cardap (PROFILE.md §4-7: SELECT, mutual authentication, secure
messaging in MAC or encryption mode, extended length or short reads), with
the MACs checked before anything is used, so the comparison is fair.

    bench_pyscard.py --reader NAME --profile FILE --count N [--warmup W]
        prints {"us": [latency per read, µs], "apdus": APDUs per read}
    bench_pyscard.py --reader NAME --profile FILE --count N --quiet
        only the reads (for counting PC/SC messages with strace)
    bench_pyscard.py --self-test tests/vectors/profile-v1.json
        checks the reader against the golden transcripts (no reader needed)

Needs pyscard (Debian python3-pyscard) and cryptography (python3-cryptography).
"""

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
import tomllib

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

try:  # cryptography >= 43 moved TripleDES
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover
    TripleDES = algorithms.TripleDES


class CardError(Exception):
    pass


def pad(data, block):
    data = data + b"\x80"
    return data + b"\x00" * (-len(data) % block)


def unpad(data):
    i = data.rstrip(b"\x00")
    if not i.endswith(b"\x80"):
        raise CardError("bad padding")
    return i[:-1]


def parity(key):
    return bytes((b & 0xFE) | (bin(b >> 1).count("1") % 2 == 0) for b in key)


class Suite:
    def __init__(self, name, k_enc, k_mac):
        self.name = name
        self.block = 8 if name == "3des" else 16
        self.k_enc, self.k_mac = k_enc, k_mac

    def _alg(self, key):
        return TripleDES(key) if self.name == "3des" else algorithms.AES(key)

    def enc(self, key, data, iv=None):
        iv = iv or b"\x00" * self.block
        e = Cipher(self._alg(key), modes.CBC(iv)).encryptor()
        return e.update(data) + e.finalize()

    def dec(self, key, data, iv=None):
        iv = iv or b"\x00" * self.block
        d = Cipher(self._alg(key), modes.CBC(iv)).decryptor()
        return d.update(data) + d.finalize()

    def ecb(self, key, block):
        e = Cipher(self._alg(key), modes.ECB()).encryptor()
        return e.update(block) + e.finalize()

    def mac(self, key, padded):
        """8-byte MAC over input already padded (method 2)."""
        if self.name == "3des":
            k1, k2 = key[:8], key[8:16]
            des1 = Cipher(TripleDES(k1), modes.CBC(b"\x00" * 8)).encryptor()
            y = (des1.update(padded) + des1.finalize())[-8:]
            d2 = Cipher(TripleDES(k2), modes.ECB()).decryptor()
            y = d2.update(y) + d2.finalize()
            e1 = Cipher(TripleDES(k1), modes.ECB()).encryptor()
            return e1.update(y) + e1.finalize()
        c = cmac.CMAC(algorithms.AES(key))
        c.update(padded)
        return c.finalize()[:8]

    def kdf(self, seed, counter):
        c = counter.to_bytes(4, "big")
        if self.name == "3des":
            return parity(hashlib.sha1(seed + c).digest()[:16])
        if self.name == "aes128":
            return hashlib.sha1(seed + c).digest()[:16]
        return hashlib.sha256(seed + c).digest()


def tlv(tag, value):
    n = len(value)
    if n < 0x80:
        head = bytes([n])
    elif n < 0x100:
        head = bytes([0x81, n])
    else:
        head = bytes([0x82, n >> 8, n & 0xFF])
    return bytes([tag]) + head + value


def raw_dos(data):
    """Data objects with their raw encodings, in order."""
    out, i = [], 0
    while i < len(data):
        start = i
        tag = data[i]
        n = data[i + 1]
        i += 2
        if n == 0x81:
            n = data[i]
            i += 1
        elif n == 0x82:
            n = (data[i] << 8) | data[i + 1]
            i += 2
        if i + n > len(data):
            raise CardError("truncated data object")
        out.append((tag, data[i : i + n], data[start : i + n]))
        i += n
    return out


def check_user_id(uid):
    if len(uid) != 13 or not uid.isdigit():
        raise CardError("malformed user ID")
    d = [int(c) for c in uid.decode()]
    s = sum(x * w for x, w in zip(reversed(d[:12]), [2, 3, 4, 5, 6, 7] * 2))
    r = s % 11
    if d[12] != (0 if r <= 1 else 11 - r):
        raise CardError("bad check digit")
    return uid.decode()


class Channel:
    """The card link: pyscard's connection, or a scripted one for self-tests."""

    def __init__(self, transmit):
        self.transmit = transmit
        self.apdus = 0

    def send(self, apdu):
        self.apdus += 1
        data, sw1, sw2 = self.transmit(list(apdu))
        return bytes(data), (sw1 << 8) | sw2


class Session:
    def __init__(self, ch, suite, ks_enc, ks_mac, ssc, encrypt):
        self.ch, self.s, self.ks_enc, self.ks_mac = ch, suite, ks_enc, ks_mac
        self.ssc = int.from_bytes(ssc, "big")
        self.n = len(ssc)
        self.encrypt = encrypt

    def _ssc(self):
        self.ssc = (self.ssc + 1) % (1 << (8 * self.n))
        return self.ssc.to_bytes(self.n, "big")

    def send(self, ins, p1, p2, le, extended):
        b = self.s.block
        header = bytes([0x0C, ins, p1, p2])
        do97 = tlv(0x97, bytes([le]))
        ssc = self._ssc()
        m = self.s.mac(self.ks_mac, pad(ssc + pad(header, b) + do97, b))
        body = do97 + tlv(0x8E, m)
        if extended:
            apdu = header + b"\x00" + len(body).to_bytes(2, "big") + body + b"\x00\x00"
        else:
            apdu = header + bytes([len(body)]) + body + b"\x00"
        data, sw = self.ch.send(apdu)
        dos = raw_dos(data)
        tags = [t for t, _, _ in dos]
        if not dos or tags[-1] != 0x8E or 0x99 not in tags:
            raise CardError("unprotected response %04X" % sw)
        rssc = self._ssc()
        covered = b"".join(raw for t, _, raw in dos if t != 0x8E)
        want = self.s.mac(self.ks_mac, pad(rssc + covered, b))
        if not hmac.compare_digest(want, dos[-1][1]):
            raise CardError("bad MAC")
        values = {t: v for t, v, _ in dos}
        status = int.from_bytes(values[0x99], "big")
        if status != sw:
            raise CardError("status mismatch")
        if self.encrypt:
            if 0x81 in values:
                raise CardError("plain data in an encrypted channel")
            if 0x87 not in values:
                return b"", status
            v = values[0x87]
            if v[:1] != b"\x01":
                raise CardError("bad padding indicator")
            iv = self.s.ecb(self.ks_enc, rssc) if self.s.block == 16 else None
            return unpad(self.s.dec(self.ks_enc, v[1:], iv)), status
        if 0x87 in values:
            raise CardError("encrypted data in a MAC channel")
        return values.get(0x81, b""), status


def authenticate(ch, suite, rnd_ifd, k_ifd, encrypt):
    b = suite.block
    rnd_icc, sw = ch.send(b"\x00\x84\x00\x00\x08")
    if sw != 0x9000 or len(rnd_icc) != 8:
        raise CardError("GET CHALLENGE %04X" % sw)
    e_ifd = suite.enc(suite.k_enc, rnd_ifd + rnd_icc + k_ifd)
    m_ifd = suite.mac(suite.k_mac, pad(e_ifd, b))
    resp, sw = ch.send(b"\x00\x82\x00\x00\x28" + e_ifd + m_ifd + b"\x28")
    if sw != 0x9000 or len(resp) != 40:
        raise CardError("MUTUAL AUTHENTICATE %04X" % sw)
    e_icc, m_icc = resp[:32], resp[32:]
    if not hmac.compare_digest(suite.mac(suite.k_mac, pad(e_icc, b)), m_icc):
        raise CardError("bad card MAC")
    r = suite.dec(suite.k_enc, e_icc)
    if r[:8] != rnd_icc or r[8:16] != rnd_ifd:
        raise CardError("bad card cryptogram")
    seed = bytes(x ^ y for x, y in zip(k_ifd, r[16:32]))
    ssc = rnd_icc[4:] + rnd_ifd[4:]
    if b == 16:
        ssc = b"\x00" * 8 + ssc
    return Session(ch, suite, suite.kdf(seed, 1), suite.kdf(seed, 2), ssc, encrypt)


def select(ch, aid):
    _, sw = ch.send(b"\x00\xA4\x04\x0C" + bytes([len(aid)]) + aid)
    if sw != 0x9000:
        raise CardError("SELECT %04X" % sw)


def read_ap(ch, p, random=os.urandom):
    """One read as cardap does it; returns (user ID, fields)."""
    select(ch, p["aid"])
    ext = p["extended"]
    if p["type"] == "C":
        data, sw = ch.send(b"\x00\xB0\x81\x00\x00")
        if sw not in (0x9000, 0x6282):
            raise CardError("READ BINARY %04X" % sw)
        dos = {t: v for t, v, _ in raw_dos(data.rstrip(b"\xFF"))}
        return check_user_id(dos[0xC0]), {k: v for k, v in dos.items() if k != 0xC0}
    suite = p["suite"]
    rnd_ifd, k_ifd = random(8), random(16)
    enc = p["type"] == "D"
    s = authenticate(ch, suite, rnd_ifd, k_ifd, enc)
    if p["type"] == "A":
        if ext:
            data, sw = s.send(0xB2, 1, 0x0D, 0, True)
            if sw != 0x9000:
                raise CardError("READ RECORD %04X" % sw)
        else:
            data, n = b"", 1
            while True:
                rec, sw = s.send(0xB2, n, 0x0C, 0, False)
                if sw == 0x6A83:
                    break
                if sw != 0x9000:
                    raise CardError("READ RECORD %04X" % sw)
                data += rec
                n += 1
        recs = {t: v for t, v, _ in raw_dos(data)}
        return check_user_id(recs[0xC0]), {k: v for k, v in recs.items() if k != 0xC0}
    if ext:
        data, sw = s.send(0xB0, 0x81, 0, 0, True)
    else:
        data, sw = s.send(0xB0, 0x81, 0, 0xDF, False)
        if sw == 0x9000 and len(data) == 0xDF:
            more, sw = s.send(0xB0, 0, 0xDF, 255 - 0xDF, False)
            data += more
    if sw not in (0x9000, 0x6282):
        raise CardError("READ BINARY %04X" % sw)
    return check_user_id(data[:13]), {"data": data[13:]}


def load_profile(path):
    with open(path, "rb") as f:
        t = tomllib.load(f)
    p = {
        "type": t["type"],
        "aid": bytes.fromhex(t["aid"].replace(" ", "")),
        "extended": t.get("extended_length", True),
    }
    if "auth" in t:
        a = t["auth"]
        p["suite"] = Suite(
            a["suite"], bytes.fromhex(a["k_enc"]), bytes.fromhex(a["k_mac"])
        )
    return p


def self_test(path):
    with open(path) as f:
        vectors = json.load(f)
    for v in vectors["transcripts"]:
        exchanges = v["exchanges"]
        pos = [0]

        def transmit(apdu):
            e = exchanges[pos[0]]
            pos[0] += 1
            if bytes(apdu).hex().upper() != e["command"]:
                raise CardError("%s: command %d differs" % (v["name"], pos[0]))
            r = bytes.fromhex(e["response"])
            return list(r[:-2]), r[-2], r[-1]

        card = v["card"]
        p = {"type": v.get("type", v["name"][0]), "aid": bytes.fromhex(card["aid"]),
             "extended": v.get("extended_length", True)}
        if "k_enc" in card:
            p["suite"] = Suite(v["suite"], bytes.fromhex(card["k_enc"]), bytes.fromhex(card["k_mac"]))
        rnd = v.get("random", {})
        drawn = [bytes.fromhex(rnd[k]) for k in ("RND_IFD", "K_IFD") if k in rnd]
        uid, _ = read_ap(Channel(transmit), p, random=lambda n: drawn.pop(0))
        if uid != card["user_id"] or pos[0] != len(exchanges):
            raise CardError("%s: wrong result" % v["name"])
        print("ok", v["name"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reader")
    ap.add_argument("--profile")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--serve", action="store_true",
                    help="after the warm-up, one read per line on stdin; prints its µs (cardap-bench e2e)")
    ap.add_argument("--self-test")
    a = ap.parse_args()
    if a.self_test:
        self_test(a.self_test)
        return
    from smartcard.System import readers
    from smartcard.scard import SCARD_LEAVE_CARD

    p = load_profile(a.profile)
    reader = next(r for r in readers() if a.reader.lower() in str(r).lower())
    conn = reader.createConnection()
    conn.connect()
    # One PC/SC transaction per read, as cardap does.
    from smartcard.scard import SCardBeginTransaction, SCardEndTransaction

    hcard = conn.component.hcard
    ch = Channel(conn.transmit)

    def one():
        rv = SCardBeginTransaction(hcard)
        if rv != 0:
            raise CardError("SCardBeginTransaction %08X" % rv)
        try:
            return read_ap(ch, p)
        finally:
            SCardEndTransaction(hcard, SCARD_LEAVE_CARD)

    for _ in range(a.warmup):
        one()
    if a.serve:
        # Taking turns with the floor and cardap, read by read: the caller
        # writes a line, this reads once and answers "µs apdus".
        ch.apdus = 0
        for _ in sys.stdin:
            t = time.perf_counter_ns()
            one()
            us = (time.perf_counter_ns() - t) / 1000
            sys.stdout.write("%.3f %d\n" % (us, ch.apdus))
            sys.stdout.flush()
            ch.apdus = 0
        return
    ch.apdus = 0
    times = []
    for _ in range(a.count):
        t = time.perf_counter_ns()
        one()
        times.append((time.perf_counter_ns() - t) / 1000)
    if not a.quiet:
        print(json.dumps({"us": times, "apdus": ch.apdus // max(a.count, 1)}))


if __name__ == "__main__":
    try:
        main()
    except CardError as e:
        print("bench_pyscard: %s" % e, file=sys.stderr)
        sys.exit(1)
