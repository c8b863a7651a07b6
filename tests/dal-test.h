/* dal-test.h: helpers shared by the test programs. */
#ifndef DAL_TEST_H
#define DAL_TEST_H

#include <dal/dal.h>

G_BEGIN_DECLS

/* TRUE when the harness's servers are there.  Otherwise the current test
 * is skipped, or failed when DAL_TEST_REQUIRE_SERVER=1 (CI): a green run
 * then always means the live tests ran. */
gboolean dal_test_require_live (void);
#define DAL_TEST_LIVE_OR_RETURN() \
  G_STMT_START { if (!dal_test_require_live ()) return; } G_STMT_END

/* dal_test_require_live () and the harness's PgBouncer in transaction
 * mode (DAL_TEST_PGBOUNCER_PORT) is there; skipped or failed likewise. */
gboolean dal_test_require_pgbouncer (void);

/* A harness variable (DAL_TEST_PG_PORT, …); fails the test when unset. */
const char *dal_test_env (const char *name);

/* scheme://dal:<password>@127.0.0.1:<port>/dal?sslmode=verify-full&
 * sslrootcert=<CA>[&extra]: the harness's server, over verified TLS. */
char *dal_test_url (const char *scheme, const char *extra_query);

/* The same with every part chosen; NULL leaves a part out.  @password is
 * percent-encoded here. */
char *dal_test_url_full (const char *scheme, const char *user,
                         const char *password, const char *hostport,
                         const char *database, const char *query);

/* A connection as the superuser over the Unix socket (pgsync). */
DalConnection *dal_test_admin_connection (void);
/* The same to the cluster on @port (DAL_TEST_PG_RESTART_PORT). */
DalConnection *dal_test_admin_connection_port (const char *port);
/* Runs @sql as the superuser; returns the first column of the first row
 * (or NULL). */
char *dal_test_admin_query (const char *sql);

/* What every upper time bound in a test is multiplied by, so that a
 * loaded or slow machine does not fail a test that is right:
 * DAL_TEST_TIME_SCALE when set (at least 1), else 6 under valgrind
 * (DAL_TEST_VALGRIND=1, or detected), else 1.  Lower bounds ("it did
 * wait") are never scaled. */
double dal_test_time_scale (void);

/* TRUE when the program runs under valgrind (detected, or
 * DAL_TEST_VALGRIND=1). */
gboolean dal_test_under_valgrind (void);

/* @ms * dal_test_time_scale (): an upper bound in milliseconds. */
gint64 dal_test_scaled_ms (gint64 ms);

/* Iterates the thread-default main context until *@flag is TRUE or
 * @timeout_ms (scaled: dal_test_scaled_ms()) passes (then the test
 * fails). */
void dal_test_wait_for (const gboolean *flag, guint timeout_ms);

/* Iterates the thread-default main context for @ms (a real timer: for
 * where time passing is what is tested, or between polls). */
void dal_test_iterate_for (guint ms);

/* Runs @sql (no parameters); fails the test on an error. */
void dal_test_exec (DalConnection *conn, const char *sql);
/* The first value of @sql's first row (NULL for SQL NULL); fails the
 * test on an error or without a row. */
char *dal_test_scalar (DalConnection *conn, const char *sql);

/* A fresh table "<prefix>_<random hex>" with @columns (the text between
 * the parentheses of CREATE TABLE); its name. */
char *dal_test_make_table (DalConnection *conn, const char *prefix, const char *columns);
/* DROP TABLE @table. */
void dal_test_drop_table (DalConnection *conn, const char *table);

/* Percent-encodes @s for a URL part. */
char *dal_test_encode (const char *s);

/* How many backends of the harness's server have this application_name
 * now (pg_stat_activity, asked as the superuser). */
guint dal_test_count_backends (const char *application_name);
/* The same on the cluster on @port. */
guint dal_test_count_backends_port (const char *port, const char *application_name);

/* Restarts the harness's second cluster, the one for restarts
 * (DAL_TEST_PG_RESTART_PORT; pg_ctl restart -m fast, as the user the
 * server runs as), and returns once it accepts connections again.  Every
 * session on that cluster ends; the main cluster, which the other test
 * programs use meanwhile, is not touched. */
void dal_test_server_restart (void);

G_END_DECLS

#endif /* DAL_TEST_H */
