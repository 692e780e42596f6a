"""The differential corpus: Postgres-dialect reads of the legacy tables (issue 7).

Each Q runs through switchyard (served by MariaDB) and directly on the Postgres copy
(test_legacy_diff.py). Every query is valid Postgres (test_query_valid_on_postgres checks it) and
is written so that Postgres' answer is unambiguous: a LIMIT/OFFSET/FETCH only under an ORDER BY
that is total (it ends with a key), otherwise results are compared as multisets.

Fields:
  sql       psycopg query text (with params: %s / %(name)s placeholders and %% for a literal %)
  params    None (no placeholders) or the parameters, bound over the extended protocol
  settings  ((name, value), ...) SET on the connection before the query: a connection per
            distinct settings, so switchyard must keep what the client SET
  proto     "extended" (psycopg's default: Parse/Bind/Execute), "prepared" (named statement,
            prepare=True), "simple" (ClientCursor: the simple query protocol)
  binary    results in binary format
  ordered   compare row order (default: the query ends in a top-level ORDER BY)
  loose     compare names, types, tag and row count only (now(), current_date)
  empty_ok  an empty answer is expected (the point is what is NOT matched)
  xfail     a known semantic gap: the differential test is a strict xfail with this reason
            (set through XFAIL below, so the query and its simple-/prepared- copies keep it)
"""
import datetime
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal

@dataclass(frozen=True)
class Q:
    id: str
    sql: str
    params: object = None
    settings: tuple = ()
    proto: str = "extended"
    binary: bool = False
    ordered: object = None
    loose: bool = False
    empty_ok: bool = False
    limit_ok: bool = False   # a LIMIT whose subset cannot matter (e.g. inside count(*))
    xfail: str = ""          # a known semantic gap of the translator: the precise reason (strict xfail)

    def __post_init__(self):
        if self.ordered is None:
            # A top-level ORDER BY: the last ORDER BY, not inside parentheses (windows,
            # string_agg, subqueries close their parenthesis after it).
            low = self.sql.lower()
            top = "order by" in low and _balanced_after(self.sql[low.rfind("order by"):])
            object.__setattr__(self, "ordered", bool(top))


def _balanced_after(tail: str) -> bool:
    """True when the text after the last ORDER BY never closes a parenthesis opened before it."""
    depth = 0
    for ch in tail:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return True


QUERIES: list = []


def q(id, sql, **kw):
    QUERIES.append(Q(id=id, sql=" ".join(sql.split()) if "\n" in sql else sql, **kw))


C_ALL = ("customer_id, name, phone, email, status, is_vip, grade, points, visits, balance, score, "
         "ratio, country, birth_year, birthday, created_at, updated_at, last_login_at, memo, tags, "
         "profile, avatar, flags")

# --- select lists, *, aliases ----------------------------------------------------------------
q("guide-query-ordered", "SELECT customer_id, name, phone, email FROM customers WHERE status = 'active' ORDER BY customer_id LIMIT 10")
q("select-columns", "SELECT customer_id, name, phone, email FROM customers ORDER BY customer_id")
q("select-star-customers", "SELECT * FROM customers ORDER BY customer_id")
q("select-star-subscriptions", "SELECT * FROM subscriptions ORDER BY subscription_id")
q("select-star-payments", "SELECT * FROM payments ORDER BY payment_id")
q("select-star-unordered", "SELECT * FROM subscriptions")
q("select-all-columns-named", f"SELECT {C_ALL} FROM customers")
q("select-alias", 'SELECT customer_id AS id, name AS "Customer Name", c.email e FROM customers c ORDER BY id')
q("select-qualified-star", "SELECT c.* FROM customers c WHERE c.customer_id < 30 ORDER BY 1")
q("select-schema-qualified", "SELECT customer_id, name FROM public.customers WHERE customer_id <= 10 ORDER BY customer_id")
q("select-quoted-identifiers", 'SELECT "customer_id", "Name" FROM (SELECT customer_id, name AS "Name" FROM customers) t ORDER BY 1')
q("select-unnamed-expressions", "SELECT customer_id + 1, points * 2, balance - 1 FROM customers ORDER BY customer_id")
q("select-literals", "SELECT 1, 'x', 2.50, customer_id FROM customers WHERE customer_id = 1")
q("select-null-literal", "SELECT NULL AS n, customer_id FROM customers WHERE customer_id = 2")
q("select-star-and-expr", "SELECT *, points + 1 AS p1 FROM customers WHERE customer_id BETWEEN 1 AND 5 ORDER BY customer_id")
q("select-same-column-twice", "SELECT name, name, customer_id AS name2 FROM customers WHERE customer_id < 8 ORDER BY customer_id")
q("select-table-alias-star-join", "SELECT s.*, c.name FROM subscriptions s JOIN customers c ON c.customer_id = s.customer_id ORDER BY s.subscription_id")

# --- WHERE: AND / OR / NOT, comparisons -------------------------------------------------------
q("where-and", "SELECT customer_id, name FROM customers WHERE status = 'active' AND is_vip ORDER BY customer_id")
q("where-or", "SELECT customer_id, grade, points FROM customers WHERE grade < 0 OR points > 60000 ORDER BY customer_id")
q("where-not", "SELECT customer_id, status FROM customers WHERE NOT is_vip AND NOT (status = 'active') ORDER BY customer_id")
q("where-not-or-nulls", "SELECT customer_id FROM customers WHERE NOT (grade > 0 OR visits > 0) ORDER BY customer_id")
q("where-bool-eq-true", "SELECT customer_id FROM customers WHERE is_vip = true ORDER BY customer_id")
q("where-bit-false", "SELECT customer_id, flags FROM customers WHERE NOT flags ORDER BY customer_id")
q("where-bool-is-true", "SELECT subscription_id FROM subscriptions WHERE auto_renew IS TRUE ORDER BY subscription_id")
q("where-range", "SELECT customer_id, balance FROM customers WHERE balance > 1000 AND balance <= 5000 ORDER BY customer_id")
q("where-ne", "SELECT customer_id, status FROM customers WHERE status <> 'active' ORDER BY customer_id")
q("where-ne-bang-nulls", "SELECT customer_id, country FROM customers WHERE country != 'KR' ORDER BY customer_id")
q("where-ge-le-dates", "SELECT customer_id, birthday FROM customers WHERE birthday >= '1990-01-01' AND birthday <= '2000-12-31' ORDER BY customer_id")
q("where-numeric-literal", "SELECT customer_id FROM customers WHERE balance = 150000.5")
q("where-float", "SELECT customer_id, score FROM customers WHERE score > 100.25 ORDER BY customer_id")
q("where-float-eq-float4-literal", "SELECT customer_id FROM customers WHERE score = 2.5")
q("where-unsigned-beyond-int8", "SELECT subscription_id, plan FROM subscriptions WHERE subscription_id > 9223372036854775807 ORDER BY subscription_id")
q("where-negative-bigint", "SELECT payment_id, amount FROM payments WHERE payment_id < 1 ORDER BY payment_id")
q("where-column-vs-column", "SELECT customer_id FROM customers WHERE visits > points ORDER BY customer_id")
q("where-timestamp-literal", "SELECT customer_id, created_at FROM customers WHERE created_at < '2001-01-01 00:00:00' ORDER BY customer_id")
q("where-year", "SELECT customer_id, birth_year FROM customers WHERE birth_year > 2000 ORDER BY customer_id")

