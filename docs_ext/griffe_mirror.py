"""A griffe extension for the API reference: the sync resources, the raw-response views and ``BaseProvider``
show the docstrings of the classes they mirror, as ``help()`` does at run time (``llmaas._docstrings``).

Used by mkdocs.yml and by bench/reference_coverage.py.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

from llmaas._docstrings import EXPLICIT_MIRRORS, RAW_BASE, SYNC_BASE, class_doc_for, note_for

GENERIC_BASE = re.compile(rf"^({SYNC_BASE}|{RAW_BASE})\[(\w+)\]$")


def _classes(module: griffe.Module) -> list[griffe.Class]:
    found: list[griffe.Class] = []
    for member in module.members.values():
        if member.is_alias:
            continue
        if isinstance(member, griffe.Module):
            found.extend(_classes(member))
        elif isinstance(member, griffe.Class):
            found.append(member)
    return found


def _source(cls: griffe.Class) -> tuple[griffe.Class, str] | None:
    """The class ``cls`` mirrors, and through which base."""
    module: Any = cls.parent
    for base in cls.bases:
        match = GENERIC_BASE.match(str(base))
        if match and isinstance(module.members.get(match.group(2)), griffe.Class):
            return module.members[match.group(2)], match.group(1)
    name = EXPLICIT_MIRRORS.get(cls.name)
    if name and isinstance(module.members.get(name), griffe.Class):
        return module.members[name], ""
    return None


class MirrorDocstrings(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        # a class mirrors one defined above it, so source order copies a chain (async -> sync -> raw) whole
        for cls in sorted(_classes(pkg), key=lambda c: (c.filepath, c.lineno or 0)):
            found = _source(cls)
            if found is None:
                continue
            source, base = found
            note = note_for(base)
            if not cls.docstring:
                doc = class_doc_for(base, source.name, source.docstring.value if source.docstring else None)
                if doc:
                    cls.docstring = griffe.Docstring(doc, parent=cls)
            for name, member in cls.members.items():
                origin = source.members.get(name)
                if name.startswith("_") or isinstance(member, griffe.Alias) or member.docstring or origin is None \
                        or isinstance(origin, griffe.Alias) or not origin.docstring:
                    continue
                member.docstring = griffe.Docstring(origin.docstring.value + note, parent=member)
