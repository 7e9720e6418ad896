-- 0001: the input tables of the data contract (src/mifund/contract.py describes them column by column;
-- tests/test_storage.py checks this file against it), the audit log and the import batches.
-- Keys are enforced by the importer, not by PRIMARY KEY: optional key parts (month, sex) may be NULL.

CREATE TABLE regions (
    region_code VARCHAR,
    name VARCHAR,
    name_en VARCHAR,
    level VARCHAR,
    parent_code VARCHAR
);

CREATE TABLE population (
    region_code VARCHAR,
    year BIGINT,
    sex VARCHAR,
    age_band VARCHAR,
    persons BIGINT,
    source VARCHAR
);

CREATE TABLE catalog (
    item_code VARCHAR,
    name VARCHAR,
    item_category VARCHAR,
    catalog_class VARCHAR,
    sex_restriction VARCHAR,
    min_age BIGINT,
    max_age BIGINT,
    max_daily_quantity DOUBLE,
    price_cap DECIMAL(18,2)
);

CREATE TABLE providers (
    provider_id VARCHAR,
    name VARCHAR,
    region_code VARCHAR,
    level BIGINT,
    type VARCHAR,
    specialty VARCHAR
);

CREATE TABLE fund_ledger (
    region_code VARCHAR,
    year BIGINT,
    month BIGINT,
    scheme VARCHAR,
    fund VARCHAR,
    insured BIGINT,
    insured_in_service BIGINT,
    insured_retired BIGINT,
    income_total DECIMAL(18,2),
    income_individual DECIMAL(18,2),
    income_employer DECIMAL(18,2),
    income_fiscal_subsidy DECIMAL(18,2),
    income_interest DECIMAL(18,2),
    income_other DECIMAL(18,2),
    expenditure_total DECIMAL(18,2),
    expenditure_inpatient DECIMAL(18,2),
    expenditure_outpatient DECIMAL(18,2),
    expenditure_other DECIMAL(18,2),
    balance_end DECIMAL(18,2),
    source VARCHAR
);

CREATE TABLE enrollment (
    person_id VARCHAR,
    year BIGINT,
    region_code VARCHAR,
    scheme VARCHAR,
    category VARCHAR,
    special_group VARCHAR,
    sex VARCHAR,
    birth_date DATE,
    family_id VARCHAR,
    wage_base DECIMAL(18,2)
);

CREATE TABLE claims (
    claim_id VARCHAR,
    person_id VARCHAR,
    provider_id VARCHAR,
    visit_type VARCHAR,
    admit_date DATE,
    discharge_date DATE,
    diagnosis_code VARCHAR,
    total_amount DECIMAL(18,2),
    self_pay_amount DECIMAL(18,2),
    copay_first_amount DECIMAL(18,2),
    policy_scope_amount DECIMAL(18,2),
    cross_region BOOLEAN
);

CREATE TABLE claim_lines (
    claim_id VARCHAR,
    line_no BIGINT,
    item_code VARCHAR,
    item_name VARCHAR,
    item_category VARCHAR,
    catalog_class VARCHAR,
    quantity DOUBLE,
    unit_price DOUBLE,
    amount DECIMAL(18,2),
    service_date DATE
);

CREATE SEQUENCE audit_log_seq START 1;
CREATE TABLE audit_log (
    audit_id BIGINT DEFAULT nextval('audit_log_seq'),
    logged_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,          -- import | replace | ... (later: web writes, case changes)
    table_name VARCHAR,
    record_key VARCHAR,               -- JSON object of the key columns
    old_values VARCHAR,               -- JSON object, NULL for an insert
    new_values VARCHAR,               -- JSON object, NULL for a delete
    batch_id VARCHAR,
    detail VARCHAR
);

CREATE TABLE import_batches (
    batch_id VARCHAR NOT NULL,
    logged_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_inserted BIGINT NOT NULL,
    rows_replaced BIGINT NOT NULL,
    rows_unchanged BIGINT NOT NULL,
    unit VARCHAR,
    warnings VARCHAR                  -- JSON list of the warnings shown to the user
);
