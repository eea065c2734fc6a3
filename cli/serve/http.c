/* The HTTP side of nndl serve, on libmicrohttpd: one thread per connection
 * (an event stream may wait for minutes between epochs), a bounded number
 * of connections, at most SERVE_MAX_PER_ADDRESS of them from one address,
 * an idle timeout, and request bodies collected up to SERVE_MAX_BODY.
 * Every answer comes from api_handle.
 *
 * A client that sends its request head a line at a time is never idle, so
 * the idle timeout does not reach it. Each request head must therefore
 * arrive within the timeout, counted from the connection's start or the
 * end of its previous request; and when fewer than SERVE_SPARE_CONNECTIONS
 * places are left, a head that has taken over SERVE_BUSY_HEAD_SECONDS is
 * cut off, so that a new client always gets in within a second or two. A
 * watcher thread keeps these deadlines, shutting down the socket of a late
 * connection (libmicrohttpd then closes it). */
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "serve.h"

/* A connection, from its start to its close, as the watcher sees it. */
typedef struct tracked {
    struct tracked *prev, *next;
    int fd;
    int in_head;      /* waiting for a request head, since head_since */
    double head_since;
    int cut;          /* shut down by the watcher */
} tracked;

struct http_server {
    struct MHD_Daemon *daemon;
    server *srv;
    double head_seconds;
    pthread_mutex_t lock; /* guards the list and `stopping` */
    pthread_cond_t wake;
    tracked *connections;
    int n_connections;
    int stopping;
    pthread_t watcher;
    int watching;
};

/* libmicrohttpd's notice of a connection opening or closing (it closes the
 * socket only after the notice, so the watcher never touches a socket
 * number that has been reused). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    http_server *h = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        tracked *t = calloc(1, sizeof *t);
        if (!t || !info) {
            free(t);
            return; /* not watched: the idle timeout still holds */
        }
        t->fd = info->connect_fd;
        t->in_head = 1;
        t->head_since = monotonic_seconds();
        pthread_mutex_lock(&h->lock);
        t->next = h->connections;
        if (t->next) t->next->prev = t;
        h->connections = t;
        h->n_connections++;
        pthread_mutex_unlock(&h->lock);
        *socket_context = t;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        tracked *t = *socket_context;
        pthread_mutex_lock(&h->lock);
        if (t->prev) t->prev->next = t->next;
        else h->connections = t->next;
        if (t->next) t->next->prev = t->prev;
        h->n_connections--;
        pthread_mutex_unlock(&h->lock);
        free(t);
        *socket_context = NULL;
    }
}

/* The connection's head has arrived (in_head 0), or it waits for the next
 * one (1). */
static void set_in_head(http_server *h, struct MHD_Connection *c, int in_head)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    tracked *t = info ? info->socket_context : NULL;
    if (!t) return;
    pthread_mutex_lock(&h->lock);
    t->in_head = in_head;
    t->head_since = monotonic_seconds();
    pthread_mutex_unlock(&h->lock);
}

