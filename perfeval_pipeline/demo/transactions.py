"""transactions feed: 公共资源交易 (deals), 交易投诉 (complaints), 政府采购 (procurement), and the online
intermediary supermarket's 项目业主 (owners) and 采购项目 (projects)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from perfeval_pipeline.config import Department
from perfeval_pipeline.demo.catalog import unit_kind
from perfeval_pipeline.demo.common import (
    HUNDRED_YUAN,
    YUAN,
    random_dates,
    random_parts,
    split_capped,
    split_exact,
)
from perfeval_pipeline.demo.params import PartitionParams

_DEAL_PROJECTS = (
    ("工程建设", "{city}老旧小区改造工程"),
    ("工程建设", "{city}市政道路提升改造工程"),
    ("工程建设", "{city}学校校舍维修工程"),
    ("政府采购", "{city}智慧教室设备采购项目"),
    ("政府采购", "{city}环卫车辆采购项目"),
    ("政府采购", "{city}医疗设备采购项目"),
    ("产权交易", "{city}国有资产公开处置项目"),
    ("产权交易", "{city}门面房租赁权转让项目"),
    ("土地矿业权", "{city}国有建设用地使用权出让"),
)
_PROCUREMENT_PROJECTS = {
    "hq": ("政务云服务租赁", "网络安全等级保护测评", "数据共享平台扩容", "办公设备采购"),
    "center": ("政务服务大厅物业服务", "自助服务终端采购", "排队叫号系统升级", "大厅安防监控维保"),
    "hotline": ("热线话务外包服务", "热线系统运维服务", "座席终端采购"),
    "trading": ("电子交易平台运维服务", "开评标区音视频监控升级", "见证室设备采购"),
    "agency": ("帮办代办服务外包", "代办服务终端采购", "代办车辆租赁服务"),
}
_METHODS = ("公开招标", "竞争性磋商", "询价", "单一来源", "框架协议采购")
# The channels an evaluator checks for complaints: the center's own, then other units'.
_CHANNELS = (
    ("投诉箱", "本单位"),
    ("交易平台", "本单位"),
    ("市重点办", "相关单位"),
    ("市招标办", "相关单位"),
    ("市采购办", "相关单位"),
)
_OWNER_PREFIX = (
    "昌南",
    "瓷都",
    "东湖",
    "新城",
    "金桥",
    "华信",
    "恒通",
    "兴业",
    "鸿达",
    "明珠",
    "天成",
    "永安",
)
_OWNER_SUFFIX = (
    "建设工程有限公司",
    "置业有限公司",
    "科技有限公司",
    "物流有限公司",
    "实业有限公司",
    "城市投资集团有限公司",
    "中学",
    "人民医院",
    "社区卫生服务中心",
    "街道办事处",
)


def deals(p: PartitionParams, dept: Department, rng: np.random.Generator) -> pd.DataFrame:
    tp, city = p.transactions, dept.city
    picks = rng.choice(len(_DEAL_PROJECTS), size=tp.deals)
    electronic = np.ones(tp.deals, dtype=bool)
    electronic[rng.choice(tp.deals, size=tp.non_electronic, replace=False)] = False
    prefix = dept.code.split("-")[0].upper()
    return pd.DataFrame(
        {
            "deal_id": [f"{prefix}GGZY{p.year}-{k:04d}" for k in range(1, tp.deals + 1)],
            "project": [_DEAL_PROJECTS[i][1].format(city=city) for i in picks],
            "category": [_DEAL_PROJECTS[i][0] for i in picks],
            "amount": random_parts(rng, tp.deal_total, tp.deals, YUAN, spread=1.2),
            "electronic": electronic,
            "date": np.sort(random_dates(rng, date(p.year, 1, 10), date(p.year, 12, 25), tp.deals)),
        }
    )


def complaints(p: PartitionParams, rng: np.random.Generator) -> pd.DataFrame:
    n = p.transactions.complaints
    return pd.DataFrame(
        {
            "complaint_id": [f"TS{p.year}-{k:03d}" for k in range(1, n + 1)],
            "channel": [_CHANNELS[i][0] for i in rng.integers(0, len(_CHANNELS), n)],
            "date": np.sort(random_dates(rng, date(p.year, 1, 10), date(p.year, 12, 25), n)),
            "subject": ["对评标结果有异议"] * n,
        }
    )


def procurement(p: PartitionParams, dept: Department, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for unit in dept.budget_units:
        spec = p.transactions.procurement[unit.code]
        budgets = random_parts(rng, spec.budget, spec.rows, HUNDRED_YUAN, spread=3.0)
        if spec.contract <= spec.budget:  # savings spread over rows: no row above its own budget
            contracts = budgets - split_capped(
                spec.budget - spec.contract, budgets * rng.uniform(0.2, 1.8, spec.rows), budgets, YUAN
            )
        else:
            contracts = budgets + split_exact(
                spec.contract - spec.budget, budgets * rng.uniform(0.2, 1.8, spec.rows), YUAN
            )
        named = p.transactions.procurement_projects
        names = named[unit.code] if named is not None else _PROCUREMENT_PROJECTS[unit_kind(unit)]
        dates = np.sort(random_dates(rng, date(p.year, 2, 1), date(p.year, 11, 30), spec.rows))
        for k in range(spec.rows):
            rows.append(
                {
                    "procurement_id": f"{unit.code}-CG{p.year}-{k + 1:02d}",
                    "unit_code": unit.code,
                    "project": names[k % len(names)] + ("" if k < len(names) else "（二期）"),
                    "budget_amount": int(budgets[k]),
                    "contract_amount": int(contracts[k]),
                    "method": str(rng.choice(_METHODS)),
                    "date": dates[k],
                }
            )
    return pd.DataFrame(rows)


def intermediary(
    p: PartitionParams, dept: Department, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    tp, city = p.transactions, dept.city.removesuffix("市")
    prefix = dept.code.split("-")[0].upper()
    owner_ids = np.array([f"{prefix}YZ{k:05d}" for k in range(1, tp.intermediary_owners + 1)], dtype=object)
    owners = pd.DataFrame(
        {
            "owner_id": owner_ids,
            "name": [
                city + _OWNER_PREFIX[a] + _OWNER_SUFFIX[b]
                for a, b in zip(
                    rng.integers(0, len(_OWNER_PREFIX), len(owner_ids)),
                    rng.integers(0, len(_OWNER_SUFFIX), len(owner_ids)),
                    strict=True,
                )
            ],
            "registered_date": np.sort(
                random_dates(rng, date(p.year - 4, 1, 1), date(p.year, 12, 31), len(owner_ids))
            ),
        }
    )
    activity = rng.gamma(0.8, size=len(owner_ids))  # a few owners publish most projects
    n = tp.intermediary_projects
    owner = rng.choice(len(owner_ids), n, p=activity / activity.sum())
    # An owner publishes only after registering.
    first = np.maximum(
        owners.registered_date.to_numpy()[owner].astype("datetime64[D]"), np.datetime64(f"{p.year}-01-01")
    )
    span = (np.datetime64(f"{p.year}-12-31") - first).astype(int) + 1
    published = first + (rng.random(n) * span).astype(int).astype("timedelta64[D]")
    order = np.argsort(published, kind="stable")
    projects = pd.DataFrame(
        {
            "project_id": [f"{prefix}ZJ{p.year}{k:05d}" for k in range(1, n + 1)],
            "owner_id": owner_ids[owner[order]],
            "published_date": published[order],
            "amount": (rng.lognormal(10.5, 0.9, n) * YUAN).astype(np.int64),
        }
    )
    return owners, projects


def build(p: PartitionParams, dept: Department, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    owners, projects = intermediary(p, dept, rng)
    filed = complaints(p, rng)
    return {
        "deals": deals(p, dept, rng),
        "complaints": filed,
        "complaint_channels": pd.DataFrame(
            {
                "channel": [c for c, _ in _CHANNELS],
                "holder": [h for _, h in _CHANNELS],
                "complaints": [int((filed["channel"] == c).sum()) for c, _ in _CHANNELS],
            }
        ),
        "procurement": procurement(p, dept, rng),
        "intermediary_owners": owners,
        "intermediary_projects": projects,
    }
