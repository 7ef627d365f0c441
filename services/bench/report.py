"""The benchmark report: markdown, a self-contained HTML page and a PNG of the speedup distribution.

The content is built once as a neutral document (headings, paragraphs, tables) and rendered twice,
so the markdown and the HTML never disagree. The HTML inlines the PNG as base64 and its CSS, so
the page is one file that opens anywhere with no network.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import metrics
from .results import TaskResult


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass
class ReportFiles:
    markdown: Path
    html: Path
    png: Path


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _x(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}x"


def _ms(x: float) -> str:
    return f"{x:.4f}" if x > 0 else "-"


def _fast_cells(s: metrics.Summary, baseline: str) -> list[str]:
    return [_pct(s.fast[baseline][p]) for p in metrics.P_VALUES]


def build_sections(results: Sequence[TaskResult], title_note: str = "") -> list[Section]:
    summary = metrics.summarize(results)
    levels = metrics.per_level(results)
    gpus = sorted({r.gpu for r in results if r.gpu}) or ["unknown"]
    proposers = sorted({r.proposer for r in results if r.proposer}) or ["-"]
    dates = sorted(r.date for r in results if r.date)
    span = f"{dates[0]} to {dates[-1]}" if dates else "n/a"

    sections = [Section("Summary", paragraphs=[
        p for p in (
            title_note,
            f"{summary.tasks} tasks, {summary.correct} correct ({_pct(summary.correctness_rate)}). "
            f"GPU: {', '.join(gpus)}. Proposers of the winners: {', '.join(proposers)}. Finished: {span}.",
            "fast_p = share of ALL tasks that are correct and faster than the baseline by more than p "
            "(speedup = baseline ms / ours ms). Geomeans are over correct tasks with a measured speedup.",
        ) if p
    ])]

    sections.append(Section("Goals (issue #6)", tables=[Table(
        ["goal", "target", "actual", "met"],
        [[g.name, _pct(g.target), _pct(g.actual), "yes" if g.met else "**no**"] for g in metrics.goals(results)],
    )]))

    p_cols = [f"fast_{p:g}" for p in metrics.P_VALUES]
    overall = Table(["baseline", *p_cols, "geomean speedup"],
                    [[b, *_fast_cells(summary, b), _x(summary.geomean[b])] for b in metrics.BASELINES])
    sections.append(Section("All tasks", tables=[overall]))

    level_rows = []
    for lv, s in levels.items():
        level_rows.append([str(lv) if lv else "?", str(s.tasks), _pct(s.correctness_rate),
                           *_fast_cells(s, "eager"), _x(s.geomean["eager"]),
                           *_fast_cells(s, "compile"), _x(s.geomean["compile"])])
    sections.append(Section("Per level", tables=[Table(
        ["level", "tasks", "correct", *(c + " eager" for c in p_cols), "geomean eager",
         *(c + " compile" for c in p_cols), "geomean compile"], level_rows)]))

    sections.append(Section("Outcomes", tables=[Table(
        ["run outcome", "tasks"], [[k, str(v)] for k, v in summary.outcomes.items()])]))

    task_rows = []
    for r in sorted(results, key=lambda r: (r.level, r.task_id, r.task)):
        reason = "" if r.correct else r.reason.replace("|", "/").replace("\n", " ")[:160]
        task_rows.append([r.task, str(r.level), "yes" if r.correct else "no", r.outcome, _ms(r.ours_ms),
                          _ms(r.eager_ms), _ms(r.compile_ms), _x(r.speedup_eager or None),
                          _x(r.speedup_compile or None), r.gpu or "-", reason])
    sections.append(Section("Tasks", tables=[Table(
        ["task", "level", "correct", "outcome", "ours ms", "eager ms", "compile ms", "vs eager", "vs compile",
         "GPU", "reason"], task_rows)]))
    return sections


# ---- rendering ------------------------------------------------------------------------------
def render_markdown(title: str, sections: Sequence[Section], png_name: str | None) -> str:
    out = [f"# {title}", ""]
    for s in sections:
        out += [f"## {s.heading}", ""]
        for p in s.paragraphs:
            out += [p, ""]
        for t in s.tables:
            out.append("| " + " | ".join(t.header) + " |")
            out.append("|" + "---|" * len(t.header))
            out += ["| " + " | ".join(row) + " |" for row in t.rows]
            out.append("")
        if s.heading == "Per level" and png_name:
            out += [f"![speedup distribution]({png_name})", ""]
    return "\n".join(out)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.9em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3} td.no{color:#b00;font-weight:bold} img{max-width:100%}
"""


