/* dal-config-private.h: what the two halves of DalConfig share:
 * dal-config.c reads the sources, dal-config-url.c makes the URLs. */
#ifndef DAL_CONFIG_PRIVATE_H
#define DAL_CONFIG_PRIVATE_H

#include "dal-private.h"

G_BEGIN_DECLS

/* The URL a configuration gives when nothing names one (docs/config.md). */
#define DAL_CONFIG_DEFAULT_URL "postgresql://"

/* One key of a key file, where it was read. */
typedef struct
{
  char *section;     /* "pool", "tls", "session", "drivers", "database" */
  char *key;         /* [drivers]: the canonical scheme mapped */
  char *value;       /* [drivers]: the canonical scheme it maps to */
  char *origin;      /* "/etc/dal/dal.conf line 3" */
  DalUrl *url;       /* [database] url and migration_url: parsed */
} DalConfigSetting;

struct _DalConfig
{
  GObject parent_instance;

  /* The URL sources, highest precedence first (NULL: not given). */
  DalUrl *cmdline_url;
  char *cmdline_origin;
  DalUrl *env_dal_url;           /* DAL_DATABASE_URL */
  DalUrl *env_url;               /* DATABASE_URL */
  DalUrl *env_migration_url;     /* DAL_MIGRATION_URL */

  /* Key file settings by "section\nkey" (DalConfigSetting, owned), and
   * the [pool], [tls] and [session] ones in the order read (a key
   * read again moves to the end). */
  GHashTable *settings;
  GPtrArray *merged;             /* DalConfigSetting, not owned */

  /* Where each URL comes from (dal_config_get_origin()), kept up to date
   * by every change so that reading never writes. */
  char *url_origin;
  char *migration_origin;
};

/* The setting [@section] @key, or NULL. */
DalConfigSetting *_dal_config_lookup (DalConfig *config, const char *section,
                                      const char *key);
/* Recomputes url_origin and migration_origin. */
void _dal_config_update_origins (DalConfig *config);

G_END_DECLS

#endif /* DAL_CONFIG_PRIVATE_H */
