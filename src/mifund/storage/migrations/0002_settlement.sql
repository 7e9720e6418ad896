-- 0002: stored settlement results (src/mifund/settlement/store.py writes them; `mifund settle warehouse`
-- stores by default). `settlement` holds the latest result of every claim (replaced by claim_id, the old
-- values going to audit_log); `settlement_person_year` the person-year totals recomputed from it;
-- `settlement_runs` one row per stored run. Amounts are exact DECIMAL(18,2) yuan.

CREATE TABLE settlement (
    claim_id VARCHAR,
    deductible_applied DECIMAL(18,2),
    pooled_fund_paid DECIMAL(18,2),
    catastrophic_paid DECIMAL(18,2),
    assistance_paid DECIMAL(18,2),
    account_paid DECIMAL(18,2),
    out_of_pocket DECIMAL(18,2),
    person_id VARCHAR,
    year BIGINT,
    policy_key VARCHAR,
    policy_version DATE,
    total_amount DECIMAL(18,2),
    run_id VARCHAR                    -- the run that last wrote this claim (settlement_runs.run_id)
);

CREATE TABLE settlement_person_year (
    person_id VARCHAR,
    year BIGINT,
    claims BIGINT,
    total_amount DECIMAL(18,2),
    deductible_applied DECIMAL(18,2),
    pooled_fund_paid DECIMAL(18,2),
    catastrophic_paid DECIMAL(18,2),
    assistance_paid DECIMAL(18,2),
    account_paid DECIMAL(18,2),
    out_of_pocket DECIMAL(18,2),
    run_id VARCHAR                    -- the run that last recomputed this person-year
);

CREATE TABLE settlement_runs (
    run_id VARCHAR NOT NULL,
    started TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    policy_source VARCHAR,            -- the --policy path (file or directory)
    policy_versions VARCHAR,          -- JSON list of "policy_key@version" used by the run's claims
    claims BIGINT NOT NULL,
    total_amount DECIMAL(18,2),
    deductible_applied DECIMAL(18,2),
    pooled_fund_paid DECIMAL(18,2),
    catastrophic_paid DECIMAL(18,2),
    assistance_paid DECIMAL(18,2),
    account_paid DECIMAL(18,2),
    out_of_pocket DECIMAL(18,2)
);
