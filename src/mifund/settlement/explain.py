"""Explanation of benefits for one claim: every step of its settlement, in words and figures, in
English or Chinese (the reader is a patient, an auditor or a bureau analyst; the terms are the glossary's).

The figures come from the plain-Python reference settler run over the person-year's claims in settlement
order (the engine and the reference agree to the fen; the tests insist), so each step can be shown."""

from __future__ import annotations

from mifund.settlement.reference import reference_rows, settle_reference

MESSAGES = {
    "en": {
        "no_cap": "no cap", "none": "none", "unknown": "unknown", "everyone": "everyone", "cross": ", cross-region",
        "or": " or ", "under": "under {n}", "aged": "aged {n}+",
        "head": "Claim {cid}: person {pid}, discharged {date}, {vg}, provider level {level}{cross}",
        "insured": "Insured: category {cat}, special group {sg}, age {age}",
        "policy": "Policy {key} ({name}), version in force from {version}; source: {refs}",
        "earlier": "Earlier claims this year (settled first): {ids}",
        "amounts": "Amounts: total {T} = self-paid {SP} + category-B co-pay {CF} + policy scope {P} + other {other}",
        "l1": "1. Basic pooled fund",
        "adm": "   admission no. {n} this year; deductible due {due}; applied {applied}",
        "repeat": "   repeat-admission rule: from admission no. {n} the deductible is {ded}, for {who}",
        "annual_ded": "   annual deductible {due}, policy scope earlier this year {before}; applied {applied}",
        "eligible": "   eligible above the deductible: {x}",
        "band": "   band {lo}–{hi}: {part} × {rate:g} % = {amount:,.4f}",
        "raw": "   before caps (rounded half up to the fen): {x}",
        "type_cap": "   {vg} annual cap {cap}: headroom before {head}",
        "pcap": "   pooled fund annual cap {cap}: headroom before {before}, after {after}",
        "pooled": "   pooled_fund_paid = {x}",
        "l2": "2. Catastrophic illness insurance",
        "cat": ("   cumulative policy-scope burden this year {before} → {after}; threshold {th}; benefit on the "
                "cumulative (rounded) less what earlier claims had: {raw}; cap {cap}: headroom {hb} → {ha}"),
        "cat_na": "   not applicable (layer off for this visit type or policy version)",
        "cat_paid": "   catastrophic_paid = {x}",
        "l3": "3. Medical assistance",
        "asst": "   {rate:g} % of what is left {base} = {raw}; headroom {hb} → {ha}",
        "asst_na": "   not applicable (not a special group covered by the policy)",
        "asst_paid": "   assistance_paid = {x}",
        "l4": "4. Individual account",
        "acct": "   {rate:g} % of {base}; headroom {hb}",
        "acct_paid": "   account_paid = {x}",
        "oop": "Out of pocket = {T} − {pooled} − {cat} − {asst} − {acct} = {oop}",
    },
    "zh": {
        "no_cap": "不设上限", "none": "无", "unknown": "未知", "everyone": "所有参保人", "cross": "，异地就医",
        "or": "或", "under": "{n} 周岁以下", "aged": "{n} 周岁及以上",
        "head": "结算单 {cid}：参保人 {pid}，出院日期 {date}，{vg}，医疗机构等级 {level}{cross}",
        "insured": "参保身份：{cat}，特殊人群 {sg}，年龄 {age}",
        "policy": "待遇政策 {key}（{name}），适用版本自 {version} 起施行；依据：{refs}",
        "earlier": "本年度此前的结算（先行结算）：{ids}",
        "amounts": "费用：医疗总费用 {T} = 全自费 {SP} + 乙类先行自付 {CF} + 政策范围内费用 {P} + 其他 {other}",
        "l1": "一、基本医疗保险统筹基金",
        "adm": "   本年度第 {n} 次住院；应付起付标准 {due}；实际计入 {applied}",
        "repeat": "   多次住院规定：自第 {n} 次住院起起付标准为 {ded}，适用于{who}",
        "annual_ded": "   年度起付标准 {due}，本年度此前政策范围内费用 {before}；实际计入 {applied}",
        "eligible": "   起付标准以上部分：{x}",
        "band": "   分段 {lo}–{hi}：{part} × {rate:g}% = {amount:,.4f}",
        "raw": "   封顶前（四舍五入到分）：{x}",
        "type_cap": "   {vg} 年度支付限额 {cap}：此前剩余额度 {head}",
        "pcap": "   统筹基金年度最高支付限额 {cap}：剩余额度 {before} → {after}",
        "pooled": "   统筹基金支付 = {x}",
        "l2": "二、大病保险",
        "cat": ("   本年度累计政策范围内个人负担 {before} → {after}；起付线 {th}；按累计额计算（四舍五入）"
                "减去此前已付：{raw}；年度限额 {cap}：剩余额度 {hb} → {ha}"),
        "cat_na": "   不适用（该就诊类型或政策版本未开通此项）",
        "cat_paid": "   大病保险支付 = {x}",
        "l3": "三、医疗救助",
        "asst": "   剩余费用 {base} 的 {rate:g}% = {raw}；剩余额度 {hb} → {ha}",
        "asst_na": "   不适用（非政策覆盖的特殊人群）",
        "asst_paid": "   医疗救助支付 = {x}",
        "l4": "四、个人账户",
        "acct": "   {base} 的 {rate:g}%；剩余额度 {hb}",
        "acct_paid": "   个人账户支付 = {x}",
        "oop": "个人自付 = {T} − {pooled} − {cat} − {asst} − {acct} = {oop}",
    },
}
VISIT_ZH = {"inpatient": "住院", "outpatient": "普通门诊", "chronic_outpatient": "门诊慢特病"}
CATEGORY_ZH = {"in_service": "在职职工", "retired": "退休人员", "flexible": "灵活就业人员", "resident_adult": "城乡居民（成年）",
               "resident_minor": "城乡居民（未成年）", "student": "大中专学生"}
