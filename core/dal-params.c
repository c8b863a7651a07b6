/* dal-params.c: query parameters, from a GVariant to the flat arrays a
 * plugin sends (values always travel apart from the SQL text).
 *
 * One allocation per call: the arrays and the text of numbers live in one
 * block; strings and byte arrays point into the GVariant, which is kept
 * alive (with the children we took values from) until the call ends. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "dal-private.h"

#define NUMBER_TEXT_MAX 32  /* "-9223372036854775808", "%.17g" of a double */

struct _DalParamsOwned
{
  DalParams pub;
  GVariant *root;
  GVariant **children;   /* [n]: the leaf each value came from (owned) */
  DalParamType *types;
  const char **values;
  int *lengths;
  char *numbers;         /* [n * NUMBER_TEXT_MAX] */
  gboolean in_arena;     /* texts only, in someone's arena: not freed here */
};

/* Decimal text of @v into @buf (NUMBER_TEXT_MAX); returns its length.
 * (g_snprintf costs ~700 instructions a number: this runs per parameter.) */
static gsize
format_uint64 (char *buf, guint64 v, gboolean negative)
{
  char tmp[NUMBER_TEXT_MAX];
  gsize n = 0;
  do
    {
      tmp[n++] = (char) ('0' + v % 10);
      v /= 10;
    }
  while (v != 0);
  gsize len = 0;
  if (negative)
    buf[len++] = '-';
  while (n > 0)
    buf[len++] = tmp[--n];
  buf[len] = '\0';
  return len;
}

static gsize
format_int64 (char *buf, gint64 v)
{
  /* The magnitude of G_MININT64 does not fit a gint64: negate unsigned. */
  return v < 0 ? format_uint64 (buf, -(guint64) v, TRUE)
               : format_uint64 (buf, (guint64) v, FALSE);
}

/* GLib (2.74 at least) frees a container type's GVariantTypeInfo as soon as
 * no value of that type is alive, and the table of them when it is empty.
 * A caller who builds its parameters inline (g_variant_new ("(i)", id))
 * and hands them over has no value of the type left once libdal drops
 * them: every statement then builds the type info in g_variant_new() and
 * tears it down here, some 3,000 instructions under GLib's global lock.
 * An empty value of each of the few most recently used parameter types is
 * kept to keep their type infos alive (a value of a type holds its
 * type's info, and a tuple's the info of its members). */
#define TYPE_KEEPERS 8
static GMutex keepers_lock;
static GVariant *keepers[TYPE_KEEPERS];  /* most recently used first */

static void
keep_type_of (GVariant *value)
{
  const GVariantType *type = g_variant_get_type (value);
  if (g_variant_type_is_basic (type))
    return;  /* basic types' infos are static */

  g_mutex_lock (&keepers_lock);
  /* A live type's info is unique: its type string is one pointer. */
  guint i = 0;
  while (i < TYPE_KEEPERS && keepers[i] != NULL
         && (const GVariantType *) g_variant_get_type (keepers[i]) != type)
    i++;
  if (i > 0 || keepers[0] == NULL)
    {
      GVariant *keeper;
      if (i < TYPE_KEEPERS && keepers[i] != NULL)
        keeper = keepers[i];
      else
        {
          if (i == TYPE_KEEPERS)
            g_variant_unref (keepers[--i]);
          keeper = g_variant_ref_sink (g_variant_new_from_data (type, "", 0, FALSE,
                                                                NULL, NULL));
        }
      memmove (&keepers[1], &keepers[0], i * sizeof (GVariant *));
      keepers[0] = keeper;
    }
  g_mutex_unlock (&keepers_lock);
}

