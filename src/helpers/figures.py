"""Recording headline figures inside a report notebook, and reading them back.

A report calls :func:`record_figures` once; the cell output carries the figures three ways:
a JSON bundle under :data:`FIGURES_MIME` (what :func:`read_figures` reads), an HTML table
(what a reader sees) and a plain-text list (what nbval compares, so a moved number fails CI).

Usage example::

    record_figures({"region_forecast_outturn_gbp_m": 274.0}, period="2010-11-M10",
                   notebook="regional_outturn", org_code="Q36")
    read_figures("outputs/2010-11-M10/regional_outturn/Q36.ipynb")
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

FIGURES_MIME = "application/vnd.nhs-kit.figures+json"
FIGURE_COLUMNS = ["period", "notebook", "org_code", "figure", "value", "unit"]


def unit_of(name: str) -> str:
    """The unit of a figure, from its name: ``gbp_m``, ``pct``, ``count`` or ``flag``."""
    if name.endswith("_gbp_m"):
        return "gbp_m"
    if name.endswith("_count"):
        return "count"
    if name.endswith("_pct") or "_pct_of_" in name:
        return "pct"
    return "flag"


def _clean(value: float | int | bool) -> float | int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    f = float(value)
    if math.isnan(f):
        raise ValueError("a headline figure cannot be NaN")
    return 0.0 if f == 0 else f  # no -0.0


def figures_bundle(
    figures: Mapping[str, float | int | bool], *, period: str, notebook: str, org_code: str
) -> dict[str, Any]:
    """The MIME bundle that :func:`record_figures` displays (sorted by figure name)."""
    rows = [
        {"figure": k, "value": _clean(v), "unit": unit_of(k)} for k, v in sorted(figures.items())
    ]
    payload = {"period": period, "notebook": notebook, "org_code": org_code, "figures": rows}
    text = "\n".join(f"{r['figure']} = {r['value']!r} ({r['unit']})" for r in rows)
    cells = "".join(
        f"<tr><td><code>{html.escape(str(r['figure']))}</code></td>"
        f"<td style='text-align:right'>{html.escape(repr(r['value']))}</td>"
        f"<td>{html.escape(str(r['unit']))}</td></tr>"
        for r in rows
    )
    table = (
        "<table class='nhs-kit-figures'><caption>Recorded headline figures</caption>"
        "<thead><tr><th scope='col'>figure</th><th scope='col'>value</th>"
        "<th scope='col'>unit</th></tr></thead>"
        f"<tbody>{cells}</tbody></table>"
    )
    return {FIGURES_MIME: payload, "text/html": table, "text/plain": text}


def record_figures(
    figures: Mapping[str, float | int | bool], *, period: str, notebook: str, org_code: str
) -> None:
    """Display the report's headline figures as one machine-readable cell output."""
    from IPython.display import display

    bundle = figures_bundle(figures, period=period, notebook=notebook, org_code=org_code)
    display(bundle, raw=True)  # type: ignore[no-untyped-call]


def _payloads(nb: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = out.get("data", {})
            if FIGURES_MIME in data:
                payload = data[FIGURES_MIME]
                yield json.loads(payload) if isinstance(payload, str) else payload


def read_figures(notebook: str | Path | Mapping[str, Any]) -> pd.DataFrame:
    """Every recorded figure in an executed notebook (a path or a loaded notebook)."""
    if isinstance(notebook, str | Path):
        nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    else:
        nb = notebook
    rows = [
        {
            "period": p["period"],
            "notebook": p["notebook"],
            "org_code": p["org_code"],
            "figure": f["figure"],
            "value": float(f["value"]),
            "unit": f["unit"],
        }
        for p in _payloads(nb)
        for f in p["figures"]
    ]
    frame = pd.DataFrame(rows, columns=FIGURE_COLUMNS)
    frame["value"] = frame["value"].astype("float64")
    return frame


def sort_figures(frame: pd.DataFrame) -> pd.DataFrame:
    """Figures in the stable order used by figures.csv (period, notebook, org, figure)."""
    return frame.sort_values(
        ["period", "notebook", "org_code", "figure"], kind="stable"
    ).reset_index(drop=True)
