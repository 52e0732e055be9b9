"""A PNG chart of the alerting metric with change markers (matplotlib, no display)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@dataclass(frozen=True)
class Marker:
    minute: float
    label: str


def render_chart(
    *,
    title: str,
    points: Sequence[tuple[float, float]],  # (minute relative to the alert, value)
    markers: Sequence[Marker] = (),
    threshold: float | None = None,
    unit: str = "",
    xlabel: str = "minutes from the alert",
) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 3), dpi=100)
    try:
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, color="#1264a3", linewidth=1.6)
        if threshold is not None:
            ax.axhline(threshold, color="#e01e5a", linestyle="--", linewidth=1, label=f"threshold {threshold:g}")
        if xlabel == "minutes from the alert":
            ax.axvline(0, color="#616061", linewidth=1, linestyle=":")
        for i, m in enumerate(markers[:8]):
            ax.axvline(m.minute, color="#ecb22e", linewidth=1.2)
            ax.annotate(
                m.label[:28], xy=(m.minute, 1), xycoords=("data", "axes fraction"), rotation=90,
                fontsize=7, va="top", ha="right", color="#6b4e00", xytext=(-2, -2 - 0 * i), textcoords="offset points",
            )
        ax.set_title(title[:90], fontsize=10, loc="left")
        ax.set_xlabel(xlabel, fontsize=8)
        if unit:
            ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25)
        if threshold is not None:
            ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