# --- BETWEEN, IN, ANY ------------------------------------------------------------------------
q("between-timestamps", "SELECT customer_id, created_at FROM customers WHERE created_at BETWEEN '2005-01-01' AND '2010-12-31' ORDER BY customer_id")
q("not-between", "SELECT customer_id, points FROM customers WHERE points NOT BETWEEN 100 AND 60000 ORDER BY customer_id")
q("between-text", "SELECT customer_id, name FROM customers WHERE name BETWEEN 'A' AND 'Z' ORDER BY customer_id")
q("between-numeric", "SELECT payment_id FROM payments WHERE amount BETWEEN -10 AND 10 ORDER BY payment_id")
q("in-list", "SELECT customer_id, name FROM customers WHERE customer_id IN (1, 3, 5, 7, 999) ORDER BY customer_id")
q("not-in-list", "SELECT customer_id, status FROM customers WHERE status NOT IN ('active', 'inactive') ORDER BY customer_id")
q("in-text-case-sensitive", "SELECT customer_id, name FROM customers WHERE name IN ('Kim', 'Lee') ORDER BY customer_id")
q("in-subquery", "SELECT customer_id, name FROM customers WHERE customer_id IN (SELECT customer_id FROM subscriptions WHERE status = 'trial') ORDER BY customer_id")
q("not-in-subquery", "SELECT customer_id FROM customers WHERE customer_id NOT IN (SELECT customer_id FROM subscriptions WHERE status <> 'expired') ORDER BY customer_id")
q("in-subquery-numeric", "SELECT payment_id FROM payments WHERE subscription_id IN (SELECT subscription_id FROM subscriptions WHERE price < 1) ORDER BY payment_id")
q("any-array", "SELECT customer_id FROM customers WHERE customer_id = ANY(ARRAY[1, 2, 3, 500]) ORDER BY customer_id")
q("any-array-text", "SELECT customer_id, name FROM customers WHERE name = ANY(ARRAY['kim', 'Lee ']) ORDER BY customer_id")
q("ne-all-array", "SELECT customer_id, status FROM customers WHERE status <> ALL(ARRAY['active', 'inactive']) ORDER BY customer_id")
q("any-subquery", "SELECT customer_id FROM customers WHERE customer_id = ANY (SELECT customer_id FROM subscriptions WHERE plan = 'Pro') ORDER BY customer_id")
q("gt-all-subquery", "SELECT customer_id, balance FROM customers WHERE balance > ALL (SELECT price FROM subscriptions WHERE price < 100000) ORDER BY customer_id")

# --- NULLs -----------------------------------------------------------------------------------
q("is-null", "SELECT customer_id FROM customers WHERE phone IS NULL ORDER BY customer_id")
q("is-not-null-and-null", "SELECT customer_id, email FROM customers WHERE email IS NOT NULL AND country IS NULL ORDER BY customer_id")
q("is-distinct-from", "SELECT customer_id, grade FROM customers WHERE grade IS DISTINCT FROM 3 ORDER BY customer_id")
q("is-not-distinct-from-null", "SELECT customer_id FROM customers WHERE country IS NOT DISTINCT FROM NULL ORDER BY customer_id")
q("is-not-distinct-from-value", "SELECT payment_id, note FROM payments WHERE note IS NOT DISTINCT FROM 'a_b' ORDER BY payment_id")
q("is-distinct-from-columns", "SELECT customer_id FROM customers WHERE created_at IS DISTINCT FROM last_login_at AND customer_id < 30 ORDER BY customer_id")
q("null-comparison-yields-null", "SELECT customer_id, grade = NULL AS eq, grade > 0 AS pos FROM customers WHERE customer_id IN (19, 20) ORDER BY customer_id")
q("zero-date-is-null", "SELECT customer_id, last_login_at, last_login_at IS NULL AS missing FROM customers WHERE customer_id <= 8 ORDER BY customer_id")
q("zero-date-where-is-null", "SELECT customer_id FROM customers WHERE last_login_at IS NULL AND customer_id < 10 ORDER BY customer_id")
q("null-in-list", "SELECT customer_id FROM customers WHERE grade IN (1, NULL) ORDER BY customer_id")
q("not-in-with-null-empty", "SELECT customer_id FROM customers WHERE grade NOT IN (1, NULL)", empty_ok=True)

# --- LIKE / ILIKE ----------------------------------------------------------------------------
q("like-prefix-korean", "SELECT customer_id, name FROM customers WHERE name LIKE '김%' ORDER BY customer_id")
q("like-suffix-korean", "SELECT customer_id, name FROM customers WHERE name LIKE '%민준' ORDER BY customer_id")
q("like-case-sensitive", "SELECT customer_id, name FROM customers WHERE name LIKE 'k%' ORDER BY customer_id")
q("like-escaped-underscore", "SELECT customer_id, name FROM customers WHERE name LIKE '%\\_%' ORDER BY customer_id")
q("like-escaped-percent", "SELECT customer_id, memo FROM customers WHERE memo LIKE '%50\\%%' ORDER BY customer_id")
q("like-underscore-wildcard", "SELECT customer_id, name FROM customers WHERE name LIKE 'K_M' ORDER BY customer_id")
q("like-escape-clause", "SELECT customer_id, name FROM customers WHERE name LIKE '%!_%' ESCAPE '!' ORDER BY customer_id")
q("like-backslash-in-data", "SELECT customer_id, name FROM customers WHERE name LIKE 'C:\\\\Users%' ORDER BY customer_id")
q("like-quote-in-data", "SELECT customer_id, name FROM customers WHERE name LIKE '%''%' ORDER BY customer_id")
q("like-percent-data-note", "SELECT payment_id, note FROM payments WHERE note LIKE '100\\%%' ORDER BY payment_id")
q("not-like", "SELECT customer_id, email FROM customers WHERE email NOT LIKE '%@example.com' ORDER BY customer_id")
q("like-trailing-space", "SELECT customer_id, name FROM customers WHERE name LIKE 'Lee' ORDER BY customer_id")
q("like-trailing-space-pattern", "SELECT customer_id, name FROM customers WHERE name LIKE 'Lee %' ORDER BY customer_id")
q("like-nfc-only", "SELECT customer_id FROM customers WHERE name LIKE '김민준' ORDER BY customer_id")
q("like-accent", "SELECT customer_id, name FROM customers WHERE name LIKE 'a%' ORDER BY customer_id")
q("ilike-exact", "SELECT customer_id, name FROM customers WHERE name ILIKE 'kim' ORDER BY customer_id")
q("ilike-pattern", "SELECT customer_id, email FROM customers WHERE email ILIKE '%@EXAMPLE.com' ORDER BY customer_id")
q("not-ilike", "SELECT customer_id, name FROM customers WHERE name NOT ILIKE '%e%' AND customer_id < 30 ORDER BY customer_id")
q("like-on-set-column", "SELECT customer_id, tags FROM customers WHERE tags LIKE '%vip%' ORDER BY customer_id")
q("like-on-enum", "SELECT customer_id FROM customers WHERE status LIKE 'sus%' ORDER BY customer_id")
q("like-on-plan-mixed-case", "SELECT subscription_id, plan FROM subscriptions WHERE plan LIKE 'P%' ORDER BY subscription_id")

# --- case-sensitive compare / sort / group on _ci columns ------------------------------------
q("eq-case-sensitive", "SELECT customer_id, name FROM customers WHERE name = 'kim' ORDER BY customer_id")
q("eq-trailing-space", "SELECT customer_id, name FROM customers WHERE name = 'Lee' ORDER BY customer_id")
q("eq-with-trailing-space", "SELECT customer_id, name FROM customers WHERE name = 'Lee ' ORDER BY customer_id")
q("eq-accent-insensitive-in-mysql", "SELECT customer_id, name FROM customers WHERE name = 'alex' ORDER BY customer_id")
q("eq-email-unicode-ci", "SELECT customer_id FROM customers WHERE email = 'kim3@example.com'", empty_ok=True)
q("eq-email-exact", "SELECT customer_id FROM customers WHERE email = 'KIM3@EXAMPLE.COM'")
q("range-case-sensitive", "SELECT customer_id, name FROM customers WHERE name >= 'K' AND name < 'L' ORDER BY customer_id")
q("gt-lowercase-bytewise", "SELECT customer_id, name FROM customers WHERE name > 'a' ORDER BY name, customer_id")
q("order-by-name-bytewise", "SELECT customer_id, name FROM customers ORDER BY name, customer_id")
q("order-by-name-desc", "SELECT name, customer_id FROM customers WHERE customer_id <= 30 ORDER BY name DESC, customer_id")
q("order-by-email-bytewise", "SELECT customer_id, email FROM customers WHERE email IS NOT NULL ORDER BY email")
q("group-by-name-case-sensitive", "SELECT name, count(*) FROM customers GROUP BY name HAVING count(*) > 1 ORDER BY name")
q("group-by-name-all", "SELECT name, count(*) AS n FROM customers GROUP BY name ORDER BY n DESC, name")
q("distinct-names", "SELECT DISTINCT name FROM customers ORDER BY name")
q("count-distinct-names", "SELECT count(DISTINCT name) FROM customers")
q("distinct-plans", "SELECT DISTINCT plan FROM subscriptions ORDER BY plan")
q("group-by-plan", "SELECT plan, count(*), sum(price) FROM subscriptions GROUP BY plan ORDER BY plan")
q("min-max-text", "SELECT min(name), max(name), min(email), max(email) FROM customers")
q("lower-eq", "SELECT customer_id, name FROM customers WHERE lower(name) = 'kim' ORDER BY customer_id")
q("upper-group", "SELECT upper(name) AS u, count(*) FROM customers WHERE name ILIKE 'k%' GROUP BY upper(name) ORDER BY u")
q("union-case-sensitive", "SELECT name FROM customers WHERE name ILIKE 'kim' UNION SELECT 'kim'")
q("in-subquery-text", "SELECT customer_id FROM customers WHERE name IN (SELECT plan FROM subscriptions) ORDER BY customer_id", empty_ok=True)
q("join-on-text-case-sensitive", "SELECT a.customer_id, b.customer_id FROM customers a JOIN customers b ON a.name = b.name AND a.customer_id < b.customer_id WHERE a.customer_id < 12 ORDER BY 1, 2", empty_ok=True)

