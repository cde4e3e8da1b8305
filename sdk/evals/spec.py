"""An eval in one file, as ``llmaas eval run`` and the examples read it: the eval's definition, how the
model under test is asked, and the items. JSON, with these fields:

- ``name``; ``item_schema`` (JSON Schema of an item); ``testing_criteria`` (graders); ``metadata``
  (``{"group_by": "<item field>"}`` also reports each criterion per value of that field);
- ``input_messages`` (``{"type": "template", "template": [...]}``) and ``sampling_params``, when the model
  generates an answer; without them only log-probability graders (``multiple_choice``) run;
- ``items`` (a list of items), or ``items_file`` (a JSONL file of ``{"item": ...}`` lines, relative to the
  spec).

The same spec runs in process, on a server, and against two models to compare them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmaas._json import is_array, is_object


@dataclass
class Spec:
    """An eval spec file read by ``llmaas eval run``: the eval's name, item schema, testing criteria, items and
    sampling."""
    name: str
    item_schema: dict[str, Any]
    testing_criteria: list[dict[str, Any]]
    items: list[dict[str, Any]]
    input_messages: dict[str, Any] | None = None
    sampling_params: dict[str, Any] = field(default_factory=dict[str, Any])
    metadata: dict[str, str] | None = None

    def create_params(self) -> dict[str, Any]:
        """The keyword arguments of ``client.evals.create``."""
        return {"name": self.name, "metadata": self.metadata, "testing_criteria": self.testing_criteria,
                "data_source_config": {"type": "custom", "item_schema": self.item_schema,
                                       "include_sample_schema": self.input_messages is not None}}

    def data_source(self, model: str) -> dict[str, Any]:
        """A run's ``data_source`` on ``model``, with the items inline."""
        source: dict[str, Any] = {"type": "completions", "model": model,
                                  "source": {"type": "file_content", "content": [{"item": i} for i in self.items]}}
        if self.input_messages is not None:
            source["input_messages"] = self.input_messages
            source["sampling_params"] = self.sampling_params
        return source


def load(path: str | Path) -> Spec:
    """A spec from its file; a missing or malformed field is a ``ValueError`` that names it."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    if not is_object(raw):
        raise ValueError(f"{path}: an eval spec is a JSON object")
    for key in ("item_schema", "testing_criteria"):
        if key not in raw:
            raise ValueError(f"{path}: the spec needs {key!r}")
    items: Any = raw.get("items")
    if items is None and isinstance(raw.get("items_file"), str):
        lines = (path.parent / raw["items_file"]).read_text(encoding="utf-8").splitlines()
        items = [json.loads(x)["item"] for x in lines if x.strip()]
    if not is_array(items) or not items:
        raise ValueError(f"{path}: the spec needs 'items' (a list) or 'items_file' (a JSONL of {{\"item\": ...}})")
    return Spec(name=str(raw.get("name") or path.stem), item_schema=raw["item_schema"],
                testing_criteria=raw["testing_criteria"], items=items, input_messages=raw.get("input_messages"),
                sampling_params=raw.get("sampling_params") or {}, metadata=raw.get("metadata"))
