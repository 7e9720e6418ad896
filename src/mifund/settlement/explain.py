"""Explanation of benefits for one claim: every step of its settlement, in words and figures, in
English or Chinese (the reader is a patient, an auditor or a bureau analyst; the terms are the glossary's).

The figures come from the plain-Python reference settler run over the person-year's claims in settlement
order (the engine and the reference agree to the fen; the tests insist), so each step can be shown.

Each step cites the documents of the parameters it used (every dated value in a policy file carries its
own reference, see ``mifund.policy.load``): a county's own value its county document, an inherited one the
city's, an assumed figure its note, not all of them the policy file's first reference."""

from __future__ import annotations

from typing import Any

from mifund.policy.load import NBANDS, NCAT
from mifund.policy.schema import SPECIAL_GROUPS, Param
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
        "rates": "   ratios and bands",
        "raw": "   before caps (rounded half up to the fen): {x}",
        "type_cap": "   {vg} annual cap {cap}: headroom before {head}",
        "pcap": "   pooled fund annual cap {cap}: headroom before {before}, after {after}",
        "kept": ("   cap in force {now}; the largest cap in force earlier this year, {kept}, applies: a cap lowered "
                 "mid-year is not clawed back"),
        "pooled": "   pooled_fund_paid = {x}",
        "basic_na": ("   {vg} pooling not in force on this date: the pooled fund pays nothing, and the claim counts "
                     "towards neither the layer's annual deductible nor its cap"),
        "l2": "2. Catastrophic illness insurance",
        "cat": "   cumulative policy-scope burden this year {before} → {after}; threshold {th}",
        "cat_above": "   above the threshold: {before} → {after}",
        "cat_band": "   band {lo}–{hi}: {pb} → {pa} × {rate:g} % = {ab:,.4f} → {aa:,.4f}",
        "cat_rates": "   rates",
        "cat_benefit": ("   benefit on the cumulative amount (rounded half up): {before} → {after}; this claim "
                        "{after} − {before} = {raw}"),
        "cat_cap": "   catastrophic annual cap {cap}: headroom {hb} → {ha}",
        "cat_na": "   not applicable (layer off for this visit type or policy version)",
        "cat_paid": "   catastrophic_paid = {x}",
        "l3": "3. Medical assistance",
        "asst": "   {rate:g} % of what is left {base} = {raw}; annual cap {cap}: headroom {hb} → {ha}",
        "asst_na": "   not applicable (the policy's medical assistance does not cover group {sg} for this visit type)",
        "asst_no_layer": "   not applicable (the policy has no medical assistance layer in force)",
        "asst_no_group": "   not applicable (not in a special group)",
        "no_cap_line": "   {what}: no annual cap", "pooled_fund": "pooled fund", "catastrophic": "catastrophic",
        "asst_nocap": "   {rate:g} % of what is left {base} = {raw}; no annual cap",
        "acct_nocap": "   {rate:g} % of {base}; no annual cap",
        "asst_paid": "   assistance_paid = {x}",
        "l4": "4. Individual account",
        "acct": "   {rate:g} % of {base}; annual cap {cap}: headroom {hb}",
        "acct_paid": "   account_paid = {x}",
        "oop": "Out of pocket = {T} − {pooled} − {cat} − {asst} − {acct} = {oop}",
        "src": " [source: {refs}]", "sep": "; ",
        "assumed": "assumption, in no document: {note}",
        "stored_ok": "Stored settlement (run {run}): the same figures",
        "stored_none": "No stored settlement of this claim in the warehouse",
        "stored_item": "{col} stored {s}, re-settled {n}",
        "stored_diff": ("WARNING: the stored settlement (run {run}) differs from this explanation: {items}. The "
                        "policies or the claims changed since that run; the lines above are not what was settled"),
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
        "rates": "   支付比例及分段",
        "raw": "   封顶前（四舍五入到分）：{x}",
        "type_cap": "   {vg} 年度支付限额 {cap}：此前剩余额度 {head}",
        "pcap": "   统筹基金年度最高支付限额 {cap}：剩余额度 {before} → {after}",
        "kept": "   现行限额 {now}；本年度此前施行过的较高限额 {kept} 继续适用（年中下调的限额不追回已享待遇）",
        "pooled": "   统筹基金支付 = {x}",
        "basic_na": "   {vg}统筹在该日尚未施行：统筹基金不予支付，本次费用不计入该项年度起付标准和最高支付限额",
        "l2": "二、大病保险",
        "cat": "   本年度累计政策范围内个人负担 {before} → {after}；起付线 {th}",
        "cat_above": "   超过起付线部分：{before} → {after}",
        "cat_band": "   分段 {lo}–{hi}：{pb} → {pa} × {rate:g}% = {ab:,.4f} → {aa:,.4f}",
        "cat_rates": "   分段支付比例",
        "cat_benefit": "   按累计额计算的待遇（四舍五入到分）：{before} → {after}；本次 {after} − {before} = {raw}",
        "cat_cap": "   大病保险年度最高支付限额 {cap}：剩余额度 {hb} → {ha}",
        "cat_na": "   不适用（该就诊类型或政策版本未开通此项）",
        "cat_paid": "   大病保险支付 = {x}",
        "l3": "三、医疗救助",
        "asst": "   剩余费用 {base} 的 {rate:g}% = {raw}；年度限额 {cap}：剩余额度 {hb} → {ha}",
        "asst_na": "   不适用（该政策的医疗救助不覆盖此特殊人群 {sg} 的该就诊类型）",
        "asst_no_layer": "   不适用（该政策未设医疗救助）",
        "asst_no_group": "   不适用（非特殊人群）",
        "no_cap_line": "   {what}不设年度最高支付限额", "pooled_fund": "统筹基金", "catastrophic": "大病保险",
        "asst_nocap": "   剩余费用 {base} 的 {rate:g}% = {raw}；不设年度限额",
        "acct_nocap": "   {base} 的 {rate:g}%；不设年度限额",
        "asst_paid": "   医疗救助支付 = {x}",
        "l4": "四、个人账户",
        "acct": "   {base} 的 {rate:g}%；年度限额 {cap}：剩余额度 {hb}",
        "acct_paid": "   个人账户支付 = {x}",
        "oop": "个人自付 = {T} − {pooled} − {cat} − {asst} − {acct} = {oop}",
        "src": "［依据：{refs}］", "sep": "；",
        "assumed": "模型假设（非文件规定）：{note}",
        "stored_ok": "已存结算结果（批次 {run}）：金额一致",
        "stored_none": "数据仓库中没有此结算单的已存结算结果",
        "stored_item": "{col} 已存 {s}，重新结算 {n}",
        "stored_diff": "警告：已存结算结果（批次 {run}）与本说明不一致：{items}。该批次之后待遇政策或结算数据已变更，以上说明并非实际结算结果",
    },
}
VISIT_ZH = {"inpatient": "住院", "outpatient": "普通门诊", "chronic_outpatient": "门诊慢特病"}
CATEGORY_ZH = {"in_service": "在职职工", "retired": "退休人员", "flexible": "灵活就业人员", "resident_adult": "城乡居民（成年）",
               "resident_minor": "城乡居民（未成年）", "student": "大中专学生"}
