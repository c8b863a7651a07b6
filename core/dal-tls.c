/* dal-tls.c: one TLS policy for every plugin, applied by the core before
 * a plugin connects (dal_connection_open_url and _async).
 *
 * The inputs are where the URL's dialect says (DalDialectTls, declared by
 * its plugin: URL options and the environment variables its client
 * library reads), and every message names the dialect's own options.
 *
 *   1. The effective TLS mode.  The URL's (a synonym such as asyncpg's
 *      ssl= is already mapped after parsing), else the client library's
 *      environment, else its default mode.  Hosts under supabase.co /
 *      supabase.com get "require" when nothing asked for a mode,
 *      "verify-full" when a CA (the root_cert input) is
 *      configured; disable, allow or prefer towards them is an error unless
 *      allow_insecure_tls=true.  A protocol floor below TLSv1.2 needs
 *      allow_insecure_tls=true too.
 *   2. A warning (once per host and process) when "prefer" or "allow" can
 *      fall back to plaintext towards a host that is not this machine.
 *   3. The preflight: the CA, client certificate, key and CRL files are
 *      read and parsed with OpenSSL, the key is matched with the
 *      certificate and its permissions checked the way the client library
 *      checks them.
 *      Any problem is a DAL_ERROR_TLS_CONFIG naming the file, the problem
 *      and what to change, before any network activity.  A certificate
 *      that expires within DAL_TLS_EXPIRY_WARNING_DAYS days is reported
 *      once per file and process.
 *   4. The URL handed to the plugin: the caller's, or, when the mode
 *      changed, the same URL with the mode option overridden (written with
 *      the public URL API and parsed again: a later query option wins).
 *
 * Warnings are g_message()s, not g_warning()s: a certificate close to
 * expiry must not abort programs that run with fatal warnings (every
 * GLib test program does).  The exception: a connection that really went
 * without TLS (or below TLSv1.2) because allow_insecure_tls=true let it
 * is a g_warning, once per target (_dal_tls_check_connection, called by
 * the core for every new connection).
 *
 * Nothing here ever logs or puts in an error the URL or the password.
 * The core never calls a client library; the plugin checks the library's
 * version (dal_url_check_client_version, in dal-dialect.c) before it connects.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gio/gio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dal-openssl-util.h"
#include "dal-private.h"

/* -- warnings, once per key and process -- */

static GMutex warned_lock;
static GHashTable *warned;  /* char * keys */

/* TRUE the first time @key is seen in this process. */
static gboolean
first_time (const char *key)
{
  g_mutex_lock (&warned_lock);
  if (warned == NULL)
    warned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gboolean first = !g_hash_table_contains (warned, key);
  if (first)
    g_hash_table_add (warned, g_strdup (key));
  g_mutex_unlock (&warned_lock);
  return first;
}

/**
 * _dal_tls_reset_warnings:
 *
 * Forgets which warnings were given, so that they are given again (tests).
 */
void
_dal_tls_reset_warnings (void)
{
  g_mutex_lock (&warned_lock);
  if (warned != NULL)
    g_hash_table_remove_all (warned);
  g_mutex_unlock (&warned_lock);
}

/* -- what the URL (or the client library's environment) says -- */

/* Where the URL's dialect keeps the policy's inputs (DalDialectTls,
 * declared by its plugin), or NULL: the policy leaves the dialect alone. */
static const DalDialectTls *
tls_of (const DalUrl *url)
{
  const DalDialect *dialect = _dal_dialect_lookup (dal_url_get_dialect (url));
  if (dialect == NULL || dialect->tls == NULL || dialect->tls->mode.option == NULL)
    return NULL;
  return dialect->tls;
}

static gboolean
has_tls_keywords (const DalUrl *url)
{
  return tls_of (url) != NULL;
}

/* One input as the client library sees it: the URL's value (even empty),
 * else the environment variable it reads for it. */
static const char *
tls_setting (const DalUrl *url, gsize offset)
{
  const DalDialectTls *tls = tls_of (url);
  if (tls == NULL)
    return NULL;
  const DalDialectTlsInput *in = G_STRUCT_MEMBER_P (tls, offset);
  const char *v = in->option != NULL ? dal_url_get_option (url, in->option) : NULL;
  if (v != NULL)
    return v;
  return in->env != NULL ? _dal_secure_getenv (in->env) : NULL;
}
#define setting(url, input) \
  tls_setting ((url), G_STRUCT_OFFSET (DalDialectTls, input))

/* How messages name an input: the dialect's option for it, else the
 * environment variable that sets it. */
static const char *
tls_name (const DalUrl *url, gsize offset)
{
  const DalDialectTls *tls = tls_of (url);
  const DalDialectTlsInput *in = tls != NULL ? G_STRUCT_MEMBER_P (tls, offset) : NULL;
  if (in != NULL && in->option != NULL)
    return in->option;
  return in != NULL && in->env != NULL ? in->env : "(not settable)";
}
#define opt(url, input) \
  tls_name ((url), G_STRUCT_OFFSET (DalDialectTls, input))

