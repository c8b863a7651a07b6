/* dal-test-net.c: see dal-test-net.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dal-test-net.h"

/* -- log recording -- */

static GMutex log_lock;
static GPtrArray *log_lines;

static GLogWriterOutput
record_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
               gpointer user_data)
{
  const char *domain = NULL, *message = NULL;
  for (gsize i = 0; i < n_fields; i++)
    {
      if (strcmp (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (strcmp (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }
  g_mutex_lock (&log_lock);
  if (log_lines == NULL)
    log_lines = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (log_lines, g_strdup_printf ("%s: %s", domain != NULL ? domain : "",
                                               message != NULL ? message : ""));
  g_mutex_unlock (&log_lock);
  return g_log_writer_default (level, fields, n_fields, user_data);
}

static void
log_free (void)
{
  g_clear_pointer (&log_lines, g_ptr_array_unref);
}

void
dal_test_log_install (void)
{
  g_log_set_writer_func (record_writer, NULL, NULL);
  atexit (log_free);
}

void
dal_test_log_clear (void)
{
  g_mutex_lock (&log_lock);
  if (log_lines != NULL)
    g_ptr_array_set_size (log_lines, 0);
  g_mutex_unlock (&log_lock);
}

guint
dal_test_log_count (const char *needle)
{
  guint n = 0;
  g_mutex_lock (&log_lock);
  for (guint i = 0; log_lines != NULL && i < log_lines->len; i++)
    if (strstr (log_lines->pdata[i], needle) != NULL)
      n++;
  g_mutex_unlock (&log_lock);
  return n;
}

char *
dal_test_log_dump (void)
{
  GString *s = g_string_new (NULL);
  g_mutex_lock (&log_lock);
  for (guint i = 0; log_lines != NULL && i < log_lines->len; i++)
    g_string_append_printf (s, "%s\n", (char *) log_lines->pdata[i]);
  g_mutex_unlock (&log_lock);
  return g_string_free (s, FALSE);
}

/* -- a fake resolver -- */

#define FAKE_TYPE_RESOLVER (fake_resolver_get_type ())
G_DECLARE_FINAL_TYPE (FakeResolver, fake_resolver, FAKE, RESOLVER, GResolver)

struct _FakeResolver
{
  GResolver parent_instance;
  GMutex lock;
  GHashTable *names;    /* name -> address text */
  GHashTable *lookups;  /* name -> count */
  guint n_lookups;
};

G_DEFINE_TYPE (FakeResolver, fake_resolver, G_TYPE_RESOLVER)

static FakeResolver *the_resolver;

static GList *
fake_lookup (FakeResolver *self, const char *name, GError **error)
{
  g_mutex_lock (&self->lock);
  self->n_lookups++;
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->lookups, name));
  g_hash_table_insert (self->lookups, g_strdup (name), GUINT_TO_POINTER (n + 1));
  const char *address = g_hash_table_lookup (self->names, name);
  GInetAddress *a = address != NULL ? g_inet_address_new_from_string (address) : NULL;
  g_mutex_unlock (&self->lock);
  if (a == NULL)
    {
      g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
                   "Error resolving \xe2\x80\x9c%s\xe2\x80\x9d: Name or service not known "
                   "(fake resolver)", name);
      return NULL;
    }
  return g_list_append (NULL, a);
}

static GList *
fake_lookup_by_name (GResolver *resolver, const gchar *hostname,
                     GCancellable *cancellable, GError **error)
{
  return fake_lookup (FAKE_RESOLVER (resolver), hostname, error);
}

static void
fake_lookup_by_name_async (GResolver *resolver, const gchar *hostname,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  GTask *task = g_task_new (resolver, cancellable, callback, user_data);
  GError *error = NULL;
  GList *addrs = fake_lookup (FAKE_RESOLVER (resolver), hostname, &error);
  if (addrs != NULL)
    g_task_return_pointer (task, addrs, (GDestroyNotify) g_resolver_free_addresses);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
}

static GList *
fake_lookup_by_name_finish (GResolver *resolver, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static GList *
fake_lookup_by_name_with_flags (GResolver *resolver, const gchar *hostname,
                                GResolverNameLookupFlags flags,
                                GCancellable *cancellable, GError **error)
{
  return fake_lookup (FAKE_RESOLVER (resolver), hostname, error);
}

static void
fake_lookup_by_name_with_flags_async (GResolver *resolver, const gchar *hostname,
                                      GResolverNameLookupFlags flags,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data)
{
  fake_lookup_by_name_async (resolver, hostname, cancellable, callback, user_data);
}

static void
fake_resolver_finalize (GObject *object)
{
  FakeResolver *self = FAKE_RESOLVER (object);
  g_hash_table_unref (self->names);
  g_hash_table_unref (self->lookups);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (fake_resolver_parent_class)->finalize (object);
}

static void
fake_resolver_class_init (FakeResolverClass *klass)
{
  GResolverClass *r = G_RESOLVER_CLASS (klass);
  G_OBJECT_CLASS (klass)->finalize = fake_resolver_finalize;
  r->lookup_by_name = fake_lookup_by_name;
  r->lookup_by_name_async = fake_lookup_by_name_async;
  r->lookup_by_name_finish = fake_lookup_by_name_finish;
  r->lookup_by_name_with_flags = fake_lookup_by_name_with_flags;
  r->lookup_by_name_with_flags_async = fake_lookup_by_name_with_flags_async;
  r->lookup_by_name_with_flags_finish = fake_lookup_by_name_finish;
}

static void
fake_resolver_init (FakeResolver *self)
{
  g_mutex_init (&self->lock);
  self->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->lookups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static void
resolver_free (void)
{
  g_clear_object (&the_resolver);
}

void
dal_test_resolver_install (void)
{
  g_assert_null (the_resolver);
  the_resolver = g_object_new (FAKE_TYPE_RESOLVER, NULL);
  g_resolver_set_default (G_RESOLVER (the_resolver));
  atexit (resolver_free);
}

void
dal_test_resolver_add (const char *name, const char *address)
{
  g_assert_nonnull (the_resolver);
  g_mutex_lock (&the_resolver->lock);
  g_hash_table_insert (the_resolver->names, g_strdup (name), g_strdup (address));
  g_mutex_unlock (&the_resolver->lock);
}

guint
dal_test_resolver_lookups (const char *name)
{
  g_assert_nonnull (the_resolver);
  g_mutex_lock (&the_resolver->lock);
  guint n = name == NULL ? the_resolver->n_lookups
                         : GPOINTER_TO_UINT (g_hash_table_lookup (the_resolver->lookups, name));
  g_mutex_unlock (&the_resolver->lock);
  return n;
}

/* -- loopback listeners -- */

/* A socket listening on 127.0.0.1:@want (0: a free port), its port in
 * *@port; -1 when @want is taken. */
static int
try_listen_loopback (guint16 want, int backlog, guint16 *port)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  /* SO_REUSEADDR, so that a listener can take the port of one that went
   * while the connections it accepted linger (TIME_WAIT, or FIN_WAIT2
   * until the peer closes): a proxy brought back on the port of one
   * freed, as a server that comes back.  Linux lets the port be taken
   * again only when the old sockets had it too, hence on every one. */
  int one = 1;
  g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), ==, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (want),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  if (bind (fd, (struct sockaddr *) &a, sizeof a) != 0)
    {
      g_assert_cmpint (want, !=, 0);
      close (fd);
      return -1;
    }
  g_assert_cmpint (listen (fd, backlog), ==, 0);
  socklen_t len = sizeof a;
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &a, &len), ==, 0);
  *port = ntohs (a.sin_port);
  return fd;
}