# --- ENUM and SET as text --------------------------------------------------------------------
q("order-by-enum-as-text", "SELECT customer_id, status FROM customers ORDER BY status, customer_id")
q("order-by-enum-desc", "SELECT subscription_id, status FROM subscriptions ORDER BY status DESC, subscription_id")
q("distinct-enum-ordered", "SELECT DISTINCT status FROM customers ORDER BY status")
q("group-by-enum", "SELECT status, count(*) FROM subscriptions GROUP BY status ORDER BY status")
q("min-max-enum", "SELECT min(status), max(status) FROM customers")
q("enum-compare-as-text", "SELECT customer_id, status FROM customers WHERE status > 'b' ORDER BY customer_id")
q("enum-method-order", "SELECT method, count(*) FROM payments GROUP BY method ORDER BY method")
q("order-by-set-as-text", "SELECT customer_id, tags FROM customers ORDER BY tags, customer_id")
q("set-equals-empty", "SELECT customer_id FROM customers WHERE tags = '' ORDER BY customer_id")
q("enum-in-case", "SELECT customer_id, CASE WHEN status < 'inactive' THEN 'early' ELSE 'late' END AS half FROM customers ORDER BY customer_id")

# --- CASE, COALESCE, NULLIF, GREATEST, LEAST -------------------------------------------------
q("case-searched", "SELECT customer_id, CASE WHEN balance < 0 THEN 'debt' WHEN balance = 0 THEN 'zero' ELSE 'credit' END AS kind FROM customers ORDER BY customer_id")
q("case-simple", "SELECT customer_id, CASE status WHEN 'active' THEN 1 WHEN 'suspended' THEN 2 ELSE 3 END FROM customers ORDER BY customer_id")
q("case-no-else", "SELECT customer_id, CASE WHEN is_vip THEN 'vip' END AS v FROM customers ORDER BY customer_id")
q("case-numeric-mixed", "SELECT customer_id, CASE WHEN grade > 0 THEN grade ELSE balance END AS x FROM customers WHERE customer_id <= 30 ORDER BY customer_id")
q("case-in-where", "SELECT customer_id FROM customers WHERE CASE WHEN country = 'KR' THEN points > 1000 ELSE visits > 0 END ORDER BY customer_id")
q("coalesce-text", "SELECT customer_id, COALESCE(phone, email, 'none') FROM customers ORDER BY customer_id")
q("coalesce-int-types", "SELECT customer_id, COALESCE(grade, 0) AS g, COALESCE(score, -1) AS s, COALESCE(visits, grade) AS v FROM customers ORDER BY customer_id")
q("coalesce-date", "SELECT subscription_id, COALESCE(ends_at, started_at) FROM subscriptions ORDER BY subscription_id")
q("nullif", "SELECT customer_id, NULLIF(country, 'KR'), NULLIF(points, 0) FROM customers ORDER BY customer_id")
q("greatest-least-ignore-nulls", "SELECT customer_id, GREATEST(points, visits, 0), LEAST(balance, 100) FROM customers ORDER BY customer_id")
q("greatest-with-null", "SELECT customer_id, GREATEST(grade, visits), LEAST(grade, visits) FROM customers WHERE customer_id IN (19, 23, 46, 57) ORDER BY customer_id")
q("greatest-text", "SELECT customer_id, GREATEST(name, 'M'), LEAST(name, 'M') FROM customers WHERE customer_id <= 22 ORDER BY customer_id")
q("greatest-dates", "SELECT subscription_id, GREATEST(started_at, ends_at) FROM subscriptions ORDER BY subscription_id")

# --- arithmetic with Postgres semantics ------------------------------------------------------
q("integer-division", "SELECT customer_id, points / 7, visits / 3, -7 / 2, 7 / -2 FROM customers ORDER BY customer_id")
q("integer-modulo", "SELECT customer_id, points % 7, visits % 5, -7 % 3 FROM customers ORDER BY customer_id")
q("numeric-division", "SELECT customer_id, balance / 3 FROM customers ORDER BY customer_id")
q("numeric-times", "SELECT customer_id, balance * 1.5, balance * points FROM customers ORDER BY customer_id")
q("mixed-int-numeric", "SELECT customer_id, points + 1.5, grade * 2, visits - grade FROM customers ORDER BY customer_id")
q("float-arith", "SELECT customer_id, score * 2, ratio / 3, score + ratio FROM customers ORDER BY customer_id")
q("unary-minus-abs", "SELECT customer_id, -balance, abs(balance), abs(grade), abs(score) FROM customers ORDER BY customer_id")
q("int8-arith", "SELECT payment_id, payment_id / 1000, payment_id % 1000 FROM payments WHERE payment_id > 0 ORDER BY payment_id")
q("numeric-unsigned-arith", "SELECT subscription_id, subscription_id + 1, subscription_id / 2 FROM subscriptions WHERE subscription_id > 1000 ORDER BY subscription_id")
q("year-arith", "SELECT customer_id, birth_year + 1, 2024 - birth_year FROM customers ORDER BY customer_id")
q("numeric-div-int", "SELECT payment_id, amount / 4, amount / 3.0 FROM payments WHERE payment_id <= 40 ORDER BY payment_id")
q("mod-function", "SELECT customer_id, mod(points, 10), mod(balance, 7) FROM customers ORDER BY customer_id")
q("precedence", "SELECT customer_id, points + visits * 2 - grade / 3 FROM customers ORDER BY customer_id")

# --- strings ---------------------------------------------------------------------------------
q("concat-operator", "SELECT customer_id, name || ' <' || email || '>' FROM customers ORDER BY customer_id")
q("concat-operator-number", "SELECT customer_id, customer_id || ':' || name AS label FROM customers ORDER BY customer_id")
q("concat-function", "SELECT customer_id, concat(name, ' ', phone), concat(points, '/', grade) FROM customers ORDER BY customer_id")
q("concat-ws", "SELECT customer_id, concat_ws('-', country, birth_year, grade) FROM customers ORDER BY customer_id")
q("lower-upper", "SELECT customer_id, lower(name), upper(email) FROM customers ORDER BY customer_id")
q("length", "SELECT customer_id, name, length(name), char_length(memo) FROM customers ORDER BY customer_id")
q("octet-length", "SELECT customer_id, octet_length(name), octet_length(avatar) FROM customers ORDER BY customer_id")
q("substring-from-for", "SELECT customer_id, substring(name from 1 for 2), substring(email from 3) FROM customers ORDER BY customer_id")
q("substring-comma", "SELECT customer_id, substring(phone, 5, 4), substr(email, 1, 5) FROM customers ORDER BY customer_id")
q("trim-family", "SELECT customer_id, trim(name), ltrim(memo), rtrim(name), '[' || trim(name) || ']' FROM customers ORDER BY customer_id")
q("trim-chars", "SELECT customer_id, trim(both '0' from phone), trim(leading '+' from phone) FROM customers ORDER BY customer_id")
q("replace", "SELECT customer_id, replace(email, '@', ' at '), replace(memo, '%', 'pct') FROM customers ORDER BY customer_id")
q("position", "SELECT customer_id, position('@' in email), strpos(email, '.') FROM customers ORDER BY customer_id")
q("left-right", "SELECT customer_id, left(phone, 3), right(email, 4) FROM customers ORDER BY customer_id")
q("lpad-rpad", "SELECT customer_id, lpad(customer_id::text, 5, '0'), rpad(country, 4, '*') FROM customers ORDER BY customer_id")
q("string-fn-in-where", "SELECT customer_id FROM customers WHERE length(trim(name)) <> length(name) ORDER BY customer_id")
q("reverse-repeat", "SELECT customer_id, reverse(phone), repeat('ab', grade % 3) FROM customers WHERE customer_id <= 40 ORDER BY customer_id")
q("json-column-text", "SELECT customer_id, profile FROM customers ORDER BY customer_id")
q("bytea-column", "SELECT customer_id, avatar FROM customers ORDER BY customer_id")
q("bytea-blob", "SELECT payment_id, raw FROM payments WHERE raw IS NOT NULL ORDER BY payment_id")
q("bytea-compare", "SELECT customer_id FROM customers WHERE avatar = '\\x4b'::bytea ORDER BY customer_id")
q("korean-text-ops", "SELECT customer_id, name, left(name, 1), length(name) FROM customers WHERE name LIKE '이%' ORDER BY customer_id")
q("memo-special-chars", "SELECT customer_id, memo FROM customers WHERE customer_id <= 22 ORDER BY customer_id")