/* The client library's name, for messages. */
static const char *
library_name (const DalUrl *url)
{
  const DalDialect *dialect = _dal_dialect_find (dal_url_get_dialect (url));
  return dialect != NULL && dialect->client_library != NULL
           ? dialect->client_library : "the client library";
}

/* A file in the client library's default folder (NULL: it has none). */
static char *
default_file (const DalUrl *url, gsize offset)
{
  const DalDialectTls *tls = tls_of (url);
  const char *name = tls != NULL ? G_STRUCT_MEMBER (const char *, tls, offset) : NULL;
  if (name == NULL || tls->default_dir == NULL)
    return NULL;
  return g_build_filename (g_get_home_dir (), tls->default_dir, name, NULL);
}
#define default_file(url, field) \
  default_file ((url), G_STRUCT_OFFSET (DalDialectTls, field))

/* Whether a default file exists (NULL: the dialect has none). */
static gboolean
exists (const char *path)
{
  return path != NULL && g_file_test (path, G_FILE_TEST_EXISTS);
}

/* " and the default <what> \"<path>\" does not exist", or, for a
 * dialect without that default, " (<library> has no default <what>)". */
static char *
no_default (const DalUrl *url, const char *what, const char *path)
{
  if (path != NULL)
    return g_strdup_printf (" and the default %s \"%s\" does not exist", what, path);
  return g_strdup_printf (" (%s has no default %s)", library_name (url), what);
}

static gboolean
is_set (const char *s)
{
  return s != NULL && *s != '\0';
}