SPECIAL_ZH = {"none": "无", "low_income": "低保对象", "extreme_poverty": "特困人员", "relapse_risk": "返贫致贫人口",
              "disabled": "重度残疾人"}


def _node(model, path: tuple) -> Any:
    node = model
    for p in path:
        if isinstance(node, dict):
            node = node.get(p)
        elif isinstance(node, list):
            node = node[p] if p < len(node) else None
        else:
            node = getattr(node, p, None)
        if node is None:
            return None
    return node


def _titles(node, assumed: str = "{note}") -> list[str]:
    """The reference titles of every dated value at or under `node` (a value, or e.g. a whole scale); a
    value marked as an assumption gives its note (formatted with `assumed`), never a document it is not in."""
    if isinstance(node, Param):
        md = node.metadata
        out = [r.title for r in (md.reference if md else [])]
        return out + [assumed.format(note=md.note or "")] if md is not None and md.assumption else out
    kids = (node.values() if isinstance(node, dict) else node if isinstance(node, list)
            else [getattr(node, f) for f in type(node).model_fields] if hasattr(node, "__pydantic_fields__") else [])
    return [t for k in kids if k is not None for t in _titles(k, assumed)]


def _sources(pol, c: dict) -> dict[str, list[tuple]]:
    """step -> the paths (in the policy's tree) of the values that step uses for claim `c`: mirrors the
    choices of ``Policy.resolve`` (by level, by category or special group, 'default')."""
    m, vg, lvl = pol.model, c["visit_group"], c["provider_level"]
    sg = c["special_group"] if c["special_group"] in SPECIAL_GROUPS else None
    out: dict[str, list[tuple]] = {"pcap": [("pooled_annual_cap",)]}

    def by_level(path: tuple, x) -> tuple:
        return path if isinstance(x, Param) else path + (f"level_{lvl}",)

    rules = getattr(m, vg, None)
    if rules is not None:
        out["ded"] = [by_level((vg, "deductible"), rules.deductible)]
        if c["cross"] and rules.cross_region_deductible is not None and vg == "inpatient":
            out["ded"].append((vg, "cross_region_deductible"))
        out["repeat"] = [(vg, "repeat_admission")]
        key = sg if sg in rules.ratio else c["category"] if c["category"] in rules.ratio else "default"
        out["rates"] = [by_level((vg, "ratio", key), rules.ratio.get(key))]
        if rules.bands is not None:
            out["rates"].append((vg, "bands"))
        if c["cross"]:
            out["rates"].append((vg, "cross_region_ratio" if rules.cross_region_ratio is not None
                                 else "cross_region_reduction"))
        cap = rules.annual_cap
        out["type_cap"] = [(vg, "annual_cap") + (() if cap is None or isinstance(cap, Param) else
                                                 next(((k,) for k in (sg, c["category"], "default") if k in cap), ()))]
    cat = m.catastrophic
    if cat is not None:
        sp = cat.special_groups.get(sg) if sg else None
        spath = ("catastrophic", "special_groups", sg)
        out["cat_th"] = [spath + ("threshold",) if sp and sp.threshold else ("catastrophic", "threshold")]
        out["cat_rates"] = [("catastrophic", "scale")] + ([spath + ("rate_increase",)] if sp and sp.rate_increase else [])
        out["cat_cap"] = [spath + ("annual_cap",) if sp and sp.annual_cap is not None else ("catastrophic", "annual_cap")]
    if sg is not None:
        out["asst"] = [("assistance", "groups", sg)]
    out["acct"] = [("account",)]
    return out


