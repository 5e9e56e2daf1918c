"""The score chart of the Word form: points earned vs available per level-1 area, and the largest
deductions. (The workbook draws the same as native Excel charts.)

The CJK font is found by file, not through matplotlib's cached font list: a cache built before
fonts-noto-cjk was installed would hide it. Drawn with the object API on an Agg canvas (no pyplot
state); the PNG carries no software/version metadata so the same result gives the same bytes."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from perfeval_pipeline.formatting import decimal

# Simplified-Chinese faces first: the JP/KR faces of the same collection draw some hanzi differently.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK JP",
)
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".local/share/fonts"))
FONT_FILES = (
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJK-Medium.ttc",
    "NotoSerifCJK-Regular.ttc",
    "SourceHanSansSC-Regular.otf",
    "wqy-zenhei.ttc",
)
TOP_DEDUCTIONS = 8
DPI = 150
EARNED, AVAILABLE, LOST = "#2f5597", "#d9d9d9", "#c55a11"
INSTALL_HINT = (
    "apt-get install fonts-noto-cjk (Debian/Ubuntu), or put a Noto Sans CJK .ttc under /usr/share/fonts"
)


class CJKFontMissing(RuntimeError):
    pass


def find_cjk_files(dirs: tuple[str, ...] = FONT_DIRS) -> list[Path]:
    found = []
    for folder in map(Path, dirs):
        if folder.is_dir():
            for name in FONT_FILES:
                found += sorted(folder.rglob(name))
    return found


@cache
def cjk_font_family() -> str:
    """The first CJK family matplotlib can use, registering font files found on disk first."""
    for path in find_cjk_files():
        try:
            font_manager.fontManager.addfont(str(path))
        except (OSError, RuntimeError):
            continue
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in installed:
            return family
    raise CJKFontMissing(
        f"no CJK font for charts (looked for {', '.join(FONT_FILES)} under {', '.join(FONT_DIRS)}): {INSTALL_HINT}"
    )


def _levels_panel(ax, levels: list[dict]) -> None:
    rows = levels[::-1]  # barh draws bottom-up; the form reads top-down
    names = [lvl["name"] for lvl in rows]
    ax.barh(names, [lvl["points"] for lvl in rows], color=AVAILABLE, label="分值")
    ax.barh(names, [lvl["score"] for lvl in rows], color=EARNED, height=0.5, label="得分")
    for y, lvl in enumerate(rows):
        ax.text(lvl["points"], y, f" {decimal(lvl['score'])}/{decimal(lvl['points'])}", va="center")
    ax.set_xlim(0, max((lvl["points"] for lvl in rows), default=1) * 1.35)
    ax.set_title("一级指标得分")
    ax.set_xlabel("分")
    ax.legend(loc="upper right")
    ax.spines[["top", "right"]].set_visible(False)


def largest_deductions(result: dict, limit: int = TOP_DEDUCTIONS) -> list[dict]:
    scored = [i for i in result["indicators"] if not i["statistic"] and i.get("deduction", 0) > 0]
    return sorted(scored, key=lambda i: (-i["deduction"], i["id"]))[:limit]


def _deductions_panel(ax, deductions: list[dict]) -> None:
    ax.set_title("主要扣分指标")
    ax.spines[["top", "right"]].set_visible(False)
    if not deductions:
        ax.text(0.5, 0.5, "无扣分", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    rows = deductions[::-1]
    ax.barh([i["name"] for i in rows], [i["deduction"] for i in rows], color=LOST)
    for y, ind in enumerate(rows):
        ax.text(ind["deduction"], y, f" −{decimal(ind['deduction'])}/{decimal(ind['points'])}", va="center")
    ax.set_xlim(0, deductions[0]["deduction"] * 1.4)
    ax.set_xlabel("扣分")


def render_chart(result: dict) -> bytes:
    """PNG bytes of the two-panel score chart of an evaluated result."""
    family = cjk_font_family()
    style = {
        "font.family": [family],
        "axes.unicode_minus": False,
        "font.size": 9,
        "axes.titlesize": 10,
        "legend.fontsize": 8,
        "legend.frameon": False,
    }
    with matplotlib.rc_context(style):
        fig = Figure(figsize=(8, 3.6), layout="constrained")
        FigureCanvasAgg(fig)
        left, right = fig.subplots(1, 2, width_ratios=[1, 1.25])
        _levels_panel(left, result["levels"])
        _deductions_panel(right, largest_deductions(result))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()
