"""The card's public APs through the Python layer: every operation, the PIN
errors as exceptions, and signatures checked against the certificate."""

import subprocess
import tempfile
from pathlib import Path

import pytest

import cardap

ROOT = Path(__file__).resolve().parents[3]
CARD = ROOT / "examples" / "cards" / "public.toml"


@pytest.fixture
def card():
    with cardap.Context.virtual_card(CARD) as c:
        yield c


def test_info_and_pin_status(card):
    info = card.card_info()
    assert info["card"] == "mynumber"
    assert info["token"] == "JPKIAPICCTOKEN2"
    assert card.pin_status() == {"jpki_auth": 3, "jpki_sign": 5, "kenhojo": 3}


def test_certificates_and_signature_verify_with_openssl(card):
    auth = card.jpki_certificate("auth")
    assert auth[0] == 0x30 and 900 <= len(auth) <= 1600
    sign = card.jpki_certificate("sign", pin=bytearray(b"sample1"))
    assert sign != auth
    signature = card.jpki_sign("auth", b"to be signed", pin=b"1234", hash="sha512")
    assert len(signature) == 256
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "cert.der").write_bytes(auth)
        (d / "data").write_bytes(b"to be signed")
        (d / "sig").write_bytes(signature)
        pub = subprocess.run(
            ["openssl", "x509", "-inform", "DER", "-in", str(d / "cert.der"), "-pubkey", "-noout"],
            check=True, capture_output=True,
        ).stdout
        (d / "pub.pem").write_bytes(pub)
        subprocess.run(
            ["openssl", "dgst", "-sha512", "-verify", str(d / "pub.pem"),
             "-signature", str(d / "sig"), str(d / "data")],
            check=True, capture_output=True,
        )


def test_kenhojo(card):
    facts = card.kenhojo("1234")
    assert facts == {
        "name": "見本　太郎",
        "address": "東京都千代田区霞が関二丁目一番二号　見本ビル三階",
        "birth_date": "1980-04-01",
        "sex": "male",
    }
    full = card.kenhojo(b"1234", my_number=True, verify=True)
    assert full["my_number"] == "123456789018"
    assert full["verification"]["signature"] == "not_checked"


def test_pin_errors(card):
    with pytest.raises(cardap.MalformedPinError) as e:
        card.kenhojo("12345")
    assert e.value.code is cardap.Result.MALFORMED_PIN
    with pytest.raises(cardap.WrongPinError) as e:
        card.kenhojo("0000")
    assert "2 tries left" in e.value.message
    assert "0000" not in e.value.message
    with pytest.raises(cardap.WrongPinError):
        card.kenhojo("0000")
    with pytest.raises(cardap.PinFloorError):
        card.kenhojo("1234")
    assert card.pin_status()["kenhojo"] == 1
    card.pin_floor = 0
    assert card.kenhojo("1234")["sex"] == "male"
    assert card.pin_status()["kenhojo"] == 3
    with pytest.raises(ValueError):
        card.jpki_sign("nope", b"x", pin="1234")


def test_wrong_verify_key_is_a_verification_error(card):
    auth = card.jpki_certificate("auth")
    with pytest.raises(cardap.VerificationError):
        card.kenhojo("1234", verify=True, verify_key=auth)
