/* dal-copy-private.h: what the blocking COPY calls (dal-copy.c) and their
 * async forms (dal-copy-async.c) share: the statement check, the plugin's
 * slots, and the one rows encoder / decoder and stream source / sink.
 * Never installed. */
#ifndef DAL_COPY_PRIVATE_H
#define DAL_COPY_PRIVATE_H

#include "dal-connection-private.h"

G_BEGIN_DECLS

/* The most bytes a source, a sink or a relay chunk holds (plus one row). */
#define COPY_BUFFER (64 * 1024)

/* The rows encoder: a DalCopyReadFunc over a DalCopyRowsFunc. */
typedef struct
{
  DalCopyRowsFunc next_row;
  gpointer user_data;
  GString *pending;     /* encoded rows not handed over yet */
  gsize offset;         /* from there */
  gboolean ended;
} RowSource;

/* Stream writes gathered into COPY_BUFFER bytes. */
typedef struct
{
  GOutputStream *output;
  char *buffer;         /* COPY_BUFFER bytes */
  gsize len;
} StreamSink;

/* The rows decoder: a DalCopyWriteFunc over a DalCopyRowFunc. */
typedef struct
{
  DalCopyRowFunc row_func;
  gpointer user_data;
  GString *row;         /* the row being decoded */
  GPtrArray *values;    /* into it */
} RowSink;

/* Refuses (@error) a statement that is not a COPY of the call's direction
 * (@in: FROM STDIN), not in text format when the core encodes the rows
 * (@rows), or a plugin without the slot. */
G_GNUC_INTERNAL gboolean _dal_copy_check (DalConnection *self, const char *sql,
                                          gboolean in, gboolean rows,
                                          GError **error);
/* The plugin's copy_in (@in: @func a DalCopyReadFunc) or copy_out slot. */
G_GNUC_INTERNAL gint64 _dal_copy_run_slot (DalConnection *self, const char *sql,
                                           gboolean in, gpointer func,
                                           gpointer data,
                                           GCancellable *cancellable,
                                           GError **error);
/* A slot returned -1 without an error. */
G_GNUC_INTERNAL GError *_dal_copy_failed_error (void);

/* DalCopyReadFunc on a GInputStream (@source). */
G_GNUC_INTERNAL gssize _dal_copy_stream_read (gpointer source, char *buffer, gsize size,
                                              GCancellable *cancellable,
                                              GError **error);
/* DalCopyReadFunc on a RowSource. */
G_GNUC_INTERNAL gssize _dal_copy_rows_read (gpointer source, char *buffer, gsize size,
                                            GCancellable *cancellable,
                                            GError **error);
/* DalCopyWriteFunc on a StreamSink, and what it still holds written. */
G_GNUC_INTERNAL gboolean _dal_copy_stream_write (gpointer sink, const char *data,
                                                 gsize size,
                                                 GCancellable *cancellable,
                                                 GError **error);
G_GNUC_INTERNAL gboolean _dal_copy_sink_flush (StreamSink *s,
                                               GCancellable *cancellable,
                                               GError **error);
/* DalCopyWriteFunc on a RowSink: one row of text format. */
G_GNUC_INTERNAL gboolean _dal_copy_rows_write (gpointer sink, const char *data,
                                               gsize size,
                                               GCancellable *cancellable,
                                               GError **error);

G_END_DECLS

#endif /* DAL_COPY_PRIVATE_H */
