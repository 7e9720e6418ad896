"""Static demo data: catalogue items and diagnoses (synthetic codes, real-world names).

Item codes are synthetic (XD drugs, SV services, CM materials), not the national 医保编码. Diagnoses
use real ICD-10 codes (national insurance edition style) with their usual Chinese names.
"""

from __future__ import annotations

# code, name, category, class, sex, min_age, max_age, max_daily_quantity, price_cap, reference unit price,
# pools (I inpatient, O outpatient, C chronic, P pharmacy; R: restricted item, only by sex/age)
ITEMS = (
    ("XD000101", "阿莫西林胶囊", "drug", "A", None, None, None, 4, None, 18.0, "IOP"),
    ("XD000102", "头孢呋辛酯片", "drug", "B", None, None, None, 3, None, 32.0, "IOP"),
    ("XD000103", "左氧氟沙星注射液", "drug", "B", None, 18, None, 2, None, 45.0, "I"),
    ("XD000104", "注射用头孢曲松钠", "drug", "A", None, None, None, 4, None, 28.0, "I"),
    ("XD000105", "盐酸二甲双胍片", "drug", "A", None, None, None, 3, None, 15.0, "OCP"),
    ("XD000106", "苯磺酸氨氯地平片", "drug", "A", None, None, None, 2, None, 22.0, "OCP"),
    ("XD000107", "阿托伐他汀钙片", "drug", "B", None, None, None, 2, None, 38.0, "OCP"),
    ("XD000108", "门冬胰岛素注射液", "drug", "B", None, None, None, 2, None, 68.0, "ICP"),
    ("XD000109", "奥美拉唑肠溶胶囊", "drug", "A", None, None, None, 2, None, 20.0, "IOCP"),
    ("XD000110", "硫酸氢氯吡格雷片", "drug", "B", None, None, None, 2, None, 55.0, "ICP"),
    ("XD000111", "0.9%氯化钠注射液", "drug", "A", None, None, None, 6, None, 4.5, "IO"),
    ("XD000112", "复方丹参滴丸", "drug", "B", None, None, None, 3, None, 26.0, "OCP"),
    ("XD000113", "连花清瘟胶囊", "drug", "B", None, None, None, 3, None, 24.0, "OP"),
    ("XD000114", "注射用紫杉醇（白蛋白结合型）", "drug", "B", None, 18, None, 2, None, 780.0, "I"),
    ("XD000115", "人血白蛋白注射液", "drug", "B", None, None, None, 3, None, 390.0, "I"),
    ("XD000116", "缬沙坦胶囊", "drug", "A", None, None, None, 2, None, 30.0, "OCP"),
    ("XD000117", "维生素C片", "drug", "C", None, None, None, 6, None, 6.0, "OP"),
    ("XD000118", "某进口营养补充剂", "drug", "C", None, None, None, 3, None, 120.0, "IP"),
    ("XD000119", "甲钴胺片", "drug", "B", None, None, None, 3, None, 28.0, "OCP"),
    ("XD000120", "布洛芬片", "drug", "A", None, 12, None, 3, None, 12.0, "OP"),
    ("XD000201", "小儿布洛芬混悬液", "drug", "A", None, None, 12, 3, None, 16.0, "R"),
    ("XD000202", "小儿氨酚黄那敏颗粒", "drug", "B", None, None, 14, 3, None, 14.0, "R"),
    ("XD000203", "黄体酮注射液", "drug", "B", "F", 14, 55, 2, None, 30.0, "R"),
    ("XD000204", "缩宫素注射液", "drug", "A", "F", 15, 55, 2, None, 12.0, "R"),
    ("XD000205", "盐酸坦索罗辛缓释胶囊", "drug", "B", "M", 18, None, 2, None, 48.0, "R"),
    ("XD000206", "非那雄胺片", "drug", "B", "M", 18, None, 2, None, 52.0, "R"),
    ("XD000207", "雌二醇片", "drug", "B", "F", 18, None, 2, None, 36.0, "R"),
    ("SV000301", "普通门诊诊查费", "service", "A", None, None, None, None, 30.0, 15.0, "OC"),
    ("SV000302", "住院诊查费", "service", "A", None, None, None, None, 40.0, 25.0, "I"),
    ("SV000303", "床位费（普通病房）", "service", "A", None, None, None, None, 80.0, 50.0, "I"),
    ("SV000304", "Ⅰ级护理", "service", "A", None, None, None, None, 60.0, 40.0, "I"),
    ("SV000305", "血细胞分析（血常规）", "service", "A", None, None, None, None, 30.0, 20.0, "IOC"),
    ("SV000306", "尿液分析", "service", "A", None, None, None, None, 20.0, 12.0, "IO"),
    ("SV000307", "肝功能检测", "service", "A", None, None, None, None, 120.0, 80.0, "IOC"),
    ("SV000308", "X线计算机体层（CT）平扫", "service", "B", None, None, None, None, 350.0, 240.0, "IO"),
    ("SV000309", "磁共振（MRI）平扫", "service", "B", None, None, None, None, 700.0, 480.0, "IO"),
    ("SV000310", "彩色多普勒超声检查", "service", "A", None, None, None, None, 260.0, 160.0, "IO"),
    ("SV000311", "常规心电图检查", "service", "A", None, None, None, None, 40.0, 25.0, "IOC"),
    ("SV000312", "静脉输液", "service", "A", None, None, None, None, 20.0, 10.0, "IO"),
    ("SV000313", "手术费（三级手术）", "service", "A", None, None, None, None, 4500.0, 3000.0, "I"),
    ("SV000314", "全身麻醉", "service", "A", None, None, None, None, 1800.0, 1200.0, "I"),
    ("SV000315", "经皮冠状动脉支架植入术", "service", "B", None, 18, None, None, 6000.0, 4200.0, "I"),
    ("SV000316", "血液透析", "service", "B", None, None, None, None, 500.0, 400.0, "IC"),
    ("SV000317", "针灸（中医）", "service", "B", None, None, None, None, 60.0, 40.0, "OC"),
    ("SV000318", "特需病房床位费", "service", "C", None, None, None, None, None, 400.0, "I"),
    ("SV000401", "前列腺特异性抗原（PSA）测定", "service", "B", "M", 40, None, None, 120.0, 80.0, "R"),
    ("SV000402", "宫颈细胞学检查", "service", "B", "F", 18, None, None, 160.0, 110.0, "R"),
    ("SV000403", "产前常规检查", "service", "A", "F", 15, 55, None, 200.0, 120.0, "R"),
    ("SV000404", "新生儿听力筛查", "service", "A", None, None, 1, None, 80.0, 60.0, "R"),
    ("CM000501", "一次性使用输液器", "material", "A", None, None, None, None, 8.0, 4.0, "IO"),
    ("CM000502", "静脉留置针", "material", "B", None, None, None, None, 40.0, 28.0, "I"),
    ("CM000503", "医用敷料", "material", "B", None, None, None, None, 30.0, 18.0, "IO"),
    ("CM000504", "冠脉药物洗脱支架（集采）", "material", "B", None, 18, None, None, 800.0, 700.0, "I"),
    ("CM000505", "人工髋关节（集采）", "material", "B", None, 18, None, None, 9000.0, 7200.0, "I"),
    ("CM000506", "进口可吸收缝线", "material", "C", None, None, None, None, None, 350.0, "I"),
    ("CM000507", "一次性使用吻合器", "material", "B", None, None, None, None, 3000.0, 2200.0, "I"),
)

