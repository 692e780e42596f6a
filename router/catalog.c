/*
 * catalog — the legacy tables' MySQL definitions and the Postgres type each
 * column is served as (the type map is in catalog.h).
 *
 * Built once per configuration load from information_schema rows, then
 * immutable. Everything is copied into the catalog's own allocations; the
 * arrays grow while the catalog is built and are never moved afterwards.
 */
#include "router/catalog.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct legacy_catalog {
	_Atomic int refs;
	char *my_database;
	char *pg_schema;
	bool tinyint1_as_bool;
	bool finished;
	struct legacy_table *tables;
	size_t ntables;
	size_t cap;
	/* Every string and small array, freed with the catalog. */
	void **owned;
	size_t nowned;
	size_t owned_cap;
};

static bool own(struct legacy_catalog *c, void *p)
{
	if (p == NULL)
		return false;
	if (c->nowned == c->owned_cap) {
		size_t cap = c->owned_cap ? c->owned_cap * 2 : 64;
		void **o = realloc(c->owned, cap * sizeof(*o));
		if (o == NULL) {
			free(p);
			return false;
		}
		c->owned = o;
		c->owned_cap = cap;
	}
	c->owned[c->nowned++] = p;
	return true;
}

static char *own_str(struct legacy_catalog *c, const char *s)
{
	char *d = strdup(s ? s : "");
	return own(c, d) ? d : NULL;
}

static char *own_lower(struct legacy_catalog *c, const char *s)
{
	char *d = own_str(c, s);
	if (d != NULL) {
		for (char *p = d; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	return d;
}

struct legacy_catalog *catalog_new(const char *my_database, const char *pg_schema,
				   bool tinyint1_as_bool)
{
	struct legacy_catalog *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	atomic_init(&c->refs, 1);
	c->tinyint1_as_bool = tinyint1_as_bool;
	c->my_database = strdup(my_database ? my_database : "");
	c->pg_schema = strdup(pg_schema && *pg_schema ? pg_schema : "public");
	if (c->my_database == NULL || c->pg_schema == NULL) {
		catalog_free(c);
		return NULL;
	}
	return c;
}

struct legacy_catalog *catalog_share(struct legacy_catalog *c)
{
	if (c != NULL)
		atomic_fetch_add(&c->refs, 1);
	return c;
}

void catalog_free(struct legacy_catalog *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) > 1)
		return;
	for (size_t i = 0; i < c->nowned; i++)
		free(c->owned[i]);
	free(c->owned);
	for (size_t i = 0; i < c->ntables; i++)
		free(c->tables[i].cols);
	free(c->tables);
	free(c->my_database);
	free(c->pg_schema);
	free(c);
}

bool catalog_add_table(struct legacy_catalog *c, const char *pg_name, const char *my_name)
{
	if (c->finished || pg_name == NULL || catalog_table(c, pg_name) != NULL)
		return false;
	if (c->ntables == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct legacy_table *t = realloc(c->tables, cap * sizeof(*t));
		if (t == NULL)
			return false;
		c->tables = t;
		c->cap = cap;
	}
	struct legacy_table *t = &c->tables[c->ntables];
	memset(t, 0, sizeof(*t));
	t->pg_name = own_str(c, pg_name);
	t->my_name = own_str(c, my_name ? my_name : pg_name);
	if (t->pg_name == NULL || t->my_name == NULL)
		return false;
	c->ntables++;
	return true;
}

