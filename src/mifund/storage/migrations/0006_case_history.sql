-- 0006: supervision cases keep their history (src/mifund/supervision/store.py writes these).
-- A decided case (confirmed, dismissed, recovered) is never changed by a later screen: new hits of its
-- provider or person open a new case ('P:<id>#2', '#3' ...) whose previous_case_id names the earlier one.
-- supervision_case_rules: each rule's share of a case's confirmed and recovered amounts, fixed when the
-- case is confirmed (and added to at each recovery), so later screens and new rules cannot re-split money
-- already confirmed or recovered.
-- supervision_hits: a readmission's first stay is hit '<rule>:<claim>:-:first', apart from the hit of the
-- same claim as the readmission of a stay before it ('<rule>:<claim>:-'); both had the second id before.

ALTER TABLE supervision_cases ADD COLUMN previous_case_id VARCHAR;

CREATE TABLE supervision_case_rules (
    case_id VARCHAR NOT NULL,
    rule_id VARCHAR NOT NULL,
    share DOUBLE NOT NULL,            -- the rule's share of the case (its suspected amount / the case's)
    confirmed_amount DECIMAL(18,2),
    recovered_amount DECIMAL(18,2),
    fixed_at TIMESTAMP
);

-- the split the recovered report made at query time, fixed now for the cases already confirmed or recovered
INSERT INTO supervision_case_rules
WITH per AS (
    SELECT case_id, rule_id, sum(CAST(amount_at_stake AS DOUBLE)) AS suspected, count(*) AS hits
    FROM supervision_hits GROUP BY case_id, rule_id
), shares AS (
    SELECT per.case_id, per.rule_id,
           CASE WHEN sum(suspected) OVER (PARTITION BY per.case_id) > 0
                THEN suspected / sum(suspected) OVER (PARTITION BY per.case_id)
                ELSE hits / sum(hits) OVER (PARTITION BY per.case_id) END AS share
    FROM per
)
SELECT s.case_id, s.rule_id, s.share,
       round(CAST(c.confirmed_amount AS DOUBLE) * s.share, 2),
       round(coalesce(CAST(c.recovered_amount AS DOUBLE), 0) * s.share, 2),
       c.updated_at
FROM shares s JOIN supervision_cases c USING (case_id)
WHERE c.status IN ('confirmed', 'recovered');

UPDATE supervision_hits SET hit_id = hit_id || ':first'
WHERE evidence LIKE 'first part: readmitted %' AND hit_id LIKE '%:-';
