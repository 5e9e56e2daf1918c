"""Vocabulary of the demo data: budget line templates by unit kind, asset catalogue, bureaus, windows,
tasks and texts. Names are plausible for a 政务服务数据管理局; none is a figure of the seed form."""

from __future__ import annotations

from perfeval_pipeline.config import BudgetUnit
from perfeval_pipeline.demo.params import LineSpec

WINDOW_REWARD_PROJECT = "窗口人员奖励经费"
AUDIT_LINE = "绩效评价及审计服务"

_BASIC = (
    LineSpec("基本支出", "工资福利支出", "基本工资及津贴补贴", 0.30, 0.10),
    LineSpec("基本支出", "工资福利支出", "社会保障缴费", 0.08, 0.02),
    LineSpec("基本支出", "对个人和家庭的补助", "退休费及抚恤金", 0.02),
    LineSpec("基本支出", "公用经费", "日常公用经费", 0.06, 0.02),
    LineSpec("基本支出", "三公经费", "公务用车运行维护费", 0.008),
    LineSpec("基本支出", "三公经费", "公务接待费", 0.003),
)
_PROJECTS = {
    "hq": (
        LineSpec("项目支出", "资本性支出", "数字政府建设项目", 0.20, 0.55),
        LineSpec("项目支出", "商品和服务支出", "电子政务外网及政务云运维", 0.18, 0.20),
        LineSpec("项目支出", "商品和服务支出", "政务数据共享交换平台运维", 0.10, 0.08),
        LineSpec("项目支出", "商品和服务支出", AUDIT_LINE, 0.02, 0.01),
        LineSpec("项目支出", "其他支出", "营商环境专项工作经费", 0.03, 0.02),
    ),
    "center": (
        LineSpec("项目支出", "商品和服务支出", "政务服务大厅运行维护", 0.18, 0.40),
        LineSpec("项目支出", "商品和服务支出", WINDOW_REWARD_PROJECT, 0.10),
        LineSpec("项目支出", "商品和服务支出", "窗口人员劳务派遣经费", 0.18, 0.40),
        LineSpec("项目支出", "资本性支出", "大厅智能化设备购置", 0.05, 0.20),
    ),
    "hotline": (
        LineSpec("项目支出", "商品和服务支出", "12345热线话务外包服务", 0.30, 0.50),
        LineSpec("项目支出", "商品和服务支出", "热线平台运维", 0.10, 0.20),
        LineSpec("项目支出", "资本性支出", "热线知识库系统升级", 0.05, 0.30),
    ),
    "trading": (
        LineSpec("项目支出", "商品和服务支出", "电子交易平台运维", 0.20, 0.40),
        LineSpec("项目支出", "商品和服务支出", "评标专家劳务费", 0.08, 0.30),
        LineSpec("项目支出", "资本性支出", "开评标场所设备更新", 0.06, 0.30),
        LineSpec("项目支出", "商品和服务支出", "网上中介超市运维", 0.04),
    ),
    "agency": (
        LineSpec("项目支出", "商品和服务支出", "帮办代办服务经费", 0.20, 0.60),
        LineSpec("项目支出", "商品和服务支出", "代办员培训经费", 0.03, 0.10),
        LineSpec("项目支出", "资本性支出", "代办服务设备购置", 0.04, 0.30),
    ),
}


def unit_kind_by_name(unit: BudgetUnit, words: tuple[tuple[str, str], ...], default: str) -> str:
    """'hq' for the 本级, else the kind of the first word the unit's name contains, else `default`."""
    if unit.role == "本级":
        return "hq"
    for word, kind in words:
        if word in unit.name:
            return kind
    return default


def with_initial(lines: tuple[LineSpec, ...], item: str, initial: int | None) -> tuple[LineSpec, ...]:
    """`lines` with the initial budget of line `item` fixed (None: all lines as they are)."""
    return tuple(
        LineSpec(s.expense_type, s.economic_class, s.item, s.weight, s.adj_weight, initial)
        if s.item == item and initial is not None
        else s
        for s in lines
    )


def unit_kind(unit: BudgetUnit) -> str:
    return unit_kind_by_name(unit, (("热线", "hotline"), ("交易", "trading"), ("代办", "agency")), "center")


def line_templates(unit: BudgetUnit, window_reward: int | None = None) -> tuple[LineSpec, ...]:
    """A unit's budget lines; the 窗口人员奖励经费 line gets a fixed initial budget when given."""
    return with_initial(_BASIC + _PROJECTS[unit_kind(unit)], WINDOW_REWARD_PROJECT, window_reward)


# Window reward project sub-items (测算内容), in the order an estimate sheet lists them.
WINDOW_REWARD_ITEMS = ("月度优秀窗口奖", "季度服务之星奖励", "年度先进窗口及个人奖励", "窗口人员绩效考核奖励")
COMMENDATION_ONLY_NOTE = "月度优秀窗口评选后只需通报表彰，无需发放奖励资金"

