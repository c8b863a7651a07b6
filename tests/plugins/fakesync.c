/* fakesync.c: a blocking-only plugin over the fake database (fake-db.c).
 *
 * One source, several modules: the macros below make the module name,
 * what it serves, its ABI version and its function table differ, for the
 * registry's tests (tests/plugins/local.mk builds each variant):
 *   fakesync    test+sync, and the bare test:// (dialect default)
 *   fakepg      dialect "postgres" (an alias of postgresql), driver fake
 *   oldfuncs    old+sync, ABI 1.0; funcs_size stops before get_info,
 *               though its table has one (and is_lost)
 *   badabi      bad+abi: ABI major 99
 *   newminor    bad+newminor: ABI minor one newer than this libdal's
 *   incomplete  bad+incomplete: no close slot
 *   spy         spy+spy: records in $DAL_TEST_SPY_FILE that it was loaded
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake-db.h"

/* The variant, chosen with -DFAKE_VARIANT_<NAME> (default: fakesync). */
#if defined FAKE_VARIANT_FAKEPG
#define FAKE_MODNAME fakepg
#define FAKE_DIALECT "postgres"
#define FAKE_DRIVER "fake"
/* PostgreSQL's dialect as the real plugins declare it (pgcommon's
 * table, linked in): its options, and the TLS policy's inputs. */
extern const DalDialect dal_pg_dialect;
#define FAKE_DIALECT_INFO &dal_pg_dialect
#elif defined FAKE_VARIANT_FAKEDB
/* A dialect of its own, declared (DalDialect): tests/test-dialect.c */
#define FAKE_MODNAME fakedb
#define FAKE_DIALECT "fakedb"
#define FAKE_DRIVER "fake"
#define FAKE_FLAGS DAL_PLUGIN_DIALECT_DEFAULT
#define FAKE_DIALECT_INFO &fakedb_dialect
#elif defined FAKE_VARIANT_OLDFUNCS
#define FAKE_MODNAME oldfuncs
#define FAKE_DIALECT "old"
#define FAKE_ABI_MINOR 0
/* Built before get_info existed, as far as the core may know. */
#define FAKE_FUNCS_SIZE offsetof (DalPluginFuncs, get_info)
#elif defined FAKE_VARIANT_BADABI
#define FAKE_MODNAME badabi
#define FAKE_DIALECT "bad"
#define FAKE_DRIVER "abi"
#define FAKE_ABI_MAJOR 99
#elif defined FAKE_VARIANT_NEWMINOR
#define FAKE_MODNAME newminor
#define FAKE_DIALECT "bad"
#define FAKE_DRIVER "newminor"
#define FAKE_ABI_MINOR (DAL_PLUGIN_ABI_MINOR + 1)
#elif defined FAKE_VARIANT_INCOMPLETE
#define FAKE_MODNAME incomplete
#define FAKE_DIALECT "bad"
#define FAKE_DRIVER "incomplete"
#define FAKE_NO_CLOSE 1
#elif defined FAKE_VARIANT_SPY
#define FAKE_MODNAME spy
#define FAKE_DIALECT "spy"
#define FAKE_DRIVER "spy"
#define FAKE_SPY 1
#else
#define FAKE_MODNAME fakesync
#define FAKE_DIALECT "test"
#define FAKE_FLAGS DAL_PLUGIN_DIALECT_DEFAULT
#endif

#ifndef FAKE_DRIVER
#define FAKE_DRIVER "sync"
#endif
#ifndef FAKE_FLAGS
#define FAKE_FLAGS 0
#endif
#ifndef FAKE_ABI_MAJOR
#define FAKE_ABI_MAJOR DAL_PLUGIN_ABI_MAJOR
#endif
#ifndef FAKE_ABI_MINOR
#define FAKE_ABI_MINOR DAL_PLUGIN_ABI_MINOR
#endif
#ifndef FAKE_FUNCS_SIZE
#define FAKE_FUNCS_SIZE sizeof (DalPluginFuncs)
#endif

#ifdef FAKE_SPY
/* Runs when the module is loaded: the registry test checks that resolving
 * another scheme never loads this module. */
__attribute__ ((constructor)) static void
spy_loaded (void)
{
  const char *file = getenv ("DAL_TEST_SPY_FILE");
  if (file == NULL)
    return;
  FILE *f = fopen (file, "a");
  if (f != NULL)
    {
      fputs ("loaded\n", f);
      fclose (f);
    }
}
#endif

static gpointer
fake_connect (DalUrl *url, GCancellable *cancellable, GError **error)
{
  guint delay = fake_connect_delay_ms (url);
  if (delay > 0 && !fake_sleep (delay, cancellable, error))
    return NULL;
  return fake_conn_open (url, error);
}

static DalResult *
fake_query (gpointer conn, const char *sql, const DalParams *params,
            GCancellable *cancellable, GError **error)
{
  guint sleep_ms = 0;
  DalResult *r = fake_conn_run (conn, sql, params, &sleep_ms, error);
  if (r != NULL && sleep_ms > 0 && !fake_sleep (sleep_ms, cancellable, error))
    g_clear_pointer (&r, dal_result_unref);
  fake_conn_end (conn);
  return r;
}

#ifndef FAKE_NO_CLOSE
static void
fake_close (gpointer conn)
{
  fake_conn_close (conn);
}
#endif

static char *
fake_get_info (gpointer conn, const char *key)
{
  return fake_conn_get_info (conn, key);
}

static gboolean
fake_is_lost (gpointer conn)
{
  return fake_conn_is_lost (conn);
}