AMOUNT_COLUMNS = ("deductible_applied", "pooled_fund_paid", "catastrophic_paid", "assistance_paid", "account_paid",
                  "out_of_pocket")


def explain_claim(con, prepared, policies, claim_id: str, lang: str = "en") -> list[str]:
    """Lines explaining `claim_id` (its person-year's earlier claims are settled first, as they must be),
    in `lang` (en | zh)."""
    return explain_with_figures(con, prepared, policies, claim_id, lang)[0]


def compare_stored(figures: dict[str, int], stored: dict | None, run_id: str | None, lang: str = "en",
                   ) -> tuple[list[str], bool]:
    """(lines, differs): the re-settled figures (fen) against the warehouse's stored row of the claim
    (yuan). An explanation is of the stored settlement only where the two agree: a policy edited since the
    run, or claims changed, would otherwise explain figures nobody was paid, without a word."""
    m = MESSAGES[lang]
    if stored is None:
        return [m["stored_none"]], False
    diff = [m["stored_item"].format(col=c, s=f"{float(stored[c]):,.2f}", n=f"{figures[c] / 100:,.2f}")
            for c in AMOUNT_COLUMNS if round(float(stored[c]) * 100) != figures[c]]
    if diff:
        return [m["stored_diff"].format(run=run_id, items=m["sep"].join(diff))], True
    return [m["stored_ok"].format(run=run_id)], False


