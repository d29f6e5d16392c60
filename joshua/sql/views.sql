-- DuckDB views over the Parquet lake; joshua/catalog.py fills in each table's relation.
-- Each table's relation already applies compaction (joshua/compaction.py, joshua/catalog.py): a row
-- shows from exactly one file; and its runs' statuses (VISIBLE_STATUSES): rows show once their run's
-- `runs` row says 'completed' (`sources`: or 'failed').

-- The compaction log: one row per run a committed compaction covers in a partition.
CREATE OR REPLACE VIEW compactions AS
SELECT * EXCLUDE (date, filename) FROM {compactions};

-- The compact files that count: in each directory (a table's period, per source where the table
-- has sources), the latest whose compaction committed (its log file exists; compaction ids sort by
-- sequence). It holds every row the ones before it did. File names only: no file is opened.
CREATE OR REPLACE VIEW current_compacts AS
SELECT max(file) AS file FROM glob('{lake_glob}/*/**/compact-*.parquet')
WHERE substr(parse_filename(file, true), 9) IN (
    SELECT parse_filename(file, true) FROM glob('{lake_glob}/compactions/**/*.parquet')
)
GROUP BY parse_dirpath(file);

-- Each run's latest `runs` row (a rerun's replaces the one before), from the run's own file or the
-- current compact file (see joshua/catalog.py).
CREATE OR REPLACE VIEW runs AS
SELECT * FROM {runs};

CREATE OR REPLACE VIEW raw_items AS
SELECT * FROM {raw_items};

CREATE OR REPLACE VIEW signals AS
SELECT * FROM {signals};

-- Every run's view of every source: health, reliability and the running counts behind it. A
-- failed run counts too (a full outage must lower its sources' track record).
CREATE OR REPLACE VIEW source_history AS
SELECT * FROM {sources};

-- Each source as the latest committed run left it (its row with the greatest updated_at, then
-- run_id; an aggregate, not a window: a year holds some 160,000 rows).
CREATE OR REPLACE VIEW sources AS
SELECT unnest(arg_max(h, (h.updated_at, h.run_id))) FROM source_history AS h GROUP BY h.source_id;

CREATE OR REPLACE VIEW articles AS
SELECT * FROM {articles};

-- Daily (news) assessments; the structural reconstruction has its own view below.
CREATE OR REPLACE VIEW assessments AS
SELECT * FROM {assessments}
WHERE analyzer IS DISTINCT FROM 'structural';

CREATE OR REPLACE VIEW risk_factors AS
SELECT * FROM {risk_factors};

CREATE OR REPLACE VIEW alerts AS
SELECT * FROM {alerts};

-- The delivery log of notifications (kept for failed runs too: it records what was sent).
CREATE OR REPLACE VIEW notifications AS
SELECT * FROM {notifications};

-- Issue 16. The reconstruction 1947 onward: structural assessments, one per year (kept out of
-- `assessments`, whose readers want the daily runs). Its seconds_calibrated are in sample (the
-- clock was fitted on every Bulletin setting); calibration_loo.loo_seconds are the out-of-sample ones.
CREATE OR REPLACE VIEW reconstruction AS
SELECT * FROM {assessments}
WHERE analyzer = 'structural';

-- The clock's calibration: each Bulletin setting, its leave-one-out (out-of-sample) and in-sample predictions.
CREATE OR REPLACE VIEW calibration_loo AS
SELECT year, bulletin_seconds, loo_seconds, fitted_seconds, announced, as_of, clock_score, fitted_on
FROM {calibration};
