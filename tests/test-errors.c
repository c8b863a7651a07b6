/* test-errors.c: the DAL_ERROR domain (core/dal-error.c). */
#include "config.h"

#include <string.h>

#include "dal-private.h"
#include "dal-test.h"

/* Every code, with the number it had when it was added: codes only grow
 * at the end, and a code's number never changes (the enum is ABI). */
#define CODE(name, number) { DAL_ERROR_##name, number, #name }
static const struct
{
  DalErrorCode code;
  int pinned;
  const char *ident;
} codes[] = {
  CODE (FAILED, 0),
  CODE (URL_MALFORMED, 1),
  CODE (URL_UNKNOWN_OPTION, 2),
  CODE (URL_INVALID_VALUE, 3),
  CODE (UNKNOWN_SCHEME, 4),
  CODE (RETIRED_DRIVER, 5),
  CODE (PLUGIN_NOT_FOUND, 6),
  CODE (PLUGIN_LOAD_FAILED, 7),
  CODE (PLUGIN_ABI_MISMATCH, 8),
  CODE (PLUGIN_CONFLICT, 9),
  CODE (UNSUPPORTED, 10),
  CODE (HOST_NOT_FOUND, 11),
  CODE (CONNECTION_REFUSED, 12),
  CODE (NETWORK_UNREACHABLE, 13),
  CODE (CONNECT_TIMEOUT, 14),
  CODE (AUTH_FAILED, 15),
  CODE (UNKNOWN_DATABASE, 16),
  CODE (UNKNOWN_ROLE, 17),
  CODE (TOO_MANY_CONNECTIONS, 18),
  CODE (TLS_REQUIRED, 19),
  CODE (TLS_UNAVAILABLE, 20),
  CODE (TLS_VERIFY_FAILED, 21),
  CODE (TLS_CONFIG, 22),
  CODE (POOLER_TENANT_NOT_FOUND, 23),
  CODE (POOLER_MAX_CLIENTS, 24),
  CODE (CONNECT_FAILED, 25),
  CODE (CONNECTION_LOST, 26),
  CODE (QUERY_FAILED, 27),
  CODE (QUERY_TIMEOUT, 28),
  CODE (PREPARED_STATEMENT, 29),
  CODE (BUSY, 30),
  CODE (CLOSED, 31),
  CODE (INVALID_PARAMETER, 32),
  CODE (TYPE_MISMATCH, 33),
  CODE (POOL_TIMEOUT, 34),
  CODE (CONFIG_INVALID, 35),
  CODE (BATCH_ABORTED, 36),
};
#undef CODE

/* The last code of the enum: a new code must be added to the table above
 * (and this line), never inserted. */
#define LAST_CODE DAL_ERROR_BATCH_ABORTED

static void
test_code_names (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  g_assert_cmpint (G_N_ELEMENTS (codes), ==, LAST_CODE + 1);
  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      /* Numbers are pinned and dense. */
      g_assert_cmpint (codes[i].code, ==, codes[i].pinned);
      g_assert_cmpint (codes[i].code, ==, i);

      /* The name is the identifier, lower case, dashes for underscores. */
      const char *name = dal_error_code_to_string (codes[i].code);
      g_autofree char *expected = g_ascii_strdown (codes[i].ident, -1);
      g_strdelimit (expected, "_", '-');
      g_assert_cmpstr (name, ==, expected);
      g_assert_cmpstr (name, !=, "unknown");

      /* Unique. */
      g_assert_false (g_hash_table_contains (seen, name));
      g_hash_table_add (seen, (gpointer) name);
    }

  /* Numbers that are not codes. */
  g_assert_cmpstr (dal_error_code_to_string (LAST_CODE + 1), ==, "unknown");
  g_assert_cmpstr (dal_error_code_to_string (1000), ==, "unknown");
  g_assert_cmpstr (dal_error_code_to_string ((DalErrorCode) -1), ==, "unknown");

  /* The domain has a stable name. */
  g_assert_cmpstr (g_quark_to_string (DAL_ERROR), !=, NULL);
  g_assert_true (DAL_ERROR == dal_error_quark ());
}

