"""Recall and false positives of ``llmaas.privacy`` on formats its tests do not use (written apart from
them): other separators, countries, providers and surrounding text.

    .venv/bin/python bench/pii_eval.py
"""

from __future__ import annotations

from llmaas.privacy import find

POSITIVES = [
    ("EMAIL", "Reach out to o'brien.k@sub.domain-example.ie for details."),
    ("EMAIL", "<maria.garcía@example.es> is not ASCII but maria.garcia@example.es is"),
    ("PHONE", "Tel.: +33 1 42 68 53 00 (bureau)"),
    ("PHONE", "WhatsApp me on +91-98765-43210"),
    ("PHONE", "Office (212) 555-0199 ext. 4"),
    ("PHONE", "Ruf an: 030 12345678"),
    ("PHONE", "call 0412 345 678 in Sydney"),
    ("CARD", "Visa: 4012-8888-8888-1881"),
    ("CARD", "discover 6011 0009 9013 9424"),
    ("CARD", "JCB 3530111333300000 on file"),
    ("IBAN", "Überweisung an AT61 1904 3002 3457 3201"),
    ("IBAN", "Virement: FR14 2004 1010 0505 0001 3M02 606"),
    ("IBAN", "Conta NL91ABNA0417164300"),
    ("IP", "Blocked 203.0.113.77 after five failures"),
    ("IP", "listening on fe80::1ff:fe23:4567:890a"),
    ("SSN", "Social security: 078-05-1120"),
    ("NINO", "NINO: JG103759A"),
    ("DNI", "mi DNI es 00000000T"),
    ("DNI", "NIE: Y2345678Z"),
    ("SECRET", "export ANTHROPIC_API_KEY=sk-ant-api03-abcdefghijklmnopqrstuvwxyz"),
    ("SECRET", "slack xoxb-123456789012-abcdefghijkl"),
    ("SECRET", "GOOGLE key AIzaSyA1234567890abcdefghijklmnopqrstuv"),
    ("SECRET", "stripe sk_live_abcdefghijklmnopqrstuvwx"),
    ("SECRET", "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ("SECRET", "db_password: 'Tr0ub4dor&3'"),
]
NEGATIVES = [
    "Invoice 2024-000123 due 31.12.2024",
    "Call me maybe",
    "The year 1984 and the number 42",
    "Part no. 4111-1111-1111-1112",
    "Coordinates 51.5074, -0.1278",
    "Python 3.11.7 on Linux 6.1.0",
    "ISBN 978-3-16-148410-0",
    "Temperature rose 12.5 degrees",
    "Meeting room 3-14, floor 2",
    "Password policy: at least 12 characters",
]


def main(argv: list[str] | None = None) -> str:
    hits = [kind in {f.kind for f in find(text)} for kind, text in POSITIVES]
    false = [bool(find(text)) for text in NEGATIVES]
    by_kind: dict[str, list[bool]] = {}
    for (kind, _), hit in zip(POSITIVES, hits, strict=True):
        by_kind.setdefault(kind, []).append(hit)
    lines = ["| kind | found |", "| --- | ---: |"]
    lines += [f"| {k} | {sum(v)}/{len(v)} |" for k, v in by_kind.items()]
    lines += ["", f"Recall {sum(hits)}/{len(hits)}; texts without personal data that had a finding: "
              f"{sum(false)}/{len(false)}.", ""]
    lines += [f"Missed: {text}" for (_, text), hit in zip(POSITIVES, hits, strict=True) if not hit]
    lines += [f"False positive: {text}" for text, f in zip(NEGATIVES, false, strict=True) if f]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
