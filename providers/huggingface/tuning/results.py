"""A finished job's result files, as OpenAI's API lists them in ``result_files``: ``step_metrics.csv`` (one row
per step: training loss, validation loss where measured, tokens/s) and ``loss.png`` (the loss curves),
stored as files of purpose ``fine-tune-results`` owned by the job's owner."""

from __future__ import annotations

import csv
import io
from typing import Any

from llmaas.store import Store
from llmaas.store.jobs.records import metric_events

COLUMNS = ("step", "epoch", "train_loss", "valid_loss", "tokens_per_second")


def metrics_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in COLUMNS})
    return out.getvalue().encode()


def loss_png(rows: list[dict[str, Any]], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")  # no display: render to memory
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(figsize=(7, 4), dpi=100)
    ax: Any = axes  # matplotlib's Axes and Figure methods are only partly typed
    try:
        ax.plot([r["step"] for r in rows], [r["train_loss"] for r in rows], label="training loss", color="#1f77b4")
        valid = [r for r in rows if r.get("valid_loss") is not None]
        if valid:
            ax.plot([r["step"] for r in valid], [r["valid_loss"] for r in valid], "o-", label="validation loss",
                    color="#d62728")
        ax.set_xlabel("step")
        ax.set_ylabel("loss (per assistant token)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        buffer = io.BytesIO()
        figure: Any = fig
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)


def write_results(store: Store, job_id: str, owner: str | None) -> list[str]:
    """Store the job's metrics as a CSV and a loss-curve PNG; return their file ids."""
    rows = metric_events(store, job_id)
    csv_file = store.add_file(owner, f"{job_id}-step_metrics.csv", "fine-tune-results", metrics_csv(rows))
    png_file = store.add_file(owner, f"{job_id}-loss.png", "fine-tune-results", loss_png(rows, job_id))
    return [csv_file["id"], png_file["id"]]
