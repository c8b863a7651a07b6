/* dal-openssl-util.c: OpenSSL helpers shared by core's TLS preflight and
 * pgcommon's TLS probe (see dal-openssl-util.h). */
#include "config.h"

#include <time.h>

#include <openssl/bio.h>

#include "dal-openssl-util.h"

#include <openssl/crypto.h>

void
dal_openssl_init_once (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      /* (The first initialisation decides whether the exit handler is
       * registered; a later one with other options only adds those.) */
      OPENSSL_init_crypto (OPENSSL_INIT_NO_ATEXIT, NULL);
      g_once_init_leave (&done, 1);
    }
}

char *
dal_openssl_name_text (const X509_NAME *name)
{
  BIO *bio = BIO_new (BIO_s_mem ());
  if (bio == NULL)
    return g_strdup ("?");
  X509_NAME_print_ex (bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char *data;
  long len = BIO_get_mem_data (bio, &data);
  char *text = g_strndup (data, (gsize) MAX (len, 0));
  BIO_free (bio);
  return text;
}

char *
dal_openssl_time_text (const ASN1_TIME *t)
{
  struct tm tm;
  if (t == NULL || !ASN1_TIME_to_tm (t, &tm))
    return g_strdup ("(unreadable date)");
  return g_strdup_printf ("%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

gint64
dal_openssl_seconds_left (const X509 *cert)
{
  int days = 0, secs = 0;
  if (!ASN1_TIME_diff (&days, &secs, NULL, X509_get0_notAfter (cert)))
    return 0;
  return (gint64) days * 86400 + secs;
}