/* Every tenth of a second: cuts off the heads that are late. */
static void *watch(void *arg)
{
    http_server *h = arg;
    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        double now = monotonic_seconds();
        int busy = h->n_connections > SERVE_MAX_CONNECTIONS - SERVE_SPARE_CONNECTIONS;
        double limit = busy ? SERVE_BUSY_HEAD_SECONDS : h->head_seconds;
        for (tracked *t = h->connections; t; t = t->next) {
            if (t->in_head && !t->cut && now - t->head_since > limit) {
                shutdown(t->fd, SHUT_RDWR);
                t->cut = 1;
            }
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&h->wake, &h->lock, &until);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* One request's body as it arrives. */
typedef struct request {
    char *body;
    size_t length, capacity;
    int too_large;
    int answered; /* answered from its headers: the rest is dropped */
} request;

/* Sends a whole answer (libmicrohttpd leaves the body out for HEAD). */
static enum MHD_Result queue(struct MHD_Connection *c, api_response *r)
{
    const char *data = r->body ? r->body : r->static_body;
    struct MHD_Response *resp = MHD_create_response_from_buffer(r->length, (void *)(data ? data : ""),
                                           r->body ? MHD_RESPMEM_MUST_FREE
                                                   : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        api_response_free(r);
        return MHD_NO;
    }
    r->body = NULL; /* libmicrohttpd frees it now */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (strncmp(r->content_type, "application/json", 16) == 0)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    else
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    size_t n = training_stream_read(cls, buf, max);
    return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_close(void *cls) { training_stream_close(cls); }

static enum MHD_Result queue_stream(struct MHD_Connection *c, event_stream *s)
{
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_close);
    if (!resp) {
        training_stream_close(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result answer(struct MHD_Connection *c, api_response r)
{
    if (r.stream) return queue_stream(c, r.stream);
    return queue(c, &r);
}

static enum MHD_Result too_large(struct MHD_Connection *c)
{
    char text[128];
    snprintf(text, sizeof text,
             "{\"error\":\"the request body is over the limit of %d bytes\"}", SERVE_MAX_BODY);
    api_response r = {0};
    r.status = 413;
    r.content_type = "application/json";
    r.body = strdup(text);
    if (!r.body) return MHD_NO;
    r.length = strlen(text);
    return queue(c, &r);
}

/* Counts the Content-Length headers and whether they disagree. */
typedef struct lengths {
    int count, differ;
    const char *first;
} lengths;

static enum MHD_Result count_length(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    lengths *l = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0) return MHD_YES;
    if (l->count++ == 0)
        l->first = value;
    else if (strcmp(l->first ? l->first : "", value ? value : "") != 0)
        l->differ = 1;
    return MHD_YES;
}

/* 400 for a request whose body cannot be told apart from what follows
 * it (libmicrohttpd reads the body by the first Content-Length; a proxy in
 * front might take another), and the connection closed after it. */
static enum MHD_Result ambiguous_length(struct MHD_Connection *c)
{
    static const char text[] =
        "{\"error\":\"two different Content-Length headers: which body is meant?\"}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof text - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_BAD_REQUEST, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)version;
    http_server *h = cls;
    request *req = *state;
    if (!req) {
        /* First call: the headers are in. Refuse a body announced too large
         * before it is sent. */
        set_in_head(h, c, 0);
        if (!(req = calloc(1, sizeof *req))) return MHD_NO;
        *state = req;
        lengths l = {0, 0, NULL};
        MHD_get_connection_values(c, MHD_HEADER_KIND, count_length, &l);
        if (l.differ) {
            req->answered = 1;
            return ambiguous_length(c);
        }
        const char *announced = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                            MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (announced && strtoull(announced, NULL, 10) > SERVE_MAX_BODY) {
            req->answered = 1;
            return too_large(c);
        }
        return MHD_YES;
    }
    if (req->answered) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (req->too_large || req->length + n > SERVE_MAX_BODY) {
            req->too_large = 1; /* the rest is read and dropped */
            return MHD_YES;
        }
        if (req->length + n > req->capacity) {
            size_t cap = req->capacity ? req->capacity : 16384;
            while (cap < req->length + n) cap *= 2;
            if (cap > SERVE_MAX_BODY) cap = SERVE_MAX_BODY;
            char *grown = realloc(req->body, cap);
            if (!grown) return MHD_NO;
            req->body = grown;
            req->capacity = cap;
        }
        memcpy(req->body + req->length, upload, n);
        req->length += n;
        return MHD_YES;
    }
    if (req->too_large) return too_large(c);
    const char *model = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "model");
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    return answer(c, api_handle(h->srv, method, url, model, type, req->body, req->length));
}

static void completed(void *cls, struct MHD_Connection *c, void **state,
                      enum MHD_RequestTerminationCode why)
{
    (void)why;
    set_in_head(cls, c, 1); /* the next request's head, on a kept-alive connection */
    request *req = *state;
    if (req) free(req->body);
    free(req);
    *state = NULL;
}

/* libmicrohttpd's own complaints (a client that misbehaves) are not ours
 * to print on the terminal of a demo. */
static void quiet_log(void *cls, const char *fmt, va_list ap) { (void)cls, (void)fmt, (void)ap; }

http_server *http_start(server *srv, const char *host, int port, int timeout, int *bound_port,
                        nndl_error *err)
{
    struct addrinfo hints = {0}, *addr = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    int rc = getaddrinfo(host, port_text, &hints, &addr);
    if (rc != 0) {
        error_set(err, NNDL_ERR_ARG, "host: cannot use '%s': %s", host, gai_strerror(rc));
        return NULL;
    }
    http_server *h = calloc(1, sizeof *h);
    if (!h) {
        freeaddrinfo(addr);
        error_set(err, NNDL_ERR_NOMEM, "out of memory");
        return NULL;
    }
    h->srv = srv;
    h->head_seconds = timeout;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->wake, NULL);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG;
    if (addr->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, handle, h,
        MHD_OPTION_SOCK_ADDR, addr->ai_addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)SERVE_MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)SERVE_MAX_PER_ADDRESS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)timeout,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        MHD_OPTION_NOTIFY_COMPLETED, completed, h,
        MHD_OPTION_EXTERNAL_LOGGER, quiet_log, NULL,
        MHD_OPTION_END);
    freeaddrinfo(addr);
    if (h->daemon && pthread_create(&h->watcher, NULL, watch, h) == 0) h->watching = 1;
    if (!h->daemon || !h->watching) {
        if (h->daemon)
            error_set(err, NNDL_ERR_NOMEM, "cannot start a thread");
        else
            error_set(err, NNDL_ERR_IO, "cannot listen on %s port %d (in use, or not allowed)",
                      host, port);
        http_stop(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
    return h;
}

void http_stop(http_server *h)
{
    if (!h) return;
    if (h->watching) {
        pthread_mutex_lock(&h->lock);
        h->stopping = 1;
        pthread_cond_signal(&h->wake);
        pthread_mutex_unlock(&h->lock);
        pthread_join(h->watcher, NULL);
    }
    if (h->daemon) MHD_stop_daemon(h->daemon);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