def render_html(title: str, sections: Sequence[Section], png_bytes: bytes | None) -> str:
    def cell(tag: str, text: str) -> str:
        bold = text.startswith("**") and text.endswith("**")
        text = text.strip("*") if bold else text
        cls = ' class="no"' if bold else ""
        return f"<{tag}{cls}>{html.escape(text)}</{tag}>"

    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{html.escape(title)}</h1>"]
    for s in sections:
        out.append(f"<h2>{html.escape(s.heading)}</h2>")
        out += [f"<p>{html.escape(p)}</p>" for p in s.paragraphs]
        for t in s.tables:
            out.append("<table><thead><tr>" + "".join(cell("th", h) for h in t.header) + "</tr></thead><tbody>")
            out += ["<tr>" + "".join(cell("td", c) for c in row) + "</tr>" for row in t.rows]
            out.append("</tbody></table>")
        if s.heading == "Per level" and png_bytes:
            data = base64.b64encode(png_bytes).decode("ascii")
            out.append(f'<img alt="speedup distribution" src="data:image/png;base64,{data}">')
    out.append("</body></html>")
    return "\n".join(out)


def render_png(results: Sequence[TaskResult]) -> bytes:
    """Histogram of log2 speedups (correct tasks) and the fast_p curve over p, vs eager and compile."""
    # The object API with the Agg canvas: no pyplot global state, no display, safe off the main thread.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    hist, curve = fig.subplots(1, 2)
    colors = {"eager": "tab:blue", "compile": "tab:orange"}
    values = {b: [metrics.speedup(r, b) for r in results if r.correct and metrics.speedup(r, b) > 0]
              for b in metrics.BASELINES}
    everything = [v for vs in values.values() for v in vs]
    any_data = bool(everything)
    if any_data:
        # One set of bin edges and one p axis for both baselines, so the two series compare bar for bar.
        lo, hi = math.log2(min(everything)), math.log2(max(everything))
        n_bins = max(5, min(40, len(everything) // 2))
        width = (hi - lo) / n_bins or 1.0
        edges = [lo + i * width for i in range(n_bins + 1)]
        ps = [max(everything) * i / 200 for i in range(201)]
    for b in metrics.BASELINES:
        if not values[b]:
            continue
        hist.hist([math.log2(v) for v in values[b]], bins=edges, alpha=0.55, color=colors[b], label=f"vs {b}")
        curve.plot(ps, [metrics.fast_p(results, p, b) for p in ps], color=colors[b], label=f"vs {b}")
    for ax in (hist, curve):
        ax.grid(alpha=0.3)
    hist.axvline(0.0, color="k", lw=0.8)
    curve.axvline(1.0, color="k", lw=0.8)
    hist.set_xlabel("log2 speedup (0 = as fast as the baseline)")
    hist.set_ylabel("correct tasks")
    hist.set_title("speedup distribution")
    curve.set_xlabel("p")
    curve.set_ylabel("fast_p (share of all tasks)")
    curve.set_ylim(0, 1.02)
    curve.set_title("fast_p over p")
    if any_data:
        hist.legend()
        curve.legend()
    else:
        hist.text(0.5, 0.5, "no correct task with a measured speedup", ha="center", va="center",
                  transform=hist.transAxes)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def write_report(results: Sequence[TaskResult], out_dir: Path, title: str = "kernelwright benchmark",
                 note: str = "") -> ReportFiles:
    """Write ``report.md``, ``report.html`` (self-contained) and ``speedups.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = build_sections(results, note)
    sections[0].paragraphs.append(f"Report generated {stamp}.")
    png = render_png(results)
    files = ReportFiles(out_dir / "report.md", out_dir / "report.html", out_dir / "speedups.png")
    files.png.write_bytes(png)
    files.markdown.write_text(render_markdown(title, sections, files.png.name), encoding="utf-8")
    files.html.write_text(render_html(title, sections, png), encoding="utf-8")
    return files