# (category, name, spec models, typical value in 元, max quantity)
ASSETS = (
    ("通用设备", "台式计算机", ("联想启天M437", "清华同方超翔Z8000", "华为擎云W515"), 6_000, 1),
    ("通用设备", "笔记本电脑", ("联想昭阳K4e", "华为MateBook B5"), 7_000, 1),
    ("通用设备", "激光打印机", ("HP LaserJet M405d", "奔图P3301DN"), 2_500, 1),
    ("通用设备", "多功能一体机", ("理光IM C3000", "柯尼卡美能达C300i"), 16_000, 1),
    ("通用设备", "空调", ("格力KFR-72LW", "美的KFR-51LW"), 6_500, 1),
    ("通用设备", "服务器", ("华为FusionServer 2288H", "浪潮NF5280M6"), 68_000, 1),
    ("通用设备", "交换机", ("华为S5735-L48T4X", "H3C S5130"), 12_000, 1),
    ("通用设备", "投影仪", ("爱普生CB-2247U", "明基E580"), 6_000, 1),
    ("通用设备", "排队叫号机", ("DS-Q300", "QM-2000"), 9_000, 1),
    ("通用设备", "自助服务终端", ("ZZ-3200一体机", "中科英泰ZK-Q43"), 38_000, 1),
    ("通用设备", "LED显示屏", ("P2.5室内全彩", "P3室内全彩"), 85_000, 1),
    ("通用设备", "高拍仪", ("良田S1520", "紫光G850"), 1_200, 1),
    ("家具用具", "办公桌", ("1600×800", "1400×700"), 1_500, 8),
    ("家具用具", "办公椅", ("中班椅", "网布椅"), 600, 12),
    ("家具用具", "文件柜", ("钢制四门", "木质书柜"), 1_200, 6),
    ("家具用具", "窗口服务台", ("定制三人位", "定制单人位"), 4_500, 4),
    ("专用设备", "视频会议终端", ("华为TE40", "小鱼易连ME40"), 22_000, 1),
    ("专用设备", "录音录像设备", ("海康DS-8632N", "大华DH-NVR5"), 15_000, 1),
    ("交通运输设备", "公务用车", ("大众帕萨特", "比亚迪汉EV"), 180_000, 1),
)
# What a stock-take finds instead of the registered name.
MISNAMED = {
    "台式计算机": "笔记本电脑",
    "激光打印机": "多功能一体机",
    "办公桌": "会议桌",
    "办公椅": "沙发",
    "文件柜": "书架",
    "空调": "空气净化器",
    "投影仪": "显示器",
    "交换机": "路由器",
}

BUREAUS = (
    "住房和城乡建设局",
    "市场监督管理局",
    "人力资源和社会保障局",
    "公安局",
    "城市管理局",
    "交通运输局",
    "生态环境局",
    "教育局",
    "卫生健康委员会",
    "自然资源和规划局",
    "医疗保障局",
    "民政局",
    "农业农村局",
    "水利局",
    "商务局",
)
HOTLINE_CATEGORIES = ("咨询", "求助", "投诉", "举报", "建议", "表扬")
HOTLINE_CATEGORY_P = (0.46, 0.22, 0.20, 0.05, 0.05, 0.02)
HOTLINE_LIMIT_DAYS = (1, 3, 5, 10, 15)
HOTLINE_LIMIT_P = (0.15, 0.25, 0.35, 0.15, 0.10)

WINDOWS = (
    "市场监管局",
    "税务局",
    "公安局",
    "人社局",
    "医保局",
    "住建局",
    "不动产登记中心",
    "发改委",
    "自然资源和规划局",
    "普惠金融专区",
    "交通运输局",
    "卫健委",
    "民政局",
    "生态环境局",
    "综合受理窗口",
    "公积金中心",
    "水电气联办窗口",
    "商务局",
)

EVALUATORS = (
    "江西正衡绩效评价咨询有限公司",
    "江西赣评财务咨询有限公司",
    "江西同创会计师事务所有限公司",
    "中审华信会计师事务所江西分所",
    "江西明诚工程造价咨询有限公司",
)

MISSION = (
    "贯彻落实党中央及省委关于政务服务、电子政务、数据管理工作的方针政策和决策部署。"
    "承担着统筹推进全市政务服务体系建设和标准化建设、统筹推进“智慧城市”和“数字政府”建设"
)

