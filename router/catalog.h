/*
 * catalog — what the legacy tables look like in MySQL, and which Postgres
 * type each column is served as.
 *
 * The proxy reads information_schema at start-up and on SIGHUP (proxy/mysql.c)
 * and feeds the rows it gets to catalog_add_table / catalog_add_column; after
 * catalog_finish the catalog is immutable and shared by every worker (it is
 * reference counted by the config snapshot that owns it). The translator
 * (translate.c) resolves names and types against it; the value mapping
 * (pgvalue.c) converts values by the conversions chosen here.
 *
 * Type map (issue 7): TINYINT(1) -> bool (with tinyint1_as_bool); TINYINT,
 * SMALLINT, YEAR -> int2; SMALLINT UNSIGNED, MEDIUMINT, INT -> int4; INT
 * UNSIGNED, BIGINT -> int8; BIGINT UNSIGNED, DECIMAL -> numeric; FLOAT ->
 * float4; DOUBLE -> float8; BIT(1) -> bool; DATE -> date; DATETIME ->
 * timestamp; TIMESTAMP -> timestamptz; TIME -> interval; CHAR -> bpchar(n);
 * VARCHAR -> varchar(n); TEXT/ENUM/SET -> text; BINARY/VARBINARY/BLOB ->
 * bytea; JSON -> json. A column of another type (GEOMETRY, BIT(n>1), ...)
 * has pg_type 0: reading it is refused with 0A000 naming it.
 *
 * Names: Postgres folds unquoted identifiers to lower case, MySQL column
 * names are case-insensitive, so a column is known to clients by its MySQL
 * name folded to lower case (pg_name) and sent to MySQL as its MySQL name.
 *
 * Pure: no I/O. Return conventions: bool for actions (false = out of memory
 * or a bad argument, see each function), pointers or NULL for lookups.
 */
#ifndef SY_CATALOG_H
#define SY_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Postgres type OIDs switchyard produces (pg_type.h). */
enum pg_oid {
	PG_OID_BOOL = 16,
	PG_OID_BYTEA = 17,
	PG_OID_NAME = 19,
	PG_OID_INT8 = 20,
	PG_OID_INT2 = 21,
	PG_OID_INT4 = 23,
	PG_OID_TEXT = 25,
	PG_OID_OID = 26,
	PG_OID_JSON = 114,
	PG_OID_FLOAT4 = 700,
	PG_OID_FLOAT8 = 701,
	PG_OID_UNKNOWN = 705,
	PG_OID_BPCHAR = 1042,
	PG_OID_VARCHAR = 1043,
	PG_OID_DATE = 1082,
	PG_OID_TIME = 1083,
	PG_OID_TIMESTAMP = 1114,
	PG_OID_TIMESTAMPTZ = 1184,
	PG_OID_INTERVAL = 1186,
	PG_OID_NUMERIC = 1700,
	PG_OID_TEXT_ARRAY = 1009,
	PG_OID_INT4_ARRAY = 1007,
	PG_OID_INT8_ARRAY = 1016,
};

/* The MySQL column type, from information_schema.COLUMNS.DATA_TYPE. */
enum my_type {
	MY_T_OTHER = 0, /* anything not listed: not served */
	MY_T_TINYINT,
	MY_T_SMALLINT,
	MY_T_MEDIUMINT,
	MY_T_INT,
	MY_T_BIGINT,
	MY_T_DECIMAL,
	MY_T_FLOAT,
	MY_T_DOUBLE,
	MY_T_BIT,
	MY_T_YEAR,
	MY_T_DATE,
	MY_T_DATETIME,
	MY_T_TIMESTAMP,
	MY_T_TIME,
	MY_T_CHAR,
	MY_T_VARCHAR,
	MY_T_TEXT,    /* tinytext, text, mediumtext, longtext */
	MY_T_ENUM,
	MY_T_SET,
	MY_T_BINARY,
	MY_T_VARBINARY,
	MY_T_BLOB,    /* tinyblob, blob, mediumblob, longblob */
	MY_T_JSON,    /* MySQL's JSON; MariaDB's JSON is LONGTEXT with a json_valid CHECK */
};

/*
 * How a value MySQL sends as text (the text protocol) becomes the Postgres
 * value of the column's pg_type. The translator picks one per output column
 * (for expressions too); pgvalue.c implements each.
 */
enum pgv_conv {
	PGV_C_TEXT = 0,     /* bytes as they are: text, varchar, enum, set, json */
	PGV_C_BPCHAR,       /* CHAR(n): MySQL strips trailing blanks, Postgres pads to n */
	PGV_C_BOOL,         /* an integer: 0 -> f, anything else -> t */
	PGV_C_BIT_BOOL,     /* BIT(1): one raw byte, 0x00 -> f, 0x01 -> t */
	PGV_C_INT,          /* an integer in range of the pg_type (int2/int4/int8) */
	PGV_C_NUMERIC,      /* a decimal number as MySQL prints it */
	PGV_C_FLOAT4,       /* a number printed by MySQL, reformatted as Postgres float4 */
	PGV_C_FLOAT8,       /* ... as Postgres float8 */
	PGV_C_DATE,         /* 'YYYY-MM-DD'; a zero date is NULL */
	PGV_C_TIMESTAMP,    /* 'YYYY-MM-DD HH:MM:SS[.ffffff]'; a zero date is NULL */
	PGV_C_TIMESTAMPTZ,  /* the same, in UTC (sessions run with time_zone '+00:00') */
	PGV_C_INTERVAL,     /* MySQL TIME '[-]HHH:MM:SS[.ffffff]' as an interval */
	PGV_C_BYTEA,        /* raw bytes */
	PGV_C_INTERVAL_DT,  /* an interval computed in MySQL as the integer days * 10^15 +
			       microseconds (|microseconds| < 5 * 10^14): days and time */
	PGV_C_FLOAT4_TEXT,  /* a real's value (a double) as the text float4out writes */
	PGV_C_FLOAT8_TEXT,  /* a double as the text float8out writes */
	PGV_C_NUMERIC_OF_FLOAT4, /* a real's value as float4_numeric makes it (%.6g) */
	PGV_C_NUMERIC_OF_FLOAT8, /* a double as float8_numeric makes it (%.15g) */
	PGV_C_COUNT,        /* not a conversion */
};