static void
test_message (void)
{
  struct
  {
    const char *what;
    const char *hint;
    const char *message;  /* expected */
  } cases[] = {
    { "it broke", "Fix it.", "it broke. Fix it." },
    /* trailing dots, spaces and newlines of "what" are dropped */
    { "it broke.", "Fix it.", "it broke. Fix it." },
    { "it broke...  \n", "Fix it.", "it broke. Fix it." },
    { "it broke\t.", "Fix it", "it broke. Fix it" },
    /* a dot inside stays */
    { "v1.2 broke.", "Use v1.3.", "v1.2 broke. Use v1.3." },
    /* no hint: the message is "what" alone, without a trailing dot */
    { "it broke.", NULL, "it broke" },
    { "it broke", "", "it broke" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) e = dal_error_new_hint (DAL_ERROR_FAILED, cases[i].hint,
                                                 "%s", cases[i].what);
      g_assert_error (e, DAL_ERROR, DAL_ERROR_FAILED);
      g_assert_cmpstr (e->message, ==, cases[i].message);
      /* The hint alone. */
      if (cases[i].hint == NULL || *cases[i].hint != '\0')
        g_assert_cmpstr (dal_error_get_hint (e), ==, cases[i].hint);
    }

  /* printf formatting, and the code is kept. */
  g_autoptr (GError) e = dal_error_new_hint (DAL_ERROR_BUSY, "Wait %d", "%d of %s", 3, "x");
  g_assert_error (e, DAL_ERROR, DAL_ERROR_BUSY);
  g_assert_cmpstr (e->message, ==, "3 of x. Wait %d");
  g_assert_cmpstr (dal_error_get_hint (e), ==, "Wait %d");
}

static void
test_fields (void)
{
  g_autoptr (GError) e = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, NULL, "boom");

  for (guint f = 0; f < DAL_ERROR_N_FIELDS; f++)
    g_assert_null (dal_error_get_field (e, f));
  g_assert_null (dal_error_get_sqlstate (e));
  g_assert_null (dal_error_get_hint (e));

  for (guint f = 0; f < DAL_ERROR_N_FIELDS; f++)
    {
      g_autofree char *v = g_strdup_printf ("value of field %u", f);
      dal_error_set_field (e, f, v);
    }
  for (guint f = 0; f < DAL_ERROR_N_FIELDS; f++)
    {
      g_autofree char *v = g_strdup_printf ("value of field %u", f);
      g_assert_cmpstr (dal_error_get_field (e, f), ==, v);
    }
  g_assert_cmpstr (dal_error_get_sqlstate (e), ==,
                   dal_error_get_field (e, DAL_ERROR_FIELD_SQLSTATE));

  /* Without a hint of libdal's, the server's hint is the hint. */
  g_assert_cmpstr (dal_error_get_hint (e), ==,
                   dal_error_get_field (e, DAL_ERROR_FIELD_HINT));
  /* libdal's own hint wins over the server's. */
  _dal_error_set_hint (e, "Do this instead");
  g_assert_cmpstr (dal_error_get_hint (e), ==, "Do this instead");
  g_autofree char *server_hint = g_strdup_printf ("value of field %u",
                                                  (guint) DAL_ERROR_FIELD_HINT);
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_HINT), ==, server_hint);

  /* Replacing and clearing a field. */
  dal_error_set_field (e, DAL_ERROR_FIELD_DETAIL, "new detail");
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_DETAIL), ==, "new detail");
  dal_error_set_field (e, DAL_ERROR_FIELD_DETAIL, NULL);
  g_assert_null (dal_error_get_field (e, DAL_ERROR_FIELD_DETAIL));

  /* The message does not change with the fields. */
  g_assert_cmpstr (e->message, ==, "boom");
}