static gboolean
parse_true (const char *value)
{
  static const char * const words[] = { "true", "1", "yes", "on", NULL };
  for (guint i = 0; value != NULL && words[i] != NULL; i++)
    if (g_ascii_strcasecmp (value, words[i]) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
insecure_allowed (const DalUrl *url)
{
  return parse_true (dal_url_get_option (url, "allow_insecure_tls"));
}

/**
 * _dal_tls_host_is_supabase:
 * @host: (nullable): a host name
 *
 * Returns: whether @host is supabase.co or supabase.com or a name under
 *   them (case-insensitive, a final dot allowed).
 */
gboolean
_dal_tls_host_is_supabase (const char *host)
{
  return dal_hostname_has_suffix (host, "supabase.co")
         || dal_hostname_has_suffix (host, "supabase.com");
}

/**
 * _dal_tls_host_is_local:
 * @host: (nullable): a host name, an IP address, a Unix socket directory,
 *   or %NULL / "" for the client library's default (the Unix socket)
 *
 * Returns: whether a connection to @host stays on this machine: a Unix
 *   socket, "localhost", or a loopback address.  No name is resolved.
 */
gboolean
_dal_tls_host_is_local (const char *host)
{
  if (!is_set (host) || host[0] == '/' || host[0] == '@')
    return TRUE;
  if (g_ascii_strcasecmp (host, "localhost") == 0
      || g_ascii_strcasecmp (host, "localhost.") == 0)
    return TRUE;
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (host);
  return address != NULL && g_inet_address_get_is_loopback (address);
}

typedef struct
{
  char *name;   /* host as written, or "" */
  char *addr;   /* hostaddr, or NULL */
} Target;

static void
target_clear (Target *t)
{
  g_free (t->name);
  g_free (t->addr);
}

/* The hosts the client library will try: host and host address, entry by
 * entry. */
static GArray *
targets_get (const DalUrl *url)
{
  const char *hosts = setting (url, host);
  const char *addrs = setting (url, host_address);
  g_auto (GStrv) h = g_strsplit (hosts != NULL ? hosts : "", ",", -1);
  g_auto (GStrv) a = is_set (addrs) ? g_strsplit (addrs, ",", -1) : NULL;
  guint nh = g_strv_length (h), na = a != NULL ? g_strv_length (a) : 0;
  guint n = MAX (MAX (nh, na), 1);

  GArray *targets = g_array_sized_new (FALSE, TRUE, sizeof (Target), n);
  g_array_set_clear_func (targets, (GDestroyNotify) target_clear);
  for (guint i = 0; i < n; i++)
    {
      Target t = {
        .name = g_strdup (i < nh ? h[i] : ""),
        .addr = i < na && is_set (a[i]) ? g_strdup (a[i]) : NULL,
      };
      g_array_append_val (targets, t);
    }
  return targets;
}

static gboolean
target_is_local (const Target *t)
{
  return t->addr != NULL ? _dal_tls_host_is_local (t->addr)
                         : _dal_tls_host_is_local (t->name);
}

/* The first Supabase host name among the targets, or NULL. */
static const char *
supabase_host (GArray *targets)
{
  for (guint i = 0; i < targets->len; i++)
    {
      const Target *t = &g_array_index (targets, Target, i);
      if (_dal_tls_host_is_supabase (t->name))
        return t->name;
    }
  return NULL;
}

static gboolean
mode_is_insecure (const char *mode)
{
  return strcmp (mode, "disable") == 0 || strcmp (mode, "allow") == 0
         || strcmp (mode, "prefer") == 0;
}

static gboolean
mode_verifies (const char *mode)
{
  return g_str_has_prefix (mode, "verify-");
}

/* TLSv1 < TLSv1.1 < TLSv1.2 < TLSv1.3; -1 for anything else. */
static int
protocol_rank (const char *version)
{
  static const char * const versions[] = { "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", NULL };
  for (int i = 0; version != NULL && versions[i] != NULL; i++)
    if (strcmp (version, versions[i]) == 0)
      return i;
  return -1;
}

/* The policy's decision, without I/O or logging. */
typedef struct
{
  char *mode;            /* the effective TLS mode */
  gboolean changed;      /* differs from what the URL and environment say */
  gboolean from_default; /* nobody asked: the client library's default */
  /* What allow_insecure_tls=true let through (the policy refuses it
   * otherwise): an insecure mode towards Supabase; a floor below TLSv1.2. */
  gboolean allowed_insecure_mode;
  gboolean allowed_weak_floor;
} Decision;

static gboolean
decide (const DalUrl *url, GArray *targets, Decision *out, GError **error)
{
  const char *given = setting (url, mode);
  const char *sb_host = supabase_host (targets);
  gboolean insecure_ok = insecure_allowed (url);

  out->changed = FALSE;
  out->from_default = !is_set (given);
  out->allowed_insecure_mode = FALSE;
  out->allowed_weak_floor = FALSE;
  if (!is_set (given))
    {
      if (sb_host != NULL)
        {
          const char *root = setting (url, root_cert);
          out->mode = g_strdup (is_set (root) ? "verify-full" : "require");
          out->changed = TRUE;
        }
      else
        out->mode = g_strdup (tls_of (url)->default_mode != NULL
                                ? tls_of (url)->default_mode : "prefer");
    }
  else if (sb_host != NULL && mode_is_insecure (given) && !insecure_ok)
    {
      const char *mode = opt (url, mode);
      g_autofree char *hint = g_strdup_printf (
        "Remove %s from the URL (libdal then uses require), or better "
        "use %s=verify-full with %s=<the Supabase CA file>; "
        "only if an unencrypted connection is really acceptable, add "
        "allow_insecure_tls=true", mode, mode, opt (url, root_cert));
      g_propagate_error (error, dal_error_new_hint (
        DAL_ERROR_TLS_CONFIG, hint,
        "%s=%s towards %s %s", mode, given, sb_host,
        strcmp (given, "disable") == 0
          ? "would send everything, the password included, unencrypted"
          : "lets the connection, the password included, go unencrypted "
            "when TLS cannot be set up (Supabase always offers TLS)"));
      return FALSE;
    }
  else
    {
      out->mode = g_strdup (given);
      out->allowed_insecure_mode = sb_host != NULL && mode_is_insecure (given);
    }

  if (strcmp (out->mode, "disable") != 0)
    {
      const char *min = setting (url, min_protocol);
      const char *max = setting (url, max_protocol);
      int min_rank = is_set (min) ? protocol_rank (min) : protocol_rank ("TLSv1.2");

      if (is_set (min) && min_rank >= 0 && min_rank < protocol_rank ("TLSv1.2")
          && !insecure_ok)
        {
          g_autofree char *hint = g_strdup_printf (
            "Remove %s (libdal's floor is TLSv1.2) or "
            "set it to TLSv1.2 or TLSv1.3; only for a server that cannot do "
            "better, add allow_insecure_tls=true", opt (url, min_protocol));
          g_propagate_error (error, dal_error_new_hint (
            DAL_ERROR_TLS_CONFIG, hint,
            "%s=%s allows TLS versions with known "
            "weaknesses", opt (url, min_protocol), min));
          g_clear_pointer (&out->mode, g_free);
          return FALSE;
        }
      out->allowed_weak_floor = is_set (min) && min_rank >= 0
                                && min_rank < protocol_rank ("TLSv1.2");
      if (is_set (max) && protocol_rank (max) >= 0 && min_rank >= 0
          && protocol_rank (max) < min_rank)
        {
          g_autofree char *hint = g_strdup_printf ("Raise %s, or remove it",
                                                   opt (url, max_protocol));
          g_propagate_error (error, dal_error_new_hint (
            DAL_ERROR_TLS_CONFIG, hint,
            "%s=%s is below the minimum protocol "
            "version %s: no TLS version is left", opt (url, max_protocol), max,
            is_set (min) ? min : "TLSv1.2"));
          g_clear_pointer (&out->mode, g_free);
          return FALSE;
        }
    }
  return TRUE;
}

/**
 * _dal_tls_effective_mode:
 * @url: a DalUrl
 * @error: return location for a DAL_ERROR_TLS_CONFIG error
 *
 * The policy's decision alone: no file is read, nothing is logged.
 *
 * Returns: (transfer full) (nullable): the TLS mode the plugin will use
 *   for @url (DalDialectTls.default_mode when nothing says otherwise),
 *   or %NULL on error.  For a dialect without a DalDialectTls, %NULL
 *   without an error.
 */
char *
_dal_tls_effective_mode (const DalUrl *url, GError **error)
{
  g_return_val_if_fail (url != NULL, NULL);
  if (!has_tls_keywords (url))
    return NULL;
  g_autoptr (GArray) targets = targets_get (url);
  Decision d;
  if (!decide (url, targets, &d, error))
    return NULL;
  return d.mode;
}

/* -- the preflight -- */

/* The OpenSSL reason for the last error, or @fallback. */
static const char *
openssl_reason (const char *fallback)
{
  unsigned long e = ERR_peek_last_error ();
  const char *r = e != 0 ? ERR_reason_error_string (e) : NULL;
  return r != NULL ? r : fallback;
}

static GError *
config_error (const char *hint, const char *format, ...) G_GNUC_PRINTF (2, 3);

static GError *
config_error (const char *hint, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);
  return dal_error_new_hint (DAL_ERROR_TLS_CONFIG, hint, "%s", what);
}

/* A file's role for messages, with the option that names it: @what
 * "the CA file" becomes "the CA file (<the dialect's root_cert option>)". */
static char *
file_role (const DalUrl *url, gsize offset, const char *what)
{
  return g_strdup_printf ("%s (%s)", what, tls_name (url, offset));
}
#define role_of(url, input, what) \
  file_role ((url), G_STRUCT_OFFSET (DalDialectTls, input), (what))

/* Reads @path whole; on failure a TLS_CONFIG error for the @role file
 * (role_of()). */
static gboolean
read_file (const char *path, const char *role, const char *hint,
           char **contents, gsize *length, GError **error)
{
  g_autoptr (GError) local = NULL;
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_propagate_error (error, config_error (hint, "%s \"%s\" is a directory, not a file",
                                              role, path));
      return FALSE;
    }
  if (!g_file_get_contents (path, contents, length, &local))
    {
      const char *why = g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                          ? "does not exist"
                          : g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_ACCES)
                              ? "cannot be read (permission denied)"
                              : "cannot be read";
      g_propagate_error (error, config_error (hint, "%s \"%s\" %s", role, path, why));
      return FALSE;
    }
  return TRUE;
}

