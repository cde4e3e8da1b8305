"""API reference coverage: of the public classes, functions and modules the reference pages document
(docs/reference/), how many carry a docstring. Read statically (griffe, as mkdocstrings reads them).

Usage: python bench/reference_coverage.py [--missing]
"""

from __future__ import annotations

import sys
from pathlib import Path

import griffe

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTED = ["_client", "_errors", "_provider", "resources", "types", "evals"]


def coverage() -> tuple[int, int, list[str]]:
    source = ROOT / "build" / "reference-src"
    source.mkdir(parents=True, exist_ok=True)
    if not (source / "llmaas").exists():
        (source / "llmaas").symlink_to(Path("..") / ".." / "sdk")
    extensions = griffe.load_extensions(f"{ROOT / 'docs_ext' / 'griffe_mirror.py'}:MirrorDocstrings")
    package = griffe.load("llmaas", search_paths=[str(source)], allow_inspection=False, extensions=extensions)
    total, with_doc, missing = 0, 0, list[str]()

    def visit(obj: griffe.Object, path: str) -> None:
        nonlocal total, with_doc
        total += 1
        if obj.docstring:
            with_doc += 1
        else:
            missing.append(path)
        for name, member in obj.members.items():
            if name.startswith("_") or member.is_alias or member.kind.value not in ("class", "function", "module"):
                continue
            visit(member, f"{path}.{name}")  # type: ignore[arg-type]

    for name in DOCUMENTED:
        visit(package[name], name)
    return total, with_doc, missing


def parameter_coverage() -> tuple[int, int, list[str]]:
    """The keyword parameters of the clients and the resource methods: the fields of ``ClientOptions`` and of
    the TypedDicts in types/create_params.py (inherited fields counted once, where they are declared)."""
    source = ROOT / "build" / "reference-src"
    module = griffe.load("llmaas.types.create_params", search_paths=[str(source)], allow_inspection=False)
    client = griffe.load("llmaas._client", search_paths=[str(source)], allow_inspection=False)
    total, with_doc, missing = 0, 0, list[str]()
    for cls in [*module.classes.values(), client["ClientOptions"]]:
        for name, field in cls.attributes.items():
            if field.is_alias:
                continue
            total += 1
            if field.docstring:
                with_doc += 1
            else:
                missing.append(f"{cls.name}.{name}")
    return total, with_doc, missing


def main() -> str:
    total, with_doc, missing = coverage()
    fields, fields_doc, fields_missing = parameter_coverage()
    out = "| | all | with a docstring | coverage |\n| --- | ---: | ---: | ---: |\n" \
          f"| public classes, functions and modules in the API reference | {total} | {with_doc} | " \
          f"{with_doc / total:.1%} |\n" \
          f"| keyword parameters of the clients and the resource methods | {fields} | {fields_doc} | {fields_doc / fields:.1%} |"
    if "--missing" in sys.argv:
        out += "\n\n" + "\n".join(missing + fields_missing)
    return out


if __name__ == "__main__":
    print(main())
