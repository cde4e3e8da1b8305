"""llmaas.privacy finds personal data and secrets in many formats, checks what can be checked (Luhn, IBAN
mod 97, the DNI letter, SSN ranges) so that look-alike numbers stay, and redacts in place."""

import pytest

from llmaas.privacy import KINDS, find, redact

FOUND = [
    ("EMAIL", "write to jane.doe+news@mail.example.co.uk today", "jane.doe+news@mail.example.co.uk"),
    ("EMAIL", "CONTACT: J_SMITH@EXAMPLE.ORG.", "J_SMITH@EXAMPLE.ORG"),
    ("PHONE", "call +1 (415) 555-0132 now", "+1 (415) 555-0132"),
    ("PHONE", "ring 020 7946 0958 after six", "020 7946 0958"),
    ("PHONE", "mobile: +49 151 23456789", "+49 151 23456789"),
    ("PHONE", "téléphone 06.12.34.56.78", "06.12.34.56.78"),
    ("CARD", "card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111"),
    ("CARD", "amex 3782-822463-10005", "3782-822463-10005"),
    ("CARD", "pay with 5555555555554444", "5555555555554444"),
    ("IBAN", "IBAN DE89 3704 0044 0532 0130 00 please", "DE89 3704 0044 0532 0130 00"),
    ("IBAN", "to GB29NWBK60161331926819", "GB29NWBK60161331926819"),
    ("IP", "server at 192.168.10.254 is down", "192.168.10.254"),
    ("IP", "v6 address 2001:db8:85a3::8a2e:370:7334 answers", "2001:db8:85a3::8a2e:370:7334"),
    ("SSN", "SSN 123-45-6789 on file", "123-45-6789"),
    ("NINO", "NI number AB 12 34 56 C", "AB 12 34 56 C"),
    ("DNI", "DNI 12345678Z", "12345678Z"),
    ("DNI", "NIE X1234567L", "X1234567L"),
    ("SECRET", "key sk-proj-AbCdEf1234567890GhIjKlMn in the config", "sk-proj-AbCdEf1234567890GhIjKlMn"),
    ("SECRET", "aws AKIAIOSFODNN7EXAMPLE leaked", "AKIAIOSFODNN7EXAMPLE"),
    ("SECRET", "token ghp_0123456789abcdefghijABCDEFGHIJ012345", "ghp_0123456789abcdefghijABCDEFGHIJ012345"),
    ("SECRET", "password=hunter2hunter2 and more", "hunter2hunter2"),
    ("SECRET", 'config {"api_key": "a1b2c3d4e5f6g7"}', "a1b2c3d4e5f6g7"),
    ("SECRET", "Authorization: Bearer abcdefghijklmnopqrstuvwx", "Bearer abcdefghijklmnopqrstuvwx"),
]

KEPT = [
    "order 4111 1111 1111 1112 shipped",  # fails the Luhn check
    "IBAN DE00 3704 0044 0532 0130 00",  # wrong check digits
    "version 1.2.3.4567 released on 2024-05-01",
    "SSN 000-12-3456 is not valid",
    "DNI 12345678A has the wrong letter",
    "the meeting is at 10:30 in room 204",
    "we sold 1500000 units in 2023",
    "see RFC 7231 section 6.5.1",
]


@pytest.mark.parametrize(("kind", "text", "value"), FOUND, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(FOUND)])
def test_each_kind_is_found(kind, text, value):
    hits = find(text)
    assert [(h.kind, h.text) for h in hits] == [(kind, value)]
    assert redact(text) == text.replace(value, f"[{kind}]")


@pytest.mark.parametrize("text", KEPT)
def test_look_alikes_are_kept(text):
    assert find(text) == [] and redact(text) == text


def test_many_findings_in_one_text_and_a_chosen_subset():
    text = "Jane (jane@example.com, +44 7700 900123) paid with 4111111111111111 from 10.0.0.1."
    assert redact(text) == "Jane ([EMAIL], [PHONE]) paid with [CARD] from [IP]."
    assert redact(text, kinds=["EMAIL"], placeholder="<{kind}>") == \
        "Jane (<EMAIL>, +44 7700 900123) paid with 4111111111111111 from 10.0.0.1."
    with pytest.raises(ValueError, match="unknown kinds"):
        find(text, kinds=["PASSPORT"])
    assert set(KINDS) >= {"EMAIL", "PHONE", "CARD", "IBAN", "IP", "SSN", "NINO", "DNI", "SECRET"}


def test_a_private_key_block_is_one_secret():
    text = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAKC\n-----END RSA PRIVATE KEY-----\nbye"
    assert redact(text) == "[SECRET]\nbye"
