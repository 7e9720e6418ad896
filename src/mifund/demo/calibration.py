"""Calibration of the synthetic demo municipality: every assumption as data, with its source.

The generator (mifund.demo.generate) reads only these constants, and the calibration test
(tests/test_demo_calibration.py) checks the generated files against TARGETS within the stated
tolerances. CALIBRATION.md beside this file explains them for people; keep the two in step.

Sources are named in each entry. "Reference" means ../shared/reference/README.md (published national
figures); "demo assumption" means a plausible value chosen for the demo, not a published figure.
"""

from __future__ import annotations

from dataclasses import dataclass

LATEST_YEAR = 2024
LEDGER_YEARS = tuple(range(2015, 2025))  # ten years of fund ledgers
CLAIM_YEAR = LATEST_YEAR  # one full year of claims

# -- the city: Nanchang (南昌市, GB/T 2260 360100) and its nine districts/counties ---------------------
# Real codes and names (the 2019 reorganisation: 湾里区 360105 merged into 新建区, 红谷滩区 360113 created).
# Everything about their people, hospitals, claims and money below is synthetic.
CITY = ("360100", "南昌市", "Nanchang")


@dataclass(frozen=True)
class County:
    code: str
    name: str
    name_en: str
    urban: bool  # a city district (tertiary hospitals concentrate there)
    pop_share: float  # share of the city's resident population (order of magnitude of the 2020 census)
    share_60: float  # share aged 60+ in LATEST_YEAR
    employee_share: float  # share of working-age (18-59) residents insured as employees
    support: float  # employee in-service (incl. flexible) : retired, LATEST_YEAR
    wage: float  # median monthly contribution base of in-service employees, yuan
    pop_growth: float  # annual resident-population growth
    resident_months: float  # resident pooled fund: months of expenditure in balance at end of LATEST_YEAR
    employee_months: float  # employee pooled fund: same


# pop_share: about the 2020 census populations (南昌市第七次全国人口普查公报) rounded; share_60, support,
# wage, growth, months: demo assumptions chosen so that the old industrial district and the two rural
# counties are older, poorer and closer to the safety line, and the new CBD district young and rich.
COUNTIES: tuple[County, ...] = (
    County("360102", "东湖区", "Donghu", True, 0.078, 0.215, 0.66, 2.3, 7200, 0.000, 9.0, 26.0),
    County("360103", "西湖区", "Xihu", True, 0.085, 0.205, 0.64, 2.5, 6900, 0.002, 8.5, 24.0),
    County("360104", "青云谱区", "Qingyunpu", True, 0.055, 0.245, 0.58, 1.7, 6200, -0.004, 6.5, 15.0),
    County("360111", "青山湖区", "Qingshanhu", True, 0.160, 0.150, 0.62, 3.6, 6600, 0.015, 10.0, 28.0),
    County("360112", "新建区", "Xinjian", False, 0.130, 0.185, 0.40, 2.8, 5400, 0.006, 7.5, 20.0),
    County("360113", "红谷滩区", "Honggutan", True, 0.090, 0.110, 0.70, 5.2, 8600, 0.030, 11.0, 32.0),
    County("360121", "南昌县", "Nanchang County", False, 0.210, 0.170, 0.42, 3.0, 5600, 0.010, 8.0, 22.0),
    County("360123", "安义县", "Anyi", False, 0.040, 0.265, 0.24, 1.6, 4300, -0.010, 4.5, 12.0),
    County("360124", "进贤县", "Jinxian", False, 0.152, 0.235, 0.26, 2.2, 4900, -0.006, 5.0, 14.0),
)

# -- age structure ----------------------------------------------------------------------------------
AGE_BANDS = ("0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
             "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85+")
BAND_LOW = tuple(int(b.split("-")[0].rstrip("+")) for b in AGE_BANDS)
# National age structure, 2020 census (第七次全国人口普查, % by 5-year band, rounded); the shape within
# 0-59 and within 60+ is kept, the 60+ share is set per county (COUNTIES.share_60).
CENSUS_2020_BANDS = (5.7, 6.4, 6.0, 5.2, 5.3, 6.5, 8.6, 7.0, 6.9, 8.3, 8.6, 7.0, 5.2, 5.0, 3.5, 2.2, 1.4, 1.0)
# Male share by band (census 2020 sex ratios, rounded): about 52% among the young, falling to 40% at 85+.
MALE_SHARE = (0.535, 0.535, 0.535, 0.535, 0.53, 0.52, 0.51, 0.51, 0.51, 0.505, 0.505, 0.50, 0.50, 0.49,
              0.48, 0.47, 0.45, 0.40)
