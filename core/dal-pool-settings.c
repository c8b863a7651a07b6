/* dal-pool-settings.c: a pool's settings, from a URL's pool options, and
 * checked; the URL without them, which the pool's connections are opened
 * with (dal_connection_open() refuses pool options: it opens no pool).
 */
#include "config.h"

#include <string.h>

#include "dal-pool-private.h"

typedef enum
{
  SETTING_UINT,     /* guint */
  SETTING_UINT64,   /* guint64, from a whole-number option */
  SETTING_DURATION, /* gint64 milliseconds, from seconds */
} SettingKind;

typedef struct
{
  const char *name;     /* the URL option: pool_* */
  const char *synonym;  /* asyncpg's spelling, or NULL */
  gsize offset;         /* in DalPoolSettings */
  SettingKind kind;
} PoolOption;

enum
{
  OPT_MIN_SIZE,
  OPT_MAX_SIZE,
  OPT_DEPTH,
  OPT_ACQUIRE_TIMEOUT,
  OPT_MAX_IDLE,
  OPT_MAX_LIFETIME,
  OPT_MAX_QUERIES,
  OPT_CHECK_IDLE,
  OPT_LEAK_WARNING,
  N_OPTIONS
};

#define FIELD(f) G_STRUCT_OFFSET (DalPoolSettings, f)

/* In the order of the enum above. */
static const PoolOption pool_options[N_OPTIONS] = {
  { "pool_min_size", "min_size", FIELD (min_size), SETTING_UINT },
  { "pool_max_size", "max_size", FIELD (max_size), SETTING_UINT },
  { "pool_depth", NULL, FIELD (depth), SETTING_UINT },
  { "pool_acquire_timeout", NULL, FIELD (acquire_timeout_ms), SETTING_DURATION },
  { "pool_max_idle", "max_inactive_connection_lifetime", FIELD (max_idle_ms),
    SETTING_DURATION },
  { "pool_max_lifetime", NULL, FIELD (max_lifetime_ms), SETTING_DURATION },
  { "pool_max_queries", "max_queries", FIELD (max_queries), SETTING_UINT64 },
  { "pool_check_idle", NULL, FIELD (check_idle_ms), SETTING_DURATION },
  { "pool_leak_warning", NULL, FIELD (leak_warning_ms), SETTING_DURATION },
};

#define SETTING(s, o, type) (*(type *) ((guint8 *) (s) + pool_options[o].offset))

void
dal_pool_settings_init (DalPoolSettings *settings)
{
  g_return_if_fail (settings != NULL);

  memset (settings, 0, sizeof *settings);
  settings->min_size = 1;
  settings->max_size = 10;
  settings->depth = 8;
  settings->acquire_timeout_ms = 30 * 1000;
  settings->max_idle_ms = 300 * 1000;
  settings->max_lifetime_ms = 3600 * 1000;
  settings->max_queries = 50000;
  settings->check_idle_ms = 1000;
  settings->leak_warning_ms = 0;
}

/* @ms as a number of seconds, the way the URL writes it: "-0.25". */
static char *
seconds_text (gint64 ms)
{
  const char *sign = ms < 0 ? "-" : "";
  guint64 abs_ms = ms < 0 ? (guint64) (-(ms + 1)) + 1 : (guint64) ms;
  guint64 whole = abs_ms / 1000;
  guint frac = (guint) (abs_ms % 1000);

  if (frac == 0)
    return g_strdup_printf ("%s%" G_GUINT64_FORMAT, sign, whole);
  char digits[4];
  g_snprintf (digits, sizeof digits, "%03u", frac);
  for (int i = 2; i > 0 && digits[i] == '0'; i--)
    digits[i] = '\0';
  return g_strdup_printf ("%s%" G_GUINT64_FORMAT ".%s", sign, whole, digits);
}

/* The check, naming each option as @spelling says (the URL's spelling
 * when the settings came from a URL). */
