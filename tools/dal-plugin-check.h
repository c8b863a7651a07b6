/* dal-plugin-check.h: what the files of the conformance suite share
 * (tools/dal-plugin-check.c: the harness, the behaviour checks and main;
 * dal-plugin-check-declared.c: the descriptor and dialect checks).
 */
#ifndef DAL_PLUGIN_CHECK_H
#define DAL_PLUGIN_CHECK_H

#include <dal/dal-plugin.h>

#define CANCEL_LATENCY_MS 2000  /* a refused or cancelled call must end within this */

/* -- TAP: one check at a time -- */

void begin (const char *name);
void diag (const char *format, ...) G_GNUC_PRINTF (1, 2);
/* Records a failure of the current check, saying why. */
void fail (const char *format, ...) G_GNUC_PRINTF (1, 2);
/* Ends the current check: "ok" or "not ok"; TRUE if it passed. */
gboolean end (void);
void skip (const char *name, const char *why);
extern gboolean current_failed;

#define CHECK(cond, ...) \
  ((cond) ? TRUE : (fail (__VA_ARGS__), FALSE))

/* -- time: upper bounds scaled by DAL_TEST_TIME_SCALE -- */

gint64 scaled_ms (gint64 ms);
gint64 now_ms (void);

/* -- the plugin under test -- */

extern DalUrl *url;              /* the URL under test */
extern const char *url_text;     /* as given (never printed) */
extern char *fail_url;           /* NULL: none known */
extern char *plugin_name;

const char *code_name (const GError *error);
/* "blocking" or "async" */
const char *mode (gboolean async);
DalConnection *do_open (gboolean async, const char *text,
                        GCancellable *cancellable, GError **error);

/* -- dal-plugin-check-declared.c -- */

/* The descriptor and ABI check; FALSE when the plugin cannot be used. */
gboolean test_descriptor (void);
void test_dialect (void);

#endif /* DAL_PLUGIN_CHECK_H */