SHARE_60_DRIFT = 0.0055  # the 60+ share rose about 0.55 points a year 2010-2020 (census 2010: 13.3%, 2020: 18.7%)
COVERAGE = 0.955  # insured / resident population (national basic-insurance coverage about 95%; NHSA bulletins)
RETIREMENT_AGE = {"M": 60, "F": 55}  # statutory (before the 2025 gradual reform); demo simplification
FLEXIBLE_SHARE = 0.14  # share of working employees insured as flexible workers (demo assumption)
STUDENT_AGES = (6, 22)  # resident category student (school and college), resident_minor below, demo assumption
COLLEGE_SHARE = 0.5  # share of 19-22 year old residents who are students

# Special groups among resident-scheme persons (demo assumptions near national orders of magnitude:
# about 40 million 低保, 4.7 million 特困 on 950 million resident insured; MCA statistics).
SPECIAL_GROUPS = {  # group: (urban share, rural share); low_income / relapse_risk per family, others per person
    "low_income": (0.018, 0.045),
    "extreme_poverty": (0.002, 0.007),
    "relapse_risk": (0.001, 0.006),
    "disabled": (0.009, 0.012),
}
HOUSEHOLD_SIZES = {1: 0.25, 2: 0.30, 3: 0.21, 4: 0.13, 5: 0.11}  # census 2020: 2.62 persons per household

# -- money --------------------------------------------------------------------------------------------
# Resident financing per person per year, yuan: (fiscal subsidy, individual contribution).
# 2021 and 2024 and 2022 fiscal: reference README (医保发〔2020〕32号 via 晋医保发〔2021〕14号;
# 医保发〔2024〕19号). The other years: the annual national notices on resident insurance (财社〔2015〕80号,
# 财社〔2016〕43号, 财社〔2017〕36号, 医保发〔2018〕2号, 医保发〔2019〕30号, 医保发〔2020〕24号,
# 医保发〔2022〕20号, 医保发〔2023〕24号), as commonly quoted; verify against the documents.
RESIDENT_FINANCING = {
    2015: (380, 120), 2016: (420, 150), 2017: (450, 180), 2018: (490, 220), 2019: (520, 250),
    2020: (550, 280), 2021: (580, 320), 2022: (610, 350), 2023: (640, 380), 2024: (670, 400),
}
# Employee contributions, share of the monthly contribution base (国发〔1998〕44号: employer about 6%,
# employee 2%; cities set employer rates of 6-8% -- 7% here is a demo assumption).
EMPLOYER_RATE = 0.07
EMPLOYEE_RATE = 0.02
FLEXIBLE_RATE = 0.09  # flexible workers pay both parts themselves (into income_individual)
WAGE_FLOOR, WAGE_CAP = 3450.0, 17250.0  # 60% / 300% of an average wage of about 5,750 yuan/month (demo)
WAGE_SIGMA = 0.45  # log-normal spread of contribution bases
WAGE_GROWTH = 0.06  # nominal annual growth of contribution bases back in time
# Individual accounts: before the reform in this city (years < ACCOUNT_REFORM_YEAR) the account received
# the employee's 2% plus 30% of the employer's contribution, retirees 4% of the average pension; after
# it (国办发〔2021〕14号, reference README) the employee's 2% only, retirees a fixed 2% of the pension.
ACCOUNT_REFORM_YEAR = 2023
PRE_REFORM_EMPLOYER_TO_ACCOUNT = 0.30
AVERAGE_PENSION = 3000.0  # yuan/month, LATEST_YEAR (demo assumption), grows 5% a year
RETIREE_ACCOUNT_RATE = {"pre": 0.04, "post": 0.02}
INTEREST_RATE = 0.015  # on the previous year's balance (demo assumption: deposit rates)

