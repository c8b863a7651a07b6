/* dal-error-details.c: a DAL_ERROR's details as a boxed value, and each
 * thread's last one, which is how language bindings read them (see
 * DalErrorDetails in dal-error.h).
 *
 * dal-error.c calls _dal_error_details_note() from the DAL_ERROR domain's
 * clear function, so every DAL_ERROR freed on a thread becomes that
 * thread's last error.  A binding frees the GError of a failed call as it
 * raises its exception, after everything libdal did inside the call: the
 * last error is then the exception's. */
#include "config.h"

#include "dal-private.h"

struct _DalErrorDetails
{
  gatomicrefcount refs;
  DalErrorCode code;
  char *message;
  char *what;
  char *hint;
  char *fields[DAL_ERROR_N_FIELDS];
  gboolean retryable;
};

G_DEFINE_BOXED_TYPE (DalErrorDetails, dal_error_details, dal_error_details_ref,
                     dal_error_details_unref)

/* The thread's last DAL_ERROR; a reference, dropped at thread exit. */
static GPrivate last_details =
  G_PRIVATE_INIT ((GDestroyNotify) dal_error_details_unref);

DalErrorDetails *
dal_error_details_new (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  if (error->domain != DAL_ERROR)
    return NULL;

  DalErrorDetails *details = g_new0 (DalErrorDetails, 1);
  g_atomic_ref_count_init (&details->refs);
  details->code = (DalErrorCode) error->code;
  details->message = g_strdup (error->message);
  details->what = dal_error_dup_what (error);
  details->hint = g_strdup (dal_error_get_hint (error));
  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    details->fields[i] = g_strdup (dal_error_get_field (error, (DalErrorField) i));
  details->retryable = dal_error_is_retryable (error);
  return details;
}

void
_dal_error_details_note (const GError *error)
{
  g_private_replace (&last_details, dal_error_details_new (error));
}

DalErrorDetails *
dal_error_details_get_last (void)
{
  DalErrorDetails *details = g_private_get (&last_details);
  return details != NULL ? dal_error_details_ref (details) : NULL;
}

DalErrorDetails *
dal_error_details_ref (DalErrorDetails *details)
{
  g_return_val_if_fail (details != NULL, NULL);
  g_atomic_ref_count_inc (&details->refs);
  return details;
}

void
dal_error_details_unref (DalErrorDetails *details)
{
  if (details == NULL || !g_atomic_ref_count_dec (&details->refs))
    return;
  g_free (details->message);
  g_free (details->what);
  g_free (details->hint);
  for (guint i = 0; i < DAL_ERROR_N_FIELDS; i++)
    g_free (details->fields[i]);
  g_free (details);
}

DalErrorCode
dal_error_details_get_code (const DalErrorDetails *details)
{
  g_return_val_if_fail (details != NULL, DAL_ERROR_FAILED);
  return details->code;
}

const char *
dal_error_details_get_message (const DalErrorDetails *details)
{
  g_return_val_if_fail (details != NULL, NULL);
  return details->message;
}

const char *
dal_error_details_get_sqlstate (const DalErrorDetails *details)
{
  return dal_error_details_get_field (details, DAL_ERROR_FIELD_SQLSTATE);
}

const char *
dal_error_details_get_hint (const DalErrorDetails *details)
{
  g_return_val_if_fail (details != NULL, NULL);
  return details->hint;
}

const char *
dal_error_details_get_what (const DalErrorDetails *details)
{
  g_return_val_if_fail (details != NULL, NULL);
  return details->what;
}

const char *
dal_error_details_get_field (const DalErrorDetails *details,
                             DalErrorField field)
{
  g_return_val_if_fail (details != NULL, NULL);
  g_return_val_if_fail ((guint) field < DAL_ERROR_N_FIELDS, NULL);
  return details->fields[field];
}

gboolean
dal_error_details_is_retryable (const DalErrorDetails *details)
{
  g_return_val_if_fail (details != NULL, FALSE);
  return details->retryable;
}
