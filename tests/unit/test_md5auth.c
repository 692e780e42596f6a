/*
 * test_md5auth — the md5 response against values computed outside the code
 * under test (printf | md5sum in a shell, the way Postgres defines it), and
 * the check's refusal of anything but the exact 35-character response.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "protocol/md5auth.h"

static const uint8_t salt_1234[4] = { 0x01, 0x02, 0x03, 0x04 };
static const uint8_t salt_beef[4] = { 0xde, 0xad, 0xbe, 0xef };

/*
 * inner = printf 'secretpostgres' | md5sum = 53f48b7c4b76a86ce72276c5755f217d
 * (the pg_authid value Postgres stores as "md553f4..."), then
 * { printf '%s' "$inner"; printf '\x01\x02\x03\x04'; } | md5sum
 */
#define POSTGRES_SECRET_1234 "md5bb41a296aab6baccb36ff243a562abff"
/* Same for user "app", password "app-secret", salt de ad be ef. */
#define APP_SECRET_BEEF "md5c9b9ac31349f9ba47661dc175e1eadac"

static void test_known_values(void **state)
{
	(void)state;
	char out[MD5AUTH_RESPONSE_LEN + 1];
	md5auth_response("postgres", "secret", salt_1234, out);
	assert_string_equal(out, POSTGRES_SECRET_1234);
	md5auth_response("app", "app-secret", salt_beef, out);
	assert_string_equal(out, APP_SECRET_BEEF);
}

static void test_check_accepts_exact(void **state)
{
	(void)state;
	assert_true(md5auth_check("postgres", "secret", salt_1234, POSTGRES_SECRET_1234));
	assert_true(md5auth_check("app", "app-secret", salt_beef, APP_SECRET_BEEF));
}

static void test_check_refuses(void **state)
{
	(void)state;
	const char *bad[] = {
		"",
		"md5",
		"md5bb41a296aab6baccb36ff243a562abf",   /* one digit short */
		"md5bb41a296aab6baccb36ff243a562abff0", /* one digit long */
		"md5BB41A296AAB6BACCB36FF243A562ABFF",  /* Postgres compares exactly */
		"MD5bb41a296aab6baccb36ff243a562abff",
		"bb41a296aab6baccb36ff243a562abff",
		"md5cb41a296aab6baccb36ff243a562abff",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(md5auth_check("postgres", "secret", salt_1234, bad[i]));
	assert_false(md5auth_check("postgres", "secret", salt_1234, NULL));
	/* right response, wrong inputs */
	assert_false(md5auth_check("postgres", "Secret", salt_1234, POSTGRES_SECRET_1234));
	assert_false(md5auth_check("postgre", "secret", salt_1234, POSTGRES_SECRET_1234));
	assert_false(md5auth_check("postgres", "secret", salt_beef, POSTGRES_SECRET_1234));
}

static void test_salt_and_user_matter(void **state)
{
	(void)state;
	char a[MD5AUTH_RESPONSE_LEN + 1], b[MD5AUTH_RESPONSE_LEN + 1];
	md5auth_response("u", "p", salt_1234, a);
	md5auth_response("u", "p", salt_beef, b);
	assert_string_not_equal(a, b);
	/* password+user is concatenated, so "ab"/"c" and "a"/"bc" collide by design */
	md5auth_response("c", "ab", salt_1234, a);
	md5auth_response("bc", "a", salt_1234, b);
	assert_string_equal(a, b);
	assert_int_equal(strlen(a), MD5AUTH_RESPONSE_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_check_accepts_exact),
		cmocka_unit_test(test_check_refuses),
		cmocka_unit_test(test_salt_and_user_matter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