# ICD-10 code, name, visit kinds (I, O, C), sex, min age, max age, weights (child <15, adult 15-59, old 60+)
DIAGNOSES = (
    ("J18.9", "肺炎", "IO", None, 0, 120, (8, 3, 6)),
    ("J06.9", "急性上呼吸道感染", "O", None, 0, 120, (12, 8, 5)),
    ("J20.9", "急性支气管炎", "IO", None, 0, 120, (6, 3, 4)),
    ("J44.9", "慢性阻塞性肺疾病", "IOC", None, 40, 120, (0, 1, 6)),
    ("I10", "原发性高血压", "OC", None, 18, 120, (0, 5, 9)),
    ("E11.9", "2型糖尿病", "IOC", None, 18, 120, (0, 3, 7)),
    ("I25.1", "动脉粥样硬化性心脏病", "IC", None, 35, 120, (0, 2, 7)),
    ("I63.9", "脑梗死", "IC", None, 35, 120, (0, 1, 7)),
    ("K29.7", "胃炎", "IO", None, 10, 120, (1, 5, 3)),
    ("K35.8", "急性阑尾炎", "I", None, 5, 120, (3, 3, 1)),
    ("S72.0", "股骨颈骨折", "I", None, 40, 120, (0, 0.3, 2)),
    ("M17.9", "膝关节病", "IO", None, 40, 120, (0, 1, 4)),
    ("C34.9", "支气管或肺恶性肿瘤", "IC", None, 30, 120, (0, 0.5, 2)),
    ("N18.9", "慢性肾脏病", "IC", None, 18, 120, (0, 0.5, 1.5)),
    ("O80", "单胎顺产", "I", "F", 18, 45, (0, 4, 0)),
    ("N40", "前列腺增生", "IO", "M", 45, 120, (0, 0.5, 3)),
    ("A09", "感染性腹泻和胃肠炎", "IO", None, 0, 120, (6, 2, 2)),
    ("K02.9", "龋病", "O", None, 3, 120, (4, 2, 1)),
)

# an upcoded (more severe, better paid) variant of a diagnosis, used by the planted upcoding providers
UPCODE = {"J18.9": "J96.0", "J20.9": "J18.9", "K29.7": "K25.0", "I10": "I11.0", "E11.9": "E11.5",
          "J06.9": "J18.9", "A09": "A04.9", "M17.9": "M17.0", "I25.1": "I21.9"}