SPECIAL_ZH = {"none": "无", "low_income": "低保对象", "extreme_poverty": "特困人员", "relapse_risk": "返贫致贫人口",
              "disabled": "重度残疾人"}


def explain_claim(con, prepared, policies, claim_id: str, lang: str = "en") -> list[str]:
    """Lines explaining `claim_id` (its person-year's earlier claims are settled first, as they must be),
    in `lang` (en | zh)."""
    if lang not in MESSAGES:
        raise ValueError(f"lang must be one of {', '.join(MESSAGES)}")
    m = MESSAGES[lang]
    zh = lang == "zh"

    def y(fen: int) -> str:
        return m["no_cap"] if fen >= 10**12 else f"{fen / 100:,.2f}"

    def name(value, table):
        return table.get(value, value) if zh else value

    hit = con.to_pandas(prepared.filter(prepared.claim_id == claim_id).select("person_id", "yr"))
    if hit.empty:
        raise KeyError(f"claim {claim_id} not found")
    pid, yr = hit.iloc[0]["person_id"], int(hit.iloc[0]["yr"])
    rows = reference_rows(con.to_pandas(prepared.filter((prepared.person_id == pid) & (prepared.yr == yr))))
    settled = settle_reference(rows, policies, explain=True)
    c = next(r for r in rows if r["claim_id"] == claim_id)
    res = next(r for r in settled if r["claim_id"] == claim_id)
    ex, prm = res["explain"], res["explain"]["params"]
    earlier = [r["claim_id"] for r in settled[: settled.index(res)] if r["claim_id"] != claim_id]
    pol = policies.policies[tuple(ex["policy"].split("/"))]
    refs = "; ".join(r["title"] for r in pol.reference_for()) or "—"
    vg = name(c["visit_group"], VISIT_ZH)
    out = [
        m["head"].format(cid=claim_id, pid=pid, date=c["discharge_date"], vg=vg, level=c["provider_level"],
                         cross=m["cross"] if c["cross"] else ""),
        m["insured"].format(cat=name(c["category"], CATEGORY_ZH), sg=name(c["special_group"], SPECIAL_ZH),
                            age=c["age"] if c["age"] is not None else m["unknown"]),
        m["policy"].format(key=ex["policy"], name=pol.name, version=ex["version"], refs=refs),
        m["earlier"].format(ids=", ".join(earlier) or m["none"]),
        m["amounts"].format(T=y(c["T"]), SP=y(c["SP"]), CF=y(c["CF"]), P=y(c["P"]),
                            other=y(c["T"] - c["SP"] - c["CF"] - c["P"])),
        m["l1"],
    ]
    if c["visit_group"] == "inpatient":
        out.append(m["adm"].format(n=ex["admission_no"], due=y(ex["deductible_due"]), applied=y(res["deductible_applied"])))
        if prm["rep_from"]:
            who = m["everyone"] if not prm["rep_aged"] else m["or"].join(
                [m["under"].format(n=prm["rep_lt"])] * bool(prm["rep_lt"])
                + [m["aged"].format(n=prm["rep_ge"])] * (prm["rep_ge"] < 1000))
            out.append(m["repeat"].format(n=prm["rep_from"], ded=y(prm["ded_rep"]), who=who))
    else:
        out.append(m["annual_ded"].format(due=y(ex["deductible_due"]), before=y(ex["scope_before"]),
                                          applied=y(res["deductible_applied"])))
    out.append(m["eligible"].format(x=y(ex["eligible"])))
    red = prm["xred"] if c["cross"] else 0
    k = 0
    while k < 6 and prm[f"bw{k}"] > 0:
        lo, w = prm[f"bt{k}"], prm[f"bw{k}"]
        part = min(max(ex["eligible"] - lo, 0), w)
        if part or k == 0:
            rate = max(prm[f"br{k}"] - red, 0)
            out.append(m["band"].format(lo=y(lo), hi="∞" if w >= 10**12 else y(lo + w), part=y(part), rate=rate / 100,
                                        amount=part * rate / 1e6))
        k += 1
    out.append(m["raw"].format(x=y(ex["basic_raw"])))
    if "type_cap" in ex:
        out.append(m["type_cap"].format(vg=vg, cap=y(ex["type_cap"]), head=y(ex["type_headroom_before"])))
    out.append(m["pcap"].format(cap=y(ex["pooled_cap"]), before=y(ex["pooled_headroom_before"]),
                                after=y(ex["pooled_headroom_after"])))
    out.append(m["pooled"].format(x=y(res["pooled_fund_paid"])))
    out.append(m["l2"])
    if prm["cat_el"]:
        out.append(m["cat"].format(before=y(ex["cat_base_before"]), after=y(ex["cat_base_after"]), th=y(prm["cth"]),
                                   raw=y(ex["cat_raw"]), cap=y(ex["cat_cap"]), hb=y(ex["cat_headroom_before"]),
                                   ha=y(ex["cat_headroom_after"])))
    else:
        out.append(m["cat_na"])
    out.append(m["cat_paid"].format(x=y(res["catastrophic_paid"])))
    out.append(m["l3"])
    if prm["a_el"]:
        out.append(m["asst"].format(rate=prm["a_bp"] / 100, base=y(ex["assist_base"]), raw=y(ex["assist_raw"]),
                                    hb=y(ex["assist_headroom_before"]), ha=y(ex["assist_headroom_after"])))
    else:
        out.append(m["asst_na"])
    out.append(m["asst_paid"].format(x=y(res["assistance_paid"])))
    out.append(m["l4"])
    if prm["acct_bp"]:
        out.append(m["acct"].format(rate=prm["acct_bp"] / 100, base=y(ex["account_base"]),
                                    hb=y(ex["account_headroom_before"])))
    out.append(m["acct_paid"].format(x=y(res["account_paid"])))
    out.append(m["oop"].format(T=y(c["T"]), pooled=y(res["pooled_fund_paid"]), cat=y(res["catastrophic_paid"]),
                               asst=y(res["assistance_paid"]), acct=y(res["account_paid"]), oop=y(res["out_of_pocket"])))
    return out