static gboolean
check_named (const DalPoolSettings *s, const char * const *spelling,
             GError **error)
{
  const char *min_name = spelling[OPT_MIN_SIZE];
  const char *max_name = spelling[OPT_MAX_SIZE];
  const char *depth_name = spelling[OPT_DEPTH];

  if (s->max_size == 0)
    {
      g_autofree char *hint = g_strdup_printf ("Set %s to 1 or more, or leave it "
                                               "out for the default (10)",
                                               max_name);
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE, hint,
                                             "%s=0 leaves the pool no connection "
                                             "to open", max_name));
      return FALSE;
    }
  if (s->min_size > s->max_size)
    {
      g_autofree char *hint = g_strdup_printf ("Lower %s or raise %s: the pool "
                                               "keeps %s connections open and "
                                               "never opens more than %s",
                                               min_name, max_name, min_name,
                                               max_name);
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE, hint,
                                             "%s=%u is above %s=%u", min_name,
                                             s->min_size, max_name, s->max_size));
      return FALSE;
    }
  if (s->depth == 0)
    {
      g_autofree char *hint = g_strdup_printf ("Set %s to 1 or more (1: one "
                                               "statement at a time per "
                                               "connection), or leave it out "
                                               "for the default (8)", depth_name);
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE, hint,
                                             "%s=0 would let no statement run",
                                             depth_name));
      return FALSE;
    }
  for (guint o = 0; o < N_OPTIONS; o++)
    {
      if (pool_options[o].kind != SETTING_DURATION)
        continue;
      gint64 ms = SETTING (s, o, const gint64);
      if (ms > POOL_DURATION_MAX_MS)
        {
          g_autofree char *shown = seconds_text (ms);
          g_autofree char *hint = g_strdup_printf ("Set %s to at most %" G_GINT64_FORMAT
                                                   " seconds (100 years)%s",
                                                   spelling[o], POOL_DURATION_MAX_MS / 1000,
                                                   o == OPT_CHECK_IDLE ? "" : ", or to 0 for never");
          g_propagate_error (error,
                             dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE, hint,
                                                 "%s=%s is longer than the pool can "
                                                 "count", spelling[o], shown));
          return FALSE;
        }
      if (ms >= 0)
        continue;
      g_autofree char *shown = seconds_text (ms);
      g_autofree char *hint = g_strdup_printf ("Set %s to 0 or a positive "
                                               "number of seconds",
                                               spelling[o]);
      g_propagate_error (error,
                         dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE, hint,
                                             "%s=%s is negative", spelling[o],
                                             shown));
      return FALSE;
    }
  return TRUE;
}

gboolean
dal_pool_settings_check (const DalPoolSettings *settings, GError **error)
{
  g_return_val_if_fail (settings != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  const char *names[N_OPTIONS];
  for (guint o = 0; o < N_OPTIONS; o++)
    names[o] = pool_options[o].name;
  return check_named (settings, names, error);
}

gboolean
dal_pool_settings_from_url (DalPoolSettings *settings, const DalUrl *url,
                            GError **error)
{
  g_return_val_if_fail (settings != NULL, FALSE);
  g_return_val_if_fail (url != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  DalPoolSettings s = *settings;
  const char *spelling[N_OPTIONS];

  for (guint o = 0; o < N_OPTIONS; o++)
    {
      const PoolOption *opt = &pool_options[o];
      gboolean has_name = dal_url_get_option (url, opt->name) != NULL;
      gboolean has_synonym = opt->synonym != NULL
                             && dal_url_get_option (url, opt->synonym) != NULL;

      if (has_name && has_synonym)
        {
          g_autofree char *hint = g_strdup_printf ("Keep one of them: %s is "
                                                   "asyncpg's name for %s",
                                                   opt->synonym, opt->name);
          g_propagate_error (error,
                             dal_error_new_hint (DAL_ERROR_URL_INVALID_VALUE, hint,
                                                 "the URL sets both %s and %s",
                                                 opt->name, opt->synonym));
          return FALSE;
        }
      spelling[o] = has_synonym ? opt->synonym : opt->name;
      if (!has_name && !has_synonym)
        continue;

      /* The values were checked when the URL was parsed. */
      switch (opt->kind)
        {
        case SETTING_UINT:
          SETTING (&s, o, guint) = dal_url_get_uint (url, spelling[o], 0);
          break;
        case SETTING_UINT64:
          SETTING (&s, o, guint64) = dal_url_get_uint (url, spelling[o], 0);
          break;
        case SETTING_DURATION:
          SETTING (&s, o, gint64) = dal_url_get_duration_ms (url, spelling[o], 0);
          break;
        default:
          g_assert_not_reached ();
        }
    }

  if (!check_named (&s, spelling, error))
    return FALSE;
  *settings = s;
  return TRUE;
}

/**
 * _dal_url_has_pool_options:
 * @url: a DalUrl
 * @first: (out) (optional): the first pool option @url sets, in the order
 *   of docs/url.md
 *
 * Returns: whether @url sets any pool option (pool_* or a synonym).
 */
gboolean
_dal_url_has_pool_options (const DalUrl *url, const char **first)
{
  g_return_val_if_fail (url != NULL, FALSE);

  for (guint o = 0; o < N_OPTIONS; o++)
    {
      const char *names[] = { pool_options[o].name, pool_options[o].synonym };
      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        if (names[i] != NULL && dal_url_get_option (url, names[i]) != NULL)
          {
            if (first != NULL)
              *first = names[i];
            return TRUE;
          }
    }
  return FALSE;
}

/**
 * _dal_url_without_pool_options:
 * @url: a DalUrl
 *
 * Returns: (transfer full): @url minus every pool option (@url itself,
 *   with a new reference, when it has none).
 */
DalUrl *
_dal_url_without_pool_options (DalUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);

  if (!_dal_url_has_pool_options (url, NULL))
    return dal_url_ref (url);

  const char *names[2 * N_OPTIONS + 1];
  guint n = 0;
  for (guint o = 0; o < N_OPTIONS; o++)
    {
      names[n++] = pool_options[o].name;
      if (pool_options[o].synonym != NULL)
        names[n++] = pool_options[o].synonym;
    }
  names[n] = NULL;
  return _dal_url_copy_without (url, names);
}
