/* test-pool-settings.c: DalPoolSettings from URLs and their checks
 * (core/dal-pool-settings.c), the URL the pool opens its connections
 * with, and dal_connection_open()'s refusal of pool options.  No server:
 * the refusal comes before any I/O. */
#include "config.h"

#include <string.h>

#include "dal-pool-private.h"  /* _dal_pool_lifetime_end_us() */
#include "dal-test.h"

#define assert_contains(haystack, needle) \
  G_STMT_START { \
    const char *h__ = (haystack), *n__ = (needle); \
    if (h__ == NULL || n__ == NULL || strstr (h__, n__) == NULL) \
      g_error ("%s:%d: \"%s\" does not contain \"%s\"", __FILE__, __LINE__, \
               h__ ? h__ : "(null)", n__ ? n__ : "(null)"); \
  } G_STMT_END

#define BASE "postgresql+asyncpg://app:s3cret@127.0.0.1:1/db"

static void
test_defaults (void)
{
  DalPoolSettings s;

  memset (&s, 0xAB, sizeof s);
  dal_pool_settings_init (&s);
  g_assert_cmpuint (s.min_size, ==, 1);
  g_assert_cmpuint (s.max_size, ==, 10);
  g_assert_cmpuint (s.depth, ==, 8);
  g_assert_cmpint (s.acquire_timeout_ms, ==, 30000);
  g_assert_cmpint (s.max_idle_ms, ==, 300000);
  g_assert_cmpint (s.max_lifetime_ms, ==, 3600000);
  g_assert_cmpuint (s.max_queries, ==, 50000);
  g_assert_cmpint (s.check_idle_ms, ==, 1000);
  g_assert_cmpint (s.leak_warning_ms, ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (s.reserved); i++)
    g_assert_null (s.reserved[i]);
  g_assert_true (dal_pool_settings_check (&s, NULL));

  /* A URL without pool options leaves them all as they were. */
  g_autoptr (DalUrl) url = dal_url_parse (BASE "?command_timeout=2", NULL);
  g_assert_nonnull (url);
  DalPoolSettings t;
  dal_pool_settings_init (&t);
  g_assert_true (dal_pool_settings_from_url (&t, url, NULL));
  g_assert_cmpmem (&s, sizeof s, &t, sizeof t);
}

static DalPoolSettings
from_url_ok (const char *query)
{
  g_autofree char *text = g_strconcat (BASE "?", query, NULL);
  GError *error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse (text, &error);
  g_assert_no_error (error);
  DalPoolSettings s;
  dal_pool_settings_init (&s);
  g_assert_true (dal_pool_settings_from_url (&s, url, &error));
  g_assert_no_error (error);
  return s;
}

static void
test_every_option (void)
{
  DalPoolSettings s = from_url_ok ("pool_min_size=3&pool_max_size=7&pool_depth=2"
                                   "&pool_acquire_timeout=0.5&pool_max_idle=60"
                                   "&pool_max_lifetime=7200&pool_max_queries=3"
                                   "&pool_check_idle=0.25&pool_leak_warning=1.5");
  g_assert_cmpuint (s.min_size, ==, 3);
  g_assert_cmpuint (s.max_size, ==, 7);
  g_assert_cmpuint (s.depth, ==, 2);
  g_assert_cmpint (s.acquire_timeout_ms, ==, 500);
  g_assert_cmpint (s.max_idle_ms, ==, 60000);
  g_assert_cmpint (s.max_lifetime_ms, ==, 7200000);
  g_assert_cmpuint (s.max_queries, ==, 3);
  g_assert_cmpint (s.check_idle_ms, ==, 250);
  g_assert_cmpint (s.leak_warning_ms, ==, 1500);

  /* 0 where 0 means "never" / "always" / "no limit" */
  s = from_url_ok ("pool_min_size=0&pool_acquire_timeout=0&pool_max_idle=0"
                   "&pool_max_lifetime=0&pool_max_queries=0&pool_check_idle=0");
  g_assert_cmpuint (s.min_size, ==, 0);
  g_assert_cmpint (s.acquire_timeout_ms, ==, 0);
  g_assert_cmpint (s.max_idle_ms, ==, 0);
  g_assert_cmpint (s.max_lifetime_ms, ==, 0);
  g_assert_cmpuint (s.max_queries, ==, 0);
  g_assert_cmpint (s.check_idle_ms, ==, 0);
  g_assert_cmpuint (s.max_size, ==, 10);  /* untouched */
}