# Ledger history. The latest year's expenditure is derived from the claims; earlier years follow the
# year's contribution income times an expenditure/contribution ratio that rises towards the latest
# year's, so expenditure grows faster than income (the reference series: resident expenditure +31%
# 2020-2024 vs income +24%), faster in older counties. 2020: the pandemic dip in hospital use.
RESIDENT_RATIO_SLOPE = 0.012  # ratio points per year, plus the ageing term below
RESIDENT_RATIO_SLOPE_AGEING = 0.10  # x (county share_60 - 0.18)
RESIDENT_INSURED_DECLINE = 0.017  # resident insured fell about 1.7% a year 2020-2024 (reference ledger)
EMPLOYEE_RATIO_SLOPE = 0.006
PANDEMIC_DIP = {2020: 0.93}  # expenditure multiplier that year relative to trend
EMPLOYEE_INSURED_GROWTH = 0.025  # in-service growth per year (back in time: divide)
RETIRED_GROWTH = 0.045  # retirees grow faster: the support ratio falls over the decade
PRE_REFORM_ACCOUNT_SPENDING = 0.60  # accounts spent about 60% of their income before the reform (demo)
ACCOUNT_MONTHS = 30.0  # account balance, months of expenditure (national 2024: 1447 / 588 x 12 = 29.5)
MIN_OPENING_MONTHS = 1.0  # the 2014 opening balance is never below one month of 2015 expenditure

# Expenditure outside the claims (share of the fund's total expenditure): resident fund pays the
# catastrophic-insurance premium (大病保险, about 5-8% of the resident fund in many cities) and
# cross-provincial settlements not in the city's claim files; employee pooled fund cross-provincial
# and large-amount settlements; accounts family-sharing and other payments. Demo assumptions.
OUTSIDE_CLAIMS_SHARE = {("resident", "pooled"): 0.12, ("employee", "pooled"): 0.06, ("employee", "account"): 0.08}

# -- utilisation and costs -------------------------------------------------------------------------
# Admissions per person-year by age band. Hospital admissions were about 0.21 per resident in 2023
# (国家卫生健康委《2023年我国卫生健康事业发展统计公报》: 3.0 亿 admissions on 14.1 亿 people); the age
# profile (U-shaped, rising steeply after 60) is a demo assumption with that order of magnitude.
ADMISSION_RATE = (0.16, 0.06, 0.04, 0.05, 0.07, 0.10, 0.11, 0.09, 0.09, 0.11, 0.13, 0.16,
                  0.21, 0.27, 0.34, 0.42, 0.50, 0.56)
# General outpatient visits settled through the insurance, per person-year (national outpatient visits
# were about 6.8 per person in 2023 -- 95.5 亿 visits, same bulletin -- of which part are settled as
# general outpatient claims; chronic outpatient and pharmacy are separate below). Demo assumption.
OUTPATIENT_RATE = (3.8, 2.4, 1.6, 1.3, 1.4, 1.7, 1.9, 2.0, 2.2, 2.6, 3.0, 3.4, 4.0, 4.5, 5.0, 5.4, 5.6, 5.6)
CHRONIC_PREVALENCE = (0, 0, 0, 0, 0.002, 0.004, 0.008, 0.015, 0.03, 0.06, 0.10, 0.15, 0.22, 0.28,
                      0.33, 0.37, 0.40, 0.40)  # registered 门诊慢特病 patients (demo assumption)