/* The certificates in a PEM file; NULL (and an error) when there is none. */
static STACK_OF (X509) *
read_certificates (const char *path, const char *role, const char *hint, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!read_file (path, role, hint, &data, &len, error))
    return NULL;

  dal_openssl_init_once ();
  ERR_clear_error ();
  BIO *bio = BIO_new_mem_buf (data, (int) MIN (len, G_MAXINT));
  STACK_OF (X509_INFO) *infos = PEM_X509_INFO_read_bio (bio, NULL, NULL, NULL);
  BIO_free (bio);
  if (infos == NULL)
    {
      const char *reason = openssl_reason ("unreadable PEM data");
      g_propagate_error (error, config_error (hint, "%s \"%s\" is not a valid PEM "
                                              "certificate file (%s)", role, path, reason));
      ERR_clear_error ();
      return NULL;
    }
  STACK_OF (X509) *certs = sk_X509_new_null ();
  for (int i = 0; i < sk_X509_INFO_num (infos); i++)
    {
      X509_INFO *info = sk_X509_INFO_value (infos, i);
      if (info->x509 != NULL)
        {
          sk_X509_push (certs, info->x509);
          info->x509 = NULL;
        }
    }
  sk_X509_INFO_pop_free (infos, X509_INFO_free);
  ERR_clear_error ();
  if (sk_X509_num (certs) == 0)
    {
      sk_X509_free (certs);
      g_propagate_error (error, config_error (
        hint, "%s \"%s\" contains no PEM certificate (\"-----BEGIN "
        "CERTIFICATE-----\"); a DER file can be converted with: openssl x509 "
        "-inform DER -in FILE -out FILE.pem", role, path));
      return NULL;
    }
  return certs;
}

static void
free_certificates (STACK_OF (X509) *certs)
{
  sk_X509_pop_free (certs, X509_free);
}

/* Reports, once per file and process, a certificate close to expiry. */
static void
warn_expiry (const char *path, const char *role, X509 *cert, gint64 left)
{
  if (left >= (gint64) DAL_TLS_EXPIRY_WARNING_DAYS * 86400)
    return;
  g_autofree char *subject = dal_openssl_name_text (X509_get_subject_name (cert));
  g_autofree char *key = g_strdup_printf ("expiry:%s:%s", path, subject);
  if (!first_time (key))
    return;
  g_autofree char *when = dal_openssl_time_text (X509_get0_notAfter (cert));
  if (left < 0)
    g_message ("TLS: the certificate \"%s\" in %s \"%s\" expired on %s; "
               "remove it from the file or replace it", subject, role, path, when);
  else
    g_message ("TLS: the certificate \"%s\" in %s \"%s\" expires on %s "
               "(in %" G_GINT64_FORMAT " days): renew it before then",
               subject, role, path, when, left / 86400);
}