static const DalPluginFuncs funcs = {
  .connect = fake_connect,
  .query = fake_query,
#ifndef FAKE_NO_CLOSE
  .close = fake_close,
#endif
  .get_info = fake_get_info,
  .is_lost = fake_is_lost,
};

static const char * const drivers[] = { FAKE_DRIVER, NULL };

#ifdef FAKE_VARIANT_FAKEDB
static const char * const fakedb_modes[] = { "ro", "rw", NULL };
static const char * const fakedb_tls_modes[] = {
  "disable", "allow", "prefer", "require", "verify-ca", "verify-full", NULL
};
static const char * const fakedb_aliases[] = { "fdb", NULL };
static const DalUrlOption fakedb_options[] = {
  { "user", DAL_URL_OPTION_STRING, 0, NULL, 0 },
  { "password", DAL_URL_OPTION_STRING, DAL_URL_OPTION_SECRET, NULL, 0 },
  { "server", DAL_URL_OPTION_STRING, 0, NULL, 0 },
  { "port", DAL_URL_OPTION_PORT, 0, NULL, 0 },
  { "file", DAL_URL_OPTION_STRING, 0, NULL, 0 },
  { "mode", DAL_URL_OPTION_ENUM, 0, fakedb_modes, 0 },
  { "token", DAL_URL_OPTION_STRING, DAL_URL_OPTION_SECRET, NULL, 0 },
  { "cache_pages", DAL_URL_OPTION_UINT, 0, NULL, 0 },
  { "wal", DAL_URL_OPTION_STRING, 0, NULL, 20000 },
  { "tls_mode", DAL_URL_OPTION_ENUM, 0, fakedb_tls_modes, 0 },
  { "tls_ca", DAL_URL_OPTION_STRING, 0, NULL, 0 },
  { "tls_cert", DAL_URL_OPTION_STRING, 0, NULL, 0 },
  { "tls_key", DAL_URL_OPTION_STRING, 0, NULL, 0 },
  { "tls_key_pass", DAL_URL_OPTION_STRING, DAL_URL_OPTION_SECRET, NULL, 0 },
  { "tls_crl", DAL_URL_OPTION_STRING, 0, NULL, 0 },
  { "tls_min", DAL_URL_OPTION_STRING, 0, NULL, 0 },
  { "tls_sni", DAL_URL_OPTION_BOOLEAN, 0, NULL, 0 },
};
/* TLS inputs under names of its own (tests/test-dialect.c: the policy's
 * messages name them); nothing asked: no TLS, so that the other tests
 * are left alone. */
static const char * const fakedb_more_tls[] = { "tls_sni", NULL };
static const DalDialectTls fakedb_tls = {
  .mode = { "tls_mode", "FAKEDB_TLS_MODE" },
  .root_cert = { "tls_ca", "FAKEDB_TLS_CA" },
  .cert = { "tls_cert", "FAKEDB_TLS_CERT" },
  .key = { "tls_key", "FAKEDB_TLS_KEY" },
  .key_password = { "tls_key_pass", NULL },
  .crl = { "tls_crl", NULL },
  .min_protocol = { "tls_min", NULL },
  .host = { "server", "FAKEDB_SERVER" },
  .default_mode = "disable",
  .more_options = fakedb_more_tls,
};
static const char * const fakedb_synonyms[] = { "tls", NULL };

/* tls=true / tls=false for tls_mode=require / disable. */
static const char *
fakedb_map_option (const char *name, const char *value,
                   const char **mapped_value, GError **error)
{
  if (strcmp (name, "tls") != 0)
    return NULL;
  if (value == NULL)
    return "tls_mode";
  *mapped_value = strcmp (value, "true") == 0 ? "require"
                  : strcmp (value, "false") == 0 ? "disable" : NULL;
  if (*mapped_value != NULL)
    return "tls_mode";
  g_set_error (error, DAL_ERROR, DAL_ERROR_URL_INVALID_VALUE,
               "tls takes true or false");
  return NULL;
}
static const DalDialect fakedb_dialect = {
  .name = "fakedb",
  .aliases = fakedb_aliases,
  .options = fakedb_options,
  .n_options = G_N_ELEMENTS (fakedb_options),
  .user_option = "user",
  .password_option = "password",
  .host_option = "server",
  .port_option = "port",
  .path_option = "file",
  .client_library = "libfakedb",
  .synonyms = fakedb_synonyms,
  .map_option = fakedb_map_option,
  .tls = &fakedb_tls,
};
#endif
#ifndef FAKE_DIALECT_INFO
#define FAKE_DIALECT_INFO NULL
#endif

#define FAKE_SYMBOL(m) DAL_PLUGIN_DESCRIPTOR_SYMBOL (m)
#define FAKE_STR2(m) #m
#define FAKE_STR(m) FAKE_STR2 (m)

DAL_PLUGIN_EXPORT const DalPluginDescriptor FAKE_SYMBOL (FAKE_MODNAME) = {
  .abi_major = FAKE_ABI_MAJOR,
  .abi_minor = FAKE_ABI_MINOR,
  .funcs_size = FAKE_FUNCS_SIZE,
  .flags = FAKE_FLAGS,
  .name = FAKE_STR (FAKE_MODNAME),
  .dialect = FAKE_DIALECT,
  .drivers = drivers,
  .caps = 0,
  .funcs = &funcs,
  .description = "Fake blocking plugin for the unit tests (" FAKE_STR (FAKE_MODNAME) ")",
  .dialect_info = FAKE_DIALECT_INFO,
};