static uint32_t num_or_zero(const char *s)
{
	if (s == NULL)
		return 0;
	unsigned long v = strtoul(s, NULL, 10);
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static const struct {
	const char *name;
	enum my_type type;
} my_types[] = {
	{"tinyint", MY_T_TINYINT},     {"smallint", MY_T_SMALLINT},   {"mediumint", MY_T_MEDIUMINT},
	{"int", MY_T_INT},             {"integer", MY_T_INT},         {"bigint", MY_T_BIGINT},
	{"decimal", MY_T_DECIMAL},     {"numeric", MY_T_DECIMAL},     {"float", MY_T_FLOAT},
	{"double", MY_T_DOUBLE},       {"real", MY_T_DOUBLE},         {"bit", MY_T_BIT},
	{"year", MY_T_YEAR},           {"date", MY_T_DATE},           {"datetime", MY_T_DATETIME},
	{"timestamp", MY_T_TIMESTAMP}, {"time", MY_T_TIME},           {"char", MY_T_CHAR},
	{"varchar", MY_T_VARCHAR},     {"tinytext", MY_T_TEXT},       {"text", MY_T_TEXT},
	{"mediumtext", MY_T_TEXT},     {"longtext", MY_T_TEXT},       {"enum", MY_T_ENUM},
	{"set", MY_T_SET},             {"binary", MY_T_BINARY},       {"varbinary", MY_T_VARBINARY},
	{"tinyblob", MY_T_BLOB},       {"blob", MY_T_BLOB},           {"mediumblob", MY_T_BLOB},
	{"longblob", MY_T_BLOB},       {"json", MY_T_JSON},
};

static enum my_type my_type_of(const char *data_type)
{
	if (data_type == NULL)
		return MY_T_OTHER;
	for (size_t i = 0; i < sizeof(my_types) / sizeof(my_types[0]); i++) {
		if (strcasecmp(data_type, my_types[i].name) == 0)
			return my_types[i].type;
	}
	return MY_T_OTHER;
}

const char *catalog_my_type_name(enum my_type t)
{
	for (size_t i = 0; i < sizeof(my_types) / sizeof(my_types[0]); i++) {
		if (my_types[i].type == t)
			return my_types[i].name;
	}
	return "unsupported type";
}

/*
 * Byte-wise collations compare as Postgres' C collation does (up to
 * trailing-blank padding, which the translator handles for every text
 * column alike): *_bin. Everything else folds case or accents.
 */
static bool collation_ci(const char *collation)
{
	if (collation == NULL)
		return false;
	size_t n = strlen(collation);
	return !(n >= 4 && strcmp(collation + n - 4, "_bin") == 0);
}

/* ENUM/SET members from COLUMN_TYPE "enum('a','it''s')" (quotes doubled inside). */
static bool parse_members(struct legacy_catalog *c, struct legacy_column *col, const char *ct)
{
	const char *p = ct ? strchr(ct, '(') : NULL;
	if (p == NULL)
		return true;
	size_t cap = 8, n = 0;
	const char **v = malloc(cap * sizeof(*v));
	if (!own(c, (void *)v))
		return false;
	p++;
	while (*p == '\'') {
		p++;
		size_t len = 0;
		char *m = malloc(strlen(p) + 1);
		if (!own(c, m))
			return false;
		while (*p) {
			if (*p == '\'' && p[1] == '\'') {
				m[len++] = '\'';
				p += 2;
			} else if (*p == '\'') {
				p++;
				break;
			} else {
				m[len++] = *p++;
			}
		}
		m[len] = '\0';
		if (n == cap) {
			/* The old array stays owned (freed with the catalog); small and rare. */
			const char **bigger = malloc(cap * 2 * sizeof(*v));
			if (!own(c, (void *)bigger))
				return false;
			memcpy(bigger, v, n * sizeof(*v));
			v = bigger;
			cap *= 2;
		}
		v[n++] = m;
		if (*p == ',')
			p++;
	}
	col->enum_values = v;
	col->nenum_values = n;
	return true;
}

static int32_t varlena_typmod(uint32_t n)
{
	return n > 0 && n < 10485760 ? (int32_t)n + 4 : -1;
}

/* Chooses the Postgres type, typmod and conversion of a column (the map in catalog.h). */
static void map_type(const struct legacy_catalog *c, struct legacy_column *col)
{
	uint32_t oid = 0;
	int32_t typmod = -1;
	enum pgv_conv conv = PGV_C_TEXT;
	bool u = col->is_unsigned;
	switch (col->my_type) {
	case MY_T_TINYINT:
		if (c->tinyint1_as_bool && col->column_type != NULL &&
		    strncasecmp(col->column_type, "tinyint(1)", 10) == 0) {
			oid = PG_OID_BOOL;
			conv = PGV_C_BOOL;
		} else {
			oid = PG_OID_INT2;
			conv = PGV_C_INT;
		}
		break;
	case MY_T_SMALLINT:
		oid = u ? PG_OID_INT4 : PG_OID_INT2;
		conv = PGV_C_INT;
		break;
	case MY_T_YEAR:
		oid = PG_OID_INT2;
		conv = PGV_C_INT;
		break;
	case MY_T_MEDIUMINT:
		oid = PG_OID_INT4;
		conv = PGV_C_INT;
		break;
	case MY_T_INT:
		oid = u ? PG_OID_INT8 : PG_OID_INT4;
		conv = PGV_C_INT;
		break;
	case MY_T_BIGINT:
		oid = u ? PG_OID_NUMERIC : PG_OID_INT8;
		conv = u ? PGV_C_NUMERIC : PGV_C_INT;
		break;
	case MY_T_DECIMAL:
		oid = PG_OID_NUMERIC;
		conv = PGV_C_NUMERIC;
		if (col->precision > 0)
			typmod = (int32_t)(((uint32_t)col->precision << 16) | col->scale) + 4;
		break;
	case MY_T_FLOAT:
		oid = PG_OID_FLOAT4;
		conv = PGV_C_FLOAT4;
		break;
	case MY_T_DOUBLE:
		oid = PG_OID_FLOAT8;
		conv = PGV_C_FLOAT8;
		break;
	case MY_T_BIT:
		if (col->char_length == 1) {
			oid = PG_OID_BOOL;
			conv = PGV_C_BIT_BOOL;
		}
		break;
	case MY_T_DATE:
		oid = PG_OID_DATE;
		conv = PGV_C_DATE;
		break;
	case MY_T_DATETIME:
		oid = PG_OID_TIMESTAMP;
		conv = PGV_C_TIMESTAMP;
		typmod = col->precision > 0 ? col->precision : -1;
		break;
	case MY_T_TIMESTAMP:
		oid = PG_OID_TIMESTAMPTZ;
		conv = PGV_C_TIMESTAMPTZ;
		typmod = col->precision > 0 ? col->precision : -1;
		break;
	case MY_T_TIME:
		oid = PG_OID_INTERVAL;
		conv = PGV_C_INTERVAL;
		break;
	case MY_T_CHAR:
		oid = PG_OID_BPCHAR;
		conv = PGV_C_BPCHAR;
		typmod = varlena_typmod(col->char_length);
		break;
	case MY_T_VARCHAR:
		oid = PG_OID_VARCHAR;
		typmod = varlena_typmod(col->char_length);
		break;
	case MY_T_TEXT:
	case MY_T_ENUM:
	case MY_T_SET:
		oid = PG_OID_TEXT;
		break;
	case MY_T_BINARY:
	case MY_T_VARBINARY:
	case MY_T_BLOB:
		oid = PG_OID_BYTEA;
		conv = PGV_C_BYTEA;
		break;
	case MY_T_JSON:
		oid = PG_OID_JSON;
		break;
	case MY_T_OTHER:
		break;
	}
	col->pg_type = oid;
	col->pg_typmod = typmod;
	col->conv = conv;
}

/* MariaDB reports JSON as longtext with a json_valid() CHECK; COLUMN_TYPE says "longtext". */
bool catalog_add_column(struct legacy_catalog *c, const struct catalog_column_row *row)
{
	if (c->finished || c->ntables == 0 || row->name == NULL)
		return false;
	struct legacy_table *t = &c->tables[c->ntables - 1];
	/*
	 * Columns come one at a time while building: the array holds 8, then
	 * doubles whenever it is full (a count of 8, 16, 32, ...).
	 */
	size_t n = t->ncols;
	if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {
		struct legacy_column *cols = realloc(t->cols, (n ? n * 2 : 8) * sizeof(*cols));
		if (cols == NULL)
			return false;
		t->cols = cols;
	}
	struct legacy_column *col = &t->cols[t->ncols];
	memset(col, 0, sizeof(*col));
	col->pg_name = own_lower(c, row->name);
	col->my_name = own_str(c, row->name);
	col->column_type = own_lower(c, row->column_type);
	if (col->pg_name == NULL || col->my_name == NULL || col->column_type == NULL)
		return false;
	col->my_type = my_type_of(row->data_type);
	col->is_unsigned = strstr(col->column_type, "unsigned") != NULL;
	col->nullable = row->is_nullable != NULL && strcasecmp(row->is_nullable, "YES") == 0;
	if (col->my_type == MY_T_BIT)
		col->char_length = num_or_zero(row->numeric_precision);
	else
		col->char_length = num_or_zero(row->char_max_length);
	if (col->my_type == MY_T_DECIMAL) {
		col->precision = (uint16_t)num_or_zero(row->numeric_precision);
		col->scale = (uint16_t)num_or_zero(row->numeric_scale);
	} else {
		col->precision = (uint16_t)num_or_zero(row->datetime_precision);
	}
	if (row->collation != NULL) {
		col->collation = own_str(c, row->collation);
		if (col->collation == NULL)
			return false;
		col->ci = collation_ci(row->collation);
	}
	if (row->column_key != NULL && strcmp(row->column_key, "PRI") == 0)
		col->primary = true;
	if ((col->my_type == MY_T_ENUM || col->my_type == MY_T_SET) &&
	    !parse_members(c, col, row->column_type))
		return false;
	map_type(c, col);
	t->ncols++;
	return true;
}

static struct legacy_table *table_mut(struct legacy_catalog *c, const char *pg_name)
{
	for (size_t i = 0; i < c->ntables; i++) {
		if (strcmp(c->tables[i].pg_name, pg_name) == 0)
			return &c->tables[i];
	}
	return NULL;
}

bool catalog_add_index_column(struct legacy_catalog *c, const char *table, const char *index_name,
			      unsigned seq, const char *col_name)
{
	struct legacy_table *t = table_mut(c, table);
	if (t == NULL || col_name == NULL || c->finished)
		return true;
	char lower[256];
	size_t n = strlen(col_name);
	if (n >= sizeof(lower))
		return true;
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)tolower((unsigned char)col_name[i]);
	for (size_t i = 0; i < t->ncols; i++) {
		struct legacy_column *col = &t->cols[i];
		if (strcmp(col->pg_name, lower) != 0)
			continue;
		if (seq == 1)
			col->indexed = true;
		if (index_name != NULL && strcmp(index_name, "PRIMARY") == 0) {
			col->primary = true;
			uint16_t *pk = malloc((t->npkey + 1) * sizeof(*pk));
			if (!own(c, pk))
				return false;
			if (t->npkey)
				memcpy(pk, t->pkey, t->npkey * sizeof(*pk));
			/* STATISTICS lists a key's columns in SEQ_IN_INDEX order. */
			pk[t->npkey] = (uint16_t)i;
			t->pkey = pk;
			t->npkey++;
		}
		return true;
	}
	return true;
}

