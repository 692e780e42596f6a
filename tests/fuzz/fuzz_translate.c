/*
 * fuzz_translate — libFuzzer target for the MySQL dialect translator: any
 * bytes as one statement's text against the platform's legacy catalog.
 *
 * Every input must come back XLATE_OK or XLATE_REFUSED (never a crash, a
 * leak or an out-of-bounds read: ASan/UBSan). On OK the text MySQL would
 * run is checked for what the proxy relies on: no comment opener ("/" "*"),
 * balanced quotes and backticks, slots in order, inside the text and naming
 * a parameter that exists; and the result survives xlate_pack/xlate_unpack
 * byte for byte. The translator and the catalog live for the whole run, as
 * a worker's do, so reuse between inputs is exercised too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/catalog.h"
#include "router/translate.h"

static struct legacy_catalog *cat;
static struct xlate *xl;

static void check(bool ok)
{
	if (!ok)
		abort();
}

struct coldef {
	const char *name, *data_type, *column_type, *nullable, *len, *prec, *scale, *coll, *key;
};

static void add_table(const char *name, const struct coldef *cols, size_t n)
{
	check(catalog_add_table(cat, name, name));
	for (size_t i = 0; i < n; i++) {
		const struct coldef *d = &cols[i];
		struct catalog_column_row row = {
			.name = d->name, .data_type = d->data_type, .column_type = d->column_type,
			.is_nullable = d->nullable, .char_max_length = d->len,
			.numeric_precision = d->prec, .numeric_scale = d->scale,
			.collation = d->coll, .column_key = d->key,
		};
		check(catalog_add_column(cat, &row));
	}
}

#define CI "utf8mb4_general_ci"

static void setup(void)
{
	static const struct coldef customers[] = {
		{ "customer_id", "int", "int(10) unsigned", "NO", NULL, "10", "0", NULL, "PRI" },
		{ "name", "varchar", "varchar(100)", "NO", "100", NULL, NULL, CI, "MUL" },
		{ "phone", "varchar", "varchar(20)", "YES", "20", NULL, NULL, CI, "" },
		{ "email", "varchar", "varchar(255)", "YES", "255", NULL, NULL, CI, "" },
		{ "status", "enum", "enum('active','inactive','suspended')", "NO", "9", NULL, NULL, CI, "" },
		{ "grade", "tinyint", "tinyint(1)", "NO", NULL, "3", "0", NULL, "" },
		{ "balance", "decimal", "decimal(12,2)", "NO", NULL, "12", "2", NULL, "" },
		{ "created_at", "datetime", "datetime", "NO", NULL, NULL, NULL, NULL, "" },
		{ "updated_at", "timestamp", "timestamp", "YES", NULL, NULL, NULL, NULL, "" },
	};
	static const struct coldef subscriptions[] = {
		{ "subscription_id", "int", "int(10) unsigned", "NO", NULL, "10", "0", NULL, "PRI" },
		{ "customer_id", "int", "int(10) unsigned", "NO", NULL, "10", "0", NULL, "MUL" },
		{ "plan", "varchar", "varchar(50)", "NO", "50", NULL, NULL, CI, "" },
		{ "status", "enum", "enum('active','cancelled','expired')", "NO", "9", NULL, NULL, CI, "" },
		{ "started_at", "date", "date", "NO", NULL, NULL, NULL, NULL, "" },
		{ "ends_at", "date", "date", "YES", NULL, NULL, NULL, NULL, "" },
		{ "price", "decimal", "decimal(10,2)", "NO", NULL, "10", "2", NULL, "" },
		{ "auto_renew", "tinyint", "tinyint(1)", "NO", NULL, "3", "0", NULL, "" },
	};
	static const struct coldef payments[] = {
		{ "payment_id", "bigint", "bigint(20) unsigned", "NO", NULL, "20", "0", NULL, "PRI" },
		{ "subscription_id", "int", "int(10) unsigned", "NO", NULL, "10", "0", NULL, "MUL" },
		{ "amount", "decimal", "decimal(12,2)", "NO", NULL, "12", "2", NULL, "" },
		{ "currency", "char", "char(3)", "NO", "3", NULL, NULL, CI, "" },
		{ "paid_at", "timestamp", "timestamp", "NO", NULL, NULL, NULL, NULL, "" },
		{ "memo", "text", "text", "YES", "65535", NULL, NULL, CI, "" },
		{ "meta", "json", "json", "YES", NULL, NULL, NULL, NULL, "" },
	};
	cat = catalog_new("crm", "public", true);
	check(cat != NULL);
	add_table("customers", customers, sizeof(customers) / sizeof(customers[0]));
	add_table("subscriptions", subscriptions, sizeof(subscriptions) / sizeof(subscriptions[0]));
	add_table("payments", payments, sizeof(payments) / sizeof(payments[0]));
	check(catalog_add_index_column(cat, "customers", "PRIMARY", 1, "customer_id"));
	check(catalog_add_index_column(cat, "customers", "idx_name", 1, "name"));
	check(catalog_add_index_column(cat, "subscriptions", "PRIMARY", 1, "subscription_id"));
	check(catalog_add_index_column(cat, "payments", "PRIMARY", 1, "payment_id"));
	catalog_finish(cat);
	xl = xlate_new();
	check(xl != NULL);
}

/* No comment opener; quotes and backticks balanced (doubling escapes both). */
static void check_text(const char *s, size_t n)
{
	check(strlen(s) == n);
	check(strstr(s, "/*") == NULL);
	char in = 0;
	for (size_t i = 0; i < n; i++) {
		if (in == 0 && (s[i] == '\'' || s[i] == '`'))
			in = s[i];
		else if (in != 0 && s[i] == in) {
			if (i + 1 < n && s[i + 1] == in)
				i++;
			else
				in = 0;
		}
	}
	check(in == 0);
}

