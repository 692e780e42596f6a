/*
 * config_toml — the seam between config.c (C) and config_toml.cpp (C++).
 *
 * toml++ is C++, and config.h cannot be read by a C++ compiler (_Atomic),
 * so the C++ side knows nothing of struct config or of the key schema: it
 * flattens a TOML document into a plain list of entries, one per
 * section header and one per key inside a section, each with its source
 * position, in document order. config.c checks that list against its
 * schema. Only those two files include this header.
 */
#ifndef SY_CONFIG_TOML_H
#define SY_CONFIG_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum config_toml_kind {
	CONFIG_TOML_STRING = 0, /* str/len */
	CONFIG_TOML_INTEGER,    /* integer */
	CONFIG_TOML_FLOAT,      /* number */
	CONFIG_TOML_BOOLEAN,    /* boolean */
	CONFIG_TOML_DATETIME,   /* date, time or date-time; no payload */
	CONFIG_TOML_ARRAY,      /* elems/nelems, one level deep */
	CONFIG_TOML_TABLE,      /* no payload: a section's keys are entries of their own */
};

struct config_toml_value {
	enum config_toml_kind kind;
	int line, col;  /* where the value starts, 1-based */
	char *str;      /* STRING: NUL-terminated copy, may hold NUL bytes before len */
	size_t len;
	int64_t integer;
	double number;
	bool boolean;
	/*
	 * ARRAY: its elements, two levels deep (an array of arrays of
	 * strings); deeper arrays and tables inside arrays carry only their
	 * kind and position: no key accepts them.
	 */
	struct config_toml_value *elems;
	size_t nelems;
};

/*
 * One entry:
 *   section header  section = "proxy", index = -1, key = NULL, value.kind TABLE
 *   [[users]] entry section = "users", index = 0.., key = NULL, value.kind TABLE
 *   [a.b] header    section = "a.b": a table inside a plain table is a
 *                   section of its own, one level deep
 *   key in section  section, index as above, key = "listen", value
 *   top-level key   section = NULL, index = -1, key = "x", value (never a
 *                   table or an array of tables: those become sections)
 * line/col is where the key (or the header) starts.
 */
struct config_toml_entry {
	char *section;
	int index;
	char *key;
	int line, col;
	struct config_toml_value value;
};

struct config_toml_doc {
	struct config_toml_entry *entries;
	size_t n;
	/* Set when parsing failed: a syntax error, or "out of memory" with no position. */
	char *error;
	int error_line, error_col;
};

/*
 * Parses <len> bytes of <text> into *doc (which must be zeroed). Returns
 * false with doc->error set on a syntax error or when memory runs out.
 * Either way the caller releases *doc with config_toml_doc_clear(). No C++
 * exception escapes.
 */
bool config_toml_parse(const char *text, size_t len, struct config_toml_doc *doc)
	__attribute__((warn_unused_result));

/* Frees everything *doc holds and zeroes it; string values are wiped first. */
void config_toml_doc_clear(struct config_toml_doc *doc);

#ifdef __cplusplus
}
#endif

#endif
