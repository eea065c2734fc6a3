/* The HTTP side of nndl serve, on libmicrohttpd: one thread per connection
 * (an event stream may wait for minutes between epochs), a bounded number
 * of connections, an idle timeout, and request bodies collected up to
 * SERVE_MAX_BODY. Every answer comes from api_handle. */
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/error.h"
#include "serve.h"

struct http_server {
    struct MHD_Daemon *daemon;
    server *srv;
};

/* One request's body as it arrives. */
typedef struct request {
    char *body;
    size_t length, capacity;
    int too_large;
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
        if (!(req = calloc(1, sizeof *req))) return MHD_NO;
        *state = req;
        const char *announced = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                            MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (announced && strtoull(announced, NULL, 10) > SERVE_MAX_BODY) {
            req->too_large = 1;
            return too_large(c);
        }
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
    (void)cls, (void)c, (void)why;
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
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG;
    if (addr->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, handle, h,
        MHD_OPTION_SOCK_ADDR, addr->ai_addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)SERVE_MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)SERVE_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)timeout,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, quiet_log, NULL,
        MHD_OPTION_END);
    freeaddrinfo(addr);
    if (!h->daemon) {
        error_set(err, NNDL_ERR_IO, "cannot listen on %s port %d (in use, or not allowed)", host,
                  port);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
    return h;
}

void http_stop(http_server *h)
{
    if (!h) return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
