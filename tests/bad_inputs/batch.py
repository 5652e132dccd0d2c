"""Run many kit commands, each against its own project copy, in one subprocess.

Usage example::

    results = run_many([(root_a, ("reports", "--period", "2011-12-Q1")),
                        (root_b, ("validate", "--period", "2011-12-Q1"))])
    results[0].returncode, results[0].stderr

Each command runs exactly as ``kit_project.run_kit`` runs it (``python -m helpers.cli <args>``
with ``NHS_KIT_ROOT`` set to its project and the project as working directory), in a child
forked from one process that has already imported pandas, pandera, openpyxl and papermill but
not the kit itself, so every child reads its own project root on import. That saves the ~3 s
of imports per command that a fresh interpreter pays (tests/test_bad_inputs.py checks that
both ways give the same exit code and messages).
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

Job = tuple[Path, Sequence[str]]
#: Imported once in the parent; the kit's own modules (helpers.*) are never imported there.
PRELOAD = (
    "pandas",
    "pandera.pandas",
    "pyarrow.parquet",
    "openpyxl",
    "yaml",
    "pydantic",
    "papermill",
)


def run_many(jobs: Sequence[Job], timeout: float = 600) -> list[subprocess.CompletedProcess[str]]:
    """Run each ``(root, args)`` as ``python -m helpers.cli <args>`` against ``root``."""
    from kit_project import kit_env

    spec = [{"root": str(root), "args": list(args), "env": kit_env(root)} for root, args in jobs]
    proc = subprocess.run(
        [sys.executable, __file__],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the batch runner failed:\n{proc.stderr[-4000:]}")
    done = json.loads(proc.stdout)
    return [
        subprocess.CompletedProcess(
            [sys.executable, "-m", "helpers.cli", *job["args"]], d["code"], d["out"], d["err"]
        )
        for job, d in zip(spec, done, strict=True)
    ]


def _child(job: dict[str, object], out: int, err: int) -> None:
    """In the forked child: become ``python -m helpers.cli <args>`` and exit with its code."""
    os.environ.clear()
    os.environ.update(job["env"])  # type: ignore[arg-type]
    os.chdir(str(job["root"]))
    os.dup2(out, 1)
    os.dup2(err, 2)
    sys.argv = ["helpers.cli", *job["args"]]  # type: ignore[misc]
    code = 1
    try:
        runpy.run_module("helpers.cli", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _main() -> None:
    """Read the jobs (JSON) on stdin, run each in a forked child, print the results (JSON)."""
    import importlib

    jobs = json.loads(sys.stdin.read())
    for name in PRELOAD:
        importlib.import_module(name)
    assert not any(m.startswith("helpers") for m in sys.modules), "helpers imported too early"
    results = []
    for job in jobs:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(job, out.fileno(), err.fileno())
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            texts = []
            for fh in (out, err):
                fh.seek(0)
                texts.append(fh.read().decode("utf-8", errors="replace"))
        results.append({"code": code, "out": texts[0], "err": texts[1]})
    sys.stdout.write(json.dumps(results))


if __name__ == "__main__":
    _main()
