"""Why a department-year was not evaluated, in Chinese, for the province summary.

result.json keeps the pipeline's reasons as written (English with the Chinese headers the files
use, for the operators and the tests that match them); the summary is read by a 财政局, so each
reason is reworded here at render time, from its text and the quality section of result.json.
Patterns follow the messages of feeds/ and quality/ (StructuralIssue, the quality gate, the
quarantine reasons, batch failures); a message no pattern knows keeps its text after a Chinese
lead, so nothing is lost when a new message appears before its wording does."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

# Feed, table and column titles by code ("hotline", "hotline.tickets", "hotline.tickets.ticket_id"),
# from the feed contracts (render/stage.py reason_names); without them codes print as they are.
Names = Mapping[str, str]

STATUS_LEAD = {"blocked": "数据不符合要求，未评价", "failed": "处理出错，未评价"}
PHASES = {
    "ingest": "读取与质量检查",
    "quality": "读取与质量检查",
    "indicators": "指标计算",
    "peers": "同组均值",
    "score": "评分",
    "scores": "评分",
    "findings": "评价结论",
    "render": "生成报告",
    "manifest": "溯源清单",
}
_ASCII_PAREN = re.compile(r"\s*\((?=[^()]*[A-Za-z])[^()\u3400-\u9fff]*\)")
_CODE = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?$")
_WHERE = re.compile(
    r"^(?P<file>.+?)(?: sheet (?P<sheet>.+?))?(?: row (?P<row>\d+))?(?: column (?P<column>.+?))?: (?P<msg>.+)$",
    re.S,
)


def _q(text: str) -> str:
    return f"“{text.strip()}”"


def problem_text(why: str) -> str:
    """A quarantine reason ('使用状态 (status) 不在允许值内 (not one of 在用/闲置)') in Chinese only."""
    why = why.strip()
    rows = ""
    m = re.search(r"\s*\((\d[\d,]*) rows?\)$", why)
    if m:
        why, rows = why[: m.start()], f"（{m.group(1)}行）"
    m = re.fullmatch(r"has (\d+) fields, the header has (\d+)", why)
    if m:
        return f"该行有{m.group(1)}个字段，表头只有{m.group(2)}个（可能是未加引号的千分位逗号）{rows}"
    m = re.fullmatch(r"(?P<label>.+?): cannot be read as (?P<kind>\S+?)(?: \(\w+\))?", why)
    if m:
        return f"{_ASCII_PAREN.sub('', m['label'])}无法识别为{m['kind']}{rows}"
    replacements = (
        (r"\(required\)", "（必填）"),
        (r"\(not one of ([^()]*)\)", r"（允许值：\1）"),
        (r"\(allowed ([^()]*)\)", r"（允许范围：\1）"),
        (
            r"\(non-zero values must lie within ([^()]*), check 元/万元\)",
            r"（非零值应在\1之间，请核对元/万元）",
        ),
        (r"\(duplicate key, first occurrence kept\)", "（保留首次出现的行）"),
    )
    for pattern, repl in replacements:
        why = re.sub(r"\s*" + pattern, repl, why)
    return _ASCII_PAREN.sub("", why).replace(" ", "") + rows


def _where(m: re.Match, feed: str | None, names: Names) -> str:
    out = f"文件 {m['file']}"
    if m["sheet"]:
        out += f" 工作表{_q(m['sheet'])}"
    if m["row"]:
        out += f" 第{m['row']}行"
    column = m["column"]
    if column:
        header = next(
            (v for k, v in names.items() if feed and k.startswith(f"{feed}.") and k.endswith(f".{column}")),
            None,
        )
        if header:
            out += f" {_q(header)}列"
        elif not re.fullmatch(r"[a-z][a-z0-9_]*", column):  # a canonical name says nothing to a reader
            out += f" {column.replace(', ', '、')}列"
    return out


# Messages of a located issue (after "file [sheet S] [row N] [column C]: "), in Chinese.
_MESSAGES: list[tuple[re.Pattern, Callable[[re.Match, Names], str]]] = [
    (
        re.compile(r"required column (?P<h>.+?) missing \(expected a header (?P<alts>.+)\)"),
        lambda m, n: f"缺少必需列{_q(m['h'])}（表头应为{'或'.join(_q(a) for a in m['alts'].split(' or '))}）",
    ),
    (
        re.compile(r"the header names (?P<h>.+?) twice \(columns (?P<a>\w+) and (?P<b>\w+)\): keep one"),
        lambda m, n: f"表头{_q(m['h'])}出现两次（{m['a']}列和{m['b']}列），请只保留一列",
    ),
    (
        re.compile(
            r"no header row found in the first (?P<n>\d+) rows \(expected headers such as (?P<h>.+?);.*\)"
        ),
        lambda m, n: f"前{m['n']}行中找不到表头行（应有{m['h']}等表头）",
    ),
    (
        re.compile(r"feed (?P<title>.+?) \((?P<feed>[\w.]+)\) not found: expected (?P<a>\S+) or (?P<b>\S+)"),
        lambda m, n: (
            f"缺少数据文件{_q(m['title'])}：应提供 {m['a']} 或 {m['b']}（放在该部门该年度的落地文件夹中）"
        ),
    ),
    (
        re.compile(r"names table (?P<t>.+?), which feed (?P<feed>\w+) does not have \(tables: (?P<ts>.+)\)"),
        lambda m, n: (
            f"文件名中的表 {m['t'].strip(chr(39))} 不属于{_q(n.get(m['feed'], m['feed']))}（可用的表：{m['ts']}）"
        ),
    ),
    (
        re.compile(
            r"table (?P<title>.+?) \((?P<qn>[\w.]+)\) comes from (?P<k>\d+) places: (?P<where>.+?)\. Keep one.*"
        ),
        lambda m, n: (
            f"表{_q(m['title'])}同时来自{m['k']}处（{m['where']}），请合并为一处，以免行被重复计算或遗漏"
        ),
    ),
    (
        re.compile(
            r"table (?P<title>.+?) \((?P<qn>[\w.]+)\) not found: expected a sheet named one of \[(?P<s>.*?)\] "
            r"or a file (?P<f>\S+?)(?P<why>[^\w.].*)?$"
        ),
        lambda m, n: (
            f"缺少表{_q(m['title'])}：应有名为{'、'.join(_q(s.strip(chr(39) + ' ')) for s in m['s'].split(','))}"
            f"的工作表，或文件 {m['f']}"
        ),
    ),
    (
        re.compile(r"is a symbolic link to a file outside the landing folder: refused"),
        lambda m, n: "是指向落地目录之外的符号链接，拒绝读取",
    ),
    (re.compile(r"is not a regular file: refused"), lambda m, n: "不是普通文件，拒绝读取"),
    (
        re.compile(r"(?:unreadable: )?(?:is )?not a valid xlsx workbook.*"),
        lambda m, n: "不是有效的 xlsx 工作簿，无法读取",
    ),
    (
        re.compile(r"has (?P<k>[\d,]+) parts inside: refused as a possible zip bomb"),
        lambda m, n: f"内含{m['k']}个部件，疑似压缩炸弹，拒绝读取",
    ),
    (
        re.compile(
            r"would unpack to (?P<size>[\d,]+) MB \(limit (?P<lim>[\d.,]+) MB.*\): refused as a possible zip bomb"
        ),
        lambda m, n: f"解压后达{m['size']} MB（上限{m['lim']} MB），疑似压缩炸弹，拒绝读取",
    ),
    (
        re.compile(
            r"part (?P<p>.+?) is compressed (?P<r>[\d,]+):1 \(limit (?P<lim>[\d.,]+):1.*\): refused.*"
        ),
        lambda m, n: f"其中部件 {m['p']} 的压缩比为{m['r']}:1（上限{m['lim']}:1），疑似压缩炸弹，拒绝读取",
    ),
    (
        re.compile(r"is (?P<size>[\d,]+) MB \(limit (?P<lim>[\d.,]+) MB.*\): refused"),
        lambda m, n: f"文件大小{m['size']} MB，超过上限{m['lim']} MB，拒绝读取",
    ),
    (re.compile(r"cannot be opened \((?P<k>\w+)\)"), lambda m, n: f"无法打开（{m['k']}）"),
    (re.compile(r"unreadable: not UTF-8 or GBK text"), lambda m, n: "无法读取：不是 UTF-8 或 GBK 编码的文本"),
    (
        re.compile(r"unreadable: the CSV cannot be parsed(?: near line (?P<line>\d+))?.*"),
        lambda m, n: "无法读取：CSV 格式错误" + (f"（第{m['line']}行附近）" if m["line"] else ""),
    ),
    (re.compile(r"unreadable \((?P<k>\w+)\)"), lambda m, n: f"无法读取（{m['k']}）"),
    (
        re.compile(
            r"(?P<h>.+?) says (?P<v>.+?), the folder is (?P<f>\S+?)(?: \(and (?P<k>\d+) more rows?\))?: "
            r"the file belongs to another department or year"
        ),
        lambda m, n: (
            f"{m['h']}为 {m['v']}，而所在文件夹为 {m['f']}"
            + (f"（另有{m['k']}行相同）" if m["k"] else "")
            + "：该文件属于其他部门或年度"
        ),
    ),
    (
        re.compile(r"changed while the run was reading it.*"),
        lambda m, n: "读取期间文件被改动：请在文件复制完成后重新评价",
    ),
]


def _message(msg: str, names: Names) -> str | None:
    for pattern, words in _MESSAGES:
        m = pattern.fullmatch(msg.strip())
        if m:
            return words(m, names)
    return None


def _full_problem(why: str, known: list[str]) -> str:
    """The whole quarantine reason when `why` is only its tail (quality/ splits reasons on '; ',
    which one reason, the magnitude check's, itself contains)."""
    m = re.match(r"(?P<text>.+?)(?P<rows> \(\d[\d,]* rows?\))?$", why)
    text = m["text"] if m else why
    if text in known:
        return why
    whole = next((k for k in known if k.endswith(text) or k.endswith(text.rstrip(")") + ")")), None)
    return (whole + (m["rows"] or "")) if (whole and m) else why


def _table_title(code: str, title: str, names: Names) -> str:
    return names.get(code) or title


def _gate(subject: str, rest: str, names: Names, known: list[str]) -> str | None:
    """The quality gate's reasons (quality/validate.py gate)."""
    m = re.fullmatch(
        r"(?P<title>.+?) keeps (?P<only>only )?(?P<kept>[\d,]+) of (?P<read>[\d,]+) rows \((?P<where>.+?)"
        r"(?:; below quality\.min_kept_share (?P<share>[\d.]+%))?\)"
        r"(?:; most common problem: (?P<why>.+)|: the table has no data rows)?",
        rest.strip(),
        re.S,
    )
    if not m:
        return None
    title = _q(_table_title(subject, m["title"], names))
    where = re.sub(r" sheet (.+)$", lambda s: f" 工作表{_q(s.group(1))}", m["where"])
    if m["read"] == "0":
        head = f"{title}没有数据行（{where}）"
    elif m["kept"] == "0":
        head = f"{title}读入{m['read']}行，全部不可用（{where}）"
    else:
        head = f"{title}读入{m['read']}行，仅{m['kept']}行可用，低于可用比例下限{m['share'] or ''}（{where}）"
    if m["why"]:
        head += f"；主要问题：{problem_text(_full_problem(m['why'], known))}"
    return head


def _failure(phase: str, rest: str) -> str:
    m = re.fullmatch(
        r"(?P<kind>\w+): (?P<msg>.*?)(?: at (?P<at>\S+:\d+) \((?P<fn>\w+)\))?", rest.strip(), re.S
    )
    stage = PHASES.get(phase, phase)
    if not m:
        return f"{stage}阶段出错：{rest.strip()}"
    at = f"，位置 {m['at']}" if m["at"] else ""
    return f"{stage}阶段出错（{m['kind']}{at}）：{m['msg']}"


def reason_in_chinese(reason: str, names: Names | None = None, known: list[str] | None = None) -> str:
    """One reason of a blocked or failed result in Chinese; `known`: the partition's full
    quarantine reasons (to mend a truncated 'most common problem')."""
    names, known = names or {}, known or []
    subject, sep, rest = reason.partition(": ")
    if not sep or not _CODE.match(subject):
        subject, rest = "", reason
    if rest.strip() == "not ingested":
        return f"{_q(names.get(subject, subject))}未读入"
    gate = _gate(subject, rest, names, known)
    if gate:
        return gate
    feed = subject.split(".")[0] if subject else None
    m = _WHERE.match(rest)
    if m:
        words = _message(m["msg"], names)
        if words and words.startswith("缺少数据文件"):  # the file named is the one expected
            return words
        if words:
            lead = f"{_q(names.get(feed, feed))}：" if feed and feed in names else ""
            return f"{lead}{_where(m, feed, names)}：{words}"
    words = _message(rest, names)
    if words:
        return words
    return f"其他问题（原文）：{reason}"


def known_problems(result: dict) -> list[str]:
    """Every quarantine reason named in the result's quality section."""
    feeds = ((result.get("quality") or {}).get("feeds")) or {}
    return [
        e["reason"]
        for f in feeds.values()
        for t in (f.get("tables") or {}).values()
        for e in t.get("failed_expectations") or []
        if e.get("reason")
    ]


def reasons_in_chinese(result: dict, names: Names | None = None) -> list[str]:
    """The reasons a blocked or failed result gives, in Chinese."""
    if result.get("status") == "failed":
        out = []
        for reason in result.get("failure") or []:
            phase, sep, rest = reason.partition(": ")
            out.append(_failure(phase, rest) if sep else f"处理出错：{reason}")
        return out
    known = known_problems(result)
    return [reason_in_chinese(r, names, known) for r in result.get("blocked_reasons") or []]


def reason_text(result: dict, names: Names | None = None, limit: int = 3) -> str:
    """The 说明 of a department the summary lists as not evaluated."""
    reasons = reasons_in_chinese(result, names)
    head = STATUS_LEAD.get(result.get("status"), "未评价")
    body = "；".join(reasons[:limit]) + (f"（另有{len(reasons) - limit}项）" if len(reasons) > limit else "")
    return f"{head}：{body}" if body else head