static int
listen_loopback (int backlog, guint16 *port)
{
  return try_listen_loopback (0, backlog, port);
}

/* A socket connected to 127.0.0.1:@port; -1 when nothing listens there. */
static int
try_connect_loopback (guint16 port)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  if (connect (fd, (struct sockaddr *) &a, sizeof a) != 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

static int
connect_loopback (guint16 port)
{
  int fd = try_connect_loopback (port);
  g_assert_cmpint (fd, >=, 0);
  return fd;
}

struct _DalTestListener
{
  int fd;
  guint16 port;
  int filler;        /* client side of the filler, or -1 */
  gboolean filler_accepted;
};

DalTestListener *
dal_test_listener_new (int backlog, gboolean fill)
{
  DalTestListener *l = g_new0 (DalTestListener, 1);
  l->fd = listen_loopback (backlog, &l->port);
  l->filler = fill ? connect_loopback (l->port) : -1;
  return l;
}

guint16
dal_test_listener_get_port (DalTestListener *l)
{
  return l->port;
}

guint
dal_test_listener_drain (DalTestListener *l)
{
  guint n = 0;
  int flags = fcntl (l->fd, F_GETFL);
  fcntl (l->fd, F_SETFL, flags | O_NONBLOCK);
  for (;;)
    {
      int c = accept (l->fd, NULL, NULL);
      if (c < 0)
        break;
      close (c);
      if (l->filler >= 0 && !l->filler_accepted)
        l->filler_accepted = TRUE;  /* the first one in the queue */
      else
        n++;
    }
  fcntl (l->fd, F_SETFL, flags);
  return n;
}

void
dal_test_listener_free (DalTestListener *l)
{
  if (l == NULL)
    return;
  if (l->filler >= 0)
    close (l->filler);
  close (l->fd);
  g_free (l);
}

guint16
dal_test_unused_port (void)
{
  guint16 port;
  int fd = listen_loopback (1, &port);
  close (fd);
  return port;
}

/* -- a network in front of the real server -- */

struct _DalTestProxy
{
  int listen_fd;
  guint16 port;
  guint16 upstream_port;
  gsize slice;            /* 0: as it comes */
  gulong pause_us;
  int wake;               /* eventfd: state changed */
  gint frozen;            /* atomic */
  gint stop;              /* atomic */
  GThread *thread;
  GArray *fds;            /* int pairs: client, upstream */
};

/* Copies what @from has, at most @max bytes, to @to; FALSE at the end of
 * the stream or an error. */
static gboolean
proxy_pump (int from, int to, gsize max)
{
  char buf[65536];
  ssize_t n = read (from, buf, MIN (max, sizeof buf));
  if (n <= 0)
    return n < 0 && errno == EINTR;
  for (ssize_t off = 0; off < n;)
    {
      ssize_t w = write (to, buf + off, (size_t) (n - off));
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return FALSE;
      off += w;
    }
  return TRUE;
}

static gpointer
proxy_thread (gpointer data)
{
  DalTestProxy *p = data;
  while (!g_atomic_int_get (&p->stop))
    {
      gboolean frozen = g_atomic_int_get (&p->frozen);
      guint n_pairs = p->fds->len / 2;
      /* Frozen: nothing is read or accepted. */
      struct pollfd *fds = g_new0 (struct pollfd, 2 + p->fds->len);
      fds[0] = (struct pollfd) { .fd = p->wake, .events = POLLIN };
      fds[1] = (struct pollfd) { .fd = frozen ? -1 : p->listen_fd, .events = POLLIN };
      for (guint i = 0; i < p->fds->len; i++)
        fds[2 + i] = (struct pollfd) { .fd = frozen ? -1 : g_array_index (p->fds, int, i),
                                       .events = POLLIN };
      int n = poll (fds, 2 + p->fds->len, -1);
      if (n < 0)
        {
          g_free (fds);
          continue;
        }
      if (fds[0].revents)
        {
          guint64 v;
          if (read (p->wake, &v, sizeof v) < 0)
            g_assert (errno == EAGAIN || errno == EINTR);
        }
      for (guint i = 0; i < n_pairs; i++)
        {
          int *pair = &g_array_index (p->fds, int, 2 * i);
          if (pair[0] < 0)
            continue;
          gboolean ok = TRUE;
          if (fds[2 + 2 * i].revents)
            ok = proxy_pump (pair[0], pair[1], G_MAXSIZE);
          if (ok && fds[3 + 2 * i].revents)
            {
              ok = proxy_pump (pair[1], pair[0], p->slice > 0 ? p->slice : G_MAXSIZE);
              if (p->slice > 0)
                g_usleep (p->pause_us);
            }
          if (!ok)
            {
              close (pair[0]);
              close (pair[1]);
              pair[0] = pair[1] = -1;
            }
        }
      if (fds[1].revents)
        {
          int c = accept4 (p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
          int u = c >= 0 ? try_connect_loopback (p->upstream_port) : -1;
          if (u >= 0)
            {
              /* Each slice its own segment. */
              int one = 1;
              setsockopt (c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
              g_array_append_val (p->fds, c);
              g_array_append_val (p->fds, u);
            }
          else if (c >= 0)
            close (c);
        }
      g_free (fds);
    }
  return NULL;
}

static void
proxy_poke (DalTestProxy *p)
{
  guint64 one = 1;
  g_assert_cmpint (write (p->wake, &one, sizeof one), ==, sizeof one);
}

DalTestProxy *
dal_test_proxy_new (guint16 port, guint16 upstream, gsize slice, gulong pause_us)
{
  DalTestProxy *p = g_new0 (DalTestProxy, 1);
  p->upstream_port = upstream;
  p->slice = slice;
  p->pause_us = pause_us;
  p->listen_fd = try_listen_loopback (port, 16, &p->port);
  if (p->listen_fd < 0)
    {
      g_free (p);
      return NULL;
    }
  p->wake = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  p->fds = g_array_new (FALSE, FALSE, sizeof (int));
  p->thread = g_thread_new ("test-proxy", proxy_thread, p);
  return p;
}

guint16
dal_test_proxy_get_port (DalTestProxy *p)
{
  return p->port;
}

void
dal_test_proxy_set_frozen (DalTestProxy *p, gboolean frozen)
{
  g_atomic_int_set (&p->frozen, frozen);
  proxy_poke (p);
}

void
dal_test_proxy_free (DalTestProxy *p)
{
  if (p == NULL)
    return;
  g_atomic_int_set (&p->stop, 1);
  proxy_poke (p);
  g_thread_join (p->thread);
  for (guint i = 0; i < p->fds->len; i++)
    if (g_array_index (p->fds, int, i) >= 0)
      close (g_array_index (p->fds, int, i));
  g_array_unref (p->fds);
  close (p->listen_fd);
  close (p->wake);
  g_free (p);
}

/* -- a fake server that refuses every client -- */

struct _DalTestFakeServer
{
  int fd;
  int stop_pipe[2];
  guint16 port;
  char *sqlstate;
  char *message;
  GThread *thread;
  gint served;
};

/* Reads exactly @len bytes (1 s per read at most). */
static gboolean
read_exact (int fd, void *buf, gsize len)
{
  gsize got = 0;
  while (got < len)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      if (poll (&p, 1, 1000) != 1)
        return FALSE;
      ssize_t n = read (fd, (char *) buf + got, len - got);
      if (n <= 0)
        return FALSE;
      got += (gsize) n;
    }
  return TRUE;
}

static guint32
get_be32 (const guchar *b)
{
  return ((guint32) b[0] << 24) | ((guint32) b[1] << 16) | ((guint32) b[2] << 8) | b[3];
}

static void
put_be32 (GByteArray *a, guint32 v)
{
  guchar b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };
  g_byte_array_append (a, b, 4);
}

static void
add_field (GByteArray *a, char type, const char *value)
{
  g_byte_array_append (a, (const guchar *) &type, 1);
  g_byte_array_append (a, (const guchar *) value, (guint) strlen (value) + 1);
}

static void
serve_one (DalTestFakeServer *s, int c)
{
  guchar head[8];
  for (;;)
    {
      if (!read_exact (c, head, 8))
        return;
      guint32 len = get_be32 (head), code = get_be32 (head + 4);
      if (len == 8 && (code == 80877103 || code == 80877104))
        {
          /* SSLRequest or GSSENCRequest: no. */
          if (write (c, "N", 1) != 1)
            return;
          continue;
        }
      if (len < 8 || len > 10000)
        return;
      g_autofree guchar *rest = g_malloc (len - 8 + 1);
      if (len > 8 && !read_exact (c, rest, len - 8))
        return;
      break;
    }

  GByteArray *body = g_byte_array_new ();
  add_field (body, 'S', "FATAL");
  add_field (body, 'V', "FATAL");
  add_field (body, 'C', s->sqlstate);
  add_field (body, 'M', s->message);
  g_byte_array_append (body, (const guchar *) "", 1);
  GByteArray *msg = g_byte_array_new ();
  g_byte_array_append (msg, (const guchar *) "E", 1);
  put_be32 (msg, body->len + 4);
  g_byte_array_append (msg, body->data, body->len);
  /* Counted first: the client may be done before write() returns. */
  g_atomic_int_inc (&s->served);
  if (write (c, msg->data, msg->len) != (ssize_t) msg->len)
    g_atomic_int_add (&s->served, -1);
  g_byte_array_unref (msg);
  g_byte_array_unref (body);
}

static gpointer
fake_server_thread (gpointer data)
{
  DalTestFakeServer *s = data;
  for (;;)
    {
      struct pollfd p[2] = {
        { .fd = s->fd, .events = POLLIN },
        { .fd = s->stop_pipe[0], .events = POLLIN },
      };
      if (poll (p, 2, -1) < 0)
        continue;
      if (p[1].revents != 0)
        break;
      int c = accept (s->fd, NULL, NULL);
      if (c < 0)
        continue;
      serve_one (s, c);
      close (c);
    }
  return NULL;
}

DalTestFakeServer *
dal_test_fake_server_new (const char *sqlstate, const char *message)
{
  DalTestFakeServer *s = g_new0 (DalTestFakeServer, 1);
  s->fd = listen_loopback (16, &s->port);
  g_assert_cmpint (pipe (s->stop_pipe), ==, 0);
  s->sqlstate = g_strdup (sqlstate);
  s->message = g_strdup (message);
  s->thread = g_thread_new ("fake-server", fake_server_thread, s);
  return s;
}

guint16
dal_test_fake_server_get_port (DalTestFakeServer *s)
{
  return s->port;
}

guint
dal_test_fake_server_get_served (DalTestFakeServer *s)
{
  return (guint) g_atomic_int_get (&s->served);
}

void
dal_test_fake_server_free (DalTestFakeServer *s)
{
  if (s == NULL)
    return;
  g_assert_cmpint (write (s->stop_pipe[1], "x", 1), ==, 1);
  g_thread_join (s->thread);
  close (s->stop_pipe[0]);
  close (s->stop_pipe[1]);
  close (s->fd);
  g_free (s->sqlstate);
  g_free (s->message);
  g_free (s);
}

/* -- certificates -- */

void
dal_test_openssl (const char * const *argv)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, (gpointer) "openssl");
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);

  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) args->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("openssl %s failed: %s", argv[0], err);
}