static gboolean
check_ca_file (const DalUrl *url, const char *path, GError **error)
{
  g_autofree char *role = role_of (url, root_cert, "the CA file");
  g_autofree char *hint = g_strdup_printf (
    "Point %s at the PEM file of the CA that signed the server's "
    "certificate (for Supabase, the CA certificate downloaded from the "
    "dashboard)", opt (url, root_cert));
  STACK_OF (X509) *certs = read_certificates (path, role, hint, error);
  if (certs == NULL)
    return FALSE;

  int n = sk_X509_num (certs), n_expired = 0;
  for (int i = 0; i < n; i++)
    if (dal_openssl_seconds_left (sk_X509_value (certs, i)) < 0)
      n_expired++;
  if (n_expired == n)
    {
      X509 *cert = sk_X509_value (certs, 0);
      g_autofree char *subject = dal_openssl_name_text (X509_get_subject_name (cert));
      g_autofree char *when = dal_openssl_time_text (X509_get0_notAfter (cert));
      g_autofree char *renew = g_strdup_printf (
        "Download the current CA certificate (for Supabase, from the dashboard) "
        "and point %s at it", opt (url, root_cert));
      g_propagate_error (error, config_error (
        renew, "%s \"%s\" has only expired certificates (\"%s\" expired on %s): no "
        "server certificate can verify against it", role, path, subject, when));
      free_certificates (certs);
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      X509 *cert = sk_X509_value (certs, i);
      warn_expiry (path, role, cert, dal_openssl_seconds_left (cert));
    }
  free_certificates (certs);
  return TRUE;
}

static int
password_cb (char *buf, int size, int rwflag, void *user_data)
{
  const char *password = user_data;
  if (password == NULL || size <= 0)
    return 0;
  int len = (int) MIN (strlen (password), (gsize) size);
  memcpy (buf, password, (gsize) len);
  return len;
}

/* The permission rule client libraries apply to key files: no group or
 * world access, but group read for a file owned by root. */
static gboolean
check_key_permissions (const DalUrl *url, const char *path, const char *role,
                       GError **error)
{
  GStatBuf st;
  if (g_stat (path, &st) != 0)
    return TRUE;  /* read_file reports it */
  if (!S_ISREG (st.st_mode))
    {
      g_autofree char *hint = g_strdup_printf (
        "Point %s at the private key file of %s", opt (url, key), opt (url, cert));
      g_propagate_error (error, config_error (
        hint, "%s \"%s\" is not a regular file", role, path));
      return FALSE;
    }
  mode_t bad = st.st_uid == 0 ? (S_IWGRP | S_IXGRP | S_IRWXO) : (S_IRWXG | S_IRWXO);
  if ((st.st_mode & bad) != 0)
    {
      g_autofree char *hint = g_strdup_printf (
        "Run chmod 600 \"%s\" (%s refuses a key that others can read: "
        "0600 or less for a file owned by the user, 0640 or less for one "
        "owned by root)", path, library_name (url));
      g_propagate_error (error, config_error (
        hint, "%s \"%s\" has group or world access "
        "(mode %04o)", role, path, (guint) (st.st_mode & 07777)));
      return FALSE;
    }
  return TRUE;
}

static EVP_PKEY *
read_key (const DalUrl *url, const char *path, const char *password,
          GError **error)
{
  const char *pass = opt (url, key_password);
  g_autofree char *role = role_of (url, key, "the private key file");
  g_autofree char *hint = g_strdup_printf (
    "Point %s at the private key (PEM or DER) that belongs to the "
    "certificate in %s", opt (url, key), opt (url, cert));
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!read_file (path, role, hint, &data, &len, error))
    return NULL;
  if (!check_key_permissions (url, path, role, error))
    return NULL;

  gboolean encrypted = strstr (data, "ENCRYPTED") != NULL;
  if (encrypted && !is_set (password))
    {
      g_autofree char *give = g_strdup_printf (
        "Give the key's passphrase as %s in the URL, or decrypt the "
        "key (openssl pkey -in KEY -out KEY.plain)", pass);
      g_propagate_error (error, config_error (
        give, "%s \"%s\" is encrypted and the URL has no %s", role, path,
        pass));
      return NULL;
    }

  ERR_clear_error ();
  BIO *bio = BIO_new_mem_buf (data, (int) MIN (len, G_MAXINT));
  EVP_PKEY *key = PEM_read_bio_PrivateKey (bio, NULL, password_cb, (void *) password);
  if (key == NULL)
    {
      /* The client library also takes a DER key. */
      BIO_free (bio);
      bio = BIO_new_mem_buf (data, (int) MIN (len, G_MAXINT));
      key = d2i_PrivateKey_bio (bio, NULL);
    }
  BIO_free (bio);
  if (key == NULL)
    {
      if (encrypted)
        {
          g_autofree char *check = g_strdup_printf (
            "Check %s: it must be the passphrase of the key in %s", pass,
            opt (url, key));
          g_propagate_error (error, config_error (
            check, "%s \"%s\" could not be decrypted with %s", role, path,
            pass));
        }
      else
        g_propagate_error (error, config_error (hint, "%s \"%s\" holds no "
                                                "private key OpenSSL can read",
                                                role, path));
      ERR_clear_error ();
      return NULL;
    }
  ERR_clear_error ();
  return key;
}

