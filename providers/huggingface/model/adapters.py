"""LoRA adapters served per request over one copy of the base weights.

An adapter is, for each projection it trained, a pair of small matrices: ``A`` [r, in] and ``B`` [out, r];
the projection's output gains ``(x @ A.T) @ B.T * alpha / r``. The engine's fused projections (q, k, v in
one matmul; gate and up in another) get fused pairs: the A's stacked, and B block-diagonal so each part's
output sees only its own low-rank term. Rows of a batch are grouped by adapter, and each group adds its term,
so requests to the base model and to any number of fine-tuned models share every step.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

# the engine's fused weight -> the projections it stacks, in order
FUSED = {"w_qkv": ("q_proj", "k_proj", "v_proj"), "w_o": ("o_proj",), "w_gate_up": ("gate_proj", "up_proj"),
         "w_down": ("down_proj",)}


class Adapter:
    """Per layer, the fused (A, B) pairs of the projections the adapter trained (B already scaled)."""

    def __init__(self, name: str, layers: list[dict[str, tuple[torch.Tensor, torch.Tensor]]]) -> None:
        self.name = name
        self.layers = layers


def _out_sizes(model: Any) -> dict[str, int]:
    d = model.head_dim
    return {"q_proj": model.n_heads * d, "k_proj": model.n_kv * d, "v_proj": model.n_kv * d}


def load_adapter(folder: Path, model: Any, name: str) -> Adapter:
    """Read a peft LoRA adapter (``adapter_config.json`` and ``adapter_model.safetensors``) for ``model``."""
    from safetensors.torch import load_file  # pyright: ignore[reportUnknownVariableType]

    config = json.loads((folder / "adapter_config.json").read_text())
    if config.get("peft_type", "LORA") != "LORA":
        raise ValueError(f"{folder} holds a {config.get('peft_type')} adapter; only LoRA is served")
    scale = float(config["lora_alpha"]) / float(config["r"])
    weights = load_file(str(folder / "adapter_model.safetensors"))
    found: dict[tuple[int, str], dict[str, torch.Tensor]] = {}
    for key, tensor in weights.items():
        parts = key.split(".")
        if "layers" not in parts or not ("lora_A" in parts or "lora_B" in parts):
            continue
        index = int(parts[parts.index("layers") + 1])
        proj = next(p for p in parts if p.endswith("_proj"))
        found.setdefault((index, proj), {})["A" if "lora_A" in parts else "B"] = tensor
    layers: list[dict[str, tuple[torch.Tensor, torch.Tensor]]] = []
    for index in range(model.n_layers):
        fused: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        for weight, projections in FUSED.items():
            present = [(p, found[(index, p)]) for p in projections if (index, p) in found]
            if not present:
                continue
            a = torch.cat([pair["A"] for _, pair in present]).to(model.dtype).contiguous()
            base = model.layers[index].projections[weight].weight
            b = torch.zeros(base.shape[0], a.shape[0], dtype=torch.float32)
            sizes = _out_sizes(model) if weight == "w_qkv" else {p: base.shape[0] // len(projections)
                                                                  for p in projections}
            row, col = 0, 0
            for p in projections:
                pair = found.get((index, p))
                if pair is not None:
                    r = pair["B"].shape[1]
                    b[row: row + sizes[p], col: col + r] = pair["B"].float() * scale
                    col += r
                row += sizes[p]
            fused[weight] = (a, b.to(model.dtype).contiguous())
        layers.append(fused)
    if not any(layers):
        raise ValueError(f"{folder} has no LoRA weights for this model's projections")
    return Adapter(name, layers)


class AdapterCache:
    """Adapters by model id, loaded on first use; at most ``limit`` are kept (least recently used leave)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._items: OrderedDict[tuple[str, str], Adapter] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, name: str, folder: Path) -> Adapter | None:
        """The adapter if it is loaded (and now the most recently used)."""
        key = (name, str(folder))
        with self._lock:
            found = self._items.pop(key, None)
            if found is not None:
                self._items[key] = found
            return found

    def get(self, name: str, folder: Path, load: Callable[[], Adapter]) -> Adapter:
        found = self.cached(name, folder)
        if found is not None:
            return found
        key = (name, str(folder))
        adapter = load()
        with self._lock:
            self._items[key] = adapter
            while len(self._items) > self.limit:
                self._items.popitem(last=False)
        return adapter

    def names(self) -> list[tuple[str, str]]:
        """The loaded adapters' model ids, each with its base model's id (``ft:<base>:<suffix>:<job>``)."""
        with self._lock:
            return [(name, name.split(":")[1] if name.count(":") >= 3 else "") for name, _ in self._items]

    def forget(self, name: str) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] == name]:
                del self._items[key]

    def __len__(self) -> int:
        return len(self._items)
