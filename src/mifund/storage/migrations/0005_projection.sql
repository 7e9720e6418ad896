-- 0005: stored projection runs (src/mifund/projection/store.py writes them; `mifund project run --store`).
-- `projection_runs` one row per run (scenario, seed, paths, the scenario as resolved JSON);
-- `projection_results` the central (deterministic) path and the Monte Carlo percentiles per unit x year;
-- `projection_depletion` the distribution of the depletion year. The dashboard reads these; long
-- projections never run inside a web request.

CREATE TABLE projection_runs (
    run_id VARCHAR NOT NULL,
    started TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    scenario_name VARCHAR NOT NULL,
    scenario_file VARCHAR,
    scenario_json VARCHAR NOT NULL,   -- the resolved scenario (every assumption with its source)
    base_year BIGINT NOT NULL,
    years BIGINT NOT NULL,
    paths BIGINT NOT NULL,
    seed BIGINT,
    units BIGINT NOT NULL,
    seconds DOUBLE
);

CREATE TABLE projection_results (
    run_id VARCHAR NOT NULL,
    region_code VARCHAR NOT NULL,
    scheme VARCHAR NOT NULL,
    fund VARCHAR NOT NULL,
    year BIGINT NOT NULL,
    insured DOUBLE,
    insured_in_service DOUBLE,
    insured_retired DOUBLE,
    income_total DOUBLE,
    expenditure_total DOUBLE,
    balance_end DOUBLE,
    payable_months DOUBLE,
    warning_level VARCHAR,
    balance_p5 DOUBLE,
    balance_p25 DOUBLE,
    balance_p50 DOUBLE,
    balance_p75 DOUBLE,
    balance_p95 DOUBLE,
    p_below_safety_line DOUBLE,
    p_exhausted DOUBLE
);

CREATE TABLE projection_depletion (
    run_id VARCHAR NOT NULL,
    region_code VARCHAR NOT NULL,
    scheme VARCHAR NOT NULL,
    fund VARCHAR NOT NULL,
    depletion_year VARCHAR NOT NULL,  -- a year, or 'after YYYY' for paths that last the horizon
    paths BIGINT NOT NULL,
    share DOUBLE NOT NULL
);