def explain_with_figures(con, prepared, policies, claim_id: str, lang: str = "en") -> tuple[list[str], dict]:
    """(lines, figures): `explain_claim`'s lines and the claim's re-settled amounts in fen
    (``AMOUNT_COLUMNS``), to compare with a stored settlement."""
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
    upto = settled[: settled.index(res) + 1]  # this claim and those settled before it in its person-year
    earlier = [r["claim_id"] for r in upto[:-1]]
    pol = policies.policies[tuple(ex["policy"].split("/"))]
    refs = "; ".join(r["title"] for r in pol.reference_for()) or "—"
    paths = _sources(pol, c)

    def cite(step: str) -> str:
        """The documents of the values `step` used, in the order met, each once ("" where none)."""
        titles = [t for p in paths.get(step, []) for t in _titles(_node(pol.model, p), m["assumed"])]
        return m["src"].format(refs=m["sep"].join(dict.fromkeys(titles))) if titles else ""

    def kept(now: int, applied: int) -> list[str]:
        """The note for a cap lowered mid-year: the engine keeps the largest cap in force so far."""
        return [m["kept"].format(now=y(now), kept=y(applied))] if applied > now else []

    def largest(name: str) -> int:
        return max(r["explain"]["params"][name] for r in upto)

    def uncapped(fen: int) -> bool:  # "no annual cap", once, not "cap no cap: headroom no cap"
        return fen >= 10**12
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
    if not prm["vg_on"]:
        out.append(m["basic_na"].format(vg=vg))
    else:
        if c["visit_group"] == "inpatient":
            out.append(m["adm"].format(n=ex["admission_no"], due=y(ex["deductible_due"]), applied=y(res["deductible_applied"]))
                       + cite("ded"))
            if prm["rep_from"]:
                who = m["everyone"] if not prm["rep_aged"] else m["or"].join(
                    [m["under"].format(n=prm["rep_lt"])] * bool(prm["rep_lt"])
                    + [m["aged"].format(n=prm["rep_ge"])] * (prm["rep_ge"] < 1000))
                out.append(m["repeat"].format(n=prm["rep_from"], ded=y(prm["ded_rep"]), who=who) + cite("repeat"))
        else:
            out.append(m["annual_ded"].format(due=y(ex["deductible_due"]), before=y(ex["scope_before"]),
                                              applied=y(res["deductible_applied"])) + cite("ded"))
        out.append(m["eligible"].format(x=y(ex["eligible"])))
        red = prm["xred"] if c["cross"] else 0
        k = 0
        while k < NBANDS and prm[f"bw{k}"] > 0:
            lo, w = prm[f"bt{k}"], prm[f"bw{k}"]
            part = min(max(ex["eligible"] - lo, 0), w)
            if part or k == 0:
                rate = max(prm[f"br{k}"] - red, 0)
                out.append(m["band"].format(lo=y(lo), hi="∞" if w >= 10**12 else y(lo + w), part=y(part), rate=rate / 100,
                                            amount=part * rate / 1e6))
            k += 1
        if ref := cite("rates"):
            out.append(m["rates"] + ref)
        out.append(m["raw"].format(x=y(ex["basic_raw"])))
        if "type_cap" in ex:
            out.extend(kept(prm["tcap"], ex["type_cap"]))
            out.append((m["no_cap_line"].format(what=vg) if uncapped(ex["type_cap"]) else
                        m["type_cap"].format(vg=vg, cap=y(ex["type_cap"]), head=y(ex["type_headroom_before"])))
                       + cite("type_cap"))
        out.extend(kept(prm["pcap"], ex["pooled_cap"]))
        out.append((m["no_cap_line"].format(what=m["pooled_fund"]) if uncapped(ex["pooled_cap"]) else
                    m["pcap"].format(cap=y(ex["pooled_cap"]), before=y(ex["pooled_headroom_before"]),
                                     after=y(ex["pooled_headroom_after"]))) + cite("pcap"))
    out.append(m["pooled"].format(x=y(res["pooled_fund_paid"])))
    out.append(m["l2"])
    if prm["cat_el"]:
        out.extend(_catastrophic(m, y, prm, ex, cite))
        out.extend(kept(prm["ccap"], ex["cat_cap"]))
        out.append((m["no_cap_line"].format(what=m["catastrophic"]) if uncapped(ex["cat_cap"]) else
                    m["cat_cap"].format(cap=y(ex["cat_cap"]), hb=y(ex["cat_headroom_before"]),
                                        ha=y(ex["cat_headroom_after"]))) + cite("cat_cap"))
    else:
        out.append(m["cat_na"])
    out.append(m["cat_paid"].format(x=y(res["catastrophic_paid"])))
    out.append(m["l3"])
    if prm["a_el"]:
        out.extend(kept(prm["a_cap"], largest("a_cap")))
        out.append(m["asst_nocap" if uncapped(largest("a_cap")) else "asst"].format(
            rate=prm["a_bp"] / 100, base=y(ex["assist_base"]), raw=y(ex["assist_raw"]), cap=y(largest("a_cap")),
            hb=y(ex["assist_headroom_before"]), ha=y(ex["assist_headroom_after"])) + cite("asst"))
    elif pol.model.assistance is None or not any(pol.resolve(c["discharge_date"], category=c["category"],
                                                             special_group=g, level=c["provider_level"],
                                                             visit_group=vgr)["a_el"]
                                                 for g in SPECIAL_GROUPS for vgr in ("inpatient", "outpatient",
                                                                                     "chronic_outpatient")):
        out.append(m["asst_no_layer"])  # the policy's gap, not the person's: said so
    elif c["special_group"] not in SPECIAL_GROUPS:
        out.append(m["asst_no_group"])
    else:
        out.append(m["asst_na"].format(sg=name(c["special_group"], SPECIAL_ZH)))
    out.append(m["asst_paid"].format(x=y(res["assistance_paid"])))
    out.append(m["l4"])
    if prm["acct_bp"]:
        out.extend(kept(prm["acct_cap"], largest("acct_cap")))
        out.append(m["acct_nocap" if uncapped(largest("acct_cap")) else "acct"].format(
            rate=prm["acct_bp"] / 100, base=y(ex["account_base"]), cap=y(largest("acct_cap")),
            hb=y(ex["account_headroom_before"])) + cite("acct"))
    out.append(m["acct_paid"].format(x=y(res["account_paid"])))
    out.append(m["oop"].format(T=y(c["T"]), pooled=y(res["pooled_fund_paid"]), cat=y(res["catastrophic_paid"]),
                               asst=y(res["assistance_paid"]), acct=y(res["account_paid"]), oop=y(res["out_of_pocket"])))
    return out, {k: res[k] for k in AMOUNT_COLUMNS}