static gboolean
check_client_certificate (const DalUrl *url, const char *cert_path,
                          const char *key_path, const char *password,
                          GError **error)
{
  g_autofree char *role = role_of (url, cert, "the client certificate file");
  g_autofree char *hint = g_strdup_printf (
    "Point %s at your client certificate (PEM)", opt (url, cert));
  STACK_OF (X509) *certs = read_certificates (cert_path, role, hint, error);
  if (certs == NULL)
    return FALSE;

  X509 *leaf = sk_X509_value (certs, 0);
  gint64 left = dal_openssl_seconds_left (leaf);
  if (left < 0)
    {
      g_autofree char *subject = dal_openssl_name_text (X509_get_subject_name (leaf));
      g_autofree char *when = dal_openssl_time_text (X509_get0_notAfter (leaf));
      g_autofree char *renew = g_strdup_printf (
        "Get a new client certificate and point %s at it", opt (url, cert));
      g_propagate_error (error, config_error (
        renew, "%s \"%s\" (\"%s\") expired on %s", role, cert_path, subject,
        when));
      free_certificates (certs);
      return FALSE;
    }
  warn_expiry (cert_path, role, leaf, left);

  EVP_PKEY *key = read_key (url, key_path, password, error);
  if (key == NULL)
    {
      free_certificates (certs);
      return FALSE;
    }
  ERR_clear_error ();
  gboolean match = X509_check_private_key (leaf, key) == 1;
  ERR_clear_error ();
  EVP_PKEY_free (key);
  if (!match)
    {
      g_autofree char *subject = dal_openssl_name_text (X509_get_subject_name (leaf));
      const char *k = opt (url, key), *c = opt (url, cert);
      g_autofree char *fix = g_strdup_printf (
        "Point %s at the private key the certificate was made for (or "
        "%s at the certificate of this key)", k, c);
      g_propagate_error (error, config_error (
        fix, "the private key \"%s\" (%s) does not belong to the client "
        "certificate \"%s\" (%s, \"%s\")", key_path, k, cert_path, c, subject));
      free_certificates (certs);
      return FALSE;
    }
  free_certificates (certs);
  return TRUE;
}

static gboolean
check_crl_file (const DalUrl *url, const char *path, GError **error)
{
  g_autofree char *role = role_of (url, crl, "the revocation list file");
  g_autofree char *hint = g_strdup_printf (
    "Point %s at a PEM file of certificate revocation lists, or remove %s",
    opt (url, crl), opt (url, crl));
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!read_file (path, role, hint, &data, &len, error))
    return FALSE;
  ERR_clear_error ();
  BIO *bio = BIO_new_mem_buf (data, (int) MIN (len, G_MAXINT));
  STACK_OF (X509_INFO) *infos = PEM_X509_INFO_read_bio (bio, NULL, NULL, NULL);
  BIO_free (bio);
  int n_crls = 0;
  for (int i = 0; infos != NULL && i < sk_X509_INFO_num (infos); i++)
    if (sk_X509_INFO_value (infos, i)->crl != NULL)
      n_crls++;
  if (infos != NULL)
    sk_X509_INFO_pop_free (infos, X509_INFO_free);
  ERR_clear_error ();
  if (n_crls == 0)
    {
      g_propagate_error (error, config_error (hint, "%s \"%s\" contains no PEM "
                                              "CRL (\"-----BEGIN X509 CRL-----\")",
                                              role, path));
      return FALSE;
    }
  return TRUE;
}

/**
 * _dal_tls_preflight:
 * @url: a DalUrl
 * @mode: the effective TLS mode (_dal_tls_effective_mode())
 * @error: return location for a DAL_ERROR_TLS_CONFIG error
 *
 * Reads and checks, with OpenSSL, every TLS file the client library will
 * use for @url under @mode: the CA file (the root_cert input, or the
 * client library's default file), the client certificate and key (or
 * the defaults when they exist), the CRL file and folder.  No network
 * activity.  Gives the expiry warnings.  A root_cert of "system" is left
 * to the plugin (dal_url_check_client_version).
 *
 * Returns: %TRUE when every file is usable.
 */
