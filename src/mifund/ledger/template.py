"""The fund-ledger data-entry workbook (基金收支台账填报模板), written with XlsxWriter.

``mifund ledger template out.xlsx`` writes:

* sheet 1 "基金收支 fund_ledger": one column per contract.FUND_LEDGER column, headed
  ``中文名（english_name）`` (e.g. ``基金收入（income_total）``; the importer takes the text inside
  the full-width brackets), required columns in bold on orange, a comment on every header (English
  and Chinese description, unit, required or not), drop-downs and range checks on the first
  DATA_ROWS rows, number formats with thousands separators, the header row frozen;
* a hidden "lists" sheet holding the drop-down lists (``employee 职工医保``, ``pooled 统筹基金``,
  ``110000 北京市`` …: the code first, so the importer can take the text before the first space);
* "说明 README": the columns, units, keys, the balance identity and how to import, in zh and en.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pandas as pd
import xlsxwriter

from mifund.contract import AMOUNT, CODE6, ENUM, FUND_LEDGER, INT, STR, Column

DATA_ROWS = 1000
LANGS = ("bilingual", "zh", "en")
LISTS_SHEET = "lists"
SHEET_NAMES = {
    "bilingual": ("基金收支 fund_ledger", "说明 README"),
    "zh": ("基金收支", "说明"),
    "en": ("fund_ledger", "README"),
}

# English and Chinese descriptions of every fund_ledger column (contract.py names and types them).
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "region_code": ("Administrative division code (GB/T 2260, 6 digits, kept as text); 000000 = the whole country",
                    "6位统一行政区划代码（GB/T 2260），按文本填写；000000 表示全国"),
    "year": ("Year of the figures, e.g. 2024", "数据所属年度，如 2024"),
    "month": ("Month 1-12 for a monthly row; leave empty for a whole-year row",
              "月报填 1—12；年度数据留空"),
    "scheme": ("Scheme: employee (employee basic medical insurance) or resident (urban-rural resident basic medical insurance)",
               "险种：职工医保（职工基本医疗保险）或居民医保（城乡居民基本医疗保险）"),
    "fund": ("Fund: pooled (pooled fund), account (individual account, employee scheme only) or combined "
             "(pooled + account reported together; never beside pooled/account rows of the same region, year and scheme)",
             "基金：统筹基金、个人账户（仅职工医保）或统账合计（统筹基金与个人账户合并填报时使用，不能与同一地区、年度、险种的统筹/账户分列行并存）"),
    "insured": ("Persons insured in the scheme at period end (the same figure on the pooled and account rows)",
                "期末参保人数（同一险种的统筹基金行与个人账户行填同一人数）"),
    "insured_in_service": ("Insured in-service employees (employee scheme)", "在职参保人数（职工医保）"),
    "insured_retired": ("Insured retirees (employee scheme)", "退休参保人数（职工医保）"),
    "income_total": ("Fund income, total", "基金收入合计"),
    "income_individual": ("Individual contributions (part of income_total)", "个人缴费收入（基金收入的一部分）"),
    "income_employer": ("Employer contributions (part of income_total)", "单位缴费收入（基金收入的一部分）"),
    "income_fiscal_subsidy": ("Fiscal subsidy (part of income_total)", "财政补助收入（基金收入的一部分）"),
    "income_interest": ("Interest income (part of income_total)", "利息收入（基金收入的一部分）"),
    "income_other": ("Other income (part of income_total)", "其他收入（基金收入的一部分）"),
    "expenditure_total": ("Fund expenditure, total", "基金支出合计"),
    "expenditure_inpatient": ("Inpatient expenditure (part of expenditure_total)", "住院支出（基金支出的一部分）"),
    "expenditure_outpatient": ("Outpatient expenditure (part of expenditure_total)", "门诊支出（基金支出的一部分）"),
    "expenditure_other": ("Other expenditure (part of expenditure_total)", "其他支出（基金支出的一部分）"),
    "balance_end": ("Accumulated balance at period end (may be negative)", "期末累计结存（可为负数）"),
    "source": ("Where the figures were published (bulletin, report), kept for traceability",
               "数据来源（公报、快报、决算等），便于追溯"),
}

_HEADER_RE = re.compile(r"[（(]\s*([A-Za-z_][A-Za-z0-9_]*)\s*[)）]\s*$")


def header_text(col: Column, lang: str = "bilingual") -> str:
    """The header cell of a column: '基金收入（income_total）' (plain 'income_total' for lang='en')."""
    return col.name if lang == "en" else f"{col.zh}（{col.name}）"


def column_name(header: str) -> str:
    """The contract column name in a template header: the text inside the closing （）, else the header."""
    m = _HEADER_RE.search(str(header).strip())
    return m.group(1) if m else str(header).strip()


def _unit(col: Column) -> tuple[str, str]:
    if col.type == AMOUNT:
        return "yuan (元), two decimals", "元，保留两位小数"
    if col.type == CODE6:
        return "6-digit code, as text", "6位代码，文本"
    if col.type == ENUM:
        return "choose from the drop-down list", "从下拉列表选择"
    if col.name == "year":
        return "year", "年"
    if col.name == "month":
        return "month 1-12", "月，1—12"
    if col.type == INT:
        return "persons", "人"
    return "text", "文本"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _region_labels(regions: pd.DataFrame | None) -> list[str]:
    if regions is None or len(regions) == 0:
        return []
    if "region_code" not in regions.columns:
        raise ValueError("regions needs a region_code column (and name)")
    name_col = next((c for c in ("name", "region_name") if c in regions.columns), None)
    df = pd.DataFrame({
        "code": regions["region_code"].astype(str).str.strip().str.zfill(6),
        "name": regions[name_col].fillna("").astype(str).str.strip() if name_col else "",
    }).drop_duplicates("code").sort_values("code")
    return [f"{c} {n}".strip() for c, n in zip(df["code"], df["name"], strict=True)]


def _comment(col: Column, lang: str) -> str:
    en, zh = DESCRIPTIONS.get(col.name, (col.description or col.name, col.zh))
    u_en, u_zh = _unit(col)
    lines = [f"{col.name} — {col.zh}"]
    if lang in ("bilingual", "en"):
        lines += [en + ".", f"Unit: {u_en}.", "Required." if col.required else "Optional (may be left empty or deleted)."]
    if lang in ("bilingual", "zh"):
        lines += [zh + "。", f"单位：{u_zh}。", "必填。" if col.required else "选填（可留空或删除此列）。"]
    return "\n".join(lines)


def _msg(lang: str, zh: str, en: str, limit: int) -> str:
    text = {"zh": zh, "en": en}.get(lang, f"{zh} {en}")
    return text[:limit]


def _validation(col: Column, col_idx: int, lang: str, lists: dict[str, str], has_regions: bool) -> dict | None:
    """XlsxWriter data_validation options for a column (None: no check)."""
    title = _msg(lang, col.zh, col.name, 32)
    if col.name == "region_code":
        if has_regions:
            return {"validate": "list", "source": lists["region_code"], "error_type": "warning",
                    "input_title": title,
                    "input_message": _msg(lang, "从列表选择行政区划（可直接输入6位代码）。",
                                          "Pick a region from the list (or type its 6-digit code).", 255),
                    "error_message": _msg(lang, "不在行政区划列表中。", "Not in the region list.", 255)}
        cell = xlsxwriter.utility.xl_rowcol_to_cell(1, col_idx, row_abs=False, col_abs=False)
        return {"validate": "custom", "value": f"=AND(LEN({cell})=6,ISNUMBER(--{cell}))",
                "input_title": title,
                "input_message": _msg(lang, "6位行政区划代码（GB/T 2260），如 110000；000000 表示全国。",
                                      "6-digit GB/T 2260 code, e.g. 110000; 000000 = whole country.", 255),
                "error_title": title,
                "error_message": _msg(lang, "请填写6位数字代码。", "Enter a 6-digit numeric code.", 255)}
    if col.type == ENUM:
        return {"validate": "list", "source": lists[col.name], "input_title": title,
                "input_message": _msg(lang, "从下拉列表选择。", "Choose from the drop-down list.", 255),
                "error_title": title,
                "error_message": _msg(lang, "请从下拉列表选择。", "Choose a value from the drop-down list.", 255)}
    if col.type == INT:
        lo = int(col.min) if col.min is not None else -(10**15)
        hi = int(col.max) if col.max is not None else 10**15
        opts = {"validate": "integer", "criteria": "between", "minimum": lo, "maximum": hi}
        if col.max is None:
            opts = {"validate": "integer", "criteria": ">=", "value": lo}
        return {**opts, "input_title": title,
                "input_message": _msg(lang, f"整数，{lo}—{hi}。" if col.max is not None else f"整数，不小于 {lo}。",
                                      f"Whole number, {lo}-{hi}." if col.max is not None else f"Whole number >= {lo}.", 255),
                "error_title": title,
                "error_message": _msg(lang, "请填写范围内的整数。", "Enter a whole number in range.", 255)}
    if col.type == AMOUNT:
        if col.min is not None:
            opts = {"validate": "decimal", "criteria": ">=", "value": col.min}
            zh, en = f"金额（元），不小于 {col.min:g}。", f"Amount in yuan, >= {col.min:g}."
        else:
            lim = col.max if col.max is not None else 1e16
            opts = {"validate": "decimal", "criteria": "between", "minimum": -lim, "maximum": lim}
            zh, en = "金额（元），可为负数。", "Amount in yuan; may be negative."
        return {**opts, "input_title": title, "input_message": _msg(lang, zh, en, 255), "error_title": title,
                "error_message": _msg(lang, "请填写数字金额（元）。", "Enter an amount in yuan.", 255)}
    return None


def _readme_rows(lang: str, data_sheet: str) -> list[tuple[str, str]]:
    """(style, text) lines of the README sheet."""
    zh, en = lang in ("bilingual", "zh"), lang in ("bilingual", "en")
    rows: list[tuple[str, str]] = []

    def add(style: str, z: str | None = None, e: str | None = None) -> None:
        if zh and z:
            rows.append((style, z))
        if en and e:
            rows.append((style, e))

    add("title", "基本医疗保险基金收支台账填报模板（mifund）", "Basic medical insurance fund ledger: data-entry template (mifund)")
    rows.append(("text", ""))
    add("h", "一、填写方法", "1. How to fill it in")
    add("text", f"在工作表「{data_sheet}」中每行填写一个地区 × 年度（× 月份）× 险种 × 基金的数据，从第2行开始，不要修改第1行表头。",
        f"On the sheet '{data_sheet}', one row per region × year (× month) × scheme × fund, from row 2; do not change the header row.")
    add("text", "橙色加粗表头为必填列，蓝色表头为选填列（可留空，也可删除整列）；可增加其他列，导入时忽略。",
        "Bold orange headers are required; blue headers are optional (leave empty or delete the column). Extra columns are ignored on import.")
    add("text", "险种、基金、行政区划请从下拉列表选择；列表值以代码开头（如 “employee 职工医保”），导入时取第一个空格前的代码。",
        "Pick scheme, fund and region from the drop-downs; each value starts with its code (e.g. 'employee 职工医保'); the code before the first space is what is imported.")
    add("text", "年度数据月份留空；月报数据填 1—12 月。", "Leave month empty for a whole-year row; 1-12 for a monthly row.")
    rows.append(("text", ""))
    add("h", "二、单位", "2. Units")
    add("text", "金额一律以“元”为单位，保留两位小数；人数以“人”为单位。若手中数据为万元或亿元，导入时加 --unit wan 或 --unit yi。",
        "Amounts in yuan, two decimals; persons in persons. If your figures are in 万元 / 亿元, import with --unit wan or --unit yi.")
    add("text", "行政区划代码为6位文本（GB/T 2260），000000 表示全国。", "Region codes are 6-digit text (GB/T 2260); 000000 = the whole country.")
    rows.append(("text", ""))
    add("h", "三、勾稽关系", "3. Identities")
    add("text", "累计结存：本期期末结存 = 上期期末结存 + 本期基金收入 − 本期基金支出，允许误差为结存的 0.5%；超出时导入给出警告（不会静默通过）。",
        "Balance identity: balance_end(t) = balance_end(t-1) + income_total(t) - expenditure_total(t), within 0.5% of the balance; "
        "a breach is reported as a warning on import, never passed silently.")
    add("text", "各项收入之和不超过基金收入合计，各项支出之和不超过基金支出合计。",
        "Income parts never exceed income_total; expenditure parts never exceed expenditure_total.")
    add("text", "个人账户（account）仅用于职工医保；统账合计（combined）不能与同一键的统筹基金、个人账户行同时出现。",
        "Fund 'account' is for the employee scheme only; 'combined' never appears beside pooled/account rows of the same key.")
    add("text", "同一地区、年度、月份、险种、基金只能有一行。", "One row per region, year, month, scheme and fund.")
    rows.append(("text", ""))
    add("h", "四、导入", "4. Import")
    add("text", "保存后在命令行运行：mifund import 文件名.xlsx（读取第一个工作表；整批导入，任何错误都不写入并指出文件、行、列）。",
        "Save, then run: mifund import FILE.xlsx (the first sheet is read; all or nothing: any error writes nothing and names the file, row and column).")
    add("text", "导入后可用 mifund indicators 查看基金运行指标，用 mifund warnings 查看风险预警。",
        "Then `mifund indicators` shows the fund indicators and `mifund warnings` the early warnings.")
    rows.append(("text", ""))
    add("h", "五、字段说明", "5. Columns")
    return rows


def write_ledger_template(path, *, regions: pd.DataFrame | None = None, lang: str = "bilingual") -> None:
    """Write the fund-ledger entry workbook to `path` (.xlsx).

    regions: a regions table (region_code, name): the region column gets a drop-down of
    '110000 北京市' labels; without it, a 6-digit check with an input message.
    lang: 'bilingual' (default), 'zh' or 'en' (headers, comments, messages and README).
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    data_name, readme_name = SHEET_NAMES[lang]
    region_labels = _region_labels(regions)
    columns = FUND_LEDGER.columns

    wb = xlsxwriter.Workbook(str(Path(path)))
    try:
        ws = wb.add_worksheet(data_name)
        readme = wb.add_worksheet(readme_name)
        lists_ws = wb.add_worksheet(LISTS_SHEET)

        # -- lists ---------------------------------------------------------------------------
        list_values = {
            "region_code": region_labels,
            "scheme": [FUND_LEDGER.column("scheme").label(c) for c in FUND_LEDGER.column("scheme").values],
            "fund": [FUND_LEDGER.column("fund").label(c) for c in FUND_LEDGER.column("fund").values],
        }
        list_heads = {"region_code": "region 行政区划", "scheme": "scheme 险种", "fund": "fund 基金"}
        list_refs: dict[str, str] = {}
        bold = wb.add_format({"bold": True})
        text_fmt = wb.add_format({"num_format": "@"})
        for j, (name, values) in enumerate(list_values.items()):
            lists_ws.write_string(0, j, list_heads[name], bold)
            for i, v in enumerate(values, start=1):
                lists_ws.write_string(i, j, v, text_fmt)
            lists_ws.set_column(j, j, max([_width(v) for v in values] + [16]) + 2)
            if values:
                top = xlsxwriter.utility.xl_rowcol_to_cell(1, j, row_abs=True, col_abs=True)
                bottom = xlsxwriter.utility.xl_rowcol_to_cell(len(values), j, row_abs=True, col_abs=True)
                list_refs[name] = f"={LISTS_SHEET}!{top}:{bottom}"
        lists_ws.hide()

        # -- data sheet ----------------------------------------------------------------------
        head_base = {"text_wrap": True, "valign": "vcenter", "align": "center", "border": 1}
        head_req = wb.add_format({**head_base, "bold": True, "bg_color": "#F4B183", "font_color": "#000000"})
        head_opt = wb.add_format({**head_base, "bg_color": "#DDEBF7"})
        formats = {
            "text": wb.add_format({"num_format": "@"}),
            "int": wb.add_format({"num_format": "#,##0"}),
            "plain_int": wb.add_format({"num_format": "0"}),
            "amount": wb.add_format({"num_format": "#,##0.00"}),
            "general": wb.add_format({}),
        }
        ws.set_row(0, 36)
        for j, col in enumerate(columns):
            head = header_text(col, lang)
            ws.write_string(0, j, head, head_req if col.required else head_opt)
            ws.write_comment(0, j, _comment(col, lang), {"x_scale": 2.2, "y_scale": 2.0})
            if col.type in (CODE6, STR):
                fmt = formats["text"]
            elif col.type == AMOUNT:
                fmt = formats["amount"]
            elif col.type == INT:
                fmt = formats["plain_int"] if col.name in ("year", "month") else formats["int"]
            else:
                fmt = formats["general"]
            width = max(_width(head) + 2, 12)
            if col.name == "region_code" and region_labels:
                width = max(width, max(_width(v) for v in region_labels) + 3)
            if col.type == ENUM:
                width = max(width, max(_width(v) for v in list_values[col.name]) + 3)
            if col.name == "source":
                width = 40
            ws.set_column(j, j, min(width, 48), fmt)
            opts = _validation(col, j, lang, list_refs, bool(region_labels))
            if opts:
                ws.data_validation(1, j, DATA_ROWS, j, opts)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, 0, len(columns) - 1)
        ws.activate()

        # -- README --------------------------------------------------------------------------
        styles = {
            "title": wb.add_format({"bold": True, "font_size": 14}),
            "h": wb.add_format({"bold": True, "font_size": 12}),
            "text": wb.add_format({"text_wrap": True, "valign": "top"}),
            "th": wb.add_format({"bold": True, "bg_color": "#D9D9D9", "border": 1, "text_wrap": True}),
            "td": wb.add_format({"border": 1, "text_wrap": True, "valign": "top"}),
            "td_req": wb.add_format({"border": 1, "text_wrap": True, "valign": "top", "bold": True, "bg_color": "#F4B183"}),
        }
        readme.set_column(0, 0, 26)
        readme.set_column(1, 1, 16)
        readme.set_column(2, 2, 12)
        readme.set_column(3, 3, 22)
        readme.set_column(4, 4, 90)
        r = 0
        for style, text in _readme_rows(lang, data_name):
            if style in ("title", "h"):
                readme.write_string(r, 0, text, styles[style])
            elif text:
                readme.merge_range(r, 0, r, 4, text, styles["text"])
                readme.set_row(r, 30 if _width(text) > 150 else None)
            r += 1
        zh, en = lang in ("bilingual", "zh"), lang in ("bilingual", "en")
        heads = ["表头 header", "列名 column", "必填 required", "单位 unit", "说明 description"]
        if lang == "zh":
            heads = ["表头", "列名", "必填", "单位", "说明"]
        elif lang == "en":
            heads = ["header", "column", "required", "unit", "description"]
        for j, h in enumerate(heads):
            readme.write_string(r, j, h, styles["th"])
        r += 1
        for col in columns:
            d_en, d_zh = DESCRIPTIONS.get(col.name, (col.description or col.name, col.zh))
            u_en, u_zh = _unit(col)
            req = ("是 yes" if col.required else "否 no") if lang == "bilingual" else (
                ("是" if col.required else "否") if lang == "zh" else ("yes" if col.required else "no"))
            unit = " / ".join(x for x in ((u_zh if zh else None), (u_en if en else None)) if x)
            desc = "\n".join(x for x in ((d_zh if zh else None), (d_en if en else None)) if x)
            fmt = styles["td_req"] if col.required else styles["td"]
            readme.write_string(r, 0, header_text(col, lang), fmt)
            readme.write_string(r, 1, col.name, styles["td"])
            readme.write_string(r, 2, req, styles["td"])
            readme.write_string(r, 3, unit, styles["td"])
            readme.write_string(r, 4, desc, styles["td"])
            r += 1
    finally:
        wb.close()
