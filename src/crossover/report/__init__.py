"""The report a decision-maker reads: ``report.html`` (self-contained, interactive charts) and
``summary.md`` (short enough for a pull request), both rendered from :class:`ReportData`
through Jinja2 templates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from crossover._format import scrub
from crossover.report.data import ReportData

if TYPE_CHECKING:
    from crossover.costs.sheet import Pricing
    from crossover.recommend import Recommendation
    from crossover.study import Study

__all__ = ["ReportData", "render", "render_html", "render_markdown", "scrub"]


def _environment(html: bool):  # type: ignore[no-untyped-def]
    from jinja2 import Environment, PackageLoader, StrictUndefined
    from markupsafe import Markup

    env = Environment(
        loader=PackageLoader("crossover.report", "templates"),
        autoescape=html,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    # A chart spec sits in <script type="application/json">: only "</" could end it early.
    env.filters["safe_json"] = lambda spec: Markup(spec.replace("</", "<\\/"))
    return env


def render_html(data: ReportData) -> str:
    """The self-contained HTML page: plotly.js inlined once, no request at view time."""
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    names = [name for name, spec in data.charts.items() if spec]
    template = _environment(html=True).get_template("report.html.j2")
    return str(template.render(r=data, plotly_js=Markup(get_plotlyjs()), chart_names=names))


def render_markdown(data: ReportData) -> str:
    """The verdict, the leaderboard and the cost table in Markdown."""
    return str(_environment(html=False).get_template("summary.md.j2").render(r=data))


def render(
    study: Study,
    out: str | Path,
    *,
    pricing: Pricing | None = None,
    recommendation: Recommendation | None = None,
) -> dict[str, Path]:
    """Write ``report.html`` and ``summary.md`` into ``out``; returns their paths."""
    data = ReportData.from_study(study, pricing, recommendation)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"report": out / "report.html", "summary": out / "summary.md"}
    for key, text in (("report", render_html(data)), ("summary", render_markdown(data))):
        tmp = paths[key].with_suffix(paths[key].suffix + ".part")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(paths[key])
    return paths
