"""Templates as OpenAI's evals write them: ``{{item.question}}`` reads a field of the data item,
``{{sample.output_text}}`` the answer the model under test gave (``{{sample.choices}}`` and other
``sample`` fields as the run records them). A reference to a field an item lacks is an error that names the
template and the field, found before any model is called."""

from __future__ import annotations

import json
import re
from typing import Any

from llmaas._errors import BadRequestError
from llmaas._json import is_array, is_object

REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][\w]*(?:\.[\w]+)*)\s*\}\}")
NAMESPACES = ("item", "sample")


def references(template: str) -> list[tuple[str, ...]]:
    """The dotted paths a template reads, in order (``("item", "question")``)."""
    return [tuple(m.group(1).split(".")) for m in REFERENCE.finditer(template)]


def check(template: object, item_schema: dict[str, Any] | None, param: str, sample: bool = True) -> None:
    """Refuse a template that is not text, reads a namespace other than item and sample (sample only when
    the run generates one), or an item field ``item_schema`` does not declare (where it declares properties)."""
    if not isinstance(template, str):
        raise _bad(f"{param} must be a string template, got {type(template).__name__}", param)
    properties = (item_schema or {}).get("properties")
    for path in references(template):
        if path[0] not in NAMESPACES or len(path) < 2:
            raise _bad(f"{param} reads {{{{{'.'.join(path)}}}}}: a template reads item.<field> or "
                       "sample.<field>", param)
        if path[0] == "sample" and not sample:
            raise _bad(f"{param} reads {{{{{'.'.join(path)}}}}}, but this run gives no sample (a data source "
                       "without generation)", param)
        if path[0] == "item" and is_object(properties) and path[1] not in properties:
            known = ", ".join(sorted(properties)) or "none"
            raise _bad(f"{param} reads item.{path[1]}, which the eval's item_schema does not declare "
                       f"(its fields: {known})", param)


def render(template: str, item: dict[str, Any], sample: dict[str, Any] | None = None) -> str:
    """The template with each reference replaced by its value (text as it is, anything else as JSON). A
    field the item lacks raises KeyError naming it."""
    scope = {"item": item, "sample": sample or {}}

    def value(match: re.Match[str]) -> str:
        found = _walk(scope, match.group(1).split("."))
        return found if isinstance(found, str) else json.dumps(found, ensure_ascii=False)

    return REFERENCE.sub(value, template)


def _walk(scope: dict[str, Any], path: list[str]) -> Any:
    found: Any = scope
    for part in path:
        if is_object(found) and part in found:
            found = found[part]
        elif is_array(found) and part.isdigit() and int(part) < len(found):
            found = found[int(part)]
        else:
            raise KeyError(f"{{{{{'.'.join(path)}}}}}: the {path[0]} has no field {part!r}")
    return found


def lookup(template: str, item: dict[str, Any], sample: dict[str, Any] | None = None) -> Any:
    """A template that is one reference alone (``{{item.choices}}``) gives the value itself, not its text."""
    found = REFERENCE.fullmatch(template.strip())
    if found is None:
        return render(template, item, sample)
    return _walk({"item": item, "sample": sample or {}}, found.group(1).split("."))


def _bad(message: str, param: str) -> BadRequestError:
    return BadRequestError(message, status_code=400, param=param, code="invalid_template")
