"""JSON from the wire, narrowed for the type checker: ``json.loads`` and request bodies give ``Any``, and
``isinstance(x, dict)`` leaves the keys and values unknown. These say what JSON guarantees."""

from __future__ import annotations

from typing import Any, TypeGuard

JSONObject = dict[str, Any]  # a JSON object: string keys, values of any JSON type


def is_object(value: object) -> TypeGuard[dict[str, Any]]:
    return isinstance(value, dict)


def is_array(value: object) -> TypeGuard[list[Any]]:
    return isinstance(value, list)
