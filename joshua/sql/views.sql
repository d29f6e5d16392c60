-- DuckDB views over the Parquet lake; joshua/catalog.py fills in each table's relation.
-- Rows of a run are visible once its `runs` row says 'completed'.

CREATE OR REPLACE VIEW runs AS
SELECT * EXCLUDE (date) FROM {runs};

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
