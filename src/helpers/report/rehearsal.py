"""Rehearse a report in the fork server, so the kernels forked from it start warm.

A kernel forked from the server inherits its imports and loaded data, but each report still
paid for work done once per process: matplotlib laying out and rasterising its first glyphs
and ticks, pandas' Styler compiling its templates, the first call of each code path. The
runner has the server rehearse one report of each family it is about to run: the notebook's
code cells run here, in a plain namespace, with their displays thrown away, then every
figure is closed.

Only the kit's own code is rehearsed. A statement runs only if it does nothing but import
modules (the kit's, or ones already imported) and call the kit's reading and drawing
functions (:data:`KIT_MODULES`: reports, charts, metrics, never the data or pipeline layers),
checked against the live namespace just before it runs (:func:`kit_only`); the rehearsal
stops at the first statement that does anything else, such as an analyst's cell that writes
a file or waits. Nothing of the rehearsal is visible to a report: its namespace is dropped,
displays go nowhere, matplotlib's settings are put back, and the caches it fills are keyed
by what they hold (``tests/test_forkserver.py`` checks isolation).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import sys
import types
from pathlib import Path
from typing import Any

PARAMETERS_TAG = "parameters"

#: The kit modules whose functions a rehearsal may call: they read and draw, never write.
KIT_MODULES = (
    "helpers.report",
    "helpers.charts",
    "helpers.spc_chart",
    "helpers.metrics",
    "helpers.narrative",
    "helpers.figures",
    "helpers.spc",
    "helpers.formats",
)
_STATEMENTS = (ast.Expr, ast.Assign, ast.AnnAssign, ast.Import, ast.ImportFrom, ast.Pass)


def code_cells(notebook: Path) -> list[tuple[bool, str]]:
    """(is the parameters cell, source) of each code cell of ``notebook``, in order."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [
        (PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []), _source(cell))
        for cell in cells
        if cell.get("cell_type") == "code"
    ]


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _is_kit(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in KIT_MODULES)


def _importable(name: str) -> bool:
    """The kit's own modules, or (outside the kit) a module already imported, which runs
    nothing new."""
    if _is_kit(name):
        return True
    return name in sys.modules and not (name == "helpers" or name.startswith("helpers."))


def _import_ok(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.Import):
        return all(_importable(a.name) for a in node.names)
    if node.level or node.module is None:
        return False
    if node.module == "helpers":
        return all(_is_kit(f"helpers.{a.name}") for a in node.names)
    return _importable(node.module)


def _resolve(func: ast.expr, namespace: dict[str, Any]) -> object:
    """The object ``func`` names (a name or a chain of attributes), or None; every step of a
    chain must be a kit module or an object of a kit class, and no name may be private."""
    if isinstance(func, ast.Name):
        return namespace.get(func.id)
    if not isinstance(func, ast.Attribute) or func.attr.startswith("_"):
        return None
    owner = _resolve(func.value, namespace)
    kit_owner = (
        _is_kit(owner.__name__)
        if isinstance(owner, types.ModuleType)
        else _is_kit(type(owner).__module__)
    )
    return getattr(owner, func.attr, None) if owner is not None and kit_owner else None


def _kit_callable(target: object) -> bool:
    module = getattr(target, "__module__", None)
    return callable(target) and isinstance(module, str) and _is_kit(module)


def kit_only(statement: ast.stmt, namespace: dict[str, Any]) -> bool:
    """Whether a statement only imports or calls the kit (with ``namespace`` as it is now)."""
    if not isinstance(statement, _STATEMENTS):
        return False
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return _import_ok(statement)
    targets = getattr(statement, "targets", [getattr(statement, "target", None)])
    if not all(t is None or isinstance(t, ast.Name) for t in targets):
        return False
    for node in ast.walk(statement):
        if isinstance(node, ast.Lambda | ast.NamedExpr | ast.Await | ast.Yield):
            return False
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            return False
        if isinstance(node, ast.Call) and not _kit_callable(_resolve(node.func, namespace)):
            return False
    return True


def _statements(source: str) -> list[ast.stmt] | None:
    try:
        return ast.parse(source).body
    except SyntaxError:
        return None


def _constants_only(source: str) -> bool:
    """Whether a parameters cell only assigns constants (as papermill's parameters are)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for statement in tree.body:
        if not isinstance(statement, ast.Assign | ast.AnnAssign) or statement.value is None:
            return False
        try:
            ast.literal_eval(statement.value)
        except ValueError:
            return False
    return True


def _run_kit_statements(statements: list[ast.stmt], namespace: dict[str, Any]) -> bool:
    """Run the statements one by one while each is the kit's own code; False at one that isn't."""
    for statement in statements:
        if not kit_only(statement, namespace):
            return False
        module = ast.Module(body=[statement], type_ignores=[])
        exec(compile(module, "<rehearsal>", "exec"), namespace)
    return True


def rehearse(notebook: str, parameters_json: str) -> int:
    """Run ``notebook``'s code cells with ``parameters`` (JSON) in a throw-away namespace,
    up to the first statement that is not the kit's own code; return how many whole cells ran.

    Its displays are discarded (outside an IPython shell they only print, and printing goes
    nowhere here); a cell that fails ends the rehearsal, which is only ever an optimisation.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    parameters = json.loads(parameters_json)
    namespace: dict[str, Any] = {"__name__": "__rehearsal__"}
    path = Path(notebook).resolve()
    ran = 0
    with (
        contextlib.chdir(path.parent),
        contextlib.redirect_stdout(io.StringIO()),
        matplotlib.rc_context(),
    ):
        try:
            for is_parameters, source in code_cells(path):
                if is_parameters:
                    if not _constants_only(source):
                        break
                    exec(compile(source, f"<rehearsal {path.name}>", "exec"), namespace)
                    namespace.update(parameters)
                else:
                    statements = _statements(source)
                    if statements is None or not _run_kit_statements(statements, namespace):
                        break
                ran += 1
        finally:
            namespace.clear()
            plt.close("all")
    return ran


__all__ = ["KIT_MODULES", "code_cells", "kit_only", "rehearse"]
