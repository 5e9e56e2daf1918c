"""A small synthetic jdz-zwsjj 2023 landing partition for the lineage tests: every feed, money in 万元
headers (readers convert to 元), a GBK hotline CSV, one quarantined budget line, and the 局本级 budget
lines behind the seed form's 预决算差异率 489.93% (331.99 → 1958.52 万元)."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd

DEPARTMENT, YEAR = "jdz-zwsjj", 2023
HOTLINE_ROWS = 400


def _xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)


# fmt: off
# The rows below are tables: one landing row per line reads better than one cell per line.


def _financial(folder: Path) -> None:
    d, y = DEPARTMENT, YEAR
    head = ["部门编码", "年度", "行号", "单位编码", "单位名称", "支出类型", "经济分类", "项目名称",
            "年初预算数（万元）", "调整预算（万元）", "上年结转（万元）", "其他收入（万元）", "决算数（万元）",
            "年终收回（万元）", "上年决算数（万元）"]
    lines = [
        [d, y, "L001", "JDZ001", "局本级", "基本支出", "工资福利支出", "人员工资", "200.00", "0", "0", "0",
         "1,000.00", "0", "180.00"],
        [d, y, "L002", "JDZ001", "局本级", "项目支出", "三公经费", "公务接待", 131.99, 0, 0, 0, 958.52, 0, 120],
        [d, y, "L003", "JDZ002", "景德镇市政务服务中心", "项目支出", "公用经费", "窗口人员奖励经费", 84, 10, 0, 0,
         80.5, 13.5, 70],
        [d, y, "L004", "JDZ003", "景德镇市12345政务服务便民热线管理中心", "基本支出", "商品和服务支出", "热线运行",
         600, 0, 0, 0, 520.25, 79.75, 500],
        [d, y, "L005", "JDZ004", "景德镇市公共资源交易中心", "基本支出", "公用经费", "交易平台运维", 300, 0, 0, 0,
         280, 20, 260],
        [d, y, "L006", "JDZ005", "景德镇市政务服务代办中心", "项目支出", "商品和服务支出", "代办服务", 150, 0, 0, 0,
         140, 10, 120],
        # A negative final amount breaks the contract (min 0): quarantined, never evidence.
        [d, y, "L007", "JDZ005", "景德镇市政务服务代办中心", "项目支出", "商品和服务支出", "错误行", 1, 0, 0, 0,
         -5, 0, 0],
    ]
    ledger = [["凭证号", "日期", "单位编码", "预算行号", "金额（万元）", "摘要", "收款方"],
              ["V001", "2023-03-01", "JDZ001", "L001", 500, "工资", "职工"],
              ["V002", "2023-05-09", "JDZ002", "L003", 80.5, "奖励", "窗口人员"],
              ["V003", "2023-08-15", "JDZ004", "L005", 280, "运维", "某科技公司"]]
    estimates = [["测算编号", "单位编码", "项目名称", "项目预算（万元）", "测算内容", "测算金额（万元）", "是否需要资金", "说明"],
                 ["E1", "JDZ002", "窗口人员奖励经费", 84, "月度优秀窗口奖", 10.84, "是", ""],
                 ["E2", "JDZ002", "窗口人员奖励经费", 84, "年度考核奖励", 73.16, "是", ""]]
    _xlsx(folder / "financial.xlsx", {"预算决算表": [head, *lines], "支出明细账": ledger, "项目测算明细": estimates})


def _assets(folder: Path) -> None:
    head = ["资产编号", "单位编码", "资产名称", "资产分类", "规格型号", "数量", "原值（万元）", "取得日期", "使用状态",
            "状态日期", "是否贴标签", "保管人", "出借审批文号", "处置审批文号"]
    rows = [
        ["A001", "JDZ002", "服务器", "通用设备", "R740", 1, 50.19, "2020-01-01", "在用", "2020-01-01", "是", "张三", "", ""],
        ["A002", "JDZ002", "排队机", "通用设备", "", 1, 49.81, "2018-01-01", "待处置", "2021-06-30", "否", "李四", "", ""],
        ["A003", "JDZ001", "笔记本电脑", "通用设备", "X1", 2, 1.2, "2021-01-01", "出借", "2023-02-01", "是", "王五", "", ""],
        ["A004", "JDZ004", "办公桌", "家具", "1.6m", 4, 0.8, "2019-01-01", "在用", "2019-01-01", "是", "赵六", "", ""],
    ]
    stock = [["资产编号", "盘点数量", "实物名称"], ["A001", 1, "服务器"], ["A004", 3, "办公桌"]]
    usage = [["登记编号", "单位编码", "资产编号", "登记日期", "使用人"], ["U1", "JDZ002", "A001", "2023-01-05", "张三"]]
    _xlsx(folder / "asset_register.xlsx", {"固定资产卡片": [head, *rows], "资产盘点表": stock, "资产使用台账": usage})


def _hotline(folder: Path) -> None:
    statuses = ["已办结"] * 9 + ["办理中"]
    ratings = ["满意", "基本满意", "不满意", "未评价"]
    rows = []
    for i in range(HOTLINE_ROWS):
        day = 1 + i % 28
        status = statuses[i % len(statuses)]
        rows.append({"工单编号": f"T{i:06d}", "受理时间": f"2023-03-{day:02d} 09:00:00",
                     "办理时限": f"2023-04-{day:02d} 09:00:00",
                     "办结时间": f"2023-03-{day:02d} 17:00:00" if status == "已办结" else "",
                     "承办单位": ["市政务服务中心", "市市场监管局"][i % 2], "诉求类别": "咨询", "办理状态": status,
                     "满意度": ratings[i % len(ratings)], "是否回访": "是"})
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / "hotline.csv", index=False, encoding="gb18030")


def _transactions(folder: Path) -> None:
    deals = [["交易编号", "项目名称", "交易类别", "成交金额（万元）", "是否电子化交易", "成交日期"],
             ["D1", "道路工程", "工程建设", 40.5, "是", "2023-04-01"],
             ["D2", "办公设备", "政府采购", 36.36, "是", "2023-06-01"]]
    complaints = [["投诉编号", "投诉渠道", "投诉日期", "投诉事项"], ["C1", "交易平台", "2023-09-01", "评标异议"]]
    procurement = [["采购编号", "单位编码", "采购项目", "采购预算（万元）", "合同金额（万元）", "采购方式", "合同日期"],
                   ["P1", "JDZ002", "窗口设备", 100, 102.64, "公开招标", "2023-05-01"],
                   ["P2", "JDZ005", "代办系统", 100, 108.38, "询价", "2023-07-01"],
                   ["P3", "JDZ004", "平台维护", 50, 45, "竞争性磋商", "2023-08-01"]]
    owners = [["业主编号", "业主名称", "注册日期"], *[[f"O{i}", f"业主{i}", "2023-01-01"] for i in range(1, 5)]]
    projects = [["项目编号", "业主编号", "发布日期", "项目金额（万元）"],
                *[[f"J{i}", f"O{1 + i % 4}", "2023-02-01", 1] for i in range(1, 13)]]
    _xlsx(folder / "transactions.xlsx", {"公共资源交易": deals, "交易投诉": complaints, "政府采购": procurement,
                                          "中介超市项目业主": owners, "中介超市采购项目": projects})


def _evaluation(folder: Path) -> None:
    d, y = DEPARTMENT, YEAR
    sheets = {
        "基本情况": [["部门编码", "评价年度", "评价机构", "评价日", "职能概述", "在职人数", "预决算信息公开"],
                 [d, y, "江西优兰德市场研究咨询有限公司", "2024-06-04", "负责政务服务", 60, "是"]],
        "职能清单": [["序号", "职能内容"], *[[i, f"职能{i}"] for i in range(1, 12)]],
        "内设科室": [["科室名称"], ["办公室"], ["政务服务综合科"], ["行政审批监管科"], ["政务数据管理科"]],
        "绩效目标表": [["目标编号", "一级指标", "二级指标", "三级指标", "符号", "指标值", "计量单位"],
                  ["G1", "产出指标", "时效指标", "绩效考评及时性", "=", "及时", ""],
                  ["G2", "效益指标", "社会效益", "惠企通兑现企业覆盖率", "≥", "80", "%"]],
        "重点任务": [["任务编号", "任务名称", "工作内容", "计划数", "完成数", "需验收", "验收日期"],
                 ["K1", "一件事一次办", "事项梳理", 10, 10, "否", ""],
                 ["K2", "惠企通迭代升级", "升级", 5, 3, "是", ""],
                 ["K3", "智慧园区服务专区", "物业管理", 1, 0, "否", ""]],
        "运行统计": [["统计项目", "数量", "基数", "单位"],
                 ["数据及时更新", 100, 100, "项"], ["监管事项认领", 50, 50, "项"],
                 ["惠企通兑现企业", 2926, 10000, "家"], ["查询办理", 996, 1000, "件"],
                 ["依申请政务服务事项", 9400, "", "项"], ["赣服通上线事项", 408, "", "项"],
                 ["惠企政策事项上线", 270, "", "项"]],
        "满意度调查": [["问卷编号", "题目", "回答"],
                  *[[f"Q{i}", "服务大厅群众办事便捷度较上年是否提升", "提升" if i % 75 else "未提升"]
                    for i in range(1, 76)]],
        "窗口办件": [["窗口名称", "窗口人数", "年办件量"], ["发改委窗口", 2, 150], ["税务窗口", 3, 900]],
        "制度检查": [["制度名称", "应含内容", "是否具备"], ["财务管理制度", "结余结转管理", "否"],
                 ["财务管理制度", "预算管理", "是"]],
        "工作底稿": [["底稿编号", "指标编码", "扣分", "问题编码", "问题描述"],
                 ["W1", "planning_clarity", 1, "planning_no_schedule", "规划无时间安排"]],
    }
    _xlsx(folder / "evaluation.xlsx", sheets)


# fmt: on


def build_landing(landing_dir: Path, department: str = DEPARTMENT, year: int = YEAR) -> Path:
    folder = landing_dir / str(year) / department
    _financial(folder)
    _assets(folder)
    _hotline(folder)
    _transactions(folder)
    _evaluation(folder)
    return folder