# --- math functions --------------------------------------------------------------------------
q("round", "SELECT customer_id, round(balance), round(balance, 1), round(ratio::numeric, 3) FROM customers ORDER BY customer_id")
q("round-float", "SELECT customer_id, round(score), round(ratio) FROM customers ORDER BY customer_id")
q("round-negative-places", "SELECT payment_id, round(amount, -2) FROM payments WHERE payment_id <= 50 ORDER BY payment_id")
q("ceil-floor", "SELECT customer_id, ceil(balance), floor(balance), ceiling(ratio), floor(score) FROM customers ORDER BY customer_id")
q("abs-sign", "SELECT customer_id, abs(visits), sign(balance) FROM customers ORDER BY customer_id")

# --- dates, times, intervals -----------------------------------------------------------------
q("now-compare", "SELECT count(*) FROM payments WHERE paid_at < now()")
q("current-date-compare", "SELECT count(*) FROM customers WHERE birthday < current_date")
q("now-booleans", "SELECT now() > '2020-01-01'::timestamptz AS after_2020, current_date >= '2020-01-01' AS today FROM customers WHERE customer_id = 1")
q("now-value-loose", "SELECT now() AS t, current_date AS d, current_timestamp AS ts FROM customers WHERE customer_id = 1", loose=True)
q("extract-fields", "SELECT customer_id, extract(year from created_at), extract(month from birthday), extract(dow from created_at), extract(hour from created_at) FROM customers ORDER BY customer_id")
q("extract-epoch", "SELECT customer_id, extract(epoch from updated_at), extract(epoch from created_at) FROM customers ORDER BY customer_id")
q("extract-from-timestamptz", "SELECT payment_id, extract(hour from paid_at), extract(day from paid_at) FROM payments WHERE payment_id >= 990 ORDER BY payment_id")
q("date-part", "SELECT customer_id, date_part('year', created_at), date_part('quarter', birthday) FROM customers ORDER BY customer_id")
q("date-trunc-timestamp", "SELECT customer_id, date_trunc('month', created_at), date_trunc('hour', created_at) FROM customers ORDER BY customer_id")
q("date-trunc-timestamptz", "SELECT payment_id, date_trunc('day', paid_at) FROM payments WHERE payment_id >= 990 ORDER BY payment_id")
q("date-trunc-date", "SELECT customer_id, date_trunc('year', birthday) FROM customers WHERE customer_id <= 30 ORDER BY customer_id")
q("date-trunc-group", "SELECT date_trunc('year', paid_at) AS y, count(*), sum(amount) FROM payments GROUP BY 1 ORDER BY 1")
q("interval-add-timestamp", "SELECT customer_id, created_at + interval '1 day', created_at - interval '1 month' FROM customers ORDER BY customer_id")
q("interval-add-timestamptz", "SELECT payment_id, paid_at - interval '2 hours', paid_at + interval '1 day' FROM payments WHERE payment_id >= 990 ORDER BY payment_id")
q("date-plus-integer", "SELECT subscription_id, started_at + 30, ends_at - 1 FROM subscriptions ORDER BY subscription_id")
q("date-minus-date", "SELECT subscription_id, ends_at - started_at AS days FROM subscriptions ORDER BY subscription_id")
q("date-plus-interval", "SELECT subscription_id, started_at + interval '1 month' FROM subscriptions ORDER BY subscription_id")
q("time-as-interval", "SELECT subscription_id, renew_time, renew_time + interval '30 minutes' FROM subscriptions ORDER BY subscription_id")
q("interval-compare", "SELECT subscription_id, renew_time FROM subscriptions WHERE renew_time > interval '12 hours' ORDER BY subscription_id")
q("timestamp-minus-timestamp", "SELECT customer_id, last_login_at - created_at FROM customers WHERE last_login_at IS NOT NULL ORDER BY customer_id")
q("timestamptz-minus-timestamp", "SELECT customer_id, updated_at - created_at FROM customers ORDER BY customer_id")
q("where-interval-window", "SELECT payment_id FROM payments WHERE paid_at BETWEEN '2024-03-10 00:00:00+00' AND '2024-03-10 00:00:00+00'::timestamptz + interval '1 day' ORDER BY payment_id")
q("where-date-from-timestamp", "SELECT customer_id FROM customers WHERE created_at::date = '2005-06-15' ORDER BY customer_id")
# at-time-zone: a refusal expectation (REFUSED below): a named zone's rules are not in the translator.
q("far-future-dates", "SELECT customer_id, created_at, birthday FROM customers WHERE created_at > '2038-01-01' OR birthday > '2038-01-01' ORDER BY customer_id")

# --- casts -----------------------------------------------------------------------------------
q("cast-to-text", "SELECT customer_id::text, points::text, balance::text, created_at::text FROM customers ORDER BY customer_id")
q("cast-bool-to-text", "SELECT customer_id, is_vip::text, flags::text FROM customers ORDER BY customer_id")
q("cast-float-to-text", "SELECT customer_id, score::text, ratio::text FROM customers ORDER BY customer_id")
q("cast-numeric-to-int", "SELECT customer_id, balance::int, CAST(balance AS bigint) FROM customers WHERE abs(balance) < 2000000000 ORDER BY customer_id")
q("cast-float-to-int-rounding", "SELECT customer_id, score, score::int, ratio::int FROM customers WHERE abs(score) < 1e9 AND abs(ratio) < 1e9 ORDER BY customer_id")
q("cast-to-numeric", "SELECT customer_id, score::numeric, ratio::numeric(10, 3), points::numeric FROM customers WHERE abs(ratio) < 1e6 ORDER BY customer_id")
q("cast-to-date", "SELECT customer_id, created_at::date, CAST(created_at AS date) FROM customers ORDER BY customer_id")
q("cast-timestamptz-to-date", "SELECT payment_id, paid_at::date FROM payments WHERE payment_id >= 990 ORDER BY payment_id")
q("cast-to-timestamp", "SELECT customer_id, birthday::timestamp, CAST(birthday AS timestamp) FROM customers ORDER BY customer_id")
q("cast-timestamptz-to-timestamp", "SELECT payment_id, paid_at::timestamp FROM payments WHERE payment_id >= 990 ORDER BY payment_id")
q("cast-text-to-int", "SELECT customer_id, '42'::int + points, CAST('7' AS integer) * grade FROM customers ORDER BY customer_id")
q("cast-bool-to-int", "SELECT customer_id, is_vip::int, CAST(flags AS integer) FROM customers ORDER BY customer_id")
q("cast-varchar-n", "SELECT customer_id, name::varchar(3), CAST(email AS varchar(5)) FROM customers ORDER BY customer_id")
q("cast-int-widths", "SELECT customer_id, grade::smallint, points::bigint, visits::int8, points::int4 FROM customers ORDER BY customer_id")
q("cast-literal-date", "SELECT count(*) FROM subscriptions WHERE started_at > '2022-06-01'::date")
q("cast-in-where", "SELECT customer_id FROM customers WHERE points::text LIKE '1%' ORDER BY customer_id")
q("cast-char", "SELECT customer_id, country::text, country::varchar, country || '|' FROM customers ORDER BY customer_id")