/* Fills slot @i from @value (which the slot takes ownership of). */
static gboolean
set_param (DalParamsOwned *p, guint i, GVariant *value, GError **error)
{
  char *num = p->numbers + (gsize) i * NUMBER_TEXT_MAX;

  /* Unwrap variants and maybes; Nothing is SQL NULL. */
  for (;;)
    {
      GVariantClass cls = g_variant_classify (value);
      if (cls == G_VARIANT_CLASS_VARIANT)
        {
          GVariant *inner = g_variant_get_variant (value);
          g_variant_unref (value);
          value = inner;
        }
      else if (cls == G_VARIANT_CLASS_MAYBE)
        {
          GVariant *inner = g_variant_get_maybe (value);
          if (inner == NULL)
            {
              p->children[i] = value;
              p->types[i] = DAL_PARAM_NULL;
              p->values[i] = NULL;
              p->lengths[i] = 0;
              return TRUE;
            }
          g_variant_unref (value);
          value = inner;
        }
      else
        break;
    }

  p->children[i] = value;
  const char *text = num;
  gsize len = 0;
  gssize num_len = -1;  /* set when the number's text is in num */
  const GVariantType *type = g_variant_get_type (value);

  switch (g_variant_classify (value))
    {
    case G_VARIANT_CLASS_BOOLEAN:
      p->types[i] = DAL_PARAM_BOOLEAN;
      text = g_variant_get_boolean (value) ? "t" : "f";
      break;
    case G_VARIANT_CLASS_BYTE:
      p->types[i] = DAL_PARAM_INT16;
      num_len = format_uint64 (num, g_variant_get_byte (value), FALSE);
      break;
    case G_VARIANT_CLASS_INT16:
      p->types[i] = DAL_PARAM_INT16;
      num_len = format_int64 (num, g_variant_get_int16 (value));
      break;
    case G_VARIANT_CLASS_UINT16:
      p->types[i] = DAL_PARAM_INT32;
      num_len = format_uint64 (num, g_variant_get_uint16 (value), FALSE);
      break;
    case G_VARIANT_CLASS_INT32:
      p->types[i] = DAL_PARAM_INT32;
      num_len = format_int64 (num, g_variant_get_int32 (value));
      break;
    case G_VARIANT_CLASS_UINT32:
      p->types[i] = DAL_PARAM_INT64;
      num_len = format_uint64 (num, g_variant_get_uint32 (value), FALSE);
      break;
    case G_VARIANT_CLASS_INT64:
      p->types[i] = DAL_PARAM_INT64;
      num_len = format_int64 (num, g_variant_get_int64 (value));
      break;
    case G_VARIANT_CLASS_UINT64:
      {
        guint64 u = g_variant_get_uint64 (value);
        p->types[i] = u <= G_MAXINT64 ? DAL_PARAM_INT64 : DAL_PARAM_NUMERIC;
        num_len = format_uint64 (num, u, FALSE);
      }
      break;
    case G_VARIANT_CLASS_DOUBLE:
      {
        double d = g_variant_get_double (value);
        p->types[i] = DAL_PARAM_DOUBLE;
        if (isnan (d))
          text = "NaN";
        else if (isinf (d))
          text = d > 0 ? "Infinity" : "-Infinity";
        else
          g_ascii_formatd (num, NUMBER_TEXT_MAX, "%.17g", d);
      }
      break;
    case G_VARIANT_CLASS_STRING:
    case G_VARIANT_CLASS_OBJECT_PATH:
    case G_VARIANT_CLASS_SIGNATURE:
      p->types[i] = DAL_PARAM_TEXT;
      text = g_variant_get_string (value, &len);
      p->values[i] = text;
      p->lengths[i] = (int) len;
      return TRUE;
    case G_VARIANT_CLASS_ARRAY:
      if (g_variant_type_equal (type, G_VARIANT_TYPE_BYTESTRING))
        {
          p->types[i] = DAL_PARAM_BYTES;
          text = g_variant_get_fixed_array (value, &len, 1);
          p->values[i] = len > 0 ? text : "";
          p->lengths[i] = (int) len;
          return TRUE;
        }
      G_GNUC_FALLTHROUGH;
    default:
      {
        g_autofree char *hint = g_strdup_printf (
          "Pass booleans, integers, doubles, strings, byte arrays (\"ay\") or "
          "maybe types (m…) for NULL; send other values as text and cast "
          "them in SQL ($%u::type)", i + 1);
        g_propagate_error (error, dal_error_new_hint (
          DAL_ERROR_INVALID_PARAMETER, hint,
          "parameter $%u has GVariant type \"%s\", which libdal cannot send",
          i + 1, g_variant_get_type_string (value)));
      }
      return FALSE;
    }

  p->values[i] = text;
  p->lengths[i] = (int) (num_len >= 0 ? (gsize) num_len : strlen (text));
  return TRUE;
}