static void
test_retryable (void)
{
  /* By code. */
  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      DalErrorCode c = codes[i].code;
      gboolean expected = c == DAL_ERROR_TOO_MANY_CONNECTIONS
                          || c == DAL_ERROR_POOLER_MAX_CLIENTS
                          || c == DAL_ERROR_CONNECTION_LOST
                          || c == DAL_ERROR_CONNECT_TIMEOUT
                          || c == DAL_ERROR_CONNECTION_REFUSED
                          || c == DAL_ERROR_QUERY_TIMEOUT
                          || c == DAL_ERROR_POOL_TIMEOUT;
      g_autoptr (GError) e = dal_error_new_hint (c, NULL, "x");
      g_test_message ("code %s", dal_error_code_to_string (c));
      g_assert_cmpint (dal_error_is_retryable (e), ==, expected);
    }

  /* By SQLSTATE class, on a code that is not retryable itself. */
  static const struct
  {
    const char *sqlstate;
    gboolean retryable;
  } states[] = {
    { "40001", TRUE },   /* serialization failure */
    { "40P01", TRUE },   /* deadlock */
    { "53300", TRUE },   /* too many connections */
    { "53200", TRUE },   /* out of memory */
    { "57P01", TRUE },   /* admin shutdown */
    { "57P03", TRUE },   /* cannot connect now */
    { "08006", TRUE },   /* connection failure */
    { "08001", TRUE },
    { "40002", FALSE },  /* integrity constraint violation (in 40) */
    { "23505", FALSE },  /* unique violation */
    { "42P01", FALSE },  /* undefined table */
    { "28P01", FALSE },  /* invalid password */
    { "57014", FALSE },  /* query canceled: a timeout code says so itself */
    { "3D000", FALSE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    {
      g_autoptr (GError) e = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, NULL, "x");
      g_assert_false (dal_error_is_retryable (e));
      dal_error_set_field (e, DAL_ERROR_FIELD_SQLSTATE, states[i].sqlstate);
      g_test_message ("SQLSTATE %s", states[i].sqlstate);
      g_assert_cmpint (dal_error_is_retryable (e), ==, states[i].retryable);
    }

  /* Setting it explicitly wins. */
  g_autoptr (GError) e = dal_error_new_hint (DAL_ERROR_CONNECTION_LOST, NULL, "x");
  g_assert_true (dal_error_is_retryable (e));
  dal_error_set_retryable (e, FALSE);
  g_assert_false (dal_error_is_retryable (e));
  dal_error_set_retryable (e, TRUE);
  g_assert_true (dal_error_is_retryable (e));

  /* A non-retryable SQLSTATE does not clear a retryable code. */
  g_autoptr (GError) e2 = dal_error_new_hint (DAL_ERROR_TOO_MANY_CONNECTIONS, NULL, "x");
  dal_error_set_field (e2, DAL_ERROR_FIELD_SQLSTATE, "42P01");
  g_assert_true (dal_error_is_retryable (e2));
}

