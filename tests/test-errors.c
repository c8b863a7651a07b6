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
};
#undef CODE

/* The last code of the enum: a new code must be added to the table above
 * (and this line), never inserted. */
#define LAST_CODE DAL_ERROR_TYPE_MISMATCH

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
                          || c == DAL_ERROR_QUERY_TIMEOUT;
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
  const char *secret = "s3cr3t";
  g_autoptr (GError) e = dal_error_new_hint (DAL_ERROR_AUTH_FAILED,
                                             "Do not write s3cr3t into hints",
                                             "password s3cr3t (s3cr3ts3cr3t) was wrong");
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/errors/code-names", test_code_names);
  g_test_add_func ("/errors/message", test_message);
  g_test_add_func ("/errors/fields", test_fields);
  g_test_add_func ("/errors/retryable", test_retryable);
  g_test_add_func ("/errors/redact", test_redact);
  g_test_add_func ("/errors/foreign", test_foreign_errors);
  g_test_add_func ("/errors/copy", test_copy);

  return g_test_run ();
}
