"""The report's charts as plotly figures, returned as JSON specs (data + layout).

Each builder takes plain data (from :class:`~crossover.report.data.ReportData`'s sources) and
returns ``plotly.io.to_json`` of a figure, or None when there is nothing to draw. The page loads
the plotly.js bundle once and draws every spec with ``Plotly.newPlot``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from crossover.costs.sheet import Pricing

__all__ = [
    "confusion_chart",
    "cost_chart",
    "forest_chart",
    "learning_curve_chart",
    "pareto_chart",
    "series_chart",
]

KIND_COLOURS = {"pretrained": "#7f7f7f", "custom": "#1f77b4", "hybrid": "#d62728"}
_PALETTE = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]


def _layout(fig: go.Figure, title: str, **extra: Any) -> None:
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15}},
        template="plotly_white",
        margin=extra.pop("margin", {"l": 60, "r": 20, "t": 50, "b": 50}),
        height=extra.pop("height", 380),
        legend={"orientation": "h", "y": -0.2},
        **extra,
    )


def _metric_title(metric: str, lower_is_better: bool) -> str:
    """An axis title for the headline: says so where lower is better."""
    return f"{metric} (lower is better)" if lower_is_better else metric


def _json(fig: go.Figure) -> str:
    import plotly.io as pio

    return str(pio.to_json(fig, validate=False, pretty=False))


def forest_chart(
    rows: Sequence[dict[str, Any]],
    metric: str,
    interval: str = "bootstrap intervals",
    lower_is_better: bool = False,
) -> str | None:
    """Score and 95 % interval per strategy, best at the top (``rows`` come best first);
    ``interval`` names its kind."""
    import plotly.graph_objects as go

    if not rows:
        return None
    ordered = list(reversed(rows))
    fig = go.Figure()
    for kind in ("pretrained", "custom", "hybrid"):
        mine = [r for r in ordered if r["kind"] == kind]
        if not mine:
            continue
        fig.add_trace(
            go.Scatter(
                x=[r["score"] for r in mine],
                y=[r["strategy"] for r in mine],
                mode="markers",
                name=kind,
                marker={"size": 11, "color": KIND_COLOURS[kind]},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [r["ci_high"] - r["score"] for r in mine],
                    "arrayminus": [r["score"] - r["ci_low"] for r in mine],
                },
                hovertemplate="%{y}: %{x:.3f}<extra></extra>",
            )
        )
    _layout(
        fig,
        f"{metric} with 95 % {interval}",
        height=120 + 45 * len(rows),
        xaxis={"title": _metric_title(metric, lower_is_better)},
        yaxis={"categoryorder": "array", "categoryarray": [r["strategy"] for r in ordered]},
    )
    return _json(fig)


def learning_curve_chart(
    table: Sequence[dict[str, Any]],
    labels_needed: Sequence[dict[str, Any]],
    metric: str,
    n_classes: int = 0,
    unit: str = "labels per class",
    lower_is_better: bool = False,
) -> str | None:
    """Mean score by labels per class (log axis), with intervals; the pre-trained strategy as a
    flat dashed line (as a dashed curve where it was measured at the budgets: a zero-shot
    forecaster fed that much history); "beats the pre-trained model" and "reaches the target"
    points marked.

    ``unit`` names what a budget counts when it is not labels per class (a recommendation
    study's training interactions); the x axis is then that count."""
    per = "per class" if unit == "labels per class" else unit
    import plotly.graph_objects as go

    flat = {
        str(r["strategy"])
        for r in table
        if r["kind"] == "pretrained" and str(r["budget_per_class"]) == "0"
    }
    trained = [r for r in table if r["strategy"] not in flat]
    budgets = {str(r["budget_per_class"]) for r in trained}
    if len(budgets) < 2:
        return None
    fig = go.Figure()
    xs: dict[str, dict[str, float]] = {}
    strategies = list(dict.fromkeys(r["strategy"] for r in trained))
    for i, strategy in enumerate(strategies):
        rows = [r for r in trained if r["strategy"] == strategy]
        rows.sort(key=lambda r: r["n_labels"])
        per_class = [_per_class(r, n_classes) for r in rows]
        xs[strategy] = {str(r["budget_per_class"]): x for r, x in zip(rows, per_class, strict=True)}
        colour = _PALETTE[i % len(_PALETTE)]
        pre = rows[0]["kind"] == "pretrained"
        line = {"color": KIND_COLOURS["pretrained"], "dash": "dash"} if pre else {"color": colour}
        fig.add_trace(
            go.Scatter(
                x=per_class,
                y=[r["score_mean"] for r in rows],
                mode="lines+markers",
                name=f"{strategy} (pre-trained)" if pre else strategy,
                line=line,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [_gap(r.get("score_ci_high"), r["score_mean"]) for r in rows],
                    "arrayminus": [_gap(r["score_mean"], r.get("score_ci_low")) for r in rows],
                },
                hovertemplate=f"{strategy}<br>%{{x:,.0f}} {per}: %{{y:.4f}}<extra></extra>",
            )
        )
    for r in table:
        if r["strategy"] in flat:
            fig.add_hline(
                y=r["score_mean"],
                line={"dash": "dash", "color": KIND_COLOURS["pretrained"]},
                annotation_text=f"{r['strategy']} (pre-trained, learns nothing)",
                annotation_position="bottom right",
            )
    marks_x, marks_y, texts = [], [], []
    for item in labels_needed:
        at = item.get("beats_pretrained_at")
        x = xs.get(item["strategy"], {}).get(str(at)) if at is not None else None
        if x is not None:
            y = _score_at(trained, item["strategy"], at)
            marks_x.append(x)
            marks_y.append(y)
            texts.append(f"{item['strategy']} beats the pre-trained model from {at} {per}")
        reached = item.get("target_reached_at")
        x = xs.get(item["strategy"], {}).get(str(reached)) if reached is not None else None
        if x is not None:
            marks_x.append(x)
            marks_y.append(_score_at(trained, item["strategy"], reached))
            texts.append(f"{item['strategy']} reaches {item['target']} at {reached} {per}")
    if marks_x:
        fig.add_trace(
            go.Scatter(
                x=marks_x,
                y=marks_y,
                mode="markers",
                name="labels needed",
                marker={
                    "symbol": "star",
                    "size": 16,
                    "color": "#ffbf00",
                    "line": {"color": "#333", "width": 1},
                },
                text=texts,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    _layout(
        fig,
        f"learning curves: mean {metric} over seeds, by "
        + ("labelled rows per class" if unit == "labels per class" else unit),
        xaxis={
            "title": ("labelled rows per class" if unit == "labels per class" else unit) + " (log)",
            "type": "log",
        },
        yaxis={"title": _metric_title(metric, lower_is_better)},
        height=440,
    )
    return _json(fig)


def _per_class(row: dict[str, Any], n_classes: int) -> float:
    budget = row["budget_per_class"]
    if isinstance(budget, int | float) and not isinstance(budget, bool):
        return float(budget)
    if n_classes:
        return float(row["n_labels"]) / n_classes
    return float(row["n_labels"])


def _gap(high: Any, low: Any) -> float:
    if high is None or low is None:
        return 0.0
    return max(0.0, float(high) - float(low))


def _score_at(rows: Sequence[dict[str, Any]], strategy: str, budget: Any) -> float:
    for r in rows:
        if r["strategy"] == strategy and str(r["budget_per_class"]) == str(budget):
            return float(r["score_mean"])
    return math.nan


def cost_chart(pricing: Pricing) -> str | None:
    """Monthly cost against monthly volume (log-log), one line per candidate; the break-even
    volumes and the scenario's volume marked."""
    import numpy as np
    import plotly.graph_objects as go

    if not pricing.sheets:
        return None
    volume = pricing.scenario.volume.predictions_per_month
    crossings = [v for b in pricing.break_evens for v in b.volumes]
    top = max([volume * 100, 1e9, *[v * 3 for v in crossings]])
    grid = np.logspace(3, math.log10(top), 120)
    fig = go.Figure()
    for i, s in enumerate(pricing.sheets):
        fig.add_trace(
            go.Scatter(
                x=grid.tolist(),
                y=[s.monthly_at(float(v)) for v in grid],
                mode="lines",
                name=s.strategy,
                line={"color": _PALETTE[i % len(_PALETTE)]},
                hovertemplate=f"{s.strategy}<br>%{{x:.3s}} a month: $%{{y:,.0f}}<extra></extra>",
            )
        )
    bx, by, texts = [], [], []
    for b in pricing.break_evens:
        for v in b.volumes:
            bx.append(v)
            by.append(pricing.sheet(b.a).monthly_at(v))
            texts.append(f"{b.a} = {b.b} at {v:,.0f} a month")
    if bx:
        fig.add_trace(
            go.Scatter(
                x=bx,
                y=by,
                mode="markers",
                name="break-even",
                marker={"symbol": "x", "size": 12, "color": "#111"},
                text=texts,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    fig.add_vline(
        x=volume,
        line={"dash": "dot", "color": "#555"},
        annotation_text="scenario volume",
        annotation_position="top left",
    )
    _layout(
        fig,
        "cost per month against predictions per month",
        xaxis={"title": "predictions per month (log)", "type": "log"},
        yaxis={"title": "US dollars per month (log)", "type": "log"},
        height=440,
    )
    return _json(fig)


def pareto_front(points: Sequence[tuple[float, float]], lower_is_better: bool = False) -> list[int]:
    """Indexes of the points no other point beats on both axes (x lower, y higher; y lower
    with ``lower_is_better``: an error such as MASE)."""
    if lower_is_better:
        points = [(x, -y) for x, y in points]
    front = []
    for i, (x, y) in enumerate(points):
        dominated = any(
            (ox <= x and oy >= y) and (ox < x or oy > y)
            for j, (ox, oy) in enumerate(points)
            if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def pareto_chart(
    names: Sequence[str],
    kinds: Sequence[str],
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    title: str,
    x_title: str,
    metric: str,
    log_x: bool = False,
    lower_is_better: bool = False,
) -> str | None:
    """Quality against a cost (latency, money); the Pareto front joined and highlighted
    (``lower_is_better``: the quality is an error, better lower)."""
    import plotly.graph_objects as go

    points = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(x) and x > 0]
    keep = [i for i, x in enumerate(xs) if math.isfinite(x) and x > 0]
    if len(keep) < 1:
        return None
    front = [keep[i] for i in pareto_front(points, lower_is_better)]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[xs[i] for i in front],
            y=[ys[i] for i in front],
            mode="lines",
            name="Pareto front",
            line={"color": "#ffbf00", "width": 6},
            opacity=0.6,
            hoverinfo="skip",
        )
    )
    for kind in ("pretrained", "custom", "hybrid"):
        mine = [i for i in keep if kinds[i] == kind]
        if not mine:
            continue
        fig.add_trace(
            go.Scatter(
                x=[xs[i] for i in mine],
                y=[ys[i] for i in mine],
                mode="markers+text",
                name=kind,
                text=[names[i] for i in mine],
                textposition="top center",
                cliponaxis=False,  # names near the plot's edge stay readable
                marker={
                    "size": 12,
                    "color": KIND_COLOURS[kind],
                    "line": {"width": [2 if i in front else 0 for i in mine], "color": "#111"},
                },
                hovertemplate="%{text}<br>%{x:.3g}, %{y:.3f}<extra></extra>",
            )
        )
    _layout(
        fig,
        title,
        xaxis={"title": x_title, "type": "log" if log_x else "linear"},
        yaxis={"title": _metric_title(metric, lower_is_better)},
        margin={"l": 90, "r": 90, "t": 60, "b": 50},
    )
    return _json(fig)


def confusion_chart(labels: Sequence[str], matrix: Sequence[Sequence[int]], strategy: str) -> str:
    """Counts of true (rows) against predicted (columns) labels on the test rows."""
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Heatmap(
            z=[list(row) for row in matrix],
            x=list(labels),
            y=list(labels),
            colorscale="Blues",
            hovertemplate="true %{y}<br>predicted %{x}<br>%{z} rows<extra></extra>",
        )
    )
    size = min(900, 260 + 14 * len(labels))
    _layout(
        fig,
        f"confusion matrix of {strategy} (rows: true label, columns: predicted)",
        height=size,
        xaxis={"title": "predicted", "tickangle": -60, "automargin": True},
        yaxis={"title": "true", "autorange": "reversed", "automargin": True},
    )
    return _json(fig)


def series_chart(plot: dict[str, Any], strategy: str, digits: int = 3) -> str:
    """One series' kept history and actuals, and ``strategy``'s forecast of each backtest
    window with its 80 % interval (``plot`` from the task's ``series_plots``)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=plot["x"],
            y=plot["y"],
            mode="lines",
            name="actual",
            line={"color": "#333333", "width": 1.5},
        )
    )
    for w, window in enumerate(plot["windows"]):
        colour = _PALETTE[w % len(_PALETTE)]
        first = w == 0
        if "low" in window and "high" in window:
            fig.add_trace(
                go.Scatter(
                    x=list(window["x"]) + list(window["x"])[::-1],
                    y=list(window["high"]) + list(window["low"])[::-1],
                    fill="toself",
                    fillcolor=colour,
                    opacity=0.15,
                    line={"width": 0},
                    hoverinfo="skip",
                    name="80 % interval",
                    legendgroup="interval",
                    showlegend=first,
                )
            )
        fig.add_trace(
            go.Scatter(
                x=window["x"],
                y=window["mean"],
                mode="lines+markers",
                name=f"forecast, window {w + 1}",
                line={"color": colour, "width": 2},
                marker={"size": 4},
            )
        )
    _layout(
        fig,
        f"{plot['series']}: {strategy}, MASE {plot['mase']:.{digits}f}",
        height=300,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
    )
    return _json(fig)
