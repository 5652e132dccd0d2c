"""What changed since the last run of a period: the figures that moved and the inputs behind them.

Usage example (what :func:`helpers.pipeline.export.export_period` does)::

    changes = compare_runs(previous_run(out), new_figures, new_inputs)
    write_atomic(out / "changes.csv", changes_csv(changes))
    changes.summary("2011-12-Q1")   # '2011-12-Q1: 4 figures moved since the last run ...'

A run compares its new ``figures.csv`` with the one in place (the last good run's) and the
input hashes its manifest records with the previous manifest's: return files (and each sheet
of a workbook), reference data, params, notebooks, the helper code and the lock. A figure that
appears or goes is listed with its old or new value empty. A first run, or one that moved
nothing, says so. The manifest keeps the last :data:`HISTORY_LIMIT` runs' summaries.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.formats import join_words, plural

#: How many runs' summaries the manifest keeps (the newest last).
HISTORY_LIMIT = 20
KEY = ["period", "notebook", "org_code", "figure"]
CHANGE_COLUMNS = [*KEY, "unit", "old_value", "new_value", "difference"]
#: How the input groups of the manifest are named in words.
INPUT_WORDS = {
    "returns": "return",
    "sheets": "sheet",
    "reference": "reference file",
    "params": "params file",
    "notebooks": "notebook",
    "code": "helper code",
    "lock": "dependency lock",
}


@dataclass(frozen=True)
class InputChange:
    """One input that differs from the last run's: its group, its name and how."""

    group: str  # a key of the manifest's "inputs": returns, sheets, notebooks, code, ...
    name: str  # e.g. "financial_position.csv" or "returns.xlsx [savings]"
    how: str  # "added", "removed" or "changed"

    def __str__(self) -> str:
        return f"{INPUT_WORDS.get(self.group, self.group)} {self.name} {self.how}"


@dataclass(frozen=True)
class PreviousRun:
    """What the last good run of a period left: its figures and its manifest."""

    figures: pd.DataFrame | None  # None: no run before
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class RunChanges:
    """How this run differs from the last one: moved figures and changed inputs."""

    first_run: bool
    moved: pd.DataFrame  # CHANGE_COLUMNS, one row per figure that moved, appeared or went
    inputs: list[InputChange]

    @property
    def organisations(self) -> list[str]:
        """The organisations with a moved figure, in code order."""
        return sorted(set(self.moved["org_code"]))

    def summary(self, period: str) -> str:
        """One line for the terminal and the overview page."""
        if self.first_run:
            return f"{period}: first run, so nothing to compare with"
        n = len(self.moved)
        because = f" ({join_words(str(c) for c in self.inputs)})" if self.inputs else ""
        if n == 0:
            return f"{period}: no figure moved since the last run{because}"
        orgs = self.organisations
        shown = join_words(orgs[:5]) + (f" and {len(orgs) - 5} more" if len(orgs) > 5 else "")
        return (
            f"{period}: {n} {plural(n, 'figure', 'figures')} moved since the last run, "
            f"for {shown}{because}"
        )


def read_figures_text(text: str) -> pd.DataFrame:
    """A figures.csv as the comparison reads it (values as written, to 4 decimals)."""
    frame = pd.read_csv(io.StringIO(text), dtype={c: str for c in KEY}, keep_default_na=False)
    return frame.astype({"value": "float64"})


def previous_run(output_dir: Path) -> PreviousRun:
    """The figures and manifest the last good run of the period left (empty if none)."""
    try:
        figures = read_figures_text((output_dir / "figures.csv").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        figures = None
    try:
        manifest = json.loads((output_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    inputs = manifest.get("inputs", {}) if isinstance(manifest, dict) else {}
    history = manifest.get("history", []) if isinstance(manifest, dict) else []
    return PreviousRun(figures, inputs if isinstance(inputs, dict) else {}, list(history))


def compare_runs(
    previous: PreviousRun, figures: pd.DataFrame, inputs: dict[str, dict[str, str]]
) -> RunChanges:
    """The figures that moved (exactly, as figures.csv writes them) and the inputs changed."""
    if previous.figures is None:
        return RunChanges(True, pd.DataFrame(columns=CHANGE_COLUMNS), [])
    old = previous.figures[[*KEY, "unit", "value"]].rename(columns={"value": "old_value"})
    new = figures[[*KEY, "unit", "value"]].rename(columns={"value": "new_value"})
    both = old.merge(new, on=KEY, how="outer", suffixes=("_old", ""))
    both["unit"] = both["unit"].fillna(both["unit_old"])
    old_v, new_v = both["old_value"].round(4), both["new_value"].round(4)
    moved = both.loc[(old_v != new_v) & ~(old_v.isna() & new_v.isna())].copy()
    moved["difference"] = (moved["new_value"] - moved["old_value"]).round(4)
    moved = moved.sort_values(KEY, kind="stable").reset_index(drop=True)
    return RunChanges(False, moved[CHANGE_COLUMNS], input_changes(previous.inputs, inputs))


def input_changes(
    old: dict[str, dict[str, str]], new: dict[str, dict[str, str]]
) -> list[InputChange]:
    """Every input added, removed or changed between two manifests' ``inputs``."""
    out = []
    for group in sorted(set(old) | set(new)):
        before, after = old.get(group, {}), new.get(group, {})
        for name in sorted(set(before) | set(after)):
            if name not in before:
                out.append(InputChange(group, name, "added"))
            elif name not in after:
                out.append(InputChange(group, name, "removed"))
            elif before[name] != after[name]:
                out.append(InputChange(group, name, "changed"))
    return out


def changes_csv(changes: RunChanges) -> str:
    """changes.csv text: one row per moved figure (a header only when nothing moved)."""
    out = changes.moved.astype({"old_value": "object", "new_value": "object"}).copy()
    for col in ("old_value", "new_value", "difference"):
        out[col] = [_number(v) for v in changes.moved[col]]
    return str(out.to_csv(index=False, lineterminator="\n"))


def _number(value: float) -> str:
    return "" if pd.isna(value) else f"{float(value) + 0.0:.4f}"


def history(previous: PreviousRun, changes: RunChanges, finished: str) -> list[dict[str, Any]]:
    """The manifest's history: the last runs' summaries with this one added, bounded."""
    entry = {
        "finished": finished,
        "first_run": changes.first_run,
        "figures_moved": len(changes.moved),
        "organisations": changes.organisations,
        "inputs_changed": [str(c) for c in changes.inputs],
    }
    return [*previous.history, entry][-HISTORY_LIMIT:]