CHRONIC_VISITS = 9.0  # per chronic patient per year (monthly-ish refills)
PHARMACY_RATE = {"employee": 3.5, "resident": 0.5}  # designated-pharmacy purchases per person-year
# Mean total cost per admission by provider level, yuan: 2023 health statistics bulletin (above):
# tertiary hospitals about 13,300, secondary about 6,600; primary / township about 3,500 (demo rounding).
ADMISSION_COST = {3: 13300.0, 2: 6600.0, 1: 3500.0}
ADMISSION_SIGMA = 0.75  # log-normal spread
LOS_MEAN = {3: 8.5, 2: 8.0, 1: 7.0}  # average length of stay, days (same bulletin: hospitals about 8-9)
# Mean cost per outpatient visit by level: same bulletin (tertiary about 420, secondary about 270,
# community / township 100-170); chronic and pharmacy are demo assumptions.
OUTPATIENT_COST = {3: 420.0, 2: 270.0, 1: 150.0, "clinic": 110.0}
CHRONIC_COST = 480.0
PHARMACY_COST = 130.0
VISIT_SIGMA = 0.6
AGE_COST_FACTOR = (0.55, 0.6, 0.65, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0, 1.0, 1.05, 1.05, 1.1, 1.1, 1.1, 1.05, 1.0, 0.95)
# Where people are admitted: share by level (urban districts / rural counties); tertiary beds sit in
# the city districts, so rural patients travel. Demo assumption.
ADMISSION_LEVEL_MIX = {True: (0.12, 0.33, 0.55), False: (0.30, 0.45, 0.25)}  # (level 1, 2, 3)
OUTPATIENT_PROVIDER_MIX = {True: (0.45, 0.20, 0.15, 0.20), False: (0.60, 0.20, 0.12, 0.08)}  # clinic, L1, L2, L3
# Seasonality (claims per day, relative): winter peak of respiratory illness, February's Spring
# Festival dip, a summer trough. Demo assumption consistent with NHSA monthly settlement data.
MONTH_WEIGHT = (1.22, 0.92, 1.06, 1.00, 0.97, 0.94, 0.90, 0.90, 0.96, 0.97, 1.04, 1.20)

# Catalogue-class mix in billed amounts and the B-class co-pay first (乙类先行自付), demo assumptions:
COPAY_FIRST_RATE = 0.10  # 10% of class-B amounts paid by the patient before the fund (common rate)

@dataclass(frozen=True)
class Target:
    name: str
    value: float
    tolerance: float  # absolute, in the target's unit
    unit: str
    source: str


# What the calibration test checks on the generated small municipality.
TARGETS: tuple[Target, ...] = (
    Target("resident_financing_per_person_2024", 1070.0, 1.0, "yuan/person",
           "医保发〔2024〕19号: fiscal 670 + individual 400 (reference README)"),
    Target("resident_financing_per_person_2021", 900.0, 1.0, "yuan/person",
           "医保发〔2020〕32号 as quoted by 晋医保发〔2021〕14号: 580 + 320 (reference README)"),
    Target("employee_support_ratio_city_2024", 2.63, 0.35, "in-service per retired",
           "NHSA 2024 statistical bulletin: 2.63 nationally (reference README); city mix of county values"),
    Target("employer_rate", EMPLOYER_RATE, 0.0005, "share of wage base", "国发〔1998〕44号 (about 6%), city 6-8%"),
    Target("employee_rate", EMPLOYEE_RATE, 0.0005, "share of wage base", "国发〔1998〕44号: 2%"),
    Target("share_60_city", 0.1876, 0.012, "share",
           "population-weighted county assumptions (COUNTIES.share_60), around the 2020 census 18.7% (national)"),
    Target("admissions_per_insured", 0.17, 0.03, "per person-year",
           "2023 health statistics bulletin: about 0.21 hospital admissions per resident, of which the demo "
           "keeps those settled in the city's claims (demo assumption: about 0.17)"),
    Target("cost_per_admission_level3", ADMISSION_COST[3], 0.12 * ADMISSION_COST[3], "yuan", "2023 health statistics bulletin"),
    Target("cost_per_admission_level2", ADMISSION_COST[2], 0.12 * ADMISSION_COST[2], "yuan", "2023 health statistics bulletin"),
    Target("cost_per_admission_level1", ADMISSION_COST[1], 0.15 * ADMISSION_COST[1], "yuan", "2023 health statistics bulletin (rounded)"),
    Target("outpatient_visits_per_insured", 3.3, 0.35, "per person-year", "demo assumption (part of 6.8 visits per person, 2023 bulletin)"),
    Target("resident_inpatient_fund_share_of_scope", 0.70, 0.08, "share",
           "reference README: 69.3% policy-scope reimbursement (2021), 68.3% in-catalogue fund share (2022)"),
    Target("winter_to_summer_claims_per_day", 1.34, 0.1, "ratio",
           "demo seasonality (Dec+Jan vs Jul+Aug claims per day)"),
)
