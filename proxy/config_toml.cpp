// config_toml — turns a TOML document into the flat entry list of config_toml.h.
//
// This is switchyard's only C++, and it holds only what toml++ forces to be
// C++: parsing, and walking the parsed tree one level below each top-level
// table. It knows no key names and no limits; config.c does. Entries come
// out in document order (toml++ keeps tables sorted by key, so they are
// re-sorted by source position) so that errors read top to bottom.
//
// toml++ is built here with exceptions, as the Debian shared library is:
// a syntax error arrives as toml::parse_error and is turned into
// doc->error. Every extern "C" function catches everything, so no C++
// exception ever reaches a C frame.
#include "proxy/config_toml.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include <openssl/crypto.h>
#include <toml++/toml.h>

namespace {

// A NUL-terminated malloc'd copy of <len> bytes (which may include NULs).
char *dup_bytes(const char *p, size_t len)
{
	char *s = static_cast<char *>(std::malloc(len + 1));
	if (!s)
		throw std::bad_alloc();
	std::memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

int clamp_index(toml::source_index i)
{
	return i > static_cast<toml::source_index>(INT_MAX) ? INT_MAX : static_cast<int>(i);
}

void set_position(const toml::source_region &r, int *line, int *col)
{
	*line = clamp_index(r.begin.line);
	*col = clamp_index(r.begin.column);
}

enum config_toml_kind kind_of(const toml::node &n)
{
	switch (n.type()) {
	case toml::node_type::string:
		return CONFIG_TOML_STRING;
	case toml::node_type::integer:
		return CONFIG_TOML_INTEGER;
	case toml::node_type::floating_point:
		return CONFIG_TOML_FLOAT;
	case toml::node_type::boolean:
		return CONFIG_TOML_BOOLEAN;
	case toml::node_type::date:
	case toml::node_type::time:
	case toml::node_type::date_time:
		return CONFIG_TOML_DATETIME;
	case toml::node_type::array:
		return CONFIG_TOML_ARRAY;
	default:
		return CONFIG_TOML_TABLE;
	}
}

// Fills <v> from <n>. Arrays get their elements <depth> levels deep: the
// deepest key ([cutover] groups, an array of arrays of names) needs two.
void fill_value(const toml::node &n, struct config_toml_value *v, int depth)
{
	v->kind = kind_of(n);
	set_position(n.source(), &v->line, &v->col);
	if (const auto *s = n.as_string()) {
		const std::string &text = s->get();
		v->str = dup_bytes(text.data(), text.size());
		v->len = text.size();
	} else if (const auto *i = n.as_integer()) {
		v->integer = i->get();
	} else if (const auto *f = n.as_floating_point()) {
		v->number = f->get();
	} else if (const auto *b = n.as_boolean()) {
		v->boolean = b->get();
	} else if (const auto *a = n.as_array(); a && depth > 0 && !a->empty()) {
		v->elems = static_cast<struct config_toml_value *>(
			std::calloc(a->size(), sizeof *v->elems));
		if (!v->elems)
			throw std::bad_alloc();
		// Counted as they are filled so a throw leaves a clearable value.
		for (const toml::node &elem : *a)
			fill_value(elem, &v->elems[v->nelems++], depth - 1);
	}
}

// Appends a zeroed entry to <doc> and returns it.
struct config_toml_entry *add_entry(struct config_toml_doc *doc)
{
	void *grown = std::realloc(doc->entries, (doc->n + 1) * sizeof *doc->entries);
	if (!grown)
		throw std::bad_alloc();
	doc->entries = static_cast<struct config_toml_entry *>(grown);
	struct config_toml_entry *e = &doc->entries[doc->n++];
	std::memset(e, 0, sizeof *e);
	return e;
}

void add_key(struct config_toml_doc *doc, const char *section, int index, const toml::key &k,
	     const toml::node &v)
{
	struct config_toml_entry *e = add_entry(doc);
	e->index = index;
	e->section = section ? dup_bytes(section, std::strlen(section)) : nullptr;
	e->key = dup_bytes(k.str().data(), k.str().size());
	set_position(k.source(), &e->line, &e->col);
	fill_value(v, &e->value, 2);
}

// One section: a header entry, then one entry per key in it. A table inside
// a plain section ([cutover.weights]) is a section of its own named
// "parent.child", one level deep; deeper tables stay keys of kind TABLE.
// An inline table (x = { ... }) stays a key. The header entry of [a.b] sits
// where "b" is written.
void add_section(struct config_toml_doc *doc, std::string_view name, int index,
		 const toml::table &t, bool nested, const toml::source_region &at)
{
	struct config_toml_entry *e = add_entry(doc);
	e->index = index;
	e->section = dup_bytes(name.data(), name.size());
	set_position(at, &e->line, &e->col);
	fill_value(t, &e->value, 0);
	const char *section = e->section; // stable: entries move, the string does not
	for (const auto &[k, v] : t) {
		if (const auto *sub = v.as_table(); sub && nested && !sub->is_inline()) {
			std::string child(section);
			child += '.';
			child += k.str();
			add_section(doc, child, index, *sub, false, k.source());
		} else {
			add_key(doc, section, index, k, v);
		}
	}
}

void flatten(const toml::table &root, struct config_toml_doc *doc)
{
	for (const auto &[name, node] : root) {
		if (const auto *t = node.as_table()) {
			add_section(doc, name.str(), -1, *t, true, t->source());
		} else if (const auto *a = node.as_array(); a && a->is_array_of_tables()) {
			int index = 0;
			for (const toml::node &elem : *a)
				add_section(doc, name.str(), index++, *elem.as_table(), false,
					    elem.source());
		} else {
			add_key(doc, nullptr, -1, name, node);
		}
	}
	// Headers sort before their keys: a header starts earlier on its line or
	// on an earlier line, and stable_sort keeps the header first on a tie.
	std::stable_sort(doc->entries, doc->entries + doc->n,
			 [](const struct config_toml_entry &a, const struct config_toml_entry &b) {
				 return a.line != b.line ? a.line < b.line : a.col < b.col;
			 });
}

void set_error(struct config_toml_doc *doc, std::string_view what, int line, int col)
{
	std::free(doc->error);
	doc->error = static_cast<char *>(std::malloc(what.size() + 1));
	if (doc->error) {
		std::memcpy(doc->error, what.data(), what.size());
		doc->error[what.size()] = '\0';
	}
	doc->error_line = line;
	doc->error_col = col;
}

void clear_value(struct config_toml_value *v)
{
	if (v->str) {
		OPENSSL_cleanse(v->str, v->len);
		std::free(v->str);
	}
	for (size_t i = 0; i < v->nelems; i++)
		clear_value(&v->elems[i]);
	std::free(v->elems);
}

} // namespace

extern "C" bool config_toml_parse(const char *text, size_t len, struct config_toml_doc *doc)
{
	try {
		toml::table root = toml::parse(std::string_view(text, len));
		flatten(root, doc);
		return true;
	} catch (const toml::parse_error &e) {
		int line, col;
		set_position(e.source(), &line, &col);
		set_error(doc, e.description(), line, col);
	} catch (const std::bad_alloc &) {
		set_error(doc, "out of memory", 0, 0);
	} catch (...) {
		set_error(doc, "unexpected failure in the TOML reader", 0, 0);
	}
	return false;
}

extern "C" void config_toml_doc_clear(struct config_toml_doc *doc)
{
	for (size_t i = 0; i < doc->n; i++) {
		std::free(doc->entries[i].section);
		std::free(doc->entries[i].key);
		clear_value(&doc->entries[i].value);
	}
	std::free(doc->entries);
	std::free(doc->error);
	std::memset(doc, 0, sizeof *doc);
}