# --- char(n) and trailing spaces -------------------------------------------------------------
q("char-padding", "SELECT customer_id, country, length(country), octet_length(country) FROM customers ORDER BY customer_id")
q("char-compare-ignores-pad", "SELECT customer_id, country FROM customers WHERE country = 'K ' ORDER BY customer_id")
q("char-compare-short", "SELECT customer_id FROM customers WHERE country = 'K' ORDER BY customer_id")
q("char-empty", "SELECT customer_id, country FROM customers WHERE country = '' ORDER BY customer_id")
q("varchar-trailing-spaces", "SELECT customer_id, name, length(name), name || '|' FROM customers WHERE name LIKE 'Lee%' OR name LIKE '정%' ORDER BY customer_id")
q("currency-char3", "SELECT currency, count(*) FROM payments GROUP BY currency ORDER BY currency")
q("plan-trailing-space-group", "SELECT plan, length(plan), count(*) FROM subscriptions GROUP BY plan ORDER BY plan")

# --- booleans --------------------------------------------------------------------------------
q("bool-columns", "SELECT customer_id, is_vip, flags FROM customers ORDER BY customer_id")
q("bool-from-comparison", "SELECT customer_id, balance > 0 AS positive, name = 'Kim' AS is_kim, phone IS NULL AS no_phone FROM customers ORDER BY customer_id")
q("bool-expressions", "SELECT customer_id, is_vip AND flags, is_vip OR flags, NOT is_vip FROM customers ORDER BY customer_id")
q("bool-like-result", "SELECT customer_id, name LIKE 'K%', email ILIKE '%example%' FROM customers ORDER BY customer_id")
q("bool-group", "SELECT is_vip, count(*) FROM customers GROUP BY is_vip ORDER BY is_vip")
q("bool-order", "SELECT customer_id, auto_renew FROM subscriptions ORDER BY auto_renew, subscription_id")
q("bool-in-between", "SELECT customer_id, points BETWEEN 100 AND 1000 AS mid, grade IN (1, 2, 3) AS low FROM customers ORDER BY customer_id")
q("bool-exists-column", "SELECT c.customer_id, EXISTS (SELECT 1 FROM subscriptions s WHERE s.customer_id = c.customer_id AND s.status = 'trial') AS has_trial FROM customers c ORDER BY c.customer_id")

# --- aggregates ------------------------------------------------------------------------------
q("count-star", "SELECT count(*) FROM customers")
q("count-columns", "SELECT count(phone), count(email), count(DISTINCT country), count(DISTINCT status) FROM customers")
q("aggregate-types-ints", "SELECT sum(points), sum(visits), sum(grade), sum(customer_id), sum(birth_year) FROM customers")
q("aggregate-types-avg", "SELECT avg(points), avg(grade), avg(visits), avg(customer_id), avg(balance) FROM customers")
q("aggregate-types-float", "SELECT sum(score), avg(score), sum(ratio), avg(ratio) FROM customers WHERE abs(ratio) < 1e6")
q("aggregate-numeric", "SELECT sum(amount), avg(amount), min(amount), max(amount) FROM payments")
q("aggregate-unsigned", "SELECT sum(subscription_id), avg(subscription_id), max(subscription_id) FROM subscriptions")
q("aggregate-bigint", "SELECT sum(payment_id), avg(payment_id) FROM payments WHERE payment_id BETWEEN -1000000 AND 1000000")
q("min-max-mixed", "SELECT min(created_at), max(updated_at), min(birthday), max(renew_time), min(score), max(ratio) FROM customers, (SELECT max(renew_time) AS renew_time FROM subscriptions) s")
q("count-empty-set", "SELECT count(*), sum(points), avg(points), max(name) FROM customers WHERE customer_id > 100000")
q("string-agg-ordered", "SELECT string_agg(name, ', ' ORDER BY name) FROM customers WHERE customer_id <= 22")
q("string-agg-distinct", "SELECT string_agg(DISTINCT country, ',' ORDER BY country) FROM customers")
q("string-agg-group", "SELECT status, string_agg(customer_id::text, ',' ORDER BY customer_id) FROM customers GROUP BY status ORDER BY status")
q("aggregate-filter", "SELECT count(*) FILTER (WHERE is_vip), sum(balance) FILTER (WHERE balance < 0), avg(points) FILTER (WHERE status = 'active') FROM customers")
q("aggregate-filter-group", "SELECT currency, count(*) FILTER (WHERE amount < 0) AS refunds, sum(amount) FILTER (WHERE method = 'card') AS card FROM payments GROUP BY currency ORDER BY currency")
q("group-by-nullable", "SELECT country, count(*) FROM customers GROUP BY country ORDER BY country")
q("group-by-expression", "SELECT extract(year from created_at) AS y, count(*) FROM customers GROUP BY extract(year from created_at) ORDER BY y")
q("group-by-ordinal", "SELECT currency, method, count(*) FROM payments GROUP BY 1, 2 ORDER BY 1, 2")
q("group-by-two", "SELECT status, is_vip, count(*), sum(points) FROM customers GROUP BY status, is_vip ORDER BY status, is_vip")
q("having", "SELECT subscription_id, sum(amount) FROM payments GROUP BY subscription_id HAVING sum(amount) > 20000 ORDER BY subscription_id")
q("having-count", "SELECT customer_id, count(*) FROM subscriptions GROUP BY customer_id HAVING count(*) >= 2 ORDER BY customer_id")
q("having-without-select", "SELECT status FROM subscriptions GROUP BY status HAVING avg(price) > 20000 ORDER BY status")
q("group-unordered", "SELECT grade, count(*) FROM customers GROUP BY grade")
q("group-by-date", "SELECT started_at, count(*) FROM subscriptions GROUP BY started_at HAVING count(*) > 1 ORDER BY started_at", empty_ok=True)
q("count-distinct-multi", "SELECT count(DISTINCT customer_id), count(DISTINCT plan), count(DISTINCT price) FROM subscriptions")

# --- DISTINCT --------------------------------------------------------------------------------
q("distinct-unordered", "SELECT DISTINCT status FROM customers")
q("distinct-multi", "SELECT DISTINCT currency, method FROM payments ORDER BY currency, method")
q("distinct-expression", "SELECT DISTINCT extract(year from started_at) FROM subscriptions ORDER BY 1")
q("distinct-nulls", "SELECT DISTINCT grade FROM customers ORDER BY grade")

# --- ORDER BY with Postgres NULL ordering ----------------------------------------------------
q("order-nulls-last-default", "SELECT customer_id, grade FROM customers ORDER BY grade, customer_id")
q("order-desc-nulls-first-default", "SELECT customer_id, grade FROM customers ORDER BY grade DESC, customer_id")
q("order-nulls-first", "SELECT customer_id, score FROM customers ORDER BY score NULLS FIRST, customer_id")
q("order-desc-nulls-last", "SELECT customer_id, score FROM customers ORDER BY score DESC NULLS LAST, customer_id")
q("order-text-nulls", "SELECT customer_id, phone FROM customers ORDER BY phone DESC, customer_id")
q("order-by-expression", "SELECT customer_id, name FROM customers ORDER BY length(name) DESC, customer_id")
q("order-by-alias", "SELECT customer_id, balance * 2 AS dbl FROM customers ORDER BY dbl DESC, customer_id")
q("order-by-ordinal", "SELECT status, customer_id FROM customers ORDER BY 1, 2")
q("order-by-char", "SELECT customer_id, country FROM customers ORDER BY country, customer_id")
q("order-by-varchar-trailing", "SELECT subscription_id, plan FROM subscriptions ORDER BY plan, subscription_id")
q("order-by-float", "SELECT customer_id, ratio FROM customers ORDER BY ratio, customer_id")
q("order-by-timestamptz", "SELECT payment_id, paid_at FROM payments ORDER BY paid_at DESC, payment_id LIMIT 20")
q("order-by-unsigned", "SELECT subscription_id FROM subscriptions ORDER BY subscription_id DESC LIMIT 8")
q("order-by-bytea", "SELECT customer_id, avatar FROM customers ORDER BY avatar, customer_id")
q("order-by-korean", "SELECT customer_id, name FROM customers WHERE name >= '가' ORDER BY name, customer_id")
q("order-by-json-text", "SELECT customer_id FROM customers ORDER BY profile::text, customer_id")

