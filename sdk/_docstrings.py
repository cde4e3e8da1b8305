"""One docstring per method: the sync resources, the raw-response views and ``BaseProvider`` take theirs
from the class they mirror, so ``help()`` and the API reference read the same text everywhere.

The rules live here once: the generic bases a mirror names its source through (``SYNC_BASE``, ``RAW_BASE``)
and ``EXPLICIT_MIRRORS``, with ``note_for`` and ``class_doc_for`` saying what a mirrored docstring reads;
the reference build's griffe extension (``docs_ext/griffe_mirror.py``) reads them, and ``mirror_through``
and ``mirror_docstrings`` apply them at run time.
"""

from __future__ import annotations

from typing import Any

RAW_NOTE = ("\n\nThrough ``with_raw_response`` the result is an ``APIResponse``: the HTTP status, headers and "
            "request id, and ``parse()`` for the object above.")
RAW_CLASS_DOC = "The ``with_raw_response`` view of ``{source}``: the same methods, each answered with an ``APIResponse``."
SYNC_BASE = "SyncResource"
RAW_BASE = "RawView"
# classes that mirror another of their module without a generic base
EXPLICIT_MIRRORS = {"BaseProvider": "Provider"}


def note_for(base: str) -> str:
    """What is added to a docstring mirrored through ``base``."""
    return RAW_NOTE if base == RAW_BASE else ""


def class_doc_for(base: str, source_name: str, source_doc: str | None) -> str | None:
    """The docstring of a class without its own that mirrors ``source_name`` through ``base``."""
    return RAW_CLASS_DOC.format(source=source_name) if base == RAW_BASE else source_doc


def mirror_docstrings(target: type, source: type, base: str = "") -> None:
    """Give ``target`` the docstring ``class_doc_for`` says when it has none, and each of its public methods
    and properties without one the docstring of ``source``'s member of the same name, with the base's note."""
    note = note_for(base)
    if not target.__dict__.get("__doc__"):
        target.__doc__ = class_doc_for(base, source.__name__, source.__doc__)
    for name, member in vars(target).items():
        if name.startswith("_"):
            continue
        doc = getattr(getattr(source, name, None), "__doc__", None)
        if not doc:
            continue
        if isinstance(member, property) or callable(member):
            holder: Any = member
            if not holder.__doc__:
                holder.__doc__ = doc + note


def mirror_through(cls: type, base: type) -> None:
    """When ``cls`` subclasses ``base[Source]`` (a generic base named in ``SYNC_BASE`` or ``RAW_BASE``), give it
    ``Source``'s docstrings as ``mirror_docstrings`` does; called by the bases' ``__init_subclass__``."""
    for origin in getattr(cls, "__orig_bases__", ()):
        source = origin.__args__[0] if getattr(origin, "__origin__", None) is base else None
        if isinstance(source, type):
            mirror_docstrings(cls, source, base.__name__)
            return
