/* test-url.c: DalUrl, its option tables, and its agreement with libpq's
 * own URI parser (PQconninfoParse) on every form libpq documents. */
#include "config.h"

#include <string.h>

#include <libpq-fe.h>

#include "dal-private.h"

/* In dal-url-options.c, not (yet) in dal-private.h. */

/* The secret used throughout: it must never show up in a message. */
#define SECRET "S3cr3tPw"

static const char * const schemes[] = {
  "postgresql", "postgres", "postgresql+asyncpg", "PostgreSQL+AsyncPG",
  "POSTGRES+psycopg2", "postgresql+pg8000", NULL
};

/* The part after "://" of every URI form libpq's documentation shows, and
 * of the corner cases of its parser. */
static const char * const accepted_bodies[] = {
  "",
  "localhost",
  "localhost:5433",
  "localhost/mydb",
  "user@localhost",
  "user:secret@localhost",
  "other@localhost/otherdb?connect_timeout=10&application_name=myapp",
  "host1:123,host2:456/somedb?target_session_attrs=any&application_name=myapp",
  "[2001:db8::1234]/database",
  "[::1]:5433,[::1]:5434/db",
  "/dbname?host=/var/lib/postgresql",
  "%2Fvar%2Flib%2Fpostgresql/dbname",
  "app:p%40ss%3Aw%2Fo%3Frd%23%25%26x@db.example.com:5432/app",
  "app:p%40ss%3Aw%2Fo%3Frd%23%25%26x@db.example.com/app?application_name=a%26b",
  ":5432/",
  "@host/",
  "host/?",
  "host?",
  "host/db?",
  "host/db?a%70plication_name=x&",
  ":@host/",
  "@/",
  "/",
  "us:er:pw@host",
  "u:p?w@host/db",
  "host?user=a@b",
  "h1:5432,h2",
  "h1,h2:5433/db",
  "h1,h2,h3",
  ",",
  "[a,b]:1/x",
  "[fe80::1%25eth0]:5432/db",
  "h%2Cx/d",
  "h/d#frag",
  "h/caf%C3%A9?application_name=%E2%9C%93",
  "h/db?ssl=true",
  "h/db?requiressl=1",
  "h/db?requiressl=0",
  "h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
  "h/db?host=&dbname=&user=&password=&port=",
  "u:pw@h:1/db?user=v&host=x&port=2&dbname=e&password=p",
  "h/db?connect_timeout=10&connect_timeout=20",
  "h/db?ssl=true&sslmode=disable",
  "h/db?sslmode=disable&ssl=true",
  "/db?hostaddr=127.0.0.1,127.0.0.2&port=5432,5433",
  "h/db?keepalives=1&keepalives_idle=30&keepalives_interval=5&keepalives_count=3"
  "&tcp_user_timeout=1000&sslcompression=0&sslsni=1",
  "h/db?channel_binding=require&gssencmode=disable&ssl_min_protocol_version=TLSv1.2"
  "&ssl_max_protocol_version=TLSv1.3&target_session_attrs=prefer-standby",
  "h/db?service=s&passfile=%2Fp&client_encoding=UTF8&options=-c%20x%3Dy"
  "&fallback_application_name=f&sslcert=c&sslkey=k&sslpassword=sp&sslcrl=l"
  "&sslcrldir=d&requirepeer=postgres&krbsrvname=k&gsslib=gssapi&replication=database",
  "h/db?application_name=a+b",
  "?host=h1,h2&port=5432",
  "?port=5432,5433&host=a,b",
  NULL
};

static DalUrl *
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  DalUrl *url = dal_url_parse (text, &error);
  if (error != NULL)
    g_error ("parsing %s: %s", text, error->message);
  g_assert_nonnull (url);
  return url;
}

static GError *
parse_fails (const char *text, DalErrorCode code)
{
  GError *error = NULL;
  DalUrl *url = dal_url_parse (text, &error);
  if (url != NULL)
    {
      g_autofree char *s = dal_url_to_string (url);
      g_error ("%s parsed (as %s) but should fail", text, s);
    }
  g_assert_error (error, DAL_ERROR, (gint) code);
  g_assert_nonnull (dal_error_get_hint (error));
  g_assert_true (g_str_has_suffix (error->message, dal_error_get_hint (error)));
  /* never the whole URL */
  if (strlen (text) > 12)
    g_assert_null (strstr (error->message, text));
  return error;
}

static void
assert_message_has (const GError *error, const char *needle)
{
  if (strstr (error->message, needle) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, needle);
}

static void
assert_message_lacks (const GError *error, const char *needle)
{
  if (strstr (error->message, needle) != NULL)
    g_error ("message \"%s\" contains \"%s\"", error->message, needle);
}

/* The URL libpq takes for @text: no "+driver", scheme in lower case. */
static char *
libpq_form (const char *text)
{
  const char *sep = strstr (text, "://");
  g_assert_nonnull (sep);
  g_autofree char *scheme = g_ascii_strdown (text, sep - text);
  char *plus = strchr (scheme, '+');
  if (plus != NULL)
    *plus = '\0';
  return g_strconcat (scheme, sep, NULL);
}

static const char *
option_val (const PQconninfoOption *options, const char *keyword)
{
  for (const PQconninfoOption *o = options; o->keyword != NULL; o++)
    if (strcmp (o->keyword, keyword) == 0)
      return o->val;
  return NULL;
}

/* The keywords of @url must be libpq's for the same URL, in libpq's order. */
static void
assert_agrees_with_libpq (const DalUrl *url, const char *text)
{
  g_autofree char *pq_text = libpq_form (text);
  char *pq_error = NULL;
  PQconninfoOption *options = PQconninfoParse (pq_text, &pq_error);
  if (options == NULL)
    g_error ("libpq refuses %s: %s", pq_text, pq_error);

  const char * const *keywords, * const *values;
  guint n = dal_url_get_keywords (url, &keywords, &values);
  guint j = 0;

  g_assert_null (keywords[n]);
  g_assert_null (values[n]);
  for (const PQconninfoOption *o = options; o->keyword != NULL; o++)
    {
      if (o->val == NULL)
        continue;
      if (j >= n)
        g_error ("%s: libpq has %s=%s, libdal has no more keywords", text,
                 o->keyword, o->val);
      if (strcmp (keywords[j], o->keyword) != 0
          || strcmp (values[j], o->val) != 0)
        g_error ("%s: keyword %u is %s=%s, libpq's is %s=%s", text, j,
                 keywords[j], values[j], o->keyword, o->val);
      j++;
    }
  if (j != n)
    g_error ("%s: libdal has %s=%s, libpq does not", text, keywords[j], values[j]);

  /* the effective URL parts are libpq's values */
  g_assert_cmpstr (dal_url_get_user (url), ==, option_val (options, "user"));
  g_assert_cmpstr (dal_url_get_password (url), ==, option_val (options, "password"));
  g_assert_cmpstr (dal_url_get_database (url), ==, option_val (options, "dbname"));
  g_assert_cmpstr (dal_url_get_option (url, "host"), ==, option_val (options, "host"));
  g_assert_cmpstr (dal_url_get_option (url, "port"), ==, option_val (options, "port"));
  PQconninfoFree (options);
}

static void
assert_same_url (const DalUrl *a, const DalUrl *b)
{
  const char * const *ka, * const *va, * const *kb, * const *vb;
  guint na = dal_url_get_keywords (a, &ka, &va);
  guint nb = dal_url_get_keywords (b, &kb, &vb);
  guint n_libdal;
  const DalOptionInfo *libdal;

  g_assert_cmpstr (dal_url_get_scheme (a), ==, dal_url_get_scheme (b));
  g_assert_cmpuint (na, ==, nb);
  for (guint i = 0; i < na; i++)
    {
      g_assert_cmpstr (ka[i], ==, kb[i]);
      g_assert_cmpstr (va[i], ==, vb[i]);
    }
  libdal = _dal_libdal_options_get (&n_libdal);
  for (guint i = 0; i < n_libdal; i++)
    g_assert_cmpstr (dal_url_get_option (a, libdal[i].name), ==,
                     dal_url_get_option (b, libdal[i].name));
  g_assert_cmpuint (dal_url_get_n_hosts (a), ==, dal_url_get_n_hosts (b));
  for (guint i = 0; i < dal_url_get_n_hosts (a); i++)
    {
      g_assert_cmpstr (dal_url_get_host (a, i), ==, dal_url_get_host (b, i));
      g_assert_cmpstr (dal_url_get_port (a, i), ==, dal_url_get_port (b, i));
    }
}

