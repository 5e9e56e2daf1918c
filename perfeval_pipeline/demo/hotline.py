"""hotline feed: 12345 热线工单 (tickets), one row per ticket, drawn vectorised (25万+ rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from perfeval_pipeline.config import Department
from perfeval_pipeline.demo.catalog import (
    HOTLINE_CATEGORIES,
    HOTLINE_CATEGORY_P,
    HOTLINE_LIMIT_DAYS,
    HOTLINE_LIMIT_P,
)
from perfeval_pipeline.demo.params import PartitionParams

DAY = 86_400
SATISFACTION = np.array(["满意", "基本满意", "不满意", "未评价"], dtype=object)


def ticket_ids(department: str, year: int, n: int, id_prefix: str | None = None) -> pd.Series:
    """'JDZ20230000001'…: the city prefix (or `id_prefix`), the year and a sequence in order of receipt."""
    prefix = (id_prefix or department.split("-")[0].upper()) + str(year)
    return prefix + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(7)


def build(p: PartitionParams, dept: Department, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    hp, n = p.hotline, p.hotline.tickets
    start = np.datetime64(f"{p.year}-01-01T00:00:00", "s")
    days = int((np.datetime64(f"{p.year + 1}-01-01") - np.datetime64(f"{p.year}-01-01")).astype(int))
    # Calls cluster in the daytime: a beta-shaped time of day.
    offsets = rng.integers(0, days, n) * DAY + (rng.beta(2.2, 2.0, n) * DAY).astype(np.int64)
    received = start + np.sort(offsets).astype("timedelta64[s]")
    limit = rng.choice(HOTLINE_LIMIT_DAYS, n, p=HOTLINE_LIMIT_P) * DAY
    deadline = received + limit.astype("timedelta64[s]")
    late = rng.random(n) < hp.late_share
    on_time_offset = (rng.uniform(0.05, 0.95, n) * limit).astype(np.int64)
    late_offset = limit + rng.integers(1_800, 3 * DAY, n)
    closed = received + np.where(late, late_offset, on_time_offset).astype("timedelta64[s]")

    status = np.full(n, "已办结", dtype=object)
    year_end_tail = np.flatnonzero(received >= start + np.timedelta64(days - 10, "D"))
    still_open = rng.choice(
        year_end_tail, size=min(round(n * hp.open_share), len(year_end_tail)), replace=False
    )
    status[still_open] = "办理中"
    returned = rng.choice(n, size=round(n * hp.returned_share), replace=False)
    status[returned] = "已退回"
    done = status == "已办结"
    closed[~done] = np.datetime64("NaT")

    satisfaction = SATISFACTION[rng.choice(4, n, p=np.array(hp.satisfaction) / sum(hp.satisfaction))]
    satisfaction[~done] = "未评价"
    callback = done & (rng.random(n) < hp.callback_share)
    units = np.array(hp.handling_units, dtype=object)
    workload = rng.dirichlet(np.full(len(units), 2.0))  # some bureaus get far more calls than others
    tickets = pd.DataFrame(
        {
            "ticket_id": ticket_ids(p.department, p.year, n, hp.id_prefix),
            "received_at": received,
            "deadline_at": deadline,
            "closed_at": closed,
            "handling_unit": units[rng.choice(len(units), n, p=workload)],
            "category": np.array(HOTLINE_CATEGORIES, dtype=object)[
                rng.choice(len(HOTLINE_CATEGORIES), n, p=HOTLINE_CATEGORY_P)
            ],
            "status": status,
            "satisfaction": satisfaction,
            "callback": callback,
        }
    )
    return {"tickets": tickets}