static void
test_redact (void)
{
  /* Long enough (and not a plain word) to be redacted everywhere, the
   * hint included. */
  const char *secret = "s3cr3t-pw";
  g_autoptr (GError) e = dal_error_new_hint (DAL_ERROR_AUTH_FAILED,
                                             "Do not write s3cr3t-pw into hints",
                                             "password s3cr3t-pw (s3cr3t-pws3cr3t-pw) was wrong");
  for (guint f = 0; f < DAL_ERROR_N_FIELDS; f++)
    {
      g_autofree char *v = g_strdup_printf ("%u:%s:%s", f, secret, secret);
      dal_error_set_field (e, f, v);
    }
  dal_error_set_field (e, DAL_ERROR_FIELD_SQLSTATE, "28P01");  /* no secret */

  dal_error_redact (e, secret);

  g_assert_null (strstr (e->message, secret));
  g_assert_cmpstr (e->message, ==,
                   "password **** (********) was wrong. Do not write **** into hints");
  g_assert_cmpstr (dal_error_get_hint (e), ==, "Do not write **** into hints");
  for (guint f = 0; f < DAL_ERROR_N_FIELDS; f++)
    {
      if (f == DAL_ERROR_FIELD_SQLSTATE)
        {
          g_assert_cmpstr (dal_error_get_field (e, f), ==, "28P01");
          continue;
        }
      g_autofree char *v = g_strdup_printf ("%u:****:****", f);
      g_assert_cmpstr (dal_error_get_field (e, f), ==, v);
    }
  /* The rest is untouched. */
  g_assert_error (e, DAL_ERROR, DAL_ERROR_AUTH_FAILED);

  /* Nothing to redact: NULL and empty secrets, NULL errors. */
  g_autofree char *before = g_strdup (e->message);
  dal_error_redact (e, NULL);
  dal_error_redact (e, "");
  dal_error_redact (NULL, secret);
  g_assert_cmpstr (e->message, ==, before);

  /* Only the message exists in another domain, and it is redacted too. */
  g_autoptr (GError) io = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                                       "cannot read %s", secret);
  dal_error_redact (io, secret);
  g_assert_cmpstr (io->message, ==, "cannot read ****");
  g_assert_error (io, G_IO_ERROR, G_IO_ERROR_FAILED);
}

/* What a connect or query error really says, with a hint of libdal's. */
static const struct
{
  DalErrorCode code;
  const char *what;
  const char *hint;
  const char *server_message;
  const char *detail;
} realistic[] = {
  { DAL_ERROR_HOST_NOT_FOUND,
    "could not translate host name \"db.example.com\" to address: Name or service not known",
    "Check the host name in the URL; a name that resolves elsewhere may need a VPN or a "
    "DNS server that knows it", NULL, NULL },
  { DAL_ERROR_HOST_NOT_FOUND, "could not resolve host name", "Check the host name", NULL, NULL },
  { DAL_ERROR_CONNECTION_REFUSED,
    "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused",
    "Is the server running on that host and accepting TCP/IP connections on that port? "
    "Check host and port in the URL", NULL, NULL },
  { DAL_ERROR_AUTH_FAILED,
    "connection to server at \"127.0.0.1\", port 5432 failed: password authentication "
    "failed for user \"postgres\"",
    "Check the user name and password in the URL; percent-encode reserved characters in "
    "the password (@ as %40, : as %3A)",
    "password authentication failed for user \"postgres\"", NULL },
  { DAL_ERROR_TOO_MANY_CONNECTIONS, "sorry, too many clients already (SQLSTATE 53300)",
    "The server is at max_connections: retry later, use fewer connections (a pool), or "
    "connect through a pooler", "sorry, too many clients already", NULL },
  { DAL_ERROR_QUERY_FAILED,
    "duplicate key value violates unique constraint \"users_pkey\" (SQLSTATE 23505): "
    "Key (id)=(7) already exists.",
    "The data breaks a constraint: change the data or the statement",
    "duplicate key value violates unique constraint \"users_pkey\"",
    "Key (id)=(7) already exists." },
};

static GError *
realistic_error (guint i)
{
  GError *e = dal_error_new_hint (realistic[i].code, realistic[i].hint, "%s", realistic[i].what);
  dal_error_set_field (e, DAL_ERROR_FIELD_MESSAGE, realistic[i].server_message);
  dal_error_set_field (e, DAL_ERROR_FIELD_DETAIL, realistic[i].detail);
  return e;
}

/* Short passwords are letters of ordinary words: redaction leaves the
 * messages as they were, and does not tell where those letters are. */