# --- LIMIT, OFFSET, FETCH --------------------------------------------------------------------
q("limit", "SELECT customer_id, name FROM customers ORDER BY customer_id LIMIT 5")
q("limit-offset", "SELECT customer_id FROM customers ORDER BY customer_id LIMIT 5 OFFSET 10")
q("offset-alone", "SELECT customer_id FROM customers ORDER BY customer_id OFFSET 195")
q("fetch-first", "SELECT customer_id FROM customers ORDER BY balance DESC, customer_id FETCH FIRST 3 ROWS ONLY")
q("fetch-first-row", "SELECT name FROM customers ORDER BY customer_id FETCH FIRST ROW ONLY")
q("offset-fetch", "SELECT payment_id FROM payments ORDER BY payment_id OFFSET 5 ROWS FETCH NEXT 5 ROWS ONLY")
q("limit-all", "SELECT customer_id FROM customers WHERE customer_id < 10 ORDER BY customer_id LIMIT ALL")
q("limit-zero", "SELECT customer_id FROM customers ORDER BY customer_id LIMIT 0", empty_ok=True)
q("limit-in-subquery-count", "SELECT count(*) FROM (SELECT customer_id FROM customers LIMIT 7) t", limit_ok=True)
q("limit-by-name-order", "SELECT name, customer_id FROM customers ORDER BY name DESC, customer_id LIMIT 10")

# --- joins -----------------------------------------------------------------------------------
q("join-inner", "SELECT c.name, s.plan, s.price FROM customers c JOIN subscriptions s ON s.customer_id = c.customer_id ORDER BY s.subscription_id")
q("join-inner-keyword", "SELECT c.customer_id, p.payment_id FROM customers c INNER JOIN subscriptions s ON s.customer_id = c.customer_id INNER JOIN payments p ON p.subscription_id = s.subscription_id WHERE c.customer_id <= 5 ORDER BY p.payment_id")
q("join-left", "SELECT c.customer_id, s.subscription_id FROM customers c LEFT JOIN subscriptions s ON s.customer_id = c.customer_id AND s.status = 'trial' ORDER BY c.customer_id, s.subscription_id")
q("join-left-where-null", "SELECT s.subscription_id FROM subscriptions s LEFT JOIN payments p ON p.subscription_id = s.subscription_id AND p.amount < 0 WHERE p.payment_id IS NULL ORDER BY s.subscription_id")
q("join-right", "SELECT s.subscription_id, p.payment_id FROM payments p RIGHT JOIN subscriptions s ON p.subscription_id = s.subscription_id AND p.amount < 0 ORDER BY s.subscription_id, p.payment_id")
q("join-cross", "SELECT c.customer_id, x.currency FROM customers c CROSS JOIN (SELECT DISTINCT currency FROM payments) x WHERE c.customer_id <= 3 ORDER BY c.customer_id, x.currency")
q("join-using", "SELECT subscription_id, s.plan, p.amount FROM subscriptions s JOIN payments p USING (subscription_id) WHERE p.payment_id <= 20 ORDER BY p.payment_id")
q("join-using-star", "SELECT * FROM subscriptions JOIN payments USING (subscription_id) WHERE payment_id <= 10 ORDER BY payment_id")
q("join-using-customer", "SELECT customer_id, name, plan FROM customers JOIN subscriptions USING (customer_id) WHERE customer_id <= 10 ORDER BY subscription_id")
q("join-left-using", "SELECT customer_id, count(subscription_id) FROM customers LEFT JOIN subscriptions USING (customer_id) GROUP BY customer_id ORDER BY customer_id")
q("join-self", "SELECT a.customer_id, b.customer_id FROM customers a JOIN customers b ON lower(a.name) = lower(b.name) AND a.customer_id < b.customer_id ORDER BY 1, 2")
q("join-comma", "SELECT c.customer_id, s.subscription_id FROM customers c, subscriptions s WHERE s.customer_id = c.customer_id AND c.is_vip ORDER BY 2")
q("join-three-aggregate", "SELECT c.customer_id, c.name, count(p.payment_id), sum(p.amount) FROM customers c JOIN subscriptions s ON s.customer_id = c.customer_id JOIN payments p ON p.subscription_id = s.subscription_id GROUP BY c.customer_id, c.name ORDER BY c.customer_id")
q("join-on-unsigned-numeric", "SELECT p.payment_id, s.subscription_id, s.plan FROM payments p JOIN subscriptions s ON s.subscription_id = p.subscription_id WHERE s.subscription_id > 1000 ORDER BY p.payment_id")
q("join-nonequi", "SELECT c.customer_id, s.subscription_id FROM customers c JOIN subscriptions s ON s.price > c.balance AND s.customer_id = c.customer_id ORDER BY 1, 2")

# --- derived tables, subqueries --------------------------------------------------------------
q("derived-table", "SELECT * FROM (SELECT customer_id, balance FROM customers WHERE balance < 0) d ORDER BY 1")
q("derived-aggregate", "SELECT status, n FROM (SELECT status, count(*) AS n FROM customers GROUP BY status) t WHERE n > 10 ORDER BY status")
q("derived-column-aliases", "SELECT id, nm FROM (SELECT customer_id, name FROM customers) AS t(id, nm) WHERE id < 6 ORDER BY id")
q("derived-nested", "SELECT max(total) FROM (SELECT subscription_id, sum(amount) AS total FROM (SELECT * FROM payments WHERE amount > 0) p GROUP BY subscription_id) t")
q("scalar-subquery-select", "SELECT c.customer_id, (SELECT count(*) FROM subscriptions s WHERE s.customer_id = c.customer_id) AS subs FROM customers c ORDER BY c.customer_id")
q("scalar-subquery-where", "SELECT customer_id, balance FROM customers WHERE balance > (SELECT avg(balance) FROM customers) ORDER BY customer_id")
q("scalar-subquery-max", "SELECT payment_id, amount FROM payments WHERE amount = (SELECT max(amount) FROM payments WHERE currency = 'USD')")
q("exists", "SELECT c.customer_id FROM customers c WHERE EXISTS (SELECT 1 FROM subscriptions s WHERE s.customer_id = c.customer_id AND s.status = 'past_due') ORDER BY c.customer_id")
q("not-exists", "SELECT s.subscription_id FROM subscriptions s WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.subscription_id = s.subscription_id AND p.amount > 5000) ORDER BY s.subscription_id")
q("correlated-in", "SELECT s.subscription_id FROM subscriptions s WHERE s.customer_id IN (SELECT c.customer_id FROM customers c WHERE c.status = 'suspended' AND c.customer_id = s.customer_id) ORDER BY 1")
q("subquery-in-case", "SELECT customer_id, CASE WHEN customer_id IN (SELECT customer_id FROM subscriptions WHERE plan = 'enterprise') THEN 'ent' ELSE 'other' END FROM customers ORDER BY customer_id")

# --- CTEs ------------------------------------------------------------------------------------
q("cte-simple", "WITH vip AS (SELECT customer_id, name FROM customers WHERE is_vip) SELECT * FROM vip ORDER BY customer_id")
q("cte-chained", "WITH s AS (SELECT customer_id, count(*) AS n FROM subscriptions GROUP BY customer_id), m AS (SELECT max(n) AS mx FROM s) SELECT s.customer_id, s.n FROM s, m WHERE s.n = m.mx ORDER BY s.customer_id")
q("cte-used-twice", "WITH t AS (SELECT customer_id, balance FROM customers WHERE customer_id <= 20) SELECT a.customer_id, b.customer_id FROM t a JOIN t b ON a.balance = b.balance AND a.customer_id < b.customer_id ORDER BY 1, 2", empty_ok=True)
q("cte-with-join", "WITH paid AS (SELECT subscription_id, sum(amount) AS total FROM payments GROUP BY subscription_id) SELECT s.subscription_id, s.plan, paid.total FROM subscriptions s JOIN paid USING (subscription_id) ORDER BY s.subscription_id")
q("cte-column-list", "WITH c(id, n) AS (SELECT customer_id, name FROM customers WHERE customer_id < 5) SELECT id, n FROM c ORDER BY id")