gboolean
_dal_tls_preflight (const DalUrl *url, const char *mode, GError **error)
{
  g_return_val_if_fail (url != NULL, FALSE);
  g_return_val_if_fail (mode != NULL, FALSE);

  if (!has_tls_keywords (url) || strcmp (mode, "disable") == 0)
    return TRUE;

  /* The CA. */
  const char *root = setting (url, root_cert);
  if (g_strcmp0 (root, "system") == 0)
    ;
  else if (is_set (root))
    {
      if (!check_ca_file (url, root, error))
        return FALSE;
    }
  else
    {
      g_autofree char *def = default_file (url, default_root_cert);
      if (exists (def))
        {
          if (!check_ca_file (url, def, error))
            return FALSE;
        }
      else if (mode_verifies (mode))
        {
          const char *ca = opt (url, root_cert);
          g_autofree char *hint = g_strdup_printf (
            "Add %s=<CA file> to the URL (the PEM file of the CA that "
            "signed the server's certificate; for Supabase, downloaded from the "
            "dashboard), or use %s=require to encrypt without verifying",
            ca, opt (url, mode));
          g_autofree char *none = no_default (url, "CA file", def);
          g_propagate_error (error, config_error (hint,
            "%s=%s needs the CA that signed the server's certificate, but "
            "the URL has no %s%s", opt (url, mode), mode, ca, none));
          return FALSE;
        }
    }

  /* The client certificate and its key. */
  const char *cert = setting (url, cert);
  const char *key = setting (url, key);
  const char *password = setting (url, key_password);
  g_autofree char *cert_path = NULL;
  g_autofree char *key_path = NULL;
  if (is_set (cert))
    cert_path = g_strdup (cert);
  else
    {
      g_autofree char *def = default_file (url, default_cert);
      if (exists (def))
        cert_path = g_steal_pointer (&def);
    }
  /* "engine:keyid" keys (OpenSSL engines) are left to the client library. */
  gboolean engine_key = is_set (key) && strchr (key, ':') != NULL
                        && !g_file_test (key, G_FILE_TEST_EXISTS);
  if (is_set (key))
    key_path = g_strdup (key);
  else
    key_path = default_file (url, default_key);

  if (cert_path == NULL && is_set (key) && !engine_key)
    {
      g_autofree char *hint = g_strdup_printf (
        "Add %s=<client certificate file> next to %s, or remove %s",
        opt (url, cert), opt (url, key), opt (url, key));
      g_propagate_error (error, config_error (hint,
        "the URL gives a private key (%s \"%s\") but no client certificate "
        "(%s), so the key would not be used", opt (url, key), key,
        opt (url, cert)));
      return FALSE;
    }
  if (cert_path != NULL && !engine_key)
    {
      if (!is_set (key) && !exists (key_path))
        {
          g_autofree char *hint = g_strdup_printf (
            "Add %s=<private key file> to the URL", opt (url, key));
          g_autofree char *none = no_default (url, "key file", key_path);
          g_propagate_error (error, config_error (hint,
            "the client certificate \"%s\" (%s) has no private key: the URL "
            "has no %s%s", cert_path, opt (url, cert), opt (url, key), none));
          return FALSE;
        }
      if (!check_client_certificate (url, cert_path, key_path, password, error))
        return FALSE;
    }

  /* Revocation lists. */
  const char *crl = setting (url, crl);
  if (is_set (crl) && !check_crl_file (url, crl, error))
    return FALSE;
  const char *crldir = setting (url, crl_dir);
  if (is_set (crldir) && !g_file_test (crldir, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *hint = g_strdup_printf (
        "Point %s at a directory of hashed CRL files (openssl rehash), "
        "or remove it", opt (url, crl_dir));
      g_propagate_error (error, config_error (hint,
        "the revocation list directory (%s) \"%s\" is not a directory",
        opt (url, crl_dir), crldir));
      return FALSE;
    }
  return TRUE;
}

/* -- putting it together -- */

/* Overwrites @text before it is freed (it may hold the password). */
static void
wipe_free (char *text)
{
  if (text == NULL)
    return;
  volatile char *p = text;
  while (*p != '\0')
    *p++ = '\0';
  g_free (text);
}

/* @url with its dialect's mode option set to @mode: written with the
 * public API and parsed again (a query option given later wins). */
static DalUrl *
url_with_mode (const DalUrl *url, const char *mode, GError **error)
{
  char *text = dal_url_to_string (url);
  char *with = g_strdup_printf ("%s%c%s=%s", text,
                                strchr (text, '?') != NULL ? '&' : '?',
                                opt (url, mode), mode);
  wipe_free (text);
  DalUrl *out = dal_url_parse (with, error);
  wipe_free (with);
  return out;
}

/* One message per host and process when the mode can fall back to
 * plaintext towards a host that is not this machine. */
static void
warn_plaintext_fallback (const DalUrl *url, GArray *targets, const Decision *d)
{
  if (strcmp (d->mode, "prefer") != 0 && strcmp (d->mode, "allow") != 0)
    return;
  if (insecure_allowed (url))
    return;
  for (guint i = 0; i < targets->len; i++)
    {
      const Target *t = &g_array_index (targets, Target, i);
      if (target_is_local (t))
        continue;
      const char *host = is_set (t->name) ? t->name : t->addr;
      g_autofree char *key = g_strdup_printf ("fallback:%s:%s", d->mode, host);
      if (!first_time (key))
        continue;
      const char *name = opt (url, mode);
      g_autofree char *why = d->from_default
        ? g_strdup_printf (" (%s's default: the URL sets no %s)",
                           library_name (url), name)
        : g_strdup ("");
      g_message ("TLS: %s=%s%s towards %s can fall back to an unencrypted "
                 "connection (password included) if TLS cannot be set up; set "
                 "%s=verify-full with %s=<CA file> (or at least "
                 "%s=require) in the URL, or add allow_insecure_tls=true to "
                 "accept this and silence this message", name, d->mode, why,
                 host, name, opt (url, root_cert), name);
    }
}

/**
 * _dal_tls_apply:
 * @url: the caller's URL
 * @error: return location for a DAL_ERROR_TLS_CONFIG error
 *
 * The whole policy, as the core runs it before a plugin connects: the
 * effective TLS mode, the plaintext warning, the preflight.
 *
 * Returns: (transfer full) (nullable): the URL to hand to the plugin (@url
 *   itself with a new reference when nothing changes), or %NULL.
 */
DalUrl *
_dal_tls_apply (DalUrl *url, GError **error)
{
  g_return_val_if_fail (url != NULL, NULL);
  if (!has_tls_keywords (url))
    return dal_url_ref (url);

  g_autoptr (GArray) targets = targets_get (url);
  Decision d;
  if (!decide (url, targets, &d, error))
    return NULL;
  g_autofree char *mode = d.mode;

  warn_plaintext_fallback (url, targets, &d);
  if (!_dal_tls_preflight (url, mode, error))
    return NULL;
  if (!d.changed)
    return dal_url_ref (url);
  return url_with_mode (url, mode, error);
}

/* -- after connecting -- */

/**
 * _dal_tls_check_connection:
 * @url: the caller's URL
 * @get_info: (nullable): the plugin's get_info
 * @handle: the plugin's new connection
 *
 * Once a connection is made: when allow_insecure_tls=true let through
 * what the policy refuses and the connection really is that way (no TLS
 * towards a Supabase host; a TLS version below TLSv1.2), one g_warning
 * per target (host:port, the host without case) and process.  The URL
 * and the password are never logged: the target is what the plugin
 * says it connected to.
 */
void
_dal_tls_check_connection (const DalUrl *url,
                           char *(*get_info) (gpointer handle, const char *key),
                           gpointer handle)
{
  g_return_if_fail (url != NULL);
  if (get_info == NULL || !has_tls_keywords (url) || !insecure_allowed (url))
    return;

  g_autoptr (GArray) targets = targets_get (url);
  Decision d;
  if (!decide (url, targets, &d, NULL))
    return;
  g_autofree char *mode = d.mode;
  if (!d.allowed_insecure_mode && !d.allowed_weak_floor)
    return;

  g_autofree char *tls = get_info (handle, "tls");
  g_autofree char *host = get_info (handle, "host");
  g_autofree char *port = get_info (handle, "port");
  if (tls == NULL || host == NULL || host[0] == '/' || host[0] == '@')
    return;  /* the plugin cannot say, or a Unix socket: nothing crossed a network */

  g_autofree char *what = NULL;
  if (d.allowed_insecure_mode && strcmp (tls, "off") == 0)
    what = g_strdup_printf ("go without TLS (%s=%s), which libdal refuses "
                            "towards Supabase hosts: the password and every "
                            "query crossed the network unencrypted. Remove "
                            "%s and allow_insecure_tls from the URL to "
                            "use TLS", opt (url, mode), mode, opt (url, mode));
  else if (d.allowed_weak_floor && strcmp (tls, "on") == 0)
    {
      g_autofree char *protocol = get_info (handle, "tls_protocol");
      int rank = protocol_rank (protocol);
      if (rank >= 0 && rank < protocol_rank ("TLSv1.2"))
        what = g_strdup_printf ("use %s, below libdal's floor TLSv1.2 (a TLS "
                                "version with known weaknesses). Enable "
                                "TLSv1.2 or later on the server, then remove "
                                "%s and allow_insecure_tls from the URL",
                                protocol, opt (url, min_protocol));
    }
  if (what == NULL)
    return;

  g_autofree char *lower = g_ascii_strdown (host, -1);
  g_autofree char *key = g_strdup_printf ("insecure:%s:%s", lower,
                                          port != NULL ? port : "");
  if (!first_time (key))
    return;
  g_warning ("TLS: allow_insecure_tls=true let the connection to %s%s%s %s "
             "(logged once per host and port)", host,
             port != NULL ? ":" : "", port != NULL ? port : "", what);
}