def _catastrophic(m: dict, y, prm: dict, ex: dict, cite) -> list[str]:
    """The catastrophic layer band by band: the benefit is a function of the year's cumulative amount above
    the threshold, so each band shows its part before and after this claim; the claim pays the rounded
    benefit after less the rounded benefit before (the engine's rule, see ``engine``)."""
    th = prm["cth"]
    over_b, over_a = max(ex["cat_base_before"] - th, 0), max(ex["cat_base_after"] - th, 0)
    out = [m["cat"].format(before=y(ex["cat_base_before"]), after=y(ex["cat_base_after"]), th=y(th)) + cite("cat_th"),
           m["cat_above"].format(before=y(over_b), after=y(over_a))]
    total_b = total_a = 0
    for k in range(NCAT):
        lo, w, rate = prm[f"ct{k}"], prm[f"cw{k}"], prm[f"cr{k}"]
        if w <= 0:
            break
        pb, pa = min(max(over_b - lo, 0), w), min(max(over_a - lo, 0), w)
        total_b, total_a = total_b + pb * rate, total_a + pa * rate
        if pa or k == 0:
            out.append(m["cat_band"].format(lo=y(lo), hi="∞" if w >= 10**12 else y(lo + w), pb=y(pb), pa=y(pa),
                                            rate=rate / 100, ab=pb * rate / 1e6, aa=pa * rate / 1e6))
    if ref := cite("cat_rates"):
        out.append(m["cat_rates"] + ref)
    hb, ha = (total_b + 5000) // 10000, (total_a + 5000) // 10000
    out.append(m["cat_benefit"].format(before=y(hb), after=y(ha), raw=y(ex["cat_raw"])))
    return out