static void
test_redact_short_secrets (void)
{
  static const char *const secrets[] = { "a", "p", "e", "ab", "er", "os", "ti", "in", "Ke" };

  for (guint s = 0; s < G_N_ELEMENTS (secrets); s++)
    for (guint i = 0; i < G_N_ELEMENTS (realistic); i++)
      {
        g_autoptr (GError) e = realistic_error (i);
        g_autoptr (GError) orig = g_error_copy (e);
        g_test_message ("secret \"%s\", case %u", secrets[s], i);
        dal_error_redact (e, secrets[s]);
        g_assert_cmpstr (e->message, ==, orig->message);
        g_assert_null (strstr (e->message, "****"));
        g_assert_cmpstr (dal_error_get_hint (e), ==, realistic[i].hint);
        for (guint f = 0; f < DAL_ERROR_N_FIELDS; f++)
          g_assert_cmpstr (dal_error_get_field (e, f), ==, dal_error_get_field (orig, f));
      }
}

/* Where the text really holds the password, as a token, it goes, short or
 * not. */
static void
test_redact_tokens (void)
{
  static const char *const secrets[] = { "a", "pw", "ab", "e", "p@ss", "-x-", "s3cr3t" };
  static const char *const templates[] = {
    "could not translate host name \"user:%s@db.example.com\" to address",
    "password \"%s\" was rejected",
    "invalid connection option: password=%s",
    "password '%s' for user \"postgres\"",
    "%s",
    "%s%s",                 /* back to back: one token */
    "(%s) at the end: %s",
  };

  for (guint s = 0; s < G_N_ELEMENTS (secrets); s++)
    for (guint t = 0; t < G_N_ELEMENTS (templates); t++)
      {
        const char *pw = secrets[s];
        g_autofree char *text = NULL;
        g_autofree char *expected = NULL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        text = g_strdup_printf (templates[t], pw, pw);
        expected = g_strdup_printf (templates[t], "****", "****");
#pragma GCC diagnostic pop
        g_test_message ("secret \"%s\": %s", pw, text);

        g_autoptr (GError) e = dal_error_new_hint (DAL_ERROR_CONNECT_FAILED,
                                                   "Check the URL", "%s", text);
        dal_error_set_field (e, DAL_ERROR_FIELD_DETAIL, text);
        dal_error_redact (e, pw);
        g_autofree char *message = g_strdup_printf ("%s. Check the URL", expected);
        g_assert_cmpstr (e->message, ==, message);
        g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_DETAIL), ==, expected);
        g_assert_cmpstr (dal_error_get_hint (e), ==, "Check the URL");

        /* Another domain: the message alone, by the same rule. */
        g_autoptr (GError) io = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, text);
        dal_error_redact (io, pw);
        g_assert_cmpstr (io->message, ==, expected);
      }

  /* A symbol at the edge of the secret needs no boundary there; a letter
   * does. */
  g_autoptr (GError) e = dal_error_new_hint (DAL_ERROR_FAILED, NULL,
                                             "x-x- and -x-x and -x-");
  dal_error_redact (e, "-x-");
  g_assert_cmpstr (e->message, ==, "x**** and ****x and ****");
  g_autoptr (GError) e2 = dal_error_new_hint (DAL_ERROR_FAILED, NULL, "apa pa pap \"pa\"");
  dal_error_redact (e2, "pa");
  g_assert_cmpstr (e2->message, ==, "apa **** pap \"****\"");

  /* The server's own hint is server text: redacted like the fields. */
  g_autoptr (GError) srv = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, "try with pw again",
                                               "role \"x\" failed");
  dal_error_set_field (srv, DAL_ERROR_FIELD_HINT, "try with pw again");
  dal_error_redact (srv, "pw");
  g_assert_cmpstr (srv->message, ==, "role \"x\" failed. try with **** again");
  g_assert_cmpstr (dal_error_get_hint (srv), ==, "try with **** again");
  g_assert_cmpstr (dal_error_get_field (srv, DAL_ERROR_FIELD_HINT), ==, "try with **** again");
}

