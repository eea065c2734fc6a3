/* nndl serve: a web page to draw digits on and watch networks learn, served
 * by libmicrohttpd. The parts:
 *   models.c    the networks being served, each with its test accuracy
 *   mnist.c     MNIST, loaded once, on the first training run
 *   training.c  training runs in background threads, epoch by epoch events
 *   api.c       each request's answer, from method, path and body alone
 *   multipart.c the file in a multipart/form-data body (curl -F)
 *   http.c      libmicrohttpd: bodies, limits, timeouts, event streams
 *   assets.S    the page (web/) compiled into the binary */
#ifndef NNDL_CLI_SERVE_H
#define NNDL_CLI_SERVE_H

#include <pthread.h>
#include <stddef.h>

#include "nndl.h"

/* Limits that keep one client from taking the server down. */
enum {
    SERVE_MAX_MODELS = 16,          /* loaded and trained networks */
    SERVE_MAX_BODY = 2 << 20,       /* bytes of a request body: a PNG, or a
                                       {"pixels"} square of 512 x 512 values
                                       written with up to 4 decimals */
    SERVE_MAX_SIDE = 512,           /* width of a {"pixels"} square; a body of
                                       more values is refused before it is
                                       parsed (some 80 bytes a value) */
    SERVE_MAX_CONNECTIONS = 64,     /* open at once */
    SERVE_MAX_PER_ADDRESS = 16,     /* open at once from one client address */
    SERVE_SPARE_CONNECTIONS = 8,    /* with fewer places left than this, ... */
    SERVE_BUSY_HEAD_SECONDS = 1,    /* ... a request head may take this long */
    SERVE_TIMEOUT_SECONDS = 30,     /* default idle time before a connection is closed */
    SERVE_MAX_ACTIVE_RUNS = 2,      /* training runs at once (one per core) */
    SERVE_MAX_RUNS = 32,            /* runs remembered, finished or not */
    SERVE_KEEPALIVE_SECONDS = 10    /* comment lines on a quiet event stream */
};

/* ---- models.c ---- */

typedef struct served_model {
    char name[96];          /* file name, or "run N" for a network trained here */
    nndl_net *net;
    pthread_mutex_t lock;   /* a network's scratch buffers serve one input at a time */
    size_t correct, total;  /* on `accuracy_on`; total 0 when unknown */
    const char *accuracy_on; /* "test" or "validation" */
} served_model;

typedef struct model_registry {
    pthread_mutex_t lock; /* guards count; models are only ever added */
    int count;
    served_model *models[SERVE_MAX_MODELS];
} model_registry;

void models_init(model_registry *r);
void models_free(model_registry *r);
int models_count(model_registry *r);
served_model *models_get(model_registry *r, int index);
/* Adds `net` (ownership passes to the registry, also on failure) and returns
 * its index, or -1 when the registry is full or memory runs out. */
int models_add(model_registry *r, const char *name, nndl_net *net, size_t correct,
               size_t total, const char *accuracy_on);

/* ---- mnist.c ---- */

typedef struct shared_mnist {
    pthread_mutex_t lock;
    int tried;
    nndl_status status;
    nndl_error error;
    nndl_dataset *training, *validation, *test;
} shared_mnist;

void mnist_shared_init(shared_mnist *m);
void mnist_shared_free(shared_mnist *m);
/* Loads MNIST on the first call; later calls return the same outcome. */
nndl_status mnist_shared_get(shared_mnist *m, nndl_error *err);

/* ---- training.c ---- */

/* A small recipe a page can ask for: [784, hidden, 10], sigmoid. */
typedef struct train_recipe {
    int hidden, epochs, batch, train_size;
    float eta, lambda;
    nndl_cost cost;
    unsigned long long seed;
} train_recipe;

typedef struct training training;
struct server;

training *training_create(struct server *srv);
/* Asks the runs to stop after their epoch and ends every event stream
 * (before the HTTP server waits for its connections to close). */
void training_stop(training *t);
/* After training_stop: waits until every open event stream has sent its
 * last event, or `seconds` have passed. */
void training_wait_streams(training *t, double seconds);
/* Stops, then joins the runs' threads and frees everything. */
void training_free(training *t);
/* Reads a recipe from a JSON object (NULL or empty: all defaults). On a
 * bad field returns 0 with a one-line reason in `why`. */
int train_recipe_parse(const char *body, size_t len, train_recipe *r, char *why, size_t cap);
/* Starts a run; returns its id, or 0 with the reason in `why` and the HTTP
 * status to answer in *status (429 when too many runs are going). */
int training_start(training *t, const train_recipe *r, int *status, char *why, size_t cap);

/* Reading one run's events as a server-sent event stream. */
typedef struct event_stream event_stream;
event_stream *training_stream_open(training *t, int id);
/* Writes up to `cap` bytes of the stream; blocks until an event arrives,
 * sending a comment line every SERVE_KEEPALIVE_SECONDS. Returns the bytes
 * written, or 0 at the end of the stream: after the run's "done" or
 * "error" event, or after an "error" event saying the server is stopping. */
size_t training_stream_read(event_stream *s, char *buf, size_t cap);
void training_stream_close(event_stream *s);

/* ---- the server ---- */

typedef struct server {
    model_registry models;
    shared_mnist mnist;
    training *training;
} server;

/* ---- api.c ---- */

typedef struct api_response {
    int status;
    const char *content_type;
    char *body;            /* malloc'd, or NULL when `static_body` is used */
    const char *static_body;
    size_t length;
    const char *allow;     /* the Allow header of a 405 */
    event_stream *stream;  /* for an event stream: the body comes from it */
} api_response;

/* The answer to one request. `query_model` is the ?model= argument or NULL,
 * `content_type` the request's Content-Type or NULL. Never fails: out of
 * memory becomes a 500 with a static body. */
api_response api_handle(server *srv, const char *method, const char *path,
                        const char *query_model, const char *content_type,
                        const char *body, size_t length);
void api_response_free(api_response *r);

/* ---- multipart.c ---- */

/* The first file part (one whose Content-Disposition has a filename) of a
 * multipart/form-data body whose Content-Type is `content_type`: returns 1
 * with *file and *file_len pointing into `body`; or 0 with a one-line
 * reason in `why` (no boundary, a body cut off or malformed, headers of a
 * part over 8 KiB, no file part). Reads nothing outside [body, body + len)
 * and allocates nothing. */
int multipart_first_file(const char *content_type, const char *body, size_t len,
                         const char **file, size_t *file_len, char *why, size_t cap);

/* ---- assets.S ---- */

typedef struct web_asset {
    const char *path, *content_type;
    const char *data;
    size_t length;
} web_asset;

/* Fills `out` with the asset served at `path` and returns 1, or returns 0. */
int web_asset_find(const char *path, web_asset *out);

/* ---- http.c ---- */

typedef struct http_server http_server;
/* Starts listening on host:port (port 0: any free port), closing
 * connections idle for `timeout` seconds and those whose request head takes
 * longer than that (or than SERVE_BUSY_HEAD_SECONDS when the server is
 * nearly full); prints nothing. */
http_server *http_start(server *srv, const char *host, int port, int timeout, int *bound_port,
                        nndl_error *err);
void http_stop(http_server *h);

#endif