static void check_result(const struct xlate_result *r)
{
	check(r->status == XLATE_OK || r->status == XLATE_REFUSED);
	if (r->status != XLATE_OK) {
		check(strlen(r->sqlstate) == 5);
		return;
	}
	check_text(r->sql, r->sql_len);
	size_t steps = 0;
	for (size_t i = 0; i < r->nslots; i++) {
		check(r->slots[i].at <= r->sql_len);
		check(i == 0 || r->slots[i].at >= r->slots[i - 1].at);
		check(r->slots[i].kind <= XLATE_S_TZ_LOCAL_STEPS);
		check(r->slots[i].kind != XLATE_S_PARAM || r->slots[i].param < r->nparams);
		steps += r->slots[i].kind >= XLATE_S_TZ_UTC_STEPS;
	}
	check(steps <= XLATE_MAX_TZ_STEPS);
	for (size_t i = 0; i < r->ncols; i++)
		check(r->cols[i].name != NULL && r->cols[i].type_oid != 0);
}

static void check_pack(const struct xlate_result *r)
{
	size_t n = xlate_packed_size(r);
	uint64_t *blob = malloc(n ? n : 8);
	check(blob != NULL);
	xlate_pack(r, (unsigned char *)blob);
	struct xlate_result u;
	xlate_unpack((const unsigned char *)blob, &u);
	check(u.status == r->status && u.sql_len == r->sql_len && strcmp(u.sql, r->sql) == 0);
	check(u.nslots == r->nslots && u.nparams == r->nparams && u.ncols == r->ncols);
	check(u.nslots == 0 || memcmp(u.slots, r->slots, u.nslots * sizeof(*u.slots)) == 0);
	check(u.nparams == 0 || memcmp(u.param_types, r->param_types, u.nparams * 4) == 0);
	for (size_t i = 0; i < u.ncols; i++)
		check(strcmp(u.cols[i].name, r->cols[i].name) == 0 &&
		      u.cols[i].type_oid == r->cols[i].type_oid && u.cols[i].conv == r->cols[i].conv);
	check(u.wrap == r->wrap && u.total_order == r->total_order);
	check((u.cursor_name == NULL) == (r->cursor_name == NULL));
	check(u.cursor_name == NULL || strcmp(u.cursor_name, r->cursor_name) == 0);
	check((u.copy.null_string == NULL) == (r->copy.null_string == NULL));
	free(blob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (cat == NULL)
		setup();
	if (size > 1 << 16)
		return 0;
	char *sql = malloc(size + 1);
	check(sql != NULL);
	memcpy(sql, data, size);
	sql[size] = '\0';
	struct xlate_input in = { .sql = sql, .len = strlen(sql), .cat = cat };
	struct xlate_result r;
	xlate_read(xl, &in, &r);
	check_result(&r);
	check_pack(&r);
	free(sql);
	return 0;
}
