-- Named views and macros over the lake's views: what the spec asks of history (D05 §4).
-- joshua/catalog.py fills in the reference files' paths; every one is documented in the README.

-- The most recent assessment. Every ORDER BY below ends in a key, so ties come out in one order
-- (replays of one snapshot share an as-of time: run ids, which sort by start, break those ties).
CREATE OR REPLACE VIEW latest_assessment AS
SELECT * FROM assessments ORDER BY assessed_at DESC, run_id DESC LIMIT 1;

-- Assessments in a period, oldest first: FROM assessments_between('2026-01-01', '2026-12-31').
-- An end given as a date (YYYY-MM-DD) includes that whole day; a timestamp ends exactly there.
CREATE OR REPLACE MACRO assessments_between(start_at, end_at) AS TABLE
SELECT assessed_at, assessment_id, run_id, seconds_to_midnight, score, band, confidence, trend
FROM assessments
WHERE assessed_at >= CAST(start_at AS TIMESTAMPTZ)
  AND CASE
        WHEN length(CAST(end_at AS VARCHAR)) = 10
            THEN assessed_at < CAST(CAST(end_at AS DATE) + INTERVAL 1 DAY AS TIMESTAMPTZ)
        ELSE assessed_at <= CAST(end_at AS TIMESTAMPTZ)
      END
ORDER BY assessed_at, run_id;

-- The n largest contributions of one assessment: FROM top_factors('<assessment_id>', 5).
CREATE OR REPLACE MACRO top_factors(aid, n) AS TABLE
SELECT rank, category, name, value, confidence, weight, contribution, evidence, reasoning
FROM risk_factors
WHERE assessment_id = aid
ORDER BY contribution DESC, category
LIMIT n;

-- Mean seconds to midnight over the 30 days up to each assessment, by date: a RANGE window over
-- [assessed_at − 30 days, assessed_at], so irregular or missing days weigh what they are.
CREATE OR REPLACE VIEW rolling_30d AS
SELECT
    assessed_at,
    seconds_to_midnight,
    avg(seconds_to_midnight) OVER last_30_days AS avg_seconds_30d,
    count(*) OVER last_30_days AS assessments_30d
FROM assessments
WINDOW last_30_days AS (ORDER BY assessed_at RANGE BETWEEN INTERVAL 30 DAYS PRECEDING AND CURRENT ROW)
ORDER BY assessed_at, run_id;

-- Each category's monthly mean and spread of value and contribution.
CREATE OR REPLACE VIEW monthly_factor_trend AS
SELECT
    date_trunc('month', a.assessed_at) AS month,
    f.category,
    avg(f.value) AS mean_value,
    stddev_samp(f.value) AS sd_value,
    avg(f.contribution) AS mean_contribution,
    stddev_samp(f.contribution) AS sd_contribution,
    count(*) AS n
FROM risk_factors AS f
JOIN assessments AS a USING (assessment_id)
GROUP BY ALL
ORDER BY month, f.category;

-- The 365 days up to the latest assessment against the five years before them.
CREATE OR REPLACE VIEW current_vs_history AS
WITH latest AS (SELECT max(assessed_at) AS now FROM assessments)
SELECT
    avg(seconds_to_midnight) FILTER (WHERE assessed_at > now - INTERVAL 1 YEAR) AS current_year_mean,
    count(*) FILTER (WHERE assessed_at > now - INTERVAL 1 YEAR) AS current_year_n,
    avg(seconds_to_midnight) FILTER (
        WHERE assessed_at <= now - INTERVAL 1 YEAR AND assessed_at > now - INTERVAL 6 YEAR
    ) AS previous_five_years_mean,
    count(*) FILTER (
        WHERE assessed_at <= now - INTERVAL 1 YEAR AND assessed_at > now - INTERVAL 6 YEAR
    ) AS previous_five_years_n,
    current_year_mean - previous_five_years_mean AS deviation_seconds
FROM assessments, latest;

-- Pearson correlation of two categories' values over the assessments rating both (n ≥ 30).
CREATE OR REPLACE VIEW factor_correlations AS
WITH values_by_assessment AS (
    SELECT assessment_id, category, avg(value) AS value FROM risk_factors GROUP BY ALL
)
SELECT a.category AS first, b.category AS second, corr(a.value, b.value) AS r, count(*) AS n
FROM values_by_assessment AS a
JOIN values_by_assessment AS b ON a.assessment_id = b.assessment_id AND a.category < b.category
GROUP BY ALL
HAVING count(*) >= 30
ORDER BY abs(r) DESC, first, second;

-- Nuclear forces by country and year, each row with its source (data/reference/nuclear_forces.csv).
CREATE OR REPLACE VIEW nuclear_forces AS
SELECT * FROM read_csv('{nuclear_forces}', header = true, auto_detect = true);

-- One country's forces over the years: FROM forces_history('China').
CREATE OR REPLACE MACRO forces_history(name) AS TABLE
SELECT * FROM nuclear_forces WHERE country = name ORDER BY year;

-- Arms-control treaties, one row per treaty and status period, each with its source and the date
-- it is current as of (data/reference/arms_control_treaties.csv). A treaty's status on a date is
-- its row with the latest status_since on or before it.
CREATE OR REPLACE VIEW arms_control_treaties AS
SELECT * FROM read_csv(
    '{arms_control_treaties}',
    header = true,
    auto_detect = true,
    types = {
        'status_since': 'DATE', 'signed': 'DATE', 'entered_into_force': 'DATE', 'expires': 'DATE',
        'source_date': 'DATE'
    }
);

-- Articles whose title or text contains a term, case-insensitive, best first (each article once,
-- from its latest run): FROM search_items('Zaporizhzhia').
CREATE OR REPLACE MACRO search_items(term) AS TABLE
SELECT published_at, source_id, title, canonical_url, quality, relevance, article_id
FROM (
    SELECT DISTINCT ON (article_id) *
    FROM articles
    WHERE coalesce(title, '') || ' ' || coalesce(text, '') ILIKE '%' || term || '%'
    ORDER BY article_id, run_id DESC
)
ORDER BY quality DESC, published_at DESC NULLS LAST, article_id
LIMIT 50;
