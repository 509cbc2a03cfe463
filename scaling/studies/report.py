"""A self-contained HTML report (images embedded) telling a study's story."""

from __future__ import annotations

import base64
import html
import io as _io
from typing import Any

import pandas as pd

CSS = """body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .5em;
text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.pass{color:#1a7f37}.warn{color:#9a6700}.fail,.unreliable{color:#cf222e}.verdict{font-size:1.05em;
background:#f6f8fa;padding:.6em;border-left:4px solid #0072B2}img{max-width:100%}code{font-size:.85em}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;font-size:.8em}"""


def figure_tag(fig: Any, alt: str) -> str:
    """A matplotlib figure as an embedded PNG ``<img>``."""
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=130)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def table_html(df: pd.DataFrame, index: bool = True) -> str:
    return df.to_html(index=index, float_format=lambda v: f"{v:.4g}", border=0, na_rep="")


def render(title: str, sections: list[tuple[str, str]]) -> str:
    """Sections are (heading, HTML body) pairs, already escaped where needed."""
    body = "\n".join(f"<h2>{html.escape(h)}</h2>\n{b}" for h, b in sections)
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def paragraph(text: str, cls: str | None = None) -> str:
    return f"<p{f' class={cls!r}' if cls else ''}>{html.escape(text)}</p>"


def bullets(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


def forecast_answers(fc: Any, body: str, folder: Any) -> str:
    """``body`` with a forecast's answers: "unreliable" first when it is, then each crossing question
    (released model, trend) with its P(not by horizon) and quantile table; writes
    ``crossing_quantiles.csv`` and ``trend_crossing_quantiles.csv`` into ``folder``."""
    if fc.unreliable:
        body = paragraph(f"Forecast unreliable: {fc.unreliable}. No dates are given.", "unreliable") + body
    for name, c in (("crossing_quantiles.csv", fc.crossing), ("trend_crossing_quantiles.csv", fc.trend_crossing)):
        if c is None:
            continue
        c.table.to_csv(folder / name, index=False)
        if c.unreliable:
            body += paragraph(f"{c.question}? Unreliable ({c.unreliable}); no dates.", "unreliable")
            continue
        body += paragraph(f"{c.question[0].upper() + c.question[1:]}? P(not by {c.horizon:.0f}) = {c.p_never:.2f}.")
        body += table_html(c.table, False)
    return body
