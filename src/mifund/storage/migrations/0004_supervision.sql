-- 0004: intelligent supervision (src/mifund/supervision/store.py writes these).
-- supervision_runs: one row per stored screen. supervision_hits: the latest version of every hit
-- (key hit_id = rule:claim-or-person:line), replaced by later screens (old values to audit_log).
-- supervision_cases: hits rolled up per provider or person (case_id 'P:<provider_id>' / 'R:<person_id>'),
-- with the workflow status open -> in_review -> confirmed / dismissed -> recovered.
-- supervision_case_events: every status change and note, with user and time (the case's history).

CREATE TABLE supervision_runs (
    run_id VARCHAR NOT NULL,
    started TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    rules VARCHAR,                    -- JSON list of rule ids that ran
    hits BIGINT,
    amount_at_stake DECIMAL(18,2),
    failures VARCHAR,                 -- JSON object rule id -> error, for rules that failed
    input_problems VARCHAR            -- JSON list
);

CREATE TABLE supervision_hits (
    hit_id VARCHAR NOT NULL,
    rule_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    case_by VARCHAR NOT NULL,
    claim_id VARCHAR,
    line_no BIGINT,
    person_id VARCHAR,
    provider_id VARCHAR,
    related_claim_id VARCHAR,
    service_date DATE,
    amount_at_stake DECIMAL(18,2),
    severity DOUBLE,
    score DOUBLE,
    evidence VARCHAR,
    case_id VARCHAR,
    run_id VARCHAR                    -- the screen that last found it
);

CREATE TABLE supervision_cases (
    case_id VARCHAR NOT NULL,
    entity_type VARCHAR NOT NULL,     -- provider | person
    entity_id VARCHAR NOT NULL,
    region_code VARCHAR,
    status VARCHAR NOT NULL,          -- open | in_review | confirmed | dismissed | recovered
    hits BIGINT,
    claims BIGINT,
    rules VARCHAR,                    -- JSON list of rule ids among its hits
    suspected_amount DECIMAL(18,2),
    score DOUBLE,
    confirmed_amount DECIMAL(18,2),
    recovered_amount DECIMAL(18,2),
    opened_at TIMESTAMP,
    updated_at TIMESTAMP
);

CREATE SEQUENCE supervision_case_events_seq START 1;
CREATE TABLE supervision_case_events (
    event_id BIGINT DEFAULT nextval('supervision_case_events_seq'),
    case_id VARCHAR NOT NULL,
    event_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,          -- opened | hits | move | note
    from_status VARCHAR,
    to_status VARCHAR,
    amount DECIMAL(18,2),
    note VARCHAR,
    run_id VARCHAR
);
