"""One project root for every path: never the caller's working directory."""

from __future__ import annotations

import os
from pathlib import Path

PROJ_ROOT: Path = Path(os.environ.get("NHS_KIT_ROOT", Path(__file__).resolve().parents[2]))
DATA_DIR: Path = PROJ_ROOT / "data"
RAW_DIR: Path = DATA_DIR / "raw"
PROCESSED_DIR: Path = DATA_DIR / "processed"
REFERENCE_DIR: Path = DATA_DIR / "reference"
NOTEBOOKS_DIR: Path = PROJ_ROOT / "notebooks"
PARAMS_DIR: Path = PROJ_ROOT / "params"
OUTPUTS_DIR: Path = PROJ_ROOT / "outputs"
PUBLISHED_FIGURES: Path = REFERENCE_DIR / "published_figures.csv"
