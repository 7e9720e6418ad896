-- 0007: supervision texts in Chinese beside English (src/mifund/supervision/store.py writes these).
-- supervision_hits.evidence_zh: the hit's evidence sentence in Chinese (evidence stays the English one).
-- supervision_case_events.note_zh: a system-written note (opened, new hits, follow-up case) in Chinese;
-- NULL for notes people write (shown as written) and for rows stored before this migration (shown in
-- English until a later screen rewrites the hits of open cases).

ALTER TABLE supervision_hits ADD COLUMN evidence_zh VARCHAR;
ALTER TABLE supervision_case_events ADD COLUMN note_zh VARCHAR;

-- the notes screens wrote before, in Chinese too (their wording is fixed: store.py wrote them)
UPDATE supervision_case_events
SET note_zh = CASE
    WHEN regexp_full_match(note, '\d+ hit\(s\)') THEN regexp_replace(note, '^(\d+) hit\(s\)$', '疑点 \1 条')
    WHEN regexp_full_match(note, '\d+ new hit\(s\)') THEN regexp_replace(note, '^(\d+) new hit\(s\)$', '新增疑点 \1 条')
    WHEN regexp_full_match(note, '\d+ new hit\(s\) after the decision: opened case .+')
        THEN regexp_replace(note, '^(\d+) new hit\(s\) after the decision: opened case (.+)$', '办结后新增疑点 \1 条：已立案 \2')
    WHEN regexp_full_match(note, '\d+ hit\(s\); follows case .+, already (confirmed|dismissed|recovered)')
        THEN replace(replace(replace(
             regexp_replace(note, '^(\d+) hit\(s\); follows case (.+), already (\w+)$', '疑点 \1 条；接续案件 \2（\3）'),
             '（confirmed）', '（已确认）'), '（dismissed）', '（已排除）'), '（recovered）', '（已追回）')
    END
WHERE action IN ('opened', 'hits', 'note') AND run_id IS NOT NULL;
