-- Second state: two decisions revoked (状态 撤销). Run after first.sql.
-- Written by mappings/samples/make_samples.py.

UPDATE enforcement_cases SET status = '撤销', status_changed_on = '2026-11-16', updated_at = '2026-11-16 10:30:00' WHERE case_no = 'LCZF-2026-0031';
UPDATE enforcement_cases SET status = '撤销', status_changed_on = '2026-11-18', updated_at = '2026-11-18 15:20:00' WHERE case_no = 'DEZF-2026-0077';
