"""Every report family, in one place: adding a family is one module and one line here.

>>> FAMILIES["provider_shortfall"].title
'Provider savings and variance to plan'
>>> [p.name for p in FAMILIES["provider_shortfall"].parameters]
['period', 'org_code', 'threshold_pct', 'returns_dir']

Each family's module (``helpers/report/<family>.py``) holds its tables, its figures, summary
and definitions, and its :class:`~helpers.report.family.Family` entry; its notebook is
``notebooks/<family>.ipynb``. The params files, the plan, the index pages and the reports read
this mapping, and the tests check each notebook's ``parameters`` cell against it.
"""

from __future__ import annotations

from helpers.report import (
    cluster_milestone_slippage,
    pct_support_needs,
    provider_shortfall,
    regional_outturn,
)
from helpers.report.family import Family

#: Family name -> its entry, in the order the index pages list them.
FAMILIES: dict[str, Family] = {
    module.FAMILY.name: module.FAMILY
    for module in (
        regional_outturn,
        provider_shortfall,
        pct_support_needs,
        cluster_milestone_slippage,
    )
}
