"""One project root for every path, and one type that carries the project's folders.

>>> paths = ProjectPaths.under(Path("/tmp/kit"))       # a throw-away copy of the project
>>> paths.show(paths.outputs / "2011-12-Q1" / "figures.csv")
'outputs/2011-12-Q1/figures.csv'

Paths are built from one root, never from the caller's working directory: the root is this
package's project (``src/helpers/..``) or ``$NHS_KIT_ROOT``. The constants below are the
default project's folders (``DEFAULT``'s fields); code that can run against another copy of
the project takes a :class:`ProjectPaths` and passes it on.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from helpers.errors import NoDataError

PROJ_ROOT: Path = Path(os.environ.get("NHS_KIT_ROOT", Path(__file__).resolve().parents[2]))


@dataclass(frozen=True)
class ProjectPaths:
    """The project's folders (one root; tests and benchmarks pass a throw-away copy)."""

    root: Path
    params: Path
    notebooks: Path
    outputs: Path
    raw: Path
    processed: Path
    reference: Path

    @classmethod
    def under(cls, root: Path) -> ProjectPaths:
        """The standard layout under a project root."""
        data = root / "data"
        return cls(
            root,
            root / "params",
            root / "notebooks",
            root / "outputs",
            data / "raw",
            data / "processed",
            data / "reference",
        )

    @property
    def published_figures(self) -> Path:
        """The figures NHS London published, with their sources (``data/reference``)."""
        return self.reference / "published_figures.csv"

    def show(self, path: Path) -> str:
        """``path`` relative to the project root when inside it (for messages)."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def returns_folders(self, returns_dir: str | Path, period: object) -> tuple[Path, Path]:
        """(raw, processed) folders for ``returns_dir``: a folder of period folders, or one.

        Empty means the project's own ``data/raw``; a relative path is taken from the project
        root (never the working directory). Returns from elsewhere get their own processed
        layer under ``data/processed/elsewhere/``; NoDataError if such a folder does not hold
        the period.
        """
        name = str(period)
        if not str(returns_dir).strip():
            return self.raw, self.processed
        folder = Path(returns_dir).expanduser()
        folder = folder if folder.is_absolute() else self.root / folder
        raw = folder.parent if folder.name == name else folder
        if not (raw / name).is_dir():
            raise NoDataError(f"There are no returns for {name} in {folder}.")
        if raw.resolve() == self.raw.resolve():
            return self.raw, self.processed
        key = hashlib.sha256(str(raw.resolve()).encode()).hexdigest()[:12]
        return raw, self.processed / "elsewhere" / key


#: The folders of the project this package belongs to (or of ``$NHS_KIT_ROOT``).
DEFAULT = ProjectPaths.under(PROJ_ROOT)
DATA_DIR: Path = PROJ_ROOT / "data"
RAW_DIR: Path = DEFAULT.raw
PROCESSED_DIR: Path = DEFAULT.processed
REFERENCE_DIR: Path = DEFAULT.reference
NOTEBOOKS_DIR: Path = DEFAULT.notebooks
PARAMS_DIR: Path = DEFAULT.params
OUTPUTS_DIR: Path = DEFAULT.outputs
PUBLISHED_FIGURES: Path = DEFAULT.published_figures