# --- set operations --------------------------------------------------------------------------
q("union", "SELECT name FROM customers WHERE customer_id < 5 UNION SELECT plan FROM subscriptions")
q("union-all-ordered", "SELECT customer_id AS id, 'c' AS src FROM customers WHERE customer_id <= 3 UNION ALL SELECT payment_id, 'p' FROM payments WHERE payment_id BETWEEN 1 AND 3 ORDER BY id, src")
q("union-types", "SELECT customer_id FROM customers UNION SELECT subscription_id FROM subscriptions")
q("union-ordered-limit", "SELECT name FROM customers UNION SELECT plan FROM subscriptions ORDER BY 1 LIMIT 15")
q("intersect", "SELECT customer_id FROM customers WHERE is_vip INTERSECT SELECT customer_id FROM subscriptions WHERE status = 'active'")
q("except", "SELECT customer_id FROM customers EXCEPT SELECT customer_id FROM subscriptions WHERE status IN ('active', 'trial')")
q("union-all-dups", "SELECT status FROM customers WHERE customer_id <= 10 UNION ALL SELECT status FROM customers WHERE customer_id <= 5")
q("union-text-trailing", "SELECT plan FROM subscriptions UNION SELECT 'pro'")

# --- window functions ------------------------------------------------------------------------
q("window-row-number", "SELECT customer_id, row_number() OVER (ORDER BY balance DESC, customer_id) FROM customers ORDER BY customer_id")
q("window-rank-partition", "SELECT customer_id, status, rank() OVER (PARTITION BY status ORDER BY points DESC) FROM customers ORDER BY customer_id")
q("window-dense-rank", "SELECT subscription_id, dense_rank() OVER (ORDER BY plan) FROM subscriptions ORDER BY subscription_id")
q("window-running-sum", "SELECT payment_id, sum(amount) OVER (PARTITION BY subscription_id ORDER BY paid_at, payment_id) FROM payments ORDER BY payment_id")
q("window-count-all", "SELECT customer_id, count(*) OVER () FROM customers WHERE customer_id <= 10 ORDER BY customer_id")
q("window-lag-lead", "SELECT payment_id, lag(amount) OVER (ORDER BY payment_id), lead(amount, 2) OVER (ORDER BY payment_id) FROM payments ORDER BY payment_id")
q("window-frame", "SELECT payment_id, avg(amount) OVER (ORDER BY payment_id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM payments WHERE payment_id BETWEEN 1 AND 50 ORDER BY payment_id")
q("window-first-last", "SELECT subscription_id, first_value(payment_id) OVER w, last_value(payment_id) OVER w FROM payments WINDOW w AS (PARTITION BY subscription_id ORDER BY payment_id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) ORDER BY payment_id")
q("window-ntile", "SELECT customer_id, ntile(4) OVER (ORDER BY customer_id) FROM customers ORDER BY customer_id")
q("window-avg-partition", "SELECT customer_id, status, avg(points) OVER (PARTITION BY status) FROM customers ORDER BY customer_id")
q("window-row-number-text", "SELECT customer_id, row_number() OVER (ORDER BY name, customer_id) FROM customers ORDER BY customer_id")
q("window-rank-enum", "SELECT subscription_id, rank() OVER (ORDER BY status) FROM subscriptions ORDER BY subscription_id")

# --- parameters over the extended protocol ---------------------------------------------------
P = dict(proto="prepared")
q("param-int", "SELECT customer_id, name FROM customers WHERE customer_id = %s", params=(1,), **P)
q("param-int-unprepared", "SELECT customer_id, name FROM customers WHERE customer_id = %s", params=(7,))
q("param-text-case", "SELECT customer_id FROM customers WHERE name = %s ORDER BY customer_id", params=("kim",), **P)
q("param-text-trailing", "SELECT customer_id FROM customers WHERE name = %s ORDER BY customer_id", params=("Lee ",), **P)
q("param-numeric", "SELECT customer_id FROM customers WHERE balance > %s ORDER BY customer_id", params=(Decimal("100.5"),), **P)
q("param-timestamp", "SELECT customer_id FROM customers WHERE created_at >= %s ORDER BY customer_id", params=(datetime.datetime(2020, 1, 1),), **P)
q("param-timestamptz", "SELECT payment_id FROM payments WHERE paid_at >= %s ORDER BY payment_id", params=(datetime.datetime(2024, 3, 10, 7, 0, tzinfo=datetime.timezone.utc),), **P)
q("param-date", "SELECT customer_id FROM customers WHERE birthday = %s", params=(datetime.date(2000, 2, 29),), **P)
q("param-two-types", "SELECT customer_id FROM customers WHERE status = %s AND is_vip = %s ORDER BY customer_id", params=("active", True), **P)
q("param-in-list", "SELECT customer_id FROM customers WHERE customer_id IN (%s, %s, %s) ORDER BY customer_id", params=(2, 4, 6), **P)
q("param-reused", "SELECT customer_id FROM customers WHERE points > %(v)s AND visits > %(v)s ORDER BY customer_id", params={"v": 1000}, **P)
q("param-like", "SELECT customer_id, name FROM customers WHERE name LIKE %s ORDER BY customer_id", params=("%민준",), **P)
q("param-like-escape", "SELECT customer_id, name FROM customers WHERE name LIKE %s ORDER BY customer_id", params=("%\\_%",), **P)
q("param-in-select-list", "SELECT %s::int + points AS p, customer_id FROM customers WHERE customer_id <= 3 ORDER BY customer_id", params=(10,), **P)
q("param-untyped-select", "SELECT %s AS label, customer_id FROM customers WHERE customer_id <= 3 ORDER BY customer_id", params=("x",), **P)
q("param-limit-offset", "SELECT customer_id FROM customers ORDER BY customer_id LIMIT %s OFFSET %s", params=(4, 2), **P)
q("param-any-array", "SELECT customer_id FROM customers WHERE customer_id = ANY(%s) ORDER BY customer_id", params=([1, 2, 3, 99],), **P)
q("param-null", "SELECT customer_id FROM customers WHERE grade IS NOT DISTINCT FROM %s::smallint ORDER BY customer_id", params=(None,), **P)
q("param-unsigned", "SELECT subscription_id FROM subscriptions WHERE subscription_id = %s", params=(Decimal("18446744073709551615"),), **P)
q("param-bigint-min", "SELECT payment_id, amount FROM payments WHERE payment_id = %s", params=(-2**63,), **P)
q("param-binary", "SELECT customer_id, name FROM customers WHERE customer_id = %b", params=(12,), **P)
q("param-binary-text", "SELECT customer_id FROM customers WHERE name = %b ORDER BY customer_id", params=("김민준",), **P)
q("param-korean", "SELECT customer_id FROM customers WHERE name = %s", params=("이서연",), **P)
q("param-quote-backslash", "SELECT customer_id FROM customers WHERE name = %s OR name = %s ORDER BY customer_id", params=("O'Brien", "C:\\Users\\김"), **P)
q("param-extended-aggregate", "SELECT status, count(*) FROM customers WHERE points > %s GROUP BY status ORDER BY status", params=(100,))
q("param-string-agg", "SELECT string_agg(name, %s ORDER BY customer_id) FROM customers WHERE customer_id <= %s", params=(" | ", 8), **P)

# --- binary results --------------------------------------------------------------------------
B = dict(binary=True)
q("binary-ints-bools", "SELECT customer_id, is_vip, flags, grade, points, visits, birth_year FROM customers ORDER BY customer_id", **B)
q("binary-numeric-floats", "SELECT customer_id, balance, score, ratio FROM customers ORDER BY customer_id", **B)
q("binary-text-bytea", "SELECT customer_id, name, phone, email, status, tags, memo, avatar FROM customers ORDER BY customer_id", **B)
q("binary-dates", "SELECT customer_id, birthday, created_at, updated_at FROM customers ORDER BY customer_id", **B)
q("binary-unsigned", "SELECT subscription_id, customer_id, price, auto_renew FROM subscriptions ORDER BY subscription_id", **B)
q("binary-payments", "SELECT payment_id, subscription_id, amount, currency, paid_at, method, note, raw FROM payments ORDER BY payment_id", **B)
q("binary-aggregates", "SELECT count(*), sum(points), sum(customer_id), avg(points), sum(score), max(created_at) FROM customers", **B)
q("binary-prepared-param", "SELECT customer_id, balance, updated_at FROM customers WHERE customer_id <= %s ORDER BY customer_id", params=(30,), proto="prepared", **B)
q("binary-expressions", "SELECT customer_id, balance > 0, points / 7, balance / 3, created_at + interval '1 hour' FROM customers ORDER BY customer_id", **B)