DalParamsOwned *
_dal_params_new (GVariant *params, GError **error)
{
  guint n = 0;
  gboolean tuple = FALSE;

  if (params != NULL)
    {
      g_variant_ref_sink (params);
      keep_type_of (params);
      tuple = g_variant_classify (params) == G_VARIANT_CLASS_TUPLE;
      n = tuple ? (guint) g_variant_n_children (params) : 1;
    }

  /* One block: header, children, types, values, lengths, number text. */
  gsize off_children = sizeof (DalParamsOwned);
  gsize off_types = off_children + n * sizeof (GVariant *);
  gsize off_values = off_types + n * sizeof (DalParamType);
  off_values = (off_values + sizeof (void *) - 1) & ~(sizeof (void *) - 1);
  gsize off_lengths = off_values + n * sizeof (char *);
  gsize off_numbers = off_lengths + n * sizeof (int);
  char *block = g_malloc0 (off_numbers + (gsize) n * NUMBER_TEXT_MAX);

  DalParamsOwned *p = (DalParamsOwned *) block;
  p->root = params;
  p->children = (GVariant **) (block + off_children);
  p->types = (DalParamType *) (block + off_types);
  p->values = (const char **) (block + off_values);
  p->lengths = (int *) (block + off_lengths);
  p->numbers = block + off_numbers;
  p->pub.n = n;
  p->pub.types = p->types;
  p->pub.values = p->values;
  p->pub.lengths = p->lengths;

  for (guint i = 0; i < n; i++)
    {
      GVariant *child = tuple ? g_variant_get_child_value (params, i)
                              : g_variant_ref (params);
      if (!set_param (p, i, child, error))
        {
          _dal_params_free (p);
          return NULL;
        }
    }
  return p;
}

static gpointer
heap_alloc0 (gsize size, gpointer unused)
{
  return g_malloc0 (size);
}

DalParamsOwned *
_dal_params_new_texts (guint n, const char * const *texts)
{
  return _dal_params_new_texts_with (n, texts, heap_alloc0, NULL);
}

DalParamsOwned *
_dal_params_new_texts_with (guint n, const char * const *texts,
                            gpointer (*alloc0) (gsize size, gpointer data),
                            gpointer data)
{
  /* One block: header, (empty) children, types, values, lengths, then the
   * texts themselves, copied so that the caller's may go at once. */
  gsize off_children = sizeof (DalParamsOwned);
  gsize off_types = off_children + n * sizeof (GVariant *);
  gsize off_values = off_types + n * sizeof (DalParamType);
  off_values = (off_values + sizeof (void *) - 1) & ~(sizeof (void *) - 1);
  gsize off_lengths = off_values + n * sizeof (char *);
  gsize off_texts = off_lengths + n * sizeof (int);
  gsize total = off_texts;
  for (guint i = 0; i < n; i++)
    if (texts[i] != NULL)
      total += strlen (texts[i]) + 1;
  char *block = alloc0 (total, data);

  DalParamsOwned *p = (DalParamsOwned *) block;
  p->in_arena = alloc0 != heap_alloc0;
  p->children = (GVariant **) (block + off_children);
  p->types = (DalParamType *) (block + off_types);
  p->values = (const char **) (block + off_values);
  p->lengths = (int *) (block + off_lengths);
  p->pub.n = n;
  p->pub.types = p->types;
  p->pub.values = p->values;
  p->pub.lengths = p->lengths;

  char *dest = block + off_texts;
  for (guint i = 0; i < n; i++)
    {
      if (texts[i] == NULL)
        {
          p->types[i] = DAL_PARAM_NULL;
          continue;
        }
      gsize len = strlen (texts[i]);
      memcpy (dest, texts[i], len + 1);
      p->types[i] = DAL_PARAM_TEXT;
      p->values[i] = dest;
      p->lengths[i] = (int) len;
      dest += len + 1;
    }
  return p;
}

const DalParams *
_dal_params_get (const DalParamsOwned *owned)
{
  return &owned->pub;
}

void
_dal_params_free (DalParamsOwned *owned)
{
  if (owned == NULL)
    return;
  for (guint i = 0; i < owned->pub.n; i++)
    if (owned->children[i] != NULL)
      g_variant_unref (owned->children[i]);
  if (owned->root != NULL)
    g_variant_unref (owned->root);
  if (!owned->in_arena)
    g_free (owned);
}