static void
test_synonyms (void)
{
  DalPoolSettings s = from_url_ok ("min_size=2&max_size=4&max_queries=9"
                                   "&max_inactive_connection_lifetime=12.5");
  g_assert_cmpuint (s.min_size, ==, 2);
  g_assert_cmpuint (s.max_size, ==, 4);
  g_assert_cmpuint (s.max_queries, ==, 9);
  g_assert_cmpint (s.max_idle_ms, ==, 12500);
}

/* The URL fails dal_pool_settings_from_url() with a message holding
 * every one of @needles; the settings are left as they were. */
static void
assert_from_url_fails (const char *query, const char * const *needles)
{
  g_autofree char *text = g_strconcat (BASE "?", query, NULL);
  GError *error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse (text, &error);
  g_assert_no_error (error);

  DalPoolSettings s, before;
  dal_pool_settings_init (&s);
  s.depth = 5;  /* not a default: must survive the failure */
  before = s;
  g_assert_false (dal_pool_settings_from_url (&s, url, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);
  for (guint i = 0; needles[i] != NULL; i++)
    assert_contains (error->message, needles[i]);
  g_assert_null (strstr (error->message, "s3cret"));
  g_assert_cmpmem (&s, sizeof s, &before, sizeof before);
  g_error_free (error);
}

static void
test_both_spellings (void)
{
  static const struct { const char *query, *a, *b; } cases[] = {
    { "pool_min_size=1&min_size=1", "pool_min_size", "min_size" },
    { "max_size=3&pool_max_size=3", "pool_max_size", "max_size" },
    { "pool_max_queries=5&max_queries=6", "pool_max_queries", "max_queries" },
    { "pool_max_idle=1&max_inactive_connection_lifetime=2", "pool_max_idle",
      "max_inactive_connection_lifetime" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *needles[] = { "both", cases[i].a, cases[i].b, "Keep one", NULL };
      assert_from_url_fails (cases[i].query, needles);
    }
}

static void
test_min_above_max (void)
{
  const char *n1[] = { "pool_min_size=5 is above pool_max_size=2",
                       "Lower pool_min_size or raise pool_max_size", NULL };
  assert_from_url_fails ("pool_min_size=5&pool_max_size=2", n1);
  /* the URL's own spelling is named */
  const char *n2[] = { "min_size=5 is above max_size=2", NULL };
  assert_from_url_fails ("min_size=5&max_size=2", n2);
  /* against the default max_size */
  const char *n3[] = { "pool_min_size=11 is above pool_max_size=10", NULL };
  assert_from_url_fails ("pool_min_size=11", n3);
  /* equal is fine */
  DalPoolSettings s = from_url_ok ("pool_min_size=4&pool_max_size=4");
  g_assert_cmpuint (s.min_size, ==, 4);
}

static void
test_zero (void)
{
  const char *n1[] = { "pool_max_size=0", "Set pool_max_size to 1 or more", NULL };
  assert_from_url_fails ("pool_max_size=0&pool_min_size=0", n1);
  const char *n2[] = { "max_size=0", "Set max_size to 1 or more", NULL };
  assert_from_url_fails ("max_size=0&min_size=0", n2);
  const char *n3[] = { "pool_depth=0", "Set pool_depth to 1 or more", NULL };
  assert_from_url_fails ("pool_depth=0", n3);
}

/* The URL parser refuses a negative value; the struct check too. */
static void
test_negative (void)
{
  static const char * const url_options[] = {
    "pool_acquire_timeout", "pool_max_idle", "pool_max_lifetime",
    "pool_check_idle", "pool_leak_warning", "max_inactive_connection_lifetime",
    "pool_min_size", "pool_max_size", "pool_depth", "pool_max_queries",
    "min_size", "max_size", "max_queries",
  };
  for (guint i = 0; i < G_N_ELEMENTS (url_options); i++)
    {
      g_autofree char *text = g_strdup_printf (BASE "?%s=-1", url_options[i]);
      g_autofree char *named = g_strdup_printf ("%s=-1", url_options[i]);
      GError *error = NULL;
      g_autoptr (DalUrl) url = dal_url_parse (text, &error);
      g_assert_null (url);
      g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);
      assert_contains (error->message, named);
      g_error_free (error);
    }

  static const struct { gsize offset; const char *needle; } fields[] = {
    { G_STRUCT_OFFSET (DalPoolSettings, acquire_timeout_ms), "pool_acquire_timeout=-0.25" },
    { G_STRUCT_OFFSET (DalPoolSettings, max_idle_ms), "pool_max_idle=-0.25" },
    { G_STRUCT_OFFSET (DalPoolSettings, max_lifetime_ms), "pool_max_lifetime=-0.25" },
    { G_STRUCT_OFFSET (DalPoolSettings, check_idle_ms), "pool_check_idle=-0.25" },
    { G_STRUCT_OFFSET (DalPoolSettings, leak_warning_ms), "pool_leak_warning=-0.25" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    {
      DalPoolSettings s;
      dal_pool_settings_init (&s);
      *(gint64 *) ((guint8 *) &s + fields[i].offset) = -250;
      GError *error = NULL;
      g_assert_false (dal_pool_settings_check (&s, &error));
      g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);
      assert_contains (error->message, fields[i].needle);
      assert_contains (error->message, "is negative");
      g_error_free (error);
    }

  DalPoolSettings s;
  dal_pool_settings_init (&s);
  s.max_idle_ms = G_MININT64;
  GError *error = NULL;
  g_assert_false (dal_pool_settings_check (&s, &error));
  assert_contains (error->message, "pool_max_idle=-9223372036854775.808");
  g_error_free (error);
}

/* Durations beyond what the pool counts (100 years) are refused, from
 * the URL (either spelling) and in the struct; 100 years is taken. */
static void
test_too_long (void)
{
  const char * const n1[] = { "pool_max_lifetime=3153600000.001", "longer than", NULL };
  assert_from_url_fails ("pool_max_lifetime=3153600000.001", n1);
  const char * const n2[] = { "max_inactive_connection_lifetime=9223372036854774", NULL };
  assert_from_url_fails ("max_inactive_connection_lifetime=9223372036854774", n2);
  const char * const n3[] = { "pool_acquire_timeout=4000000000", NULL };
  assert_from_url_fails ("pool_acquire_timeout=4000000000", n3);
  DalPoolSettings ok = from_url_ok ("pool_max_lifetime=3153600000&pool_check_idle=3153600000");
  g_assert_cmpint (ok.max_lifetime_ms, ==, G_GINT64_CONSTANT (3153600000000));

  DalPoolSettings s;
  dal_pool_settings_init (&s);
  s.leak_warning_ms = G_MAXINT64;
  GError *error = NULL;
  g_assert_false (dal_pool_settings_check (&s, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);
  assert_contains (error->message, "pool_leak_warning=");
  assert_contains (error->message, "longer than");
  g_error_free (error);
}

/* A connection's end of life: up to 10 % before its lifetime is over,
 * spread over that whole tenth, for lifetimes of seconds to 100 years
 * (a tenth of 8 h in microseconds is beyond a 32-bit random range). */
static void
test_lifetime_jitter (void)
{
  const gint64 lifetimes_ms[] = {
    1000, 3600 * 1000, 8 * 3600 * 1000, 24 * 3600 * 1000, G_GINT64_CONSTANT (3153600000000),
  };
  const gint64 created = G_GINT64_CONSTANT (1000000000);
  for (guint i = 0; i < G_N_ELEMENTS (lifetimes_ms); i++)
    {
      gint64 life_us = lifetimes_ms[i] * 1000;
      gint64 earliest = G_MAXINT64, latest = G_MININT64;
      for (guint n = 0; n < 2000; n++)
        {
          gint64 end = _dal_pool_lifetime_end_us (created, lifetimes_ms[i]);
          g_assert_cmpint (end, <=, created + life_us);
          g_assert_cmpint (end, >=, created + life_us - life_us / 10);
          earliest = MIN (earliest, end);
          latest = MAX (latest, end);
        }
      /* 2,000 draws cover most of the tenth. */
      g_assert_cmpint (latest - earliest, >, life_us / 10 * 9 / 10);
    }
}

static void
test_struct_check (void)
{
  DalPoolSettings s;
  GError *error = NULL;

  dal_pool_settings_init (&s);
  s.min_size = 3;
  s.max_size = 2;
  g_assert_false (dal_pool_settings_check (&s, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);
  assert_contains (error->message, "pool_min_size=3 is above pool_max_size=2");
  g_clear_error (&error);

  dal_pool_settings_init (&s);
  s.max_size = 0;
  s.min_size = 0;
  g_assert_false (dal_pool_settings_check (&s, &error));
  assert_contains (error->message, "pool_max_size=0");
  g_clear_error (&error);

  dal_pool_settings_init (&s);
  s.depth = 0;
  g_assert_false (dal_pool_settings_check (&s, &error));
  assert_contains (error->message, "pool_depth=0");
  g_clear_error (&error);

  dal_pool_settings_init (&s);
  s.min_size = 0;
  s.max_size = 1;
  s.depth = 1;
  g_assert_true (dal_pool_settings_check (&s, &error));
  g_assert_no_error (error);
}

static void
test_has_pool_options (void)
{
  const char *first = "untouched";
  g_autoptr (DalUrl) none = dal_url_parse (BASE "?command_timeout=1&pooler_mode=session",
                                           NULL);
  g_assert_false (_dal_url_has_pool_options (none, &first));
  g_assert_cmpstr (first, ==, "untouched");

  static const char * const every[] = {
    "pool_min_size", "pool_max_size", "pool_depth", "pool_acquire_timeout",
    "pool_max_idle", "pool_max_lifetime", "pool_max_queries",
    "pool_check_idle", "pool_leak_warning", "min_size", "max_size",
    "max_queries", "max_inactive_connection_lifetime",
  };
  for (guint i = 0; i < G_N_ELEMENTS (every); i++)
    {
      g_autofree char *text = g_strdup_printf (BASE "?sslmode=disable&%s=1", every[i]);
      g_autoptr (DalUrl) url = dal_url_parse (text, NULL);
      g_assert_nonnull (url);
      g_assert_true (_dal_url_has_pool_options (url, &first));
      g_assert_cmpstr (first, ==, every[i]);
      g_assert_true (_dal_url_has_pool_options (url, NULL));
    }
}

static void
test_without_pool_options (void)
{
  g_autoptr (DalUrl) none = dal_url_parse (BASE "?command_timeout=1", NULL);
  g_autoptr (DalUrl) same = _dal_url_without_pool_options (none);
  g_assert_true (same == none);

  g_autoptr (DalUrl) url = dal_url_parse (
    BASE "?application_name=pooled&pool_min_size=2&max_size=4&pool_depth=3"
    "&command_timeout=1.5&max_inactive_connection_lifetime=9"
    "&pool_leak_warning=2&pooler_mode=session", NULL);
  g_assert_nonnull (url);
  g_autoptr (DalUrl) plain = _dal_url_without_pool_options (url);
  g_assert_nonnull (plain);
  g_assert_true (plain != url);
  g_assert_false (_dal_url_has_pool_options (plain, NULL));
  /* the original keeps them */
  g_assert_cmpstr (dal_url_get_option (url, "pool_min_size"), ==, "2");
  /* everything else is kept, password and driver included */
  g_assert_cmpstr (dal_url_get_scheme (plain), ==, "postgresql+asyncpg");
  g_assert_cmpstr (dal_url_get_password (plain), ==, "s3cret");
  g_assert_cmpstr (dal_url_get_user (plain), ==, "app");
  g_assert_cmpstr (dal_url_get_database (plain), ==, "db");
  g_assert_cmpstr (dal_url_get_host (plain, 0), ==, "127.0.0.1");
  g_assert_cmpstr (dal_url_get_port (plain, 0), ==, "1");
  g_assert_cmpstr (dal_url_get_option (plain, "application_name"), ==, "pooled");
  g_assert_cmpint (dal_url_get_duration_ms (plain, "command_timeout", 0), ==, 1500);
  g_assert_cmpstr (dal_url_get_option (plain, "pooler_mode"), ==, "session");

  /* and it reads back the same as a URL written without them */
  g_autoptr (DalUrl) expected = dal_url_parse (
    BASE "?application_name=pooled&command_timeout=1.5&pooler_mode=session", NULL);
  g_autofree char *a = dal_url_to_string (plain);
  g_autofree char *b = dal_url_to_string (expected);
  g_assert_cmpstr (a, ==, b);
}

/* The pool-option refusal, naming the option. */
static void
assert_refused (GError *error, const char *option)
{
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  assert_contains (error->message, option);
  assert_contains (error->message, "dal_connection_open()");
  assert_contains (error->message, "dal_pool_open()");
  assert_contains (error->message, "drop the option");
  g_assert_null (strstr (error->message, "s3cret"));
}

static void
open_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError **out = user_data;
  /* (Both dal_connection_open_async() and _open_url_async() end here.) */
  DalConnection *conn = g_async_result_is_tagged (result, dal_connection_open_async)
                        ? dal_connection_open_finish (result, out)
                        : dal_connection_open_url_finish (result, out);
  g_assert_null (conn);
}

/* Port 1 on 127.0.0.1 refuses connections, and the driver "nosuch" has
 * no plugin: either would be the error if anything ran before the
 * refusal. */
static void
test_connection_open_refuses (void)
{
  static const char * const urls[] = {
    "postgresql+asyncpg://app:s3cret@127.0.0.1:1/db?pool_max_size=4",
    "postgresql+psycopg2://app:s3cret@127.0.0.1:1/db?command_timeout=1&min_size=2",
    "postgresql+nosuch://app:s3cret@127.0.0.1:1/db?pool_leak_warning=1",
  };
  static const char * const options[] = { "pool_max_size", "min_size",
                                          "pool_leak_warning" };

  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      GError *error = NULL;
      DalConnection *conn = dal_connection_open (urls[i], NULL, &error);
      g_assert_null (conn);
      assert_refused (error, options[i]);
      g_clear_error (&error);

      g_autoptr (DalUrl) url = dal_url_parse (urls[i], NULL);
      g_assert_nonnull (url);
      conn = dal_connection_open_url (NULL, url, NULL, &error);
      g_assert_null (conn);
      assert_refused (error, options[i]);
      g_clear_error (&error);

      /* async: the error comes back on the caller's context */
      dal_connection_open_async (urls[i], NULL, open_done, &error);
      while (error == NULL)
        g_main_context_iteration (NULL, TRUE);
      assert_refused (error, options[i]);
      g_clear_error (&error);

      dal_connection_open_url_async (NULL, url, NULL, open_done, &error);
      while (error == NULL)
        g_main_context_iteration (NULL, TRUE);
      assert_refused (error, options[i]);
      g_clear_error (&error);
    }

  /* Without the pool option, the same URL does reach the network (or the
   * registry): the refusal above was not some other error. */
  GError *error = NULL;
  DalConnection *conn = dal_connection_open (
    "postgresql+nosuch://app:s3cret@127.0.0.1:1/db", NULL, &error);
  g_assert_null (conn);
  g_assert_nonnull (error);
  g_assert_false (g_error_matches (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED)
                  && strstr (error->message, "pool option") != NULL);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pool-settings/defaults", test_defaults);
  g_test_add_func ("/pool-settings/every-option", test_every_option);
  g_test_add_func ("/pool-settings/synonyms", test_synonyms);
  g_test_add_func ("/pool-settings/both-spellings", test_both_spellings);
  g_test_add_func ("/pool-settings/min-above-max", test_min_above_max);
  g_test_add_func ("/pool-settings/zero", test_zero);
  g_test_add_func ("/pool-settings/negative", test_negative);
  g_test_add_func ("/pool-settings/too-long", test_too_long);
  g_test_add_func ("/pool-settings/lifetime-jitter", test_lifetime_jitter);
  g_test_add_func ("/pool-settings/struct-check", test_struct_check);
  g_test_add_func ("/pool-settings/has-pool-options", test_has_pool_options);
  g_test_add_func ("/pool-settings/without-pool-options", test_without_pool_options);
  g_test_add_func ("/pool-settings/connection-open-refuses",
                   test_connection_open_refuses);
  return g_test_run ();
}
