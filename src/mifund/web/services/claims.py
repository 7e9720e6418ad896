"""Claim explanation (mifund.settlement.explain), for claims of insured persons in the user's regions."""

from __future__ import annotations

from mifund.users import User
from mifund.web.errors import NotFound, WebError
from mifund.web.services.core import Services


def _prepared(svc: Services):
    def load(wh):
        from mifund.settlement import settlement_inputs

        con, prepared, _ = settlement_inputs(wh, svc.policies())
        return con, prepared

    return svc.cached("settlement_prepared", load)


def explain(svc: Services, user: User, claim_id: str, lang: str = "en") -> dict:
    """{claim_id, region_code, person_id, year, policy, lines, settled} for one claim; lines in `lang`.
    NotFound for an unknown claim and for one of another region alike."""
    from mifund.settlement import SettlementError
    from mifund.settlement.explain import explain_claim

    svc.require(user, "explain_claims")
    with svc.locked():
        try:
            con, prepared = _prepared(svc)
        except SettlementError as e:
            raise WebError(f"the warehouse's claims cannot be settled: {e}", code="settlement_error") from None
        hit = con.to_pandas(prepared.filter(prepared.claim_id == claim_id)
                            .select("claim_id", "region_code", "person_id", "yr", "policy_key"))
        # a claim outside the user's regions answers exactly as one that does not exist: a 403 naming its
        # region would let a county user find out which claim ids exist elsewhere, and where
        if hit.empty or not svc.in_scope(user, hit.iloc[0]["region_code"]):
            raise NotFound(f"no claim {claim_id} in your regions", code="claim_not_found")
        row = hit.iloc[0]
        lines = explain_claim(con, prepared, svc.policies(), claim_id, lang=lang)
        s = svc.wh.table("settlement")
        stored = svc.wh.to_pandas(s.filter(s.claim_id == claim_id).drop("run_id"))
    settled = None
    if len(stored):
        settled = {k: (float(v) if isinstance(v, float | int) and k != "year" else str(v) if v is not None else None)
                   for k, v in stored.iloc[0].to_dict().items()}
    return {"claim_id": claim_id, "region_code": row["region_code"], "person_id": row["person_id"],
            "year": int(row["yr"]), "policy": str(row["policy_key"]), "lines": lines, "stored": settled}