/* to_string must parse back to the same URL, and be a fixed point. */
static void
assert_round_trip (const DalUrl *url)
{
  g_autofree char *text = dal_url_to_string (url);
  g_autoptr (DalUrl) again = parse_ok (text);
  g_autofree char *text2 = dal_url_to_string (again);

  assert_same_url (url, again);
  g_assert_cmpstr (text, ==, text2);
}

/* -- every documented form, with every scheme spelling -- */

static void
test_forms_agree_with_libpq (void)
{
  for (guint i = 0; accepted_bodies[i] != NULL; i++)
    for (guint s = 0; schemes[s] != NULL; s++)
      {
        g_autofree char *text = g_strconcat (schemes[s], "://",
                                             accepted_bodies[i], NULL);
        g_autoptr (DalUrl) url = parse_ok (text);
        assert_agrees_with_libpq (url, text);
        assert_round_trip (url);
      }
}

static void
test_scheme (void)
{
  static const struct
  {
    const char *text, *scheme, *dialect, *driver;
  } cases[] = {
    { "postgresql://", "postgresql", "postgresql", NULL },
    { "postgres://", "postgresql", "postgresql", NULL },
    { "POSTGRES://", "postgresql", "postgresql", NULL },
    { "PostgreSQL+AsyncPG://h", "postgresql+asyncpg", "postgresql", "asyncpg" },
    { "postgres+psycopg2://h", "postgresql+psycopg2", "postgresql", "psycopg2" },
    { "postgresql+my_driver-2.0://h", "postgresql+my_driver-2.0", "postgresql",
      "my_driver-2.0" },
    { "MySQL+PyMySQL://h", "mysql+pymysql", "mysql", "pymysql" },
    { "sqlite:///tmp/x.db", "sqlite", "sqlite", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (DalUrl) url = parse_ok (cases[i].text);
      g_assert_cmpstr (dal_url_get_scheme (url), ==, cases[i].scheme);
      g_assert_cmpstr (dal_url_get_dialect (url), ==, cases[i].dialect);
      g_assert_cmpstr (dal_url_get_driver (url), ==, cases[i].driver);
    }
}

/* Typical URLs, field by field. */
static void
test_parts (void)
{
  g_autoptr (DalUrl) a = NULL;
  g_autoptr (DalUrl) b = NULL;
  g_autoptr (DalUrl) c = NULL;
  g_autoptr (DalUrl) d = NULL;
  g_autoptr (DalUrl) e = NULL;

  a = parse_ok ("postgresql+asyncpg://app:s%40cret@db1:5432,db2:5433/app?sslmode=verify-full");
  g_assert_cmpstr (dal_url_get_user (a), ==, "app");
  g_assert_cmpstr (dal_url_get_password (a), ==, "s@cret");
  g_assert_cmpstr (dal_url_get_database (a), ==, "app");
  g_assert_cmpstr (dal_url_get_option (a, "sslmode"), ==, "verify-full");
  g_assert_cmpuint (dal_url_get_n_hosts (a), ==, 2);
  g_assert_cmpstr (dal_url_get_host (a, 0), ==, "db1");
  g_assert_cmpstr (dal_url_get_port (a, 0), ==, "5432");
  g_assert_cmpstr (dal_url_get_host (a, 1), ==, "db2");
  g_assert_cmpstr (dal_url_get_port (a, 1), ==, "5433");

  b = parse_ok ("postgresql://[::1]:5433,[2001:db8::1234]/db");
  g_assert_cmpuint (dal_url_get_n_hosts (b), ==, 2);
  g_assert_cmpstr (dal_url_get_host (b, 0), ==, "::1");
  g_assert_cmpstr (dal_url_get_port (b, 0), ==, "5433");
  g_assert_cmpstr (dal_url_get_host (b, 1), ==, "2001:db8::1234");
  g_assert_null (dal_url_get_port (b, 1));
  g_assert_cmpstr (dal_url_get_option (b, "port"), ==, "5433,");

  c = parse_ok ("postgresql://%2Fvar%2Flib%2Fpostgresql/dbname");
  g_assert_cmpuint (dal_url_get_n_hosts (c), ==, 1);
  g_assert_cmpstr (dal_url_get_host (c, 0), ==, "/var/lib/postgresql");
  g_assert_null (dal_url_get_port (c, 0));
  g_assert_null (dal_url_get_user (c));
  g_assert_null (dal_url_get_password (c));

  /* nothing at all: the client library's defaults */
  d = parse_ok ("postgresql://");
  g_assert_cmpuint (dal_url_get_n_hosts (d), ==, 0);
  g_assert_null (dal_url_get_database (d));
  g_assert_cmpuint (dal_url_get_keywords (d, NULL, NULL), ==, 0);

  /* a port alone: one entry, the default host */
  e = parse_ok ("postgresql://:5433/");
  g_assert_cmpuint (dal_url_get_n_hosts (e), ==, 1);
  g_assert_cmpstr (dal_url_get_host (e, 0), ==, "");
  g_assert_cmpstr (dal_url_get_port (e, 0), ==, "5433");
}

static void
test_hosts_and_ports (void)
{
  static const struct
  {
    const char *text;
    guint n;
    const char *hosts[4];
    const char *ports[4];
  } cases[] = {
    { "postgresql://h1:5432,h2", 2, { "h1", "h2" }, { "5432", NULL } },
    { "postgresql://h1,h2:5433", 2, { "h1", "h2" }, { NULL, "5433" } },
    { "postgresql://h1,h2,h3", 3, { "h1", "h2", "h3" }, { NULL, NULL, NULL } },
    { "postgresql://,", 2, { "", "" }, { NULL, NULL } },
    { "postgresql:///db?host=h1,h2&port=5432", 2, { "h1", "h2" }, { "5432", "5432" } },
    { "postgresql://x:1/db?host=a,b,c&port=7", 3, { "a", "b", "c" }, { "7", "7", "7" } },
    { "postgresql:///db?host=/var/lib/postgresql", 1, { "/var/lib/postgresql" }, { NULL } },
    { "postgresql://h/db?host=", 0, { NULL }, { NULL } },
    { "postgresql://h/db?hostaddr=127.0.0.1,127.0.0.2&port=5432,5433", 2,
      { "h", "" }, { "5432", "5433" } },
    { "postgresql:///db?hostaddr=127.0.0.1", 1, { "" }, { NULL } },
    { "postgresql://[::1]:5433,[::1]:5434/db", 2, { "::1", "::1" }, { "5433", "5434" } },
    { "postgresql://h%2Cx/d", 2, { "h", "x" }, { NULL, NULL } },
    { "mysql://h1:3306,h2:3307/db", 2, { "h1", "h2" }, { "3306", "3307" } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      if (strstr (cases[i].text, "hostaddr=127.0.0.1,127.0.0.2") != NULL)
        {
          /* host "h" and two hostaddrs: libpq refuses that at connect
           * time, so does libdal, here */
          g_autoptr (GError) error = parse_fails (cases[i].text,
                                                  DAL_ERROR_URL_INVALID_VALUE);
          g_assert_nonnull (strstr (error->message, "hostaddr"));
          continue;
        }
      g_autoptr (DalUrl) url = parse_ok (cases[i].text);
      g_assert_cmpuint (dal_url_get_n_hosts (url), ==, cases[i].n);
      for (guint j = 0; j < cases[i].n; j++)
        {
          g_assert_cmpstr (dal_url_get_host (url, j), ==, cases[i].hosts[j]);
          g_assert_cmpstr (dal_url_get_port (url, j), ==, cases[i].ports[j]);
        }
    }
}

/* SQLAlchemy's host= forms (its postgresql dialect's
 * _split_multihost_from_url), and libpq's, which keep their meaning. */
static void
test_sqlalchemy_hosts (void)
{
  static const struct
  {
    const char *text;
    const char *host;           /* the "host" keyword */
    const char *port;           /* the "port" keyword */
    guint n;
    const char *hosts[3];
    const char *ports[3];
  } cases[] = {
    /* several host= options: the host list, each with its port */
    { "postgresql+asyncpg://u:" SECRET "@/db?host=h1:5432&host=h2:5433",
      "h1,h2", "5432,5433", 2, { "h1", "h2" }, { "5432", "5433" } },
    { "postgresql+psycopg2://u@/db?host=h1:5432&host=h2&host=h3:7",
      "h1,h2,h3", "5432,,7", 3, { "h1", "h2", "h3" }, { "5432", NULL, "7" } },
    { "postgresql://u@/db?host=h1&host=h2", "h1,h2", NULL, 2, { "h1", "h2" },
      { NULL, NULL } },
    /* their ports replace the authority's; their hosts its hosts */
    { "postgresql://a:1/db?host=h1:2&host=h2:3", "h1,h2", "2,3", 2,
      { "h1", "h2" }, { "2", "3" } },
    { "postgresql://a:1/db?host=h1&host=h2", "h1,h2", NULL, 2,
      { "h1", "h2" }, { NULL, NULL } },
    /* IPv6 in brackets, or bare without a port; socket directories */
    { "postgresql:///db?host=[::1]:5433&host=::1", "::1,::1", "5433,", 2,
      { "::1", "::1" }, { "5433", NULL } },
    { "postgresql:///db?host=/tmp:5433&host=/run/pg", "/tmp,/run/pg", "5433,", 2,
      { "/tmp", "/run/pg" }, { "5433", NULL } },
    /* one host= with name:port and no port= option */
    { "postgresql+asyncpg://u@/db?host=db1:6432", "db1", "6432", 1,
      { "db1" }, { "6432" } },
    { "postgresql://u@h:1/db?host=db1:6432", "db1", "6432", 1, { "db1" }, { "6432" } },
    { "postgresql://u@h:1/db?host=db1:", "db1", "1", 1, { "db1" }, { "1" } },
    { "postgresql://u@/db?host=:6432", "", "6432", 1, { "" }, { "6432" } },
    { "postgresql://u@/db?host=%5B2001:db8::1%5D:6432", "2001:db8::1", "6432", 1,
      { "2001:db8::1" }, { "6432" } },
    /* libpq's forms, as before */
    { "postgresql:///db?host=h1,h2&port=1,2", "h1,h2", "1,2", 2, { "h1", "h2" },
      { "1", "2" } },
    { "postgresql:///db?host=h1,h2", "h1,h2", NULL, 2, { "h1", "h2" }, { NULL, NULL } },
    { "postgresql:///db?host=/var/run/postgresql", "/var/run/postgresql", NULL, 1,
      { "/var/run/postgresql" }, { NULL } },
    { "postgresql:///db?host=/var/run/a:b", "/var/run/a:b", NULL, 1,
      { "/var/run/a:b" }, { NULL } },
    { "postgresql:///db?host=::1&port=5433", "::1", "5433", 1, { "::1" }, { "5433" } },
    { "postgresql:///db?host=2001:db8::1", "2001:db8::1", NULL, 1,
      { "2001:db8::1" }, { NULL } },
    { "postgresql:///db?host=h&port=5433", "h", "5433", 1, { "h" }, { "5433" } },
    /* other dialects: the last host= counts, nothing is split */
    { "mysql:///db?host=h1:1&host=h2:2", "h2:2", NULL, 1, { "h2:2" }, { NULL } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (DalUrl) url = parse_ok (cases[i].text);
      g_assert_cmpstr (dal_url_get_option (url, "host"), ==, cases[i].host);
      g_assert_cmpstr (dal_url_get_option (url, "port"), ==, cases[i].port);
      g_assert_cmpuint (dal_url_get_n_hosts (url), ==, cases[i].n);
      for (guint j = 0; j < cases[i].n; j++)
        {
          g_assert_cmpstr (dal_url_get_host (url, j), ==, cases[i].hosts[j]);
          g_assert_cmpstr (dal_url_get_port (url, j), ==, cases[i].ports[j]);
        }

      /* the keywords handed to libpq say the same */
      const char * const *kw, * const *val;
      guint n = dal_url_get_keywords (url, &kw, &val);
      const char *kw_host = NULL, *kw_port = NULL;
      for (guint j = 0; j < n; j++)
        {
          if (strcmp (kw[j], "host") == 0)
            kw_host = val[j];
          else if (strcmp (kw[j], "port") == 0)
            kw_port = val[j];
        }
      g_assert_cmpstr (kw_host, ==, cases[i].host);
      g_assert_cmpstr (kw_port, ==, cases[i].port);
      assert_round_trip (url);
    }

  static const struct
  {
    const char *text;
    const char *needles[2];
  } refused[] = {
    /* SQLAlchemy: "Can't mix 'multihost' formats together" */
    { "postgresql+asyncpg://u@/db?host=h1:5432&host=h2:5433&port=5432",
      { "2 host= options and a port= option", "host=h1:5432&host=h2:5433" } },
    { "postgresql://u@/db?port=5432&host=h1&host=h2",
      { "and a port= option", "host=h1,h2&port=5432,5433" } },
    /* libdal: a port in libpq's forms would be a host name nobody knows */
    { "postgresql://u@/db?host=h1:5432&port=5433",
      { "host=h1:5432 gives a port and the URL also has a port= option", NULL } },
    { "postgresql://u@/db?host=h1:5432,h2:5433",
      { "host=h1:5432,h2:5433: a comma-separated host list cannot give ports", NULL } },
    { "postgresql://u@/db?host=h1,h2&host=h3",
      { "host=h1,h2: a comma-separated list in one of several", NULL } },
    /* SQLAlchemy: "Received non-integer port arguments" */
    { "postgresql://u@/db?host=h1:abc&host=h2:5433",
      { "host=h1:abc: the port \"abc\" is not a number", "db1:5432" } },
    { "postgresql://u@/db?host=h1:54x", { "the port \"54x\" is not a number", NULL } },
    { "postgresql://u@/db?host=[::1&host=h2", { "is not [address] or [address]:port", NULL } },
    { "postgresql://u@/db?host=[::1]x", { "is not [address] or [address]:port", NULL } },
    /* SQLAlchemy: "number of hosts and ports don't match" */
    { "postgresql://u@/db?host=h1,h2&port=1,2,3", { "3 ports for 2 hosts", NULL } },
    { "postgresql://u@/db?port=1,2", { "2 ports for 1 host", NULL } },
    /* a port out of range, either form */
    { "postgresql://u@/db?host=h1:70000&host=h2", { "port", NULL } },
    { "postgresql://u@/db?host=h1:0", { "port", NULL } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (GError) error = parse_fails (refused[i].text,
                                              DAL_ERROR_URL_INVALID_VALUE);
      for (guint j = 0; j < G_N_ELEMENTS (refused[i].needles); j++)
        if (refused[i].needles[j] != NULL)
          assert_message_has (error, refused[i].needles[j]);
    }

  /* the password never shows, whatever the host options say */
  g_autoptr (GError) error =
    parse_fails ("postgresql://u:" SECRET "@/db?host=h1:x&host=h2&password=" SECRET,
                 DAL_ERROR_URL_INVALID_VALUE);
  assert_message_lacks (error, SECRET);

  /* every other option: the last one counts, also next to several hosts */
  g_autoptr (DalUrl) url =
    parse_ok ("postgresql://u@/db?host=h1&application_name=a&host=h2"
              "&application_name=b");
  g_assert_cmpstr (dal_url_get_option (url, "application_name"), ==, "b");
  g_assert_cmpstr (dal_url_get_option (url, "host"), ==, "h1,h2");
}

static void
test_override (void)
{
  g_autoptr (DalUrl) url =
    parse_ok ("postgresql+asyncpg://u:pw@h:1/db?user=v&host=x&port=2&dbname=e&password=p");
  g_assert_cmpstr (dal_url_get_user (url), ==, "v");
  g_assert_cmpstr (dal_url_get_password (url), ==, "p");
  g_assert_cmpstr (dal_url_get_database (url), ==, "e");
  g_assert_cmpuint (dal_url_get_n_hosts (url), ==, 1);
  g_assert_cmpstr (dal_url_get_host (url, 0), ==, "x");
  g_assert_cmpstr (dal_url_get_port (url, 0), ==, "2");

  /* later wins, within the query too */
  g_autoptr (DalUrl) later =
    parse_ok ("postgresql://h/db?connect_timeout=10&application_name=a"
              "&connect_timeout=20&command_timeout=1&command_timeout=3");
  g_assert_cmpstr (dal_url_get_option (later, "connect_timeout"), ==, "20");
  g_assert_cmpint (dal_url_get_duration_ms (later, "command_timeout", 0), ==, 3000);

  /* the query's host list replaces the authority's */
  g_autoptr (DalUrl) hosts = parse_ok ("postgresql://a:1,b:2/db?host=c,d");
  g_assert_cmpstr (dal_url_get_option (hosts, "host"), ==, "c,d");
  g_assert_cmpstr (dal_url_get_option (hosts, "port"), ==, "1,2");
  g_assert_cmpstr (dal_url_get_port (hosts, 1), ==, "2");
  /* ... and must still pair up with the ports (libpq checks at connect) */
  g_autoptr (GError) error = parse_fails ("postgresql://a:1,b:2/db?host=c",
                                          DAL_ERROR_URL_INVALID_VALUE);
  assert_message_has (error, "2 ports for 1 host");
}

static void
test_ssl_synonyms (void)
{
  static const struct
  {
    const char *query, *sslmode;
  } cases[] = {
    { "ssl=true", "require" },
    { "ssl=false", "disable" },
    { "ssl=disable", "disable" },
    { "ssl=allow", "allow" },
    { "ssl=prefer", "prefer" },
    { "ssl=require", "require" },
    { "ssl=verify-ca", "verify-ca" },
    { "ssl=verify-full", "verify-full" },
    { "ssl=true&sslmode=disable", "disable" },
    { "sslmode=disable&ssl=verify-full", "verify-full" },
    { "requiressl=1", "require" },
    { "requiressl=0", "prefer" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strconcat ("postgresql+asyncpg://h/db?",
                                           cases[i].query, NULL);
      g_autoptr (DalUrl) url = parse_ok (text);
      const char * const *keywords, * const *values;
      guint n = dal_url_get_keywords (url, &keywords, &values);
      gboolean found = FALSE;

      g_assert_cmpstr (dal_url_get_option (url, "sslmode"), ==, cases[i].sslmode);
      g_assert_null (dal_url_get_option (url, "ssl"));
      for (guint k = 0; k < n; k++)
        {
          g_assert_cmpstr (keywords[k], !=, "ssl");
          g_assert_cmpstr (keywords[k], !=, "requiressl");
          if (strcmp (keywords[k], "sslmode") == 0)
            {
              g_assert_cmpstr (values[k], ==, cases[i].sslmode);
              found = TRUE;
            }
        }
      g_assert_true (found);
      assert_round_trip (url);
    }

  g_autoptr (GError) error = parse_fails ("postgresql://h/db?ssl=maybe",
                                          DAL_ERROR_URL_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "ssl=maybe"));
  g_assert_nonnull (strstr (error->message, "verify-full"));

  /* another dialect's ssl= is its own business */
  g_autoptr (DalUrl) other = parse_ok ("mysql://h/db?ssl=maybe");
  g_assert_cmpstr (dal_url_get_option (other, "ssl"), ==, "maybe");
}

static void
test_libdal_options (void)
{
  g_autoptr (DalUrl) url =
    parse_ok ("postgresql+asyncpg://h/db?command_timeout=2.5&statement_cache_size=0"
              "&pooler_mode=transaction&pool_min_size=1&pool_max_size=10"
              "&pool_acquire_timeout=0.25&pool_max_idle=60&pool_max_lifetime=3600"
              "&connect_timeout=1.5");
  const char * const *keywords, * const *values;
  guint n = dal_url_get_keywords (url, &keywords, &values);

  /* only connect_timeout, host and dbname reach libpq */
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpstr (keywords[0], ==, "connect_timeout");
  g_assert_cmpstr (values[0], ==, "1.5");
  g_assert_cmpstr (keywords[1], ==, "dbname");
  g_assert_cmpstr (keywords[2], ==, "host");

  g_assert_cmpstr (dal_url_get_option (url, "command_timeout"), ==, "2.5");
  g_assert_cmpstr (dal_url_get_option (url, "pooler_mode"), ==, "transaction");
  g_assert_cmpint (dal_url_get_duration_ms (url, "command_timeout", 7), ==, 2500);
  g_assert_cmpint (dal_url_get_duration_ms (url, "connect_timeout", 7), ==, 1500);
  g_assert_cmpint (dal_url_get_duration_ms (url, "pool_acquire_timeout", 7), ==, 250);
  g_assert_cmpint (dal_url_get_duration_ms (url, "pool_max_lifetime", 7), ==, 3600000);
  g_assert_cmpuint (dal_url_get_uint (url, "statement_cache_size", 100), ==, 0);
  g_assert_cmpuint (dal_url_get_uint (url, "pool_max_size", 5), ==, 10);

  /* defaults */
  g_autoptr (DalUrl) bare = parse_ok ("postgresql://h/db");
  g_assert_cmpint (dal_url_get_duration_ms (bare, "command_timeout", 7), ==, 7);
  g_assert_cmpint (dal_url_get_duration_ms (bare, "connect_timeout", -1), ==, -1);
  g_assert_cmpuint (dal_url_get_uint (bare, "statement_cache_size", 100), ==, 100);
  g_assert_null (dal_url_get_option (bare, "command_timeout"));
  g_assert_null (dal_url_get_option (bare, "no_such_option"));

  /* libdal's options are libdal's for any dialect */
  g_autoptr (DalUrl) other = parse_ok ("mysql://h/db?command_timeout=1&charset=x");
  n = dal_url_get_keywords (other, &keywords, &values);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpstr (keywords[0], ==, "host");
  g_assert_cmpstr (keywords[1], ==, "dbname");
  g_assert_cmpstr (keywords[2], ==, "charset");
  g_assert_cmpint (dal_url_get_duration_ms (other, "command_timeout", 0), ==, 1000);
  g_assert_false (dal_url_parse ("mysql://h/db?command_timeout=x", NULL));

  assert_round_trip (url);
  assert_round_trip (other);
}

static guint n_criticals;

static void
count_criticals (const char *domain, GLogLevelFlags level, const char *message,
                 gpointer data)
{
  (void) domain;
  (void) data;
  if ((level & G_LOG_LEVEL_CRITICAL) != 0
      && strstr (message, "option_name_is_known") != NULL)
    n_criticals++;
}

/* Asking a known dialect for an option it does not have is a typo: a
 * critical, and the default.  (A log handler rather than a subprocess,
 * which would leave GLib's child-watch thread to valgrind.) */
static void
test_getter_typo (void)
{
  g_autoptr (DalUrl) url = parse_ok ("postgresql://h/db?statement_cache_size=3");
  GLogLevelFlags fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  GLogFunc handler = g_log_set_default_handler (count_criticals, NULL);

  n_criticals = 0;
  g_assert_cmpuint (dal_url_get_uint (url, "statment_cache_size", 1), ==, 1);
  g_assert_cmpint (dal_url_get_duration_ms (url, "comand_timeout", 2), ==, 2);
  g_log_set_default_handler (handler, NULL);
  g_log_set_always_fatal (fatal);
  g_assert_cmpuint (n_criticals, ==, 2);
  g_assert_cmpuint (dal_url_get_uint (url, "statement_cache_size", 1), ==, 3);
}

static void
test_unknown_dialect (void)
{
  g_autoptr (DalUrl) url =
    parse_ok ("MySQL+PyMySQL://u:p@h:3306/db?charset=utf8mb4&b=2&charset=latin1"
              "&user=w&statement_cache_size=5");
  const char * const *keywords, * const *values;
  guint n = dal_url_get_keywords (url, &keywords, &values);
  static const char * const expected[][2] = {
    { "user", "w" }, { "password", "p" }, { "host", "h" }, { "port", "3306" },
    { "dbname", "db" }, { "charset", "latin1" }, { "b", "2" },
  };

  g_assert_cmpuint (n, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpstr (keywords[i], ==, expected[i][0]);
      g_assert_cmpstr (values[i], ==, expected[i][1]);
    }
  g_assert_cmpuint (dal_url_get_uint (url, "statement_cache_size", 0), ==, 5);
  g_assert_cmpuint (dal_url_get_uint (url, "b", 0), ==, 2);
  g_assert_cmpuint (dal_url_get_uint (url, "charset", 9), ==, 9);
  assert_round_trip (url);

  /* the port is still a port */
  g_autoptr (GError) error = parse_fails ("mysql://h/db?port=x",
                                          DAL_ERROR_URL_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "port=x"));
}

/* -- errors -- */

static void
test_errors (void)
{
  static const struct
  {
    const char *text;
    DalErrorCode code;
    const char *needles[3];
  } cases[] = {
    /* not a URL */
    { "", DAL_ERROR_URL_MALFORMED, { "position 1", "empty", "postgresql+asyncpg://user@host:5432/dbname" } },
    { "host=x dbname=y", DAL_ERROR_URL_MALFORMED,
      { "position 5", "key=value", "postgresql+asyncpg://" } },
    { "postgresql", DAL_ERROR_URL_MALFORMED,
      { "position 11", "\"://\"", "\"postgresql\"" } },
    { "postgresql+asyncpg:/host/db", DAL_ERROR_URL_MALFORMED,
      { "position 19", "\"://\" after the scheme \"postgresql+asyncpg\"",
        "dialect+driver://" } },
    { "postgresql:host", DAL_ERROR_URL_MALFORMED, { "position 11", "\"://\"" } },
    { "://host", DAL_ERROR_URL_MALFORMED, { "position 1", "scheme" } },
    { "+asyncpg://host", DAL_ERROR_URL_MALFORMED, { "position 1", "dialect" } },
    { "postgresql+://host", DAL_ERROR_URL_MALFORMED, { "position 12", "driver" } },
    { "postgresql+a+b://host", DAL_ERROR_URL_MALFORMED, { "position 13", "\"+\"" } },
    { "post gres://host", DAL_ERROR_URL_MALFORMED,
      { "position 5", "\" \" (a space)", "scheme" } },
    { "postgr*s://host", DAL_ERROR_URL_MALFORMED, { "position 7", "\"*\"" } },
    /* IPv6 */
    { "postgresql://[::1", DAL_ERROR_URL_MALFORMED, { "position 14", "\"]\"" } },
    { "postgresql://[]/db", DAL_ERROR_URL_MALFORMED, { "position 14", "empty" } },
    { "postgresql://[::1]x/db", DAL_ERROR_URL_MALFORMED,
      { "position 19", "\"x\"", "IPv6" } },
    { "postgresql+asyncpg://[::1]x/db", DAL_ERROR_URL_MALFORMED, { "position 27" } },
    /* ports */
    { "postgresql://h:abc/db", DAL_ERROR_URL_MALFORMED, { "position 16", "port" } },
    { "postgresql://h:0/db", DAL_ERROR_URL_MALFORMED, { "position 16", "port" } },
    { "postgresql://h:65536/db", DAL_ERROR_URL_MALFORMED, { "position 16" } },
    { "postgresql://h:1,g:-1/db", DAL_ERROR_URL_MALFORMED, { "position 20" } },
    { "postgresql://h/db?port=abc", DAL_ERROR_URL_INVALID_VALUE, { "port=abc" } },
    { "postgresql://h/db?port=1,,99999", DAL_ERROR_URL_INVALID_VALUE,
      { "port=1,,99999" } },
    { "postgresql://a,b,c/db?port=1,2", DAL_ERROR_URL_INVALID_VALUE,
      { "2 ports for 3 hosts" } },
    { "postgresql:///db?hostaddr=1.2.3.4&host=a,b", DAL_ERROR_URL_INVALID_VALUE,
      { "2 host names for 1 hostaddr" } },
    /* percent-encoding */
    { "postgresql://h/d%zz", DAL_ERROR_URL_MALFORMED,
      { "position 17", "database name" } },
    { "postgresql://h/d%0", DAL_ERROR_URL_MALFORMED, { "position 17" } },
    { "postgresql://h/d%00", DAL_ERROR_URL_MALFORMED, { "position 17", "%00" } },
    { "postgresql://h%g1/d", DAL_ERROR_URL_MALFORMED, { "position 15", "host" } },
    { "postgresql://h:5%/d", DAL_ERROR_URL_MALFORMED, { "position 17", "port" } },
    { "postgresql://h/d?a%zz=1", DAL_ERROR_URL_MALFORMED,
      { "position 19", "query parameter name" } },
    { "postgresql://h/d?application_name=%", DAL_ERROR_URL_MALFORMED,
      { "position 35", "\"application_name\"" } },
    /* query syntax */
    { "postgresql://h/db?a", DAL_ERROR_URL_MALFORMED,
      { "position 19", "\"a\"", "\"=\"" } },
    { "postgresql://h/db?sslmode=require&&x=1", DAL_ERROR_URL_MALFORMED,
      { "position 35", "empty query parameter" } },
    { "postgresql://h/db?&", DAL_ERROR_URL_MALFORMED, { "position 19" } },
    { "postgresql://h/db?application_name=1&=2", DAL_ERROR_URL_MALFORMED,
      { "position 38", "without a name" } },
    { "mysql://h/db?%41=1&=2", DAL_ERROR_URL_MALFORMED, { "position 20" } },
    { "postgresql://h/db?sslmode=a=b", DAL_ERROR_URL_MALFORMED,
      { "position 28", "second \"=\"", "\"sslmode\"" } },
    /* unknown options */
    { "postgresql://h/db?sslmdoe=require", DAL_ERROR_URL_UNKNOWN_OPTION,
      { "\"sslmdoe\"", "Did you mean sslmode?", "command_timeout" } },
    { "postgresql://h/db?SSLMODE=require", DAL_ERROR_URL_UNKNOWN_OPTION,
      { "\"SSLMODE\"", "Did you mean sslmode?" } },
    { "postgresql://h/db?comand_timeout=1", DAL_ERROR_URL_UNKNOWN_OPTION,
      { "Did you mean command_timeout?" } },
    { "postgresql://h/db?frobnicate=1", DAL_ERROR_URL_UNKNOWN_OPTION,
      { "\"frobnicate\"", "libpq connection parameters", "pool_max_lifetime" } },
    { "postgres+asyncpg://h/db?a=1&sslmode=require", DAL_ERROR_URL_UNKNOWN_OPTION,
      { "\"a\"" } },
    /* values */
    { "postgresql://h/db?command_timeout=abc", DAL_ERROR_URL_INVALID_VALUE,
      { "command_timeout=abc", "number of seconds", "command_timeout=2.5" } },
    { "postgresql://h/db?command_timeout=-1", DAL_ERROR_URL_INVALID_VALUE,
      { "command_timeout=-1" } },
    { "postgresql://h/db?connect_timeout=1e3", DAL_ERROR_URL_INVALID_VALUE,
      { "connect_timeout=1e3" } },
    { "postgresql://h/db?sslmode=bogus", DAL_ERROR_URL_INVALID_VALUE,
      { "sslmode=bogus", "verify-ca, verify-full" } },
    { "postgresql://h/db?sslmode=", DAL_ERROR_URL_INVALID_VALUE, { "sslmode=" } },
    { "postgresql://h/db?target_session_attrs=master", DAL_ERROR_URL_INVALID_VALUE,
      { "prefer-standby" } },
    { "postgresql://h/db?keepalives=yes", DAL_ERROR_URL_INVALID_VALUE,
      { "keepalives=yes", "0, 1" } },
    { "postgresql://h/db?keepalives_idle=-5", DAL_ERROR_URL_INVALID_VALUE,
      { "keepalives_idle=-5" } },
    { "postgresql://h/db?statement_cache_size=99999999999", DAL_ERROR_URL_INVALID_VALUE,
      { "too large" } },
    { "postgresql://h/db?pooler_mode=statement", DAL_ERROR_URL_INVALID_VALUE,
      { "pooler_mode=statement", "session, transaction" } },
    { "postgresql://h/db?ssl_min_protocol_version=tlsv1.2", DAL_ERROR_URL_INVALID_VALUE,
      { "TLSv1.2" } },
    { "postgresql://h/db?application_name=%0A&sslmode=x", DAL_ERROR_URL_INVALID_VALUE,
      { "sslmode=x" } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = parse_fails (cases[i].text, cases[i].code);
      for (guint j = 0; j < G_N_ELEMENTS (cases[i].needles); j++)
        if (cases[i].needles[j] != NULL)
          assert_message_has (error, cases[i].needles[j]);
      /* every syntax error gives a position */
      if (cases[i].code == DAL_ERROR_URL_MALFORMED)
        assert_message_has (error, "malformed URL at position ");
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
    }
}

/* Errors right next to (or inside) the userinfo quote none of it. */
static void
test_errors_hide_secrets (void)
{
  static const char * const cases[] = {
    "postgresql://appuser:" SECRET "@host:abc/db",
    "postgresql://appuser:" SECRET "@host:0/db",
    "postgresql://app%zzuser:" SECRET "@host/db",
    "postgresql://appuser:" SECRET "%zz@host/db",
    "postgresql://appuser:" SECRET "%00@host/db",
    "postgresql://appuser:" SECRET "%@host/db",
    "postgresql://appuser:" SECRET "/x@host/db",        /* "/" in the password */
    "postgresql://appuser:" SECRET "@[::1/db",
    "postgresql://appuser:" SECRET "@[::1]x/db",
    "postgresql://appuser:" SECRET "@[]/db",
    "postgresql://appuser:" SECRET "@host/db%zz",
    "postgresql://appuser:" SECRET "@host/db?sslmode=bogus",
    "postgresql://appuser:" SECRET "@host/db?nope=1",
    "postgresql://appuser:" SECRET "@host/db?a",
    "postgresql://appuser:" SECRET "@host/db?a=b=c",
    "postgresql://appuser:" SECRET "@a,b,c/db?port=1,2",
    "postgresql://appuser:" SECRET "@host/db?command_timeout=x",
    "postgresql+asyncpg://appuser:" SECRET "@host:99999/db",
    "postgresql+://appuser:" SECRET "@host/db",
    "postgresql:/appuser:" SECRET "@host/db",
    "postgresql:appuser:" SECRET "@host/db",
    "appuser:" SECRET "@host/db",
    "appuser@host/db",
    "postgresql://host/db?password=" SECRET "%zz",
    "postgresql://host/db?password=" SECRET "%00",
    "postgresql://host/db?password=" SECRET "&sslmode=bogus",
    "postgresql://host/db?sslpassword=" SECRET "%0",
    "postgresql://host/db?oauth_client_secret=" SECRET "&port=x",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (DalUrl) url = dal_url_parse (cases[i], &error);
      if (url != NULL)
        g_error ("%s parsed but should fail", cases[i]);
      g_assert_nonnull (error);
      assert_message_lacks (error, "S3cr");
      assert_message_lacks (error, "3tPw");
      assert_message_lacks (error, "appuser");
      g_assert_null (strstr (dal_error_get_hint (error), "S3cr"));
      g_assert_null (strstr (dal_error_get_hint (error), "appuser"));
    }
}

/* The look-ahead quirk: a password with an unencoded "@" splits at the
 * first "@", as libpq splits it; libpq would then take "ss@host" as a
 * host name.  libdal refuses a host with "@" instead (it is a piece of the
 * password) and quotes none of it.  Other quirks are kept as libpq has
 * them. */
static void
test_libpq_quirks (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DalUrl) a = dal_url_parse ("postgresql+asyncpg://u:p@ss3cr@host/db", &error);
  g_assert_null (a);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_MALFORMED);
  g_assert_nonnull (strstr (error->message, "position 31"));
  g_assert_nonnull (strstr (error->message, "%40"));
  g_assert_null (strstr (error->message, "ss3cr"));
  g_clear_error (&error);

  /* "password=ab&cd": the piece after "&" is not quoted either. */
  g_autoptr (DalUrl) e = dal_url_parse ("postgresql://h/db?password=ab&cdsecret", &error);
  g_assert_null (e);
  g_assert_error (error, DAL_ERROR, DAL_ERROR_URL_MALFORMED);
  g_assert_nonnull (strstr (error->message, "%26"));
  g_assert_null (strstr (error->message, "cdsecret"));
  g_clear_error (&error);

  g_autoptr (DalUrl) b = parse_ok ("postgresql://host?user=a@b");
  g_assert_cmpstr (dal_url_get_user (b), ==, "host?user=a");
  g_assert_cmpstr (dal_url_get_host (b, 0), ==, "b");

  g_autoptr (DalUrl) c = parse_ok ("postgresql://h/d#frag");
  g_assert_cmpstr (dal_url_get_database (c), ==, "d#frag");

  g_autoptr (DalUrl) d = parse_ok ("postgresql://h/db?application_name=a+b");
  g_assert_cmpstr (dal_url_get_option (d, "application_name"), ==, "a+b");
}

/* -- writing -- */

static void
test_to_string (void)
{
  static const struct
  {
    const char *text, *canonical, *redacted;
  } cases[] = {
    { "PostgreSQL+AsyncPG://app:s%40cret@db1:5432,db2:5433/app?sslmode=verify-full",
      "postgresql+asyncpg://app:s%40cret@db1:5432,db2:5433/app?sslmode=verify-full",
      "postgresql+asyncpg://app:****@db1:5432,db2:5433/app?sslmode=verify-full" },
    { "postgres://", "postgresql://", "postgresql://" },
    { "postgresql:///db?host=/run/pg", "postgresql://%2Frun%2Fpg/db",
      "postgresql://%2Frun%2Fpg/db" },
    { "postgresql://[::1]:5433,[fe80::1%25eth0]/db",
      "postgresql://[::1]:5433,[fe80::1%25eth0]/db",
      "postgresql://[::1]:5433,[fe80::1%25eth0]/db" },
    { "postgresql://:5433", "postgresql://:5433", "postgresql://:5433" },
    { "postgresql://:pw@h", "postgresql://:pw@h", "postgresql://:****@h" },
    { "postgresql://u@h?password=", "postgresql://u@h?password=",
      "postgresql://u@h?password=****" },
    { "postgresql://u@h?password=x%20y&sslpassword=z&application_name=a%20b",
      "postgresql://u:x%20y@h?application_name=a%20b&sslpassword=z",
      "postgresql://u:****@h?application_name=a%20b&sslpassword=****" },
    { "postgresql:///db?host=h1,h2&port=5432",
      "postgresql://h1,h2/db?port=5432", "postgresql://h1,h2/db?port=5432" },
    { "postgresql:///db?host=h1,h2", "postgresql:///db?host=h1%2Ch2",
      "postgresql:///db?host=h1%2Ch2" },
    { "postgresql://?host=,&port=1,2", "postgresql://:1,:2", "postgresql://:1,:2" },
    { "postgresql://?hostaddr=::1,::2&port=1,2", "postgresql://?hostaddr=%3A%3A1%2C%3A%3A2&port=1%2C2",
      "postgresql://?hostaddr=%3A%3A1%2C%3A%3A2&port=1%2C2" },
    { "postgresql://h/db?host=&dbname=", "postgresql://?dbname=&host=",
      "postgresql://?dbname=&host=" },
    { "postgresql://h/db?command_timeout=2.5&sslmode=require&ssl=false",
      "postgresql://h/db?sslmode=disable&command_timeout=2.5",
      "postgresql://h/db?sslmode=disable&command_timeout=2.5" },
    { "postgresql://h/db?application_name=%F0%9F%90%98",
      "postgresql://h/db?application_name=%F0%9F%90%98",
      "postgresql://h/db?application_name=%F0%9F%90%98" },
    { "mysql+pymysql://u@h/db?charset=utf8&ssl=1",
      "mysql+pymysql://u@h/db?charset=utf8&ssl=1",
      "mysql+pymysql://u@h/db?charset=utf8&ssl=1" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (DalUrl) url = parse_ok (cases[i].text);
      g_autofree char *s = dal_url_to_string (url);
      g_autofree char *r = dal_url_to_string_redacted (url);
      g_assert_cmpstr (s, ==, cases[i].canonical);
      g_assert_cmpstr (r, ==, cases[i].redacted);
      assert_round_trip (url);
    }

  /* a password made of every awkward character */
  g_autoptr (DalUrl) url =
    parse_ok ("postgresql://u%3Ax:%40%3A%2F%3F%23%25%26%3D%20%2B%5B%5D@h/d");
  g_assert_cmpstr (dal_url_get_user (url), ==, "u:x");
  g_assert_cmpstr (dal_url_get_password (url), ==, "@:/?#%&= +[]");
  g_autofree char *r = dal_url_to_string_redacted (url);
  g_assert_cmpstr (r, ==, "postgresql://u%3Ax:****@h/d");
  assert_round_trip (url);
}

/* Round trips of URLs built to stress the writer. */
static void
test_round_trip (void)
{
  static const char * const cases[] = {
    "postgresql://h1,h2",
    "postgresql://,",
    "postgresql://:5433,:5434",
    "postgresql://h1:1,h2/db?port=7",
    "postgresql://h1/db?port=",
    "postgresql://h1/db?host=",
    "postgresql://?host=&port=&user=&password=&dbname=",
    "postgresql://a:b@h/db?user=",
    "postgresql://a:b@h/db?password=",
    "postgresql://%5B%3A%3A1%5D",
    "postgresql://h%3A1/x",
    "postgresql://h/d?options=-c%20search_path%3Dx%2Cy&application_name=%26%3D%3F",
    "postgresql://h/db?hostaddr=127.0.0.1,127.0.0.2&host=a,b&port=1",
    "postgresql:///db?hostaddr=127.0.0.1,127.0.0.2&port=1,2",
    "postgresql://h/d?service=&passfile=",
    "sqlite:///var/db/x.sqlite?mode=ro",
    "mysql://h?a=&%C3%A9=%C3%A9",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (DalUrl) url = parse_ok (cases[i]);
      assert_round_trip (url);
    }
}

static void
test_with_driver (void)
{
  g_autoptr (DalUrl) app =
    parse_ok ("postgresql+asyncpg://app:s%40cret@db1:5432,db2/app?sslmode=verify-full"
              "&command_timeout=5");
  g_autoptr (GError) error = NULL;

  g_autoptr (DalUrl) mig = dal_url_with_driver (app, "PsycoPG2", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_scheme (mig), ==, "postgresql+psycopg2");
  g_assert_cmpstr (dal_url_get_driver (mig), ==, "psycopg2");
  g_assert_cmpstr (dal_url_get_scheme (app), ==, "postgresql+asyncpg");
  g_assert_cmpstr (dal_url_get_password (mig), ==, "s@cret");
  g_assert_cmpstr (dal_url_get_option (mig, "command_timeout"), ==, "5");
  g_assert_cmpuint (dal_url_get_n_hosts (mig), ==, 2);
  g_assert_cmpstr (dal_url_get_port (mig, 0), ==, "5432");
  g_autofree char *s = dal_url_to_string (mig);
  g_assert_cmpstr (s, ==, "postgresql+psycopg2://app:s%40cret@db1:5432,db2/app"
                   "?sslmode=verify-full&command_timeout=5");

  g_autoptr (DalUrl) bare = dal_url_with_driver (app, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dal_url_get_scheme (bare), ==, "postgresql");
  g_assert_null (dal_url_get_driver (bare));

  /* same keywords, whatever the driver */
  const char * const *k1, * const *v1, * const *k2, * const *v2;
  guint n1 = dal_url_get_keywords (app, &k1, &v1);
  guint n2 = dal_url_get_keywords (bare, &k2, &v2);
  g_assert_cmpuint (n1, ==, n2);
  for (guint i = 0; i < n1; i++)
    {
      g_assert_cmpstr (k1[i], ==, k2[i]);
      g_assert_cmpstr (v1[i], ==, v2[i]);
    }

  static const char * const bad[] = { "", "a b", "a+b", "x/y", "é" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) e = NULL;
      g_assert_null (dal_url_with_driver (app, bad[i], &e));
      g_assert_error (e, DAL_ERROR, (gint) DAL_ERROR_URL_MALFORMED);
      g_assert_true (g_utf8_validate (e->message, -1, NULL));
      assert_message_lacks (e, "cret");
    }

  g_autoptr (DalUrl) other = parse_ok ("mysql://h/db?charset=x");
  g_autoptr (DalUrl) other2 = dal_url_with_driver (other, "pymysql", NULL);
  g_assert_cmpstr (dal_url_get_scheme (other2), ==, "mysql+pymysql");
  g_assert_cmpstr (dal_url_get_option (other2, "charset"), ==, "x");
}

static void
test_boxed (void)
{
  g_autoptr (DalUrl) url = parse_ok ("postgresql://h/db");
  GType type = dal_url_get_type ();

  g_assert_true (G_TYPE_IS_BOXED (type));
  g_assert_cmpstr (g_type_name (type), ==, "DalUrl");
  DalUrl *copy = g_boxed_copy (type, url);
  g_assert_true (copy == url);
  g_boxed_free (type, copy);

  GValue value = G_VALUE_INIT;
  g_value_init (&value, DAL_TYPE_URL);
  g_value_set_boxed (&value, url);
  g_assert_true (g_value_get_boxed (&value) == url);
  g_value_unset (&value);

  DalUrl *ref = dal_url_ref (url);
  dal_url_unref (ref);
  g_assert_cmpstr (dal_url_get_database (url), ==, "db");
}

/* Parsing and reading from many threads at once. */
static gpointer
thread_func (gpointer data)
{
  DalUrl *shared = data;
  for (guint i = 0; i < 200; i++)
    {
      DalUrl *ref = dal_url_ref (shared);
      g_autofree char *s = dal_url_to_string (ref);
      g_autoptr (DalUrl) again = parse_ok (s);
      g_assert_cmpstr (dal_url_get_option (again, "application_name"), ==, "x");
      dal_url_unref (ref);
    }
  return NULL;
}

static void
test_threads (void)
{
  DalUrl *shared = parse_ok ("postgresql://u:p@h1,h2/db?application_name=x");
  GThread *threads[4];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("url", thread_func, shared);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  dal_url_unref (shared);
}

/* -- the option tables -- */

static void
test_dialect_table (void)
{
  const DalDialect *pg = _dal_dialect_lookup ("postgresql");
  PQconninfoOption *defaults = PQconndefaults ();
  int libpq_version = PQlibVersion ();
  guint last = 0;

  g_assert_nonnull (pg);
  g_assert_true (_dal_dialect_lookup ("postgres") == pg);
  g_assert_null (_dal_dialect_lookup ("mysql"));
  g_assert_null (_dal_dialect_lookup ("PostgreSQL"));
  g_assert_cmpstr (pg->name, ==, "postgresql");

  /* every libpq keyword (but debug ones) is known, in libpq's order */
  for (PQconninfoOption *o = defaults; o->keyword != NULL; o++)
    {
      guint i;
      if (strcmp (o->dispchar, "D") == 0)
        continue;
      for (i = 0; i < pg->n_options; i++)
        if (strcmp (pg->options[i].name, o->keyword) == 0)
          break;
      if (i == pg->n_options)
        g_error ("libpq keyword %s missing from the postgresql table", o->keyword);
      g_assert_cmpuint (pg->options[i].min_client_version, <=, (guint) libpq_version);
      if (pg->options[i].min_client_version == 0)
        {
          if (i < last)
            g_error ("%s is out of libpq's order", o->keyword);
          last = i;
        }
    }
  PQconninfoFree (defaults);

  /* libpq 15's keywords come first, the newer ones after */
  gboolean newer = FALSE;
  for (guint i = 0; i < pg->n_options; i++)
    {
      if (pg->options[i].min_client_version > 0)
        newer = TRUE;
      else
        g_assert_false (newer);
      g_assert_null (_dal_libdal_option_lookup (pg->options[i].name));
      if (pg->options[i].type == DAL_URL_OPTION_ENUM)
        g_assert_nonnull (pg->options[i].choices);
    }

  static const char * const own[] = {
    "command_timeout", "statement_cache_size", "pooler_mode", "pool_min_size",
    "pool_max_size", "pool_acquire_timeout", "pool_max_idle", "pool_max_lifetime",
    "pool_depth", "pool_max_queries", "pool_check_idle", "pool_leak_warning",
    "min_size", "max_size", "max_queries", "max_inactive_connection_lifetime",
  };
  for (guint i = 0; i < G_N_ELEMENTS (own); i++)
    {
      const DalOptionInfo *info = _dal_libdal_option_lookup (own[i]);
      g_assert_nonnull (info);
      g_assert_null (_dal_dialect_get_option (pg, own[i]));
    }
  g_assert_null (_dal_libdal_option_lookup ("sslmode"));
}

/* The keywords of every libpq URL keep libpq's order: PQconndefaults()'s. */
static void
test_keyword_order (void)
{
  PQconninfoOption *defaults = PQconndefaults ();

  for (guint i = 0; accepted_bodies[i] != NULL; i++)
    {
      g_autofree char *text = g_strconcat ("postgresql+asyncpg://",
                                           accepted_bodies[i], NULL);
      g_autoptr (DalUrl) url = parse_ok (text);
      const char * const *keywords;
      guint n = dal_url_get_keywords (url, &keywords, NULL);
      int last = -1;

      for (guint k = 0; k < n; k++)
        {
          int pos = 0;
          PQconninfoOption *o;
          for (o = defaults; o->keyword != NULL; o++, pos++)
            if (strcmp (o->keyword, keywords[k]) == 0)
              break;
          g_assert_nonnull (o->keyword);
          g_assert_cmpint (pos, >, last);
          last = pos;
        }
    }
  PQconninfoFree (defaults);
}

static void
test_duration (void)
{
  static const struct
  {
    const char *text;
    gboolean ok;
    gint64 ms;
  } cases[] = {
    { "0", TRUE, 0 },
    { "10", TRUE, 10000 },
    { "2.5", TRUE, 2500 },
    { "0.25", TRUE, 250 },
    { ".25", TRUE, 250 },
    { "3.", TRUE, 3000 },
    { "0.001", TRUE, 1 },
    { "0.0001", TRUE, 1 },          /* never rounds a timeout down to 0 */
    { "0.0000", TRUE, 0 },
    { "1.2345", TRUE, 1235 },
    { "1.2340000", TRUE, 1234 },
    { "007", TRUE, 7000 },
    { "9223372036854774", TRUE, G_GINT64_CONSTANT (9223372036854774000) },
    { "9223372036854775", FALSE, 0 },
    { "99999999999999999999999", FALSE, 0 },
    { "", FALSE, 0 },
    { ".", FALSE, 0 },
    { "-1", FALSE, 0 },
    { "+1", FALSE, 0 },
    { " 1", FALSE, 0 },
    { "1 ", FALSE, 0 },
    { "1e3", FALSE, 0 },
    { "1E3", FALSE, 0 },
    { "nan", FALSE, 0 },
    { "NaN", FALSE, 0 },
    { "inf", FALSE, 0 },
    { "1.2.3", FALSE, 0 },
    { "1s", FALSE, 0 },
    { "0x10", FALSE, 0 },
    { "1,5", FALSE, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      gint64 ms = -42;
      gboolean ok = _dal_parse_duration_ms (cases[i].text, &ms);
      if (ok != cases[i].ok)
        g_error ("\"%s\": expected %s", cases[i].text, cases[i].ok ? "ok" : "failure");
      if (ok)
        g_assert_cmpint (ms, ==, cases[i].ms);
    }
  gint64 ms;
  g_assert_false (_dal_parse_duration_ms (NULL, &ms));
}

static void
test_check_value (void)
{
  static const char * const choices[] = { "a", "b", NULL };
  static const DalOptionInfo infos[] = {
    { "s", DAL_URL_OPTION_STRING, 0, NULL, 0 },
    { "d", DAL_URL_OPTION_DURATION, 0, NULL, 0 },
    { "u", DAL_URL_OPTION_UINT, 0, NULL, 0 },
    { "b", DAL_URL_OPTION_BOOLEAN, 0, NULL, 0 },
    { "e", DAL_URL_OPTION_ENUM, 0, choices, 0 },
    { "p", DAL_URL_OPTION_PORT, 0, NULL, 0 },
    { "password", DAL_URL_OPTION_UINT, 0, NULL, 0 },
  };
  static const struct
  {
    guint info;
    const char *value;
    gboolean ok;
  } cases[] = {
    { 0, "", TRUE }, { 0, "anything at all", TRUE },
    { 1, "1.5", TRUE }, { 1, "x", FALSE },
    { 2, "0", TRUE }, { 2, "4294967295", TRUE }, { 2, "4294967296", FALSE },
    { 2, "", FALSE }, { 2, "-1", FALSE }, { 2, "1.0", FALSE }, { 2, " 1", FALSE },
    { 3, "true", TRUE }, { 3, "off", TRUE }, { 3, "1", TRUE }, { 3, "TRUE", TRUE },
    { 3, "", FALSE },
    { 3, "2", FALSE },
    { 4, "a", TRUE }, { 4, "b", TRUE }, { 4, "c", FALSE }, { 4, "A", FALSE },
    { 5, "5432", TRUE }, { 5, "1", TRUE }, { 5, "65535", TRUE }, { 5, "", TRUE },
    { 5, "5432,", TRUE }, { 5, ",", TRUE }, { 5, "1,2,3", TRUE },
    { 5, "0", FALSE }, { 5, "65536", FALSE }, { 5, "99999999999", FALSE },
    { 5, "x", FALSE }, { 5, "1,x", FALSE }, { 5, " 1", FALSE }, { 5, "-1", FALSE },
    { 6, SECRET, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      const DalOptionInfo *info = &infos[cases[i].info];
      gboolean ok = _dal_option_check_value (info, cases[i].value, &error);
      if (ok != cases[i].ok)
        g_error ("%s=%s: expected %s", info->name, cases[i].value,
                 cases[i].ok ? "ok" : "failure");
      if (ok)
        {
          g_assert_no_error (error);
          continue;
        }
      g_assert_error (error, DAL_ERROR, (gint) DAL_ERROR_URL_INVALID_VALUE);
      g_assert_nonnull (dal_error_get_hint (error));
      assert_message_has (error, info->name);
      if (strcmp (info->name, "password") == 0)
        assert_message_lacks (error, "S3cr");
      else
        {
          g_autofree char *pair = g_strdup_printf ("%s=%s", info->name,
                                                   cases[i].value);
          assert_message_has (error, pair);
        }
    }

  /* the exact wording of the common case */
  g_autoptr (GError) error = NULL;
  g_assert_false (_dal_option_check_value (_dal_libdal_option_lookup ("command_timeout"),
                                           "abc", &error));
  g_assert_cmpstr (error->message, ==,
                   "command_timeout=abc is not a number of seconds. Write a "
                   "non-negative number of seconds, e.g. command_timeout=2.5");
}

static void
test_hostname_has_suffix (void)
{
  static const struct
  {
    const char *host, *suffix;
    gboolean expected;
  } cases[] = {
    { "supabase.co", "supabase.co", TRUE },
    { "db.abc.supabase.co", "supabase.co", TRUE },
    { "DB.ABC.SUPABASE.CO", "supabase.co", TRUE },
    { "db.abc.supabase.co", "SupaBase.Co", TRUE },
    { "aws-0-eu-west-1.Pooler.Supabase.COM", "pooler.supabase.com", TRUE },
    { "db.abc.supabase.co.", "supabase.co", TRUE },   /* final dot on the host */
    { "Supabase.Co.", "supabase.co", TRUE },
    { "db.abc.supabase.co", ".supabase.co", TRUE },   /* leading dot on the suffix */
    { "supabase.co", ".supabase.co", TRUE },
    { "db.abc.supabase.co", "supabase.co.", TRUE },   /* final dot on the suffix */
    { "xsupabase.co", "supabase.co", FALSE },         /* not a label boundary */
    { "db.abc.notsupabase.co", "supabase.co", FALSE },
    { "supabase.co.evil.example", "supabase.co", FALSE },
    { "supabase.com", "supabase.co", FALSE },
    { "upabase.co", "supabase.co", FALSE },           /* shorter than the suffix */
    { "db.abc.supabase.co..", "supabase.co", FALSE }, /* one final dot only */
    { "", "supabase.co", FALSE },
    { ".", "supabase.co", FALSE },
    { NULL, "supabase.co", FALSE },
    { "supabase.co", "", FALSE },
    { "supabase.co", ".", FALSE },
    { "supabase.co", NULL, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("\"%s\" under \"%s\"", cases[i].host ? cases[i].host : "(null)",
                      cases[i].suffix ? cases[i].suffix : "(null)");
      g_assert_cmpint (dal_hostname_has_suffix (cases[i].host, cases[i].suffix), ==,
                       cases[i].expected);
    }

  /* The Supabase check of the TLS defaults is the same comparison. */
  g_assert_true (_dal_tls_host_is_supabase ("AWS-0-US-EAST-1.POOLER.SUPABASE.COM."));
  g_assert_true (_dal_tls_host_is_supabase ("Db.Ref.Supabase.Co"));
  g_assert_false (_dal_tls_host_is_supabase ("supabase.co.example"));
  g_assert_false (_dal_tls_host_is_supabase (NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/url/forms-agree-with-libpq", test_forms_agree_with_libpq);
  g_test_add_func ("/url/scheme", test_scheme);
  g_test_add_func ("/url/parts", test_parts);
  g_test_add_func ("/url/hosts-and-ports", test_hosts_and_ports);
  g_test_add_func ("/url/sqlalchemy-hosts", test_sqlalchemy_hosts);
  g_test_add_func ("/url/override", test_override);
  g_test_add_func ("/url/ssl-synonyms", test_ssl_synonyms);
  g_test_add_func ("/url/libdal-options", test_libdal_options);
  g_test_add_func ("/url/getter-typo", test_getter_typo);
  g_test_add_func ("/url/unknown-dialect", test_unknown_dialect);
  g_test_add_func ("/url/errors", test_errors);
  g_test_add_func ("/url/errors-hide-secrets", test_errors_hide_secrets);
  g_test_add_func ("/url/libpq-quirks", test_libpq_quirks);
  g_test_add_func ("/url/to-string", test_to_string);
  g_test_add_func ("/url/round-trip", test_round_trip);
  g_test_add_func ("/url/with-driver", test_with_driver);
  g_test_add_func ("/url/boxed", test_boxed);
  g_test_add_func ("/url/threads", test_threads);
  g_test_add_func ("/options/dialect-table", test_dialect_table);
  g_test_add_func ("/options/keyword-order", test_keyword_order);
  g_test_add_func ("/options/duration", test_duration);
  g_test_add_func ("/options/check-value", test_check_value);
  g_test_add_func ("/url/hostname-has-suffix", test_hostname_has_suffix);

  return g_test_run ();
}