FUNCTIONS = (
    "贯彻落实党中央及省委关于政务服务、电子政务、数据管理工作的方针政策和决策部署，拟订全市相关政策措施并组织实施。",
    "统筹推进全市政务服务体系建设和标准化建设，指导县（市、区）政务服务工作。",
    "统筹推进“智慧城市”和“数字政府”建设，组织编制相关规划并监督实施。",
    "负责推进全市行政审批制度改革，牵头深化“放管服”改革和优化营商环境相关工作。",
    "负责市政务服务中心的运行管理，组织协调进驻部门窗口开展政务服务。",
    "负责全市12345政务服务便民热线的统筹建设和运行管理。",
    "负责全市公共资源交易平台体系建设和运行服务。",
    "负责全市政务数据资源的归集、共享、开放和安全管理。",
    "负责全市电子政务外网、政务云等基础设施的统筹建设和运行管理。",
    "负责全市网上中介超市的建设、运行和管理。",
    "完成市委、市政府交办的其他任务。",
)
EXTRA_FUNCTION = "负责全市“赣服通”“惠企通”等平台的本地化建设和推广应用。"
SECTIONS = (
    "办公室",
    "政务服务综合科",
    "行政审批监管科",
    "政务数据管理科",
    "电子政务科",
    "数据资源科",
    "政策法规科",
)

POLICY_PARTS = {
    "财务管理制度": (
        "预算管理",
        "收入管理",
        "支出管理",
        "政府采购管理",
        "资产管理",
        "结余结转管理",
        "负债管理",
        "财务报告和财务分析",
        "财务监督",
        "内部控制",
    ),
    "资产管理制度": ("资产配置", "资产使用", "资产处置", "资产清查盘点"),
    "合同管理制度": ("合同订立", "合同履行", "合同归档"),
}

SMART_PARK_ITEMS = (
    "政策服务",
    "政务服务",
    "金融服务",
    "人才服务",
    "物业管理",
    "法律咨询",
    "市场中介",
    "园区招商",
)
SERVICE_MATTER_TASKS = {
    "一件事一次办": "全省部署“一件事”主题服务",
    "跨省通办": "“跨省通办”事项",
    "省内通办": "“省内通办”事项",
}
OTHER_TASKS = (
    ("政务服务标准化建设", "修订政务服务事项实施清单"),
    ("12345热线归并优化", "完成非紧急类热线归并"),
    ("政务数据共享", "新增共享数据目录"),
    ("营商环境优化", "开展营商环境专项督查"),
)

# Workpaper judgements for non-seed partitions: (indicator_id, finding_code, finding).
WORKPAPER_POOL = (
    ("target_reasonableness", "target_too_low", "部分绩效指标目标值低于上年实际完成值，目标设定偏保守。"),
    ("target_reasonableness", "target_not_in_remit", "部分部门整体绩效目标与部门履职关联度不高。"),
    (
        "planning_clarity",
        "planning_no_schedule",
        "《{city}“十四五”政务服务发展规划》实施内容未明确时间节点。",
    ),
    ("planning_clarity", "plan_mismatch_functions", "年度工作计划未完全覆盖部门职能。"),
    ("funds_compliance", "payment_procedure_incomplete", "部分资金拨付手续不完整，缺少审批签字。"),
    ("funds_compliance", "reimbursement_docs_missing", "部分报销凭证附件不齐全。"),
    ("funds_compliance", "use_not_as_approved", "个别项目资金使用与批复用途不一致。"),
    ("window_staffing", "assessment_rules_parallel", "窗口人员考核制度不够完善，考核结果运用不充分。"),
)

# (summary, payee) of a budget line's vouchers; {m} is the voucher's month, {y} the year before.
VOUCHER_TEXTS = {
    "基本工资及津贴补贴": (("发放{m}月工资及津贴补贴", "本单位职工"),),
    "社会保障缴费": (("缴纳{m}月社会保险费", "{city}社会保险事业管理中心"),),
    "退休费及抚恤金": (("发放{m}月退休费", "本单位退休人员"),),
    "日常公用经费": (
        ("支付办公用品采购费", "{city}文化办公用品有限公司"),
        ("支付水电费", "国网{city}供电公司"),
        ("支付网络通信费", "中国电信股份有限公司{city}分公司"),
        ("支付物业管理费", "{city}物业管理有限公司"),
        ("报销差旅费", "本单位职工"),
    ),
    "公务用车运行维护费": (
        ("支付公务用车燃油费", "中国石化销售股份有限公司江西{city}石油分公司"),
        ("支付公务用车维修费", "{city}汽车维修服务有限公司"),
        ("支付公务用车保险费", "中国人民财产保险股份有限公司{city}分公司"),
    ),
    "公务接待费": (("支付公务接待费", "{city}宾馆"),),
    AUDIT_LINE: (
        ("支付{y}年度财务审计服务费", "江西同创会计师事务所有限公司"),
        ("支付专项资金审计服务费", "中审华信会计师事务所江西分所"),
    ),
}
MONTHLY_ITEMS = ("基本工资及津贴补贴", "社会保障缴费", "退休费及抚恤金")
PROJECT_PAYEES = (
    "江西赣云科技有限公司",
    "{city}智慧城市运营有限公司",
    "江西数联信息技术有限公司",
    "江西博创软件有限公司",
    "{city}人力资源服务有限公司",
    "中国移动通信集团江西有限公司{city}分公司",
)