void catalog_finish(struct legacy_catalog *c)
{
	c->finished = true;
}

const char *catalog_my_database(const struct legacy_catalog *c)
{
	return c->my_database;
}

const char *catalog_pg_schema(const struct legacy_catalog *c)
{
	return c->pg_schema;
}

size_t catalog_ntables(const struct legacy_catalog *c)
{
	return c->ntables;
}

const struct legacy_table *catalog_table_at(const struct legacy_catalog *c, size_t i)
{
	return i < c->ntables ? &c->tables[i] : NULL;
}

const struct legacy_table *catalog_table(const struct legacy_catalog *c, const char *pg_name)
{
	for (size_t i = 0; i < c->ntables; i++) {
		if (strcmp(c->tables[i].pg_name, pg_name) == 0)
			return &c->tables[i];
	}
	return NULL;
}

const struct legacy_column *catalog_column(const struct legacy_table *t, const char *pg_name)
{
	for (size_t i = 0; i < t->ncols; i++) {
		if (strcmp(t->cols[i].pg_name, pg_name) == 0)
			return &t->cols[i];
	}
	return NULL;
}

static const struct {
	uint32_t oid;
	const char *name;
	int16_t len;
} pg_types[] = {
	{PG_OID_BOOL, "bool", 1},
	{PG_OID_BYTEA, "bytea", -1},
	{PG_OID_NAME, "name", 64},
	{PG_OID_INT8, "int8", 8},
	{PG_OID_INT2, "int2", 2},
	{PG_OID_INT4, "int4", 4},
	{PG_OID_TEXT, "text", -1},
	{PG_OID_OID, "oid", 4},
	{PG_OID_JSON, "json", -1},
	{PG_OID_FLOAT4, "float4", 4},
	{PG_OID_FLOAT8, "float8", 8},
	{PG_OID_UNKNOWN, "unknown", -2},
	{PG_OID_BPCHAR, "bpchar", -1},
	{PG_OID_VARCHAR, "varchar", -1},
	{PG_OID_DATE, "date", 4},
	{PG_OID_TIME, "time", 8},
	{PG_OID_TIMESTAMP, "timestamp", 8},
	{PG_OID_TIMESTAMPTZ, "timestamptz", 8},
	{PG_OID_INTERVAL, "interval", 16},
	{PG_OID_NUMERIC, "numeric", -1},
	{PG_OID_TEXT_ARRAY, "_text", -1},
	{PG_OID_INT4_ARRAY, "_int4", -1},
	{PG_OID_INT8_ARRAY, "_int8", -1},
};

const char *catalog_type_name(uint32_t oid)
{
	for (size_t i = 0; i < sizeof(pg_types) / sizeof(pg_types[0]); i++) {
		if (pg_types[i].oid == oid)
			return pg_types[i].name;
	}
	return "?";
}

int16_t catalog_type_len(uint32_t oid)
{
	for (size_t i = 0; i < sizeof(pg_types) / sizeof(pg_types[0]); i++) {
		if (pg_types[i].oid == oid)
			return pg_types[i].len;
	}
	return -1;
}
