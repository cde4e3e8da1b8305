"""Offline detection and redaction of personal data and secrets (standard library only).

    >>> from llmaas.privacy import redact
    >>> redact("Mail jane.doe@example.com or call +44 20 7946 0958")
    'Mail [EMAIL] or call [PHONE]'

Kinds: ``EMAIL``, ``PHONE``, ``CARD`` (13 to 19 digits passing the Luhn check), ``IBAN`` (the mod-97 check),
``IP`` (IPv4 and IPv6), ``SSN`` (US), ``NINO`` (UK National Insurance), ``DNI`` (Spanish DNI and NIE, with
their check letter), ``SECRET`` (API keys of common services, bearer tokens, JWTs, private keys, and values
after ``password=``, ``api_key:``...). Numbers that fail a check (a card number with a wrong Luhn digit, an
IBAN with wrong check digits) are left alone, so order numbers, dates and versions stay readable.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = ["KINDS", "Finding", "find", "redact"]


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    text: str


def _luhn(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == parity:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(text: str) -> bool:
    digits = re.sub(r"[ -]", "", text)
    return 13 <= len(digits) <= 19 and _luhn(digits) and len(set(digits)) > 1


def _iban(text: str) -> bool:
    s = re.sub(r"\s", "", text).upper()
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def _ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _ssn(text: str) -> bool:
    area, group, serial = text.split("-")
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def _dni(text: str) -> bool:
    s = text.upper().replace("-", "")
    body = s[:-1].replace("X", "0").replace("Y", "1").replace("Z", "2")
    return body.isdigit() and DNI_LETTERS[int(body) % 23] == s[-1]


def _phone(text: str) -> bool:
    if re.fullmatch(r"\d{3}-\d{2}-\d{4}", text):
        return False  # the shape of a US SSN (one that failed its check)
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15:
        return False
    if text.strip().startswith("+"):
        return True
    # without a country code: national formats with separators (a bare run of digits is too often an id)
    return bool(re.search(r"[\s().-]", text.strip())) and len(digits) >= 9


_SECRET_PATTERNS = [
    r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----[\s\S]+?-----END (?:[A-Z]+ )?PRIVATE KEY-----",
    r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}",  # OpenAI, Anthropic
    r"\bAKIA[0-9A-Z]{16}\b",  # AWS access key id
    r"\bgh[pousr]_[A-Za-z0-9]{30,}\b",  # GitHub
    r"\bgithub_pat_[A-Za-z0-9_]{40,}\b",
    r"\bxox[abprs]-[A-Za-z0-9-]{10,}",  # Slack
    r"\bAIza[0-9A-Za-z_-]{35}\b",  # Google
    r"\bsk_(?:live|test)_[A-Za-z0-9]{20,}\b",  # Stripe
    r"\bhf_[A-Za-z0-9]{30,}\b",  # Hugging Face
    r"\bllmaas-[A-Za-z0-9_-]{20,}",  # this project's own keys
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JWT
    r"\b(?i:bearer)\s+[A-Za-z0-9._~+/-]{16,}=*",
    # a value after a secret-looking name: only the value (the group named v) is the finding
    r"\b(?i:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|token)[\"']?\s*[:=]\s*[\"']?"
    r"(?P<v>[^\s\"',;]{6,})",
]

_RULES: list[tuple[str, re.Pattern[str], Callable[[str], bool] | None]] = [
    ("SECRET", re.compile("|".join(f"(?:{p})" for p in _SECRET_PATTERNS)), None),
    ("EMAIL", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"), None),
    ("IBAN", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"), _iban),
    ("CARD", re.compile(r"\b\d(?:[ -]?\d){12,18}\b"), _card),
    ("SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), _ssn),
    ("NINO", re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"),
     None),
    ("DNI", re.compile(r"\b[XYZ]?\d{7,8}-?[A-Z]\b"), _dni),
    ("IP", re.compile(r"(?<![\w:.])(?:\d{1,3}(?:\.\d{1,3}){3}|(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4})"
                      r"(?![\w:]|\.\d)"), _ip),
    ("PHONE", re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){1,4}(?!\w)"),
     _phone),
]
KINDS: tuple[str, ...] = tuple(kind for kind, _, _ in _RULES)


def find(text: str, kinds: Iterable[str] | None = None) -> list[Finding]:
    """Personal data and secrets in ``text``, in order; where two overlap, the earlier rule in ``KINDS``
    (secrets first) wins."""
    wanted = set(KINDS if kinds is None else kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
    taken: list[tuple[int, int]] = []
    found: list[Finding] = []
    for kind, pattern, check in _RULES:
        if kind not in wanted:
            continue
        for m in pattern.finditer(text):
            group = "v" if "v" in pattern.groupindex and m.group("v") is not None else 0
            start, end = m.span(group)
            if start == end or any(start < e and s < end for s, e in taken):
                continue
            if check is not None and not check(m.group()):
                continue
            taken.append((start, end))
            found.append(Finding(kind, start, end, m.group(group)))
    return sorted(found, key=lambda f: f.start)


def redact(text: str, kinds: Iterable[str] | None = None, placeholder: str = "[{kind}]") -> str:
    """``text`` with each finding replaced by ``placeholder`` (``{kind}`` is the kind's name)."""
    out: list[str] = []
    last = 0
    for f in find(text, kinds):
        out.append(text[last:f.start])
        out.append(placeholder.format(kind=f.kind))
        last = f.end
    out.append(text[last:])
    return "".join(out)
