/* test-dialect.c: a plugin's own dialect (DalDialect, ABI 1.5), with the
 * fake plugin tests/plugins/dialect/fakedb: options accepted, unknown
 * ones refused naming them (at parse and at resolve), secrets redacted,
 * the alias, and a plugin without a dialect table accepting anything.
 * The tests run in order: the first one parses before the dialect is
 * known to the process. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "dal-private.h"
#include "dal-test.h"

static DalRegistry *
registry_for (const char *sub)
{
  g_autofree char *dir = g_build_filename (dal_test_env ("DAL_TEST_PLUGINS"), sub, NULL);
  const char *dirs[] = { dir, NULL };
  return dal_registry_new (dirs, FALSE);
}

/* Parsed before any plugin declared fakedb: accepted as is, then refused
 * by dal_registry_resolve() before any I/O. */
static void
test_resolve_time (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (_dal_dialect_find ("fakedb"));
  g_autoptr (DalUrl) bad = dal_url_parse ("fakedb://u@srv/f.db?mode=ro&colour=red", &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) bad_value = dal_url_parse ("fakedb://srv/f.db?mode=rx", &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) good = dal_url_parse ("fakedb://u@srv/f.db?mode=ro&command_timeout=2", &error);
  g_assert_no_error (error);

  DalRegistry *registry = registry_for ("dialect");
  g_assert_null (dal_registry_resolve (registry, bad, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_UNKNOWN_OPTION);
  g_assert_nonnull (strstr (error->message, "\"colour\""));
  g_clear_error (&error);
  g_assert_null (dal_registry_resolve (registry, bad_value, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "mode=rx"));
  g_clear_error (&error);
  g_assert_nonnull (dal_registry_resolve (registry, good, &error));
  g_assert_no_error (error);
  dal_registry_free (registry);

  /* the registry that loaded it made the dialect known to the process */
  g_assert_nonnull (_dal_dialect_find ("fakedb"));
  g_assert_true (_dal_dialect_find ("fdb") == _dal_dialect_find ("fakedb"));
}

static void
test_parse (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse ("fakedb://u:pw%21@srv:7/f.db?mode=rw&token=TOPSECRET"
                                          "&cache_pages=3&command_timeout=1.5", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_option (url, "server"), ==, "srv");
  g_assert_cmpstr (dal_url_get_option (url, "port"), ==, "7");
  g_assert_cmpstr (dal_url_get_option (url, "file"), ==, "f.db");
  g_assert_cmpstr (dal_url_get_option (url, "mode"), ==, "rw");
  g_assert_cmpstr (dal_url_get_database (url), ==, "f.db");
  g_assert_cmpstr (dal_url_get_password (url), ==, "pw!");

  /* secrets redacted */
  g_autofree char *shown = dal_url_to_string_redacted (url);
  g_assert_null (strstr (shown, "TOPSECRET"));
  g_assert_null (strstr (shown, "pw"));
  g_assert_nonnull (strstr (shown, "token="));
  g_assert_true (dal_url_option_is_secret ("token"));
  g_assert_false (dal_url_option_is_secret ("mode"));

  /* unknown option: named, with the nearest known one */
  g_assert_null (dal_url_parse ("fakedb://srv/f.db?mdoe=ro", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_UNKNOWN_OPTION);
  g_assert_nonnull (strstr (error->message, "\"mdoe\""));
  g_assert_nonnull (strstr (dal_error_get_hint (error), "Did you mean mode?"));
  g_assert_nonnull (strstr (dal_error_get_hint (error), "libfakedb"));
  g_clear_error (&error);
  /* libpq's keywords are not fakedb's */
  g_assert_null (dal_url_parse ("fakedb://srv/f.db?sslmode=require", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_UNKNOWN_OPTION);
  g_clear_error (&error);

  /* enum and uint values */
  g_assert_null (dal_url_parse ("fakedb://srv/f.db?mode=rx", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);
  g_clear_error (&error);
  g_assert_null (dal_url_parse ("fakedb://srv/f.db?cache_pages=-1", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);
  g_clear_error (&error);
  /* a secret's bad value is not quoted */
  g_assert_null (dal_url_parse ("fakedb://srv/f.db?token=x&token=y&port=TOPSECRET", &error));
  g_clear_error (&error);

  /* one server only (no DAL_DIALECT_HOST_LIST) */
  g_assert_null (dal_url_parse ("fakedb://a,b/f.db", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);
  g_clear_error (&error);

  /* the alias */
  g_autoptr (DalUrl) alias = dal_url_parse ("FDB+fake://srv/f.db?mode=ro", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_dialect (alias), ==, "fakedb");
  g_assert_cmpstr (dal_url_get_scheme (alias), ==, "fakedb+fake");

  /* min_client_version */
  g_autoptr (DalUrl) wal = dal_url_parse ("fakedb://srv/f.db?wal=on", &error);
  g_assert_no_error (error);
  g_assert_true (dal_url_check_client_version (wal, 20000, "libfakedb", &error));
  g_assert_false (dal_url_check_client_version (wal, 10500, "libfakedb", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "wal needs libfakedb 2"));
}

/* The TLS policy's error for @query on fakedb (its inputs are tls_mode,
 * tls_ca, ...): a DAL_ERROR_TLS_CONFIG naming fakedb's options, never
 * PostgreSQL's. */
static char *
tls_error (const char *query)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strconcat ("fakedb://srv/f.db?", query, NULL);
  g_autoptr (DalUrl) url = dal_url_parse (text, &error);
  g_assert_no_error (error);
  g_autoptr (DalUrl) out = _dal_tls_apply (url, &error);
  g_assert_null (out);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_TLS_CONFIG);
  static const char * const pg[] = { "sslmode", "sslrootcert", "sslcert",
                                     "sslkey", "sslpassword", "sslcrl",
                                     "ssl_min", "PGSSL", "libpq", NULL };
  for (guint i = 0; pg[i] != NULL; i++)
    if (strstr (error->message, pg[i]) != NULL)
      g_error ("PostgreSQL's %s in: %s", pg[i], error->message);
  return g_strdup (error->message);
}

static void
assert_has (const char *message, const char *part)
{
  if (strstr (message, part) == NULL)
    g_error ("\"%s\" is not in: %s", part, message);
}

/* A dialect with TLS inputs under its own names gets messages, [tls]
 * keys and synonyms of its own. */
static void
test_tls_names (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("dal-dialect-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *junk = g_build_filename (dir, "junk.pem", NULL);
  g_assert_true (g_file_set_contents (junk, "not a certificate\n", -1, NULL));

  /* nothing asked: the dialect's default mode (disable), nothing checked */
  g_autoptr (DalUrl) plain = dal_url_parse ("fakedb://srv/f.db?tls_ca=/nonexistent", &error);
  g_assert_no_error (error);
  g_autofree char *mode = _dal_tls_effective_mode (plain, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mode, ==, "disable");

  /* each file check and rule names fakedb's options (JUNK: a file that
   * holds no PEM data) */
  static const struct
  {
    const char *query, *says, *hint;
  } cases[] = {
    { "tls_mode=verify-full&tls_ca=JUNK", "the CA file (tls_ca)", "Point tls_ca at" },
    { "tls_mode=verify-ca", "tls_mode=verify-ca needs the CA", "Add tls_ca=<CA file>" },
    { "tls_mode=require&tls_key=JUNK", "(tls_key", "Add tls_cert=" },
    { "tls_mode=require&tls_cert=JUNK&tls_key=JUNK",
      "the client certificate file (tls_cert)", "Point tls_cert at" },
    { "tls_mode=require&tls_crl=JUNK", "the revocation list file (tls_crl)",
      "remove tls_crl" },
    { "tls_mode=require&tls_min=TLSv1", "tls_min=TLSv1 allows", "Remove tls_min" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (GStrv) parts = g_strsplit (cases[i].query, "JUNK", -1);
      g_autofree char *query = g_strjoinv (junk, parts);
      g_autofree char *message = tls_error (query);
      assert_has (message, cases[i].says);
      assert_has (message, cases[i].hint);
    }

  /* a configuration's [tls] section takes the dialect's TLS options */
  g_autoptr (DalConfig) config = dal_config_new ();
  g_assert_true (dal_config_add_data (config, "[database]\nurl = fakedb://srv/f.db\n"
                                      "[tls]\ntls_mode = require\ntls_sni = on\n",
                                      -1, "dal.conf", &error));
  g_assert_no_error (error);
  g_autoptr (DalUrl) merged = dal_config_get_url (config, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_option (merged, "tls_mode"), ==, "require");
  g_assert_cmpstr (dal_url_get_option (merged, "tls_sni"), ==, "on");
  g_assert_false (dal_config_add_data (config, "[tls]\nsslmode = require\n", -1,
                                       "other.conf", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONFIG_INVALID);
  assert_has (error->message, "unknown key sslmode in [tls]");
  assert_has (error->message, "tls_mode, tls_ca, tls_cert, tls_key, tls_key_pass, "
              "tls_crl, tls_min, tls_sni and allow_insecure_tls");
  g_clear_error (&error);
  g_assert_false (dal_config_add_data (config, "[tls]\ntls_mode = sometimes\n", -1,
                                       "other.conf", &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_CONFIG_INVALID);
  assert_has (error->message, "[tls] tls_mode in other.conf line 2");
  g_clear_error (&error);
  /* the default origin's text names no dialect's environment */
  g_autoptr (DalConfig) empty = dal_config_new ();
  g_assert_null (strstr (dal_config_get_origin (empty, "url"), "FAKEDB"));

  /* its synonym tls= is stored as tls_mode, edited and removed so */
  g_autoptr (DalUrl) url = dal_url_parse ("fakedb://srv/f.db?tls=true", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_option (url, "tls_mode"), ==, "require");
  g_autoptr (DalUrl) off = dal_url_with_options (url, (const char *[]) { "tls", NULL },
                                                 (const char *[]) { "false" }, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_option (off, "tls_mode"), ==, "disable");
  g_autoptr (DalUrl) none = dal_url_with_options (url, (const char *[]) { "tls", NULL },
                                                  (const char *[]) { NULL }, &error);
  g_assert_no_error (error);
  g_assert_null (dal_url_get_option (none, "tls_mode"));
  g_assert_null (dal_url_with_options (url, (const char *[]) { "tls", NULL },
                                       (const char *[]) { "maybe" }, &error));
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE);

  g_assert_cmpint (g_remove (junk), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* fakesync declares no dialect: anything goes, handed to the plugin. */
static void
test_no_table (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) url = dal_url_parse ("test://h/d?anything=1&sslmode=whatever", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_option (url, "anything"), ==, "1");
  DalRegistry *registry = registry_for ("");
  g_assert_nonnull (dal_registry_resolve (registry, url, &error));
  g_assert_no_error (error);
  dal_registry_free (registry);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dialect/resolve-time", test_resolve_time);
  g_test_add_func ("/dialect/parse", test_parse);
  g_test_add_func ("/dialect/tls-names", test_tls_names);
  g_test_add_func ("/dialect/no-table", test_no_table);
  return g_test_run ();
}