# --- session settings: TimeZone, DateStyle, IntervalStyle, extra_float_digits, bytea_output ---
TZ = {"utc": "'UTC'", "seoul": "'Asia/Seoul'", "ny": "'America/New_York'"}
DATESTYLES = {"iso": "'ISO, MDY'", "sql-dmy": "'SQL, DMY'", "german": "'German'", "postgres": "'Postgres'"}

TIME_QUERIES = [
    ("ts-payments-edges", "SELECT payment_id, paid_at FROM payments WHERE payment_id < 0 OR payment_id >= 990 ORDER BY payment_id"),
    ("ts-customers-all-times", "SELECT customer_id, created_at, updated_at, birthday, last_login_at FROM customers WHERE customer_id <= 22 ORDER BY customer_id"),
    ("ts-date-trunc-day-tz", "SELECT date_trunc('day', paid_at) AS d, count(*) FROM payments WHERE payment_id >= 990 OR payment_id < 0 GROUP BY 1 ORDER BY 1"),
    ("ts-cast-and-extract-tz", "SELECT payment_id, paid_at::date, extract(hour from paid_at), paid_at::timestamp FROM payments WHERE payment_id >= 990 ORDER BY payment_id"),
    ("ts-literal-in-session-tz", "SELECT payment_id FROM payments WHERE paid_at >= '2024-03-10 03:00:00' AND paid_at < '2024-11-04' ORDER BY payment_id"),
    ("ts-timestamptz-minus-timestamp", "SELECT customer_id, updated_at - created_at FROM customers WHERE customer_id <= 22 ORDER BY customer_id"),
    ("ts-dates-subscriptions", "SELECT subscription_id, started_at, ends_at FROM subscriptions ORDER BY subscription_id"),
    ("ts-date-trunc-date-tz", "SELECT customer_id, date_trunc('month', birthday) FROM customers WHERE customer_id <= 22 ORDER BY customer_id"),
    ("ts-group-by-local-day", "SELECT paid_at::date AS d, count(*) FROM payments WHERE paid_at >= '2024-12-31 00:00:00+00' AND paid_at < '2025-01-02 00:00:00+00' GROUP BY 1 ORDER BY 1"),
    ("ts-local-gap-and-overlap", "SELECT customer_id, last_login_at, last_login_at::timestamptz, created_at::timestamptz FROM customers WHERE customer_id IN (1, 2, 6, 7, 17, 18, 21) ORDER BY customer_id"),
    ("ts-timestamp-to-timestamptz", "SELECT customer_id, created_at::timestamptz FROM customers WHERE customer_id IN (6, 7, 17, 18, 21) ORDER BY customer_id"),
    ("ts-timestamptz-plus-interval", "SELECT payment_id, paid_at + interval '1 day', paid_at - interval '1 month 2 days 3 hours', paid_at + interval '90 minutes', paid_at + 2 * interval '1 week' FROM payments WHERE payment_id >= 990 OR payment_id < 0 ORDER BY payment_id"),
]
for tid, sql in TIME_QUERIES:
    for tzname, tz in TZ.items():
        q(f"{tid}-{tzname}", sql, settings=(("TimeZone", tz),))
    for dsname, ds in DATESTYLES.items():
        if dsname != "iso":
            q(f"{tid}-seoul-{dsname}", sql, settings=(("TimeZone", TZ["seoul"]), ("DateStyle", ds)))
q("ts-ny-german-prepared", "SELECT payment_id, paid_at FROM payments WHERE paid_at >= %s ORDER BY payment_id LIMIT 5",
  params=(datetime.datetime(2024, 11, 3, 5, 0, tzinfo=datetime.timezone.utc),),
  settings=(("TimeZone", TZ["ny"]), ("DateStyle", DATESTYLES["german"])), proto="prepared")
q("ts-seoul-binary", "SELECT payment_id, paid_at, paid_at::date FROM payments WHERE payment_id >= 990 ORDER BY payment_id",
  settings=(("TimeZone", TZ["seoul"]),), binary=True)
q("ts-offset-timezone", "SELECT payment_id, paid_at FROM payments WHERE payment_id >= 990 ORDER BY payment_id",
  settings=(("TimeZone", "'+09:30'"),))

for style in ("postgres", "postgres_verbose", "sql_standard", "iso_8601"):
    q(f"interval-style-{style}", "SELECT subscription_id, renew_time, renew_time - interval '1 day 2 hours' FROM subscriptions ORDER BY subscription_id",
      settings=(("IntervalStyle", f"'{style}'"),))
for digits in ("0", "3", "-3"):
    q(f"extra-float-digits-{digits}", "SELECT customer_id, score, ratio, score * 3, ratio / 7 FROM customers ORDER BY customer_id",
      settings=(("extra_float_digits", digits),))
q("bytea-output-escape", "SELECT customer_id, avatar FROM customers ORDER BY customer_id", settings=(("bytea_output", "'escape'"),))
q("bytea-output-escape-blob", "SELECT payment_id, raw FROM payments WHERE raw IS NOT NULL ORDER BY payment_id", settings=(("bytea_output", "'escape'"),))

# --- known semantic gaps: strict xfails with the precise reason ------------------------------
XFAIL = {
    'round': "round(float8::numeric, 3): float8 -> numeric (float8_numeric's %.15g) is only translated as a whole select-list item; inside round() it is refused",
    'aggregate-types-float': 'sum(real) accumulates in float4 in Postgres (float4pl, rounding at each step: -2080.213); MySQL sums the values as doubles (-2080.2124)',
    'param-any-array': "= ANY($1) with an array parameter: the slot renders scalar literals only; an array parameter would need a list (or JSON_TABLE) rendering in the proxy's parameter binding",
}
assert not set(XFAIL) - {x.id for x in QUERIES}, "XFAIL names a query that does not exist"
QUERIES[:] = [replace(x, xfail=XFAIL[x.id]) if x.id in XFAIL else x for x in QUERIES]

# --- the simple query protocol: a share of the corpus again, over ClientCursor ---------------
_base = [x for x in QUERIES if x.params is None and not x.settings and not x.binary]
for x in _base[::5]:
    QUERIES.append(replace(x, id="simple-" + x.id, proto="simple"))
for x in _base[2::9]:
    QUERIES.append(replace(x, id="prepared-" + x.id, proto="prepared"))

_ids = [x.id for x in QUERIES]
assert len(_ids) == len(set(_ids)), "duplicate query ids"

# --- constructs the issue lets switchyard refuse (0A000 naming the construct) ----------------
REFUSED = [
    ("distinct-on", "SELECT DISTINCT ON (status) status, customer_id FROM customers ORDER BY status, customer_id",
     "DISTINCT ON"),
    ("distinct-on-subscriptions", "SELECT DISTINCT ON (customer_id) customer_id, subscription_id FROM subscriptions ORDER BY customer_id, subscription_id DESC",
     "DISTINCT ON"),
    # The zone's rules (per-row offsets) would need the proxy's zone data in the SQL.
    ("at-time-zone", "SELECT payment_id, paid_at AT TIME ZONE 'Asia/Seoul' FROM payments WHERE payment_id >= 990 ORDER BY payment_id",
     "AT TIME ZONE"),
]

# --- errors: Postgres' SQLSTATE, not MySQL's silent NULL or truncation ------------------------
ERRORS = [
    ("division-by-zero", "SELECT points / 0 FROM customers", "22012"),
    ("numeric-division-by-zero", "SELECT balance / 0 FROM customers WHERE customer_id = 1", "22012"),
    ("modulo-by-zero", "SELECT points % 0 FROM customers", "22012"),
    ("cast-out-of-range", "SELECT balance::smallint FROM customers", "22003"),
    ("int4-overflow", "SELECT points * 100000 * 100000 FROM customers", "22003"),
    ("bad-integer-text", "SELECT 'abc'::int + points FROM customers", "22P02"),
    ("bad-timestamp-literal", "SELECT customer_id FROM customers WHERE created_at > 'not a date'", "22007"),
    ("unknown-column", "SELECT nosuch FROM customers", "42703"),
    ("ambiguous-column", "SELECT customer_id FROM customers JOIN subscriptions ON true", "42702"),
    ("not-grouped", "SELECT name, count(*) FROM customers", "42803"),
    ("scalar-subquery-many-rows", "SELECT (SELECT customer_id FROM customers) AS c", "21000"),
    ("text-to-bool", "SELECT name::boolean FROM customers", "22P02"),
]