struct legacy_column {
	const char *pg_name;    /* lower-cased MySQL name: what clients write */
	const char *my_name;    /* the MySQL name, as information_schema spells it */
	enum my_type my_type;
	const char *column_type; /* information_schema COLUMN_TYPE, e.g. "int(10) unsigned" */
	bool is_unsigned;
	bool nullable;
	bool ci;                 /* text whose collation is not byte-wise: *_ci, *_ai_*, pad space */
	bool indexed;            /* leading column of an index (equality and ranges can use it) */
	bool primary;            /* part of the primary key */
	uint32_t char_length;    /* CHAR/VARCHAR/BINARY length, BIT width, 0 if none */
	uint16_t precision;      /* DECIMAL precision, datetime fractional digits */
	uint16_t scale;          /* DECIMAL scale */
	const char *collation;   /* NULL for non-text columns */
	const char *const *enum_values; /* ENUM/SET members in declaration order */
	size_t nenum_values;
	uint32_t pg_type;        /* enum pg_oid, 0 when the column cannot be served */
	int32_t pg_typmod;       /* as Postgres reports it: varchar(n) n+4, numeric
				    ((p << 16) | s) + 4, timestamp(p) p, -1 if none */
	enum pgv_conv conv;
};

struct legacy_table {
	const char *pg_name;  /* name clients use (the configured legacy table name) */
	const char *my_name;  /* name in MySQL */
	struct legacy_column *cols; /* in ORDINAL_POSITION order */
	size_t ncols;
	const uint16_t *pkey; /* column indexes of the primary key, in key order */
	size_t npkey;
};

struct legacy_catalog;

/*
 * An empty catalog for MySQL database <my_database>, served to clients under
 * schema <pg_schema>. <tinyint1_as_bool>: TINYINT(1) columns are bool. NULL on OOM.
 */
struct legacy_catalog *catalog_new(const char *my_database, const char *pg_schema,
				   bool tinyint1_as_bool) __attribute__((warn_unused_result));
/*
 * Catalogs are shared by configuration snapshots: catalog_share adds a
 * reference (safe from any thread once finished), catalog_free drops one
 * and frees with the last. Returns <c>.
 */
struct legacy_catalog *catalog_share(struct legacy_catalog *c);
void catalog_free(struct legacy_catalog *c);

/* Adds a table (empty; columns follow). False on OOM or a duplicate name. */
bool catalog_add_table(struct legacy_catalog *c, const char *pg_name, const char *my_name)
	__attribute__((warn_unused_result));

/*
 * One row of information_schema.COLUMNS for the table added last, strings as
 * MySQL returns them (NULL for SQL NULL). <column_key> is COLUMN_KEY ("PRI",
 * "UNI", "MUL" or ""). The Postgres type is derived here. False on OOM or
 * when no table was added.
 */
struct catalog_column_row {
	const char *name;            /* COLUMN_NAME */
	const char *data_type;       /* DATA_TYPE, e.g. "int", "varchar", "enum" */
	const char *column_type;     /* COLUMN_TYPE, e.g. "tinyint(1)", "enum('a','b')" */
	const char *is_nullable;     /* "YES" / "NO" */
	const char *char_max_length; /* CHARACTER_MAXIMUM_LENGTH */
	const char *numeric_precision;
	const char *numeric_scale;
	const char *datetime_precision;
	const char *collation;       /* COLLATION_NAME */
	const char *column_key;      /* COLUMN_KEY */
};
bool catalog_add_column(struct legacy_catalog *c, const struct catalog_column_row *row)
	__attribute__((warn_unused_result));

/*
 * Marks column <col_name> of <table> (pg names) as part of index <index_name>
 * at position <seq> (1-based, information_schema.STATISTICS.SEQ_IN_INDEX).
 * Unknown names are ignored (true). False on OOM.
 */
bool catalog_add_index_column(struct legacy_catalog *c, const char *table, const char *index_name,
			      unsigned seq, const char *col_name) __attribute__((warn_unused_result));

/* Done adding: the catalog is immutable from here on. */
void catalog_finish(struct legacy_catalog *c);

const char *catalog_my_database(const struct legacy_catalog *c);
const char *catalog_pg_schema(const struct legacy_catalog *c);
size_t catalog_ntables(const struct legacy_catalog *c);
const struct legacy_table *catalog_table_at(const struct legacy_catalog *c, size_t i);

/* The table clients call <pg_name> (exact match), or NULL. */
const struct legacy_table *catalog_table(const struct legacy_catalog *c, const char *pg_name);
/* The column clients call <pg_name> (exact match), or NULL. */
const struct legacy_column *catalog_column(const struct legacy_table *t, const char *pg_name);

/* "int4", "varchar", ... for a type OID (format_type without modifiers); "?" if unknown. */
const char *catalog_type_name(uint32_t oid);
/* pg_type.typlen for RowDescription: 1, 2, 4, 8, -1 (varlena) ... */
int16_t catalog_type_len(uint32_t oid);

/* "enum", "geometry", ...: a readable name of a MySQL type for messages. */
const char *catalog_my_type_name(enum my_type t);

#endif
