-- DuckDB views over the Parquet lake; joshua/catalog.py fills in each table's relation.
-- Rows of a run are visible once its `runs` row says 'completed'. Each table's relation already
-- applies the compaction log (joshua/compaction.py): a row shows from exactly one file.

-- The compaction log: one row per run a committed compaction covers in a partition.
CREATE OR REPLACE VIEW compactions AS
SELECT * EXCLUDE (date, filename) FROM {compactions};

-- Each run's latest `runs` row (a rerun's replaces the one before), from the run's own file or a
-- committed compaction's (the relation applies the compaction log).
CREATE OR REPLACE VIEW runs AS
SELECT * EXCLUDE (date) FROM {runs};

-- Which compact file stands for a run in a partition group (the partition without its date, whose
-- directory is a file's grandparent): the latest committed compaction covering the run at its
-- current version (a rerun committed since makes its own files count again).
CREATE OR REPLACE VIEW compaction_cover AS
SELECT
    c.table_name,
    '{lake}/' || c.table_name || CASE WHEN c.partition = '' THEN '' ELSE '/' || c.partition END AS directory,
    c.run_id,
    arg_max(c.compact_file, c.compaction_id) AS compact_file
FROM compactions AS c
JOIN runs AS r ON r.run_id = c.run_id AND r.ended_at IS NOT DISTINCT FROM c.run_ended_at
WHERE c.table_name <> 'runs'
GROUP BY ALL;

CREATE OR REPLACE VIEW raw_items AS
SELECT * EXCLUDE (date) FROM {raw_items}
WHERE run_id IN (SELECT run_id FROM runs WHERE status = 'completed');

CREATE OR REPLACE VIEW signals AS
SELECT * EXCLUDE (date) FROM {signals}
WHERE run_id IN (SELECT run_id FROM runs WHERE status = 'completed');

-- Every run's view of every source: health, reliability and the running counts behind it. A
-- failed run counts too (a full outage must lower its sources' track record).
CREATE OR REPLACE VIEW source_history AS
SELECT * EXCLUDE (date) FROM {sources}
WHERE run_id IN (SELECT run_id FROM runs WHERE status IN ('completed', 'failed'));

-- Each source as the latest committed run left it.
CREATE OR REPLACE VIEW sources AS
SELECT * FROM source_history
QUALIFY row_number() OVER (PARTITION BY source_id ORDER BY updated_at DESC, run_id DESC) = 1;

CREATE OR REPLACE VIEW articles AS
SELECT * EXCLUDE (date) FROM {articles}
WHERE run_id IN (SELECT run_id FROM runs WHERE status = 'completed');

-- Daily (news) assessments; the structural reconstruction has its own view below.
CREATE OR REPLACE VIEW assessments AS
SELECT * EXCLUDE (date) FROM {assessments}
WHERE run_id IN (SELECT run_id FROM runs WHERE status = 'completed') AND analyzer IS DISTINCT FROM 'structural';

CREATE OR REPLACE VIEW risk_factors AS
SELECT * EXCLUDE (date) FROM {risk_factors}
WHERE run_id IN (SELECT run_id FROM runs WHERE status = 'completed');

CREATE OR REPLACE VIEW alerts AS
SELECT * EXCLUDE (date) FROM {alerts}
WHERE run_id IN (SELECT run_id FROM runs WHERE status = 'completed');

-- The delivery log of notifications (kept for failed runs too: it records what was sent).
CREATE OR REPLACE VIEW notifications AS
SELECT * EXCLUDE (date) FROM {notifications};

-- Issue 16. The reconstruction 1947 onward: structural assessments, one per year (kept out of
-- `assessments`, whose readers want the daily runs). Its seconds_calibrated are in sample (the
-- clock was fitted on every Bulletin setting); calibration_loo.loo_seconds are the out-of-sample ones.
CREATE OR REPLACE VIEW reconstruction AS
SELECT * EXCLUDE (date) FROM {assessments}
WHERE run_id IN (SELECT run_id FROM runs WHERE status = 'completed') AND analyzer = 'structural';

-- The clock's calibration: each Bulletin setting, its leave-one-out (out-of-sample) and in-sample predictions.
CREATE OR REPLACE VIEW calibration_loo AS
SELECT year, bulletin_seconds, loo_seconds, fitted_seconds, announced, as_of, clock_score, fitted_on
FROM {calibration};