/* A long password goes even glued to other text; libdal's hint keeps its
 * words unless the password cannot be one. */
static void
test_redact_long_secrets (void)
{
  const char *pw = "Tr0ub4dor&3x";
  g_autoptr (GError) e = dal_error_new_hint (
    DAL_ERROR_URL_MALFORMED, "Percent-encode Tr0ub4dor&3x",
    "invalid percent-encoding in \"postgresql://u:%%zzTr0ub4dor&3xyz@h/db\"");
  dal_error_set_field (e, DAL_ERROR_FIELD_DETAIL, "keyTr0ub4dor&3xTr0ub4dor&3x1");
  dal_error_redact (e, pw);
  g_assert_cmpstr (e->message, ==,
                   "invalid percent-encoding in \"postgresql://u:%zz****yz@h/db\". "
                   "Percent-encode ****");
  g_assert_cmpstr (dal_error_get_hint (e), ==, "Percent-encode ****");
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_DETAIL), ==, "key********1");

  /* A long plain word: gone from what happened, libdal's hint intact. */
  g_autoptr (GError) w = dal_error_new_hint (
    DAL_ERROR_AUTH_FAILED, "Check the user name and password in the URL",
    "host \"xpasswordsx\": password authentication failed");
  dal_error_redact (w, "passwords");
  g_assert_cmpstr (w->message, ==,
                   "host \"x****x\": password authentication failed. "
                   "Check the user name and password in the URL");
  g_assert_cmpstr (dal_error_get_hint (w), ==, "Check the user name and password in the URL");

  /* Realistic messages with long passwords that are not in them. */
  for (guint i = 0; i < G_N_ELEMENTS (realistic); i++)
    {
      g_autoptr (GError) r = realistic_error (i);
      g_autofree char *before = g_strdup (r->message);
      dal_error_redact (r, "correct horse battery staple");
      dal_error_redact (r, pw);
      g_assert_cmpstr (r->message, ==, before);
    }
}

static void
test_foreign_errors (void)
{
  g_autoptr (GError) io = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                               "Operation was cancelled");
  g_assert_null (dal_error_get_sqlstate (io));
  g_assert_null (dal_error_get_hint (io));
  for (guint f = 0; f < DAL_ERROR_N_FIELDS; f++)
    g_assert_null (dal_error_get_field (io, f));
  g_assert_false (dal_error_is_retryable (io));

  /* NULL is no error at all. */
  g_assert_null (dal_error_get_sqlstate (NULL));
  g_assert_null (dal_error_get_hint (NULL));
  g_assert_false (dal_error_is_retryable (NULL));

  /* A DAL_ERROR made with plain g_set_error still has (empty) extended
   * data. */
  g_autoptr (GError) plain = NULL;
  g_set_error (&plain, DAL_ERROR, DAL_ERROR_BUSY, "busy %d", 1);
  g_assert_null (dal_error_get_hint (plain));
  g_assert_false (dal_error_is_retryable (plain));
  dal_error_set_field (plain, DAL_ERROR_FIELD_SQLSTATE, "40001");
  g_assert_cmpstr (dal_error_get_sqlstate (plain), ==, "40001");
  g_assert_true (dal_error_is_retryable (plain));
}

