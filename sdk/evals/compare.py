"""Two runs of one eval side by side (a model against a base, a fine-tune against the model it was tuned
from): each testing criterion's pass rate in both with its interval and the difference, and the items whose
outcome changed, item by item. Made from the API's objects (``EvalRun`` and its output items, or their
dicts), so it works the same over any client."""

from __future__ import annotations

from typing import Any

from llmaas._json import is_object


def _dict(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = value if is_object(value) else value.model_dump(mode="json")
    return out


def compare(base_run: Any, base_items: list[Any], run: Any, items: list[Any]) -> dict[str, Any]:
    """``run`` against ``base_run`` (both of one eval, over the same items)."""
    a, b = _dict(base_run), _dict(run)
    old_results: list[dict[str, Any]] = a.get("per_testing_criteria_results") or []
    new_results: list[dict[str, Any]] = b.get("per_testing_criteria_results") or []
    by_name = {str(c["testing_criteria"]): c for c in old_results}
    criteria: list[dict[str, Any]] = []
    for c in new_results:
        old: dict[str, Any] = by_name.get(str(c["testing_criteria"]), {})
        rate: float | None = c.get("pass_rate")
        base_rate: float | None = old.get("pass_rate")
        criteria.append({"testing_criteria": c["testing_criteria"], "base": base_rate, "candidate": rate,
                         "difference": round(rate - base_rate, 4) if rate is not None and base_rate is not None
                         else None, "base_interval": old.get("interval"), "candidate_interval": c.get("interval")})
    before = {i["datasource_item_id"]: i for i in map(_dict, base_items)}
    changed: list[dict[str, Any]] = []
    for item in map(_dict, items):
        was = before.get(item["datasource_item_id"])
        if was is None or was["status"] == item["status"]:
            continue
        changed.append({"datasource_item_id": item["datasource_item_id"], "base": was["status"],
                        "candidate": item["status"], "item": item["datasource_item"],
                        "base_output": _output(was), "candidate_output": _output(item)})
    changed.sort(key=lambda x: x["datasource_item_id"])
    return {"eval_id": b["eval_id"], "base": {"run_id": a["id"], "model": a.get("model"), "status": a["status"],
                                              "result_counts": a["result_counts"]},
            "candidate": {"run_id": b["id"], "model": b.get("model"), "status": b["status"],
                          "result_counts": b["result_counts"]},
            "criteria": criteria, "changed_items": changed}


def _output(item: dict[str, Any]) -> str | None:
    sample: dict[str, Any] = item.get("sample") or {}
    output: list[dict[str, Any]] = sample.get("output") or []
    return output[0].get("content") if output else None


def _rate(value: float | None, interval: list[float] | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f} [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else f"{value:.3f}"


def table(comparison: dict[str, Any]) -> str:
    """The comparison as a Markdown table, one row per testing criterion, then the count of changed items."""
    base, cand = comparison["base"], comparison["candidate"]
    lines = [f"| testing criterion | {base['model']} (base) | {cand['model']} | difference |",
             "| --- | ---: | ---: | ---: |"]
    for c in comparison["criteria"]:
        diff = "-" if c["difference"] is None else f"{c['difference']:+.3f}"
        lines.append(f"| {c['testing_criteria']} | {_rate(c['base'], c['base_interval'])} | "
                     f"{_rate(c['candidate'], c['candidate_interval'])} | {diff} |")
    changed = comparison["changed_items"]
    better = sum(1 for x in changed if x["candidate"] == "pass")
    lines.append("")
    lines.append(f"{len(changed)} items changed outcome: {better} now pass, {len(changed) - better} no longer pass.")
    return "\n".join(lines)