static void
test_copy (void)
{
  g_autoptr (GError) e = dal_error_new_hint (DAL_ERROR_QUERY_FAILED, "Retry later",
                                             "statement failed");
  for (guint f = 0; f < DAL_ERROR_N_FIELDS; f++)
    {
      g_autofree char *v = g_strdup_printf ("field-%u", f);
      dal_error_set_field (e, f, v);
    }
  dal_error_set_retryable (e, TRUE);

  g_autoptr (GError) copy = g_error_copy (e);
  g_assert_error (copy, DAL_ERROR, DAL_ERROR_QUERY_FAILED);
  g_assert_cmpstr (copy->message, ==, e->message);
  g_assert_cmpstr (dal_error_get_hint (copy), ==, "Retry later");
  g_assert_true (dal_error_is_retryable (copy));
  for (guint f = 0; f < DAL_ERROR_N_FIELDS; f++)
    {
      g_assert_cmpstr (dal_error_get_field (copy, f), ==, dal_error_get_field (e, f));
      /* A deep copy: the strings are not shared. */
      g_assert_true (dal_error_get_field (copy, f) != dal_error_get_field (e, f));
    }

  /* Changing the original leaves the copy alone. */
  dal_error_set_field (e, DAL_ERROR_FIELD_DETAIL, "changed");
  dal_error_set_retryable (e, FALSE);
  dal_error_redact (e, "field");
  g_autofree char *detail = g_strdup_printf ("field-%u", (guint) DAL_ERROR_FIELD_DETAIL);
  g_autofree char *table = g_strdup_printf ("field-%u", (guint) DAL_ERROR_FIELD_TABLE);
  g_autofree char *table_redacted = g_strdup_printf ("****-%u", (guint) DAL_ERROR_FIELD_TABLE);
  g_assert_cmpstr (dal_error_get_field (copy, DAL_ERROR_FIELD_DETAIL), ==, detail);
  g_assert_true (dal_error_is_retryable (copy));
  g_assert_cmpstr (dal_error_get_field (e, DAL_ERROR_FIELD_TABLE), ==, table_redacted);
  g_assert_cmpstr (dal_error_get_field (copy, DAL_ERROR_FIELD_TABLE), ==, table);

  /* Copies of copies, and g_propagate_error keep the data. */
  g_autoptr (GError) copy2 = g_error_copy (copy);
  GError *dest = NULL;
  g_propagate_error (&dest, g_steal_pointer (&copy2));
  g_autofree char *sqlstate = g_strdup_printf ("field-%u", (guint) DAL_ERROR_FIELD_SQLSTATE);
  g_assert_cmpstr (dal_error_get_sqlstate (dest), ==, sqlstate);
  g_assert_cmpstr (dal_error_get_hint (dest), ==, "Retry later");
  g_clear_error (&dest);
}

/* dal_error_dup_what (): the message without its hint, whatever the
 * message ended with before the hint was added. */
static void
test_what (void)
{
  g_autoptr (GError) e = dal_error_new_hint (DAL_ERROR_CONFIG_INVALID,
                                             "Create it", "no file x.conf. ");
  g_assert_cmpstr (e->message, ==, "no file x.conf. Create it");
  g_autofree char *what = dal_error_dup_what (e);
  g_assert_cmpstr (what, ==, "no file x.conf");

  g_autoptr (GError) plain = dal_error_new_hint (DAL_ERROR_FAILED, NULL, "plain.");
  g_autofree char *plain_what = dal_error_dup_what (plain);
  g_assert_cmpstr (plain_what, ==, "plain");

  g_autoptr (GError) other = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED,
                                                  "not ours. Create it");
  g_autofree char *other_what = dal_error_dup_what (other);
  g_assert_cmpstr (other_what, ==, "not ours. Create it");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/errors/code-names", test_code_names);
  g_test_add_func ("/errors/message", test_message);
  g_test_add_func ("/errors/what", test_what);
  g_test_add_func ("/errors/fields", test_fields);
  g_test_add_func ("/errors/retryable", test_retryable);
  g_test_add_func ("/errors/redact", test_redact);
  g_test_add_func ("/errors/redact/short-secrets", test_redact_short_secrets);
  g_test_add_func ("/errors/redact/tokens", test_redact_tokens);
  g_test_add_func ("/errors/redact/long-secrets", test_redact_long_secrets);
  g_test_add_func ("/errors/foreign", test_foreign_errors);
  g_test_add_func ("/errors/copy", test_copy);

  return g_test_run ();
}
