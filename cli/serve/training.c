/* Training runs started from the page: each in its own thread, one core
 * each, reporting every epoch as a server-sent event ("event: epoch" with a
 * JSON object) that any number of streams replay from the start. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json_strict.h"
#include "serve.h"

typedef struct train_run {
    int id;
    train_recipe recipe;
    char *events[4 + 200];  /* "start", one per epoch (at most 200), "done" or "error" */
    int n_events;
    int finished;
    int streams;            /* open event streams: the run is kept while any is open */
    int joined;
    pthread_t thread;
    training *owner;
} train_run;

struct training {
    server *srv;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a run has a new event, or the server is stopping */
    int stopping;
    int next_id;
    int active;
    int live_streams; /* streams open and not yet at their end */
    train_run *runs[SERVE_MAX_RUNS];
};

struct event_stream {
    training *t;
    train_run *run;
    int next;          /* the next event to send */
    char *pending;     /* the text being sent, and how much of it went out */
    size_t pending_len, pending_off;
    int last_sent;     /* the run's last event ("done" or "error") is on its way */
    int done;
};

/* The last event of a stream the server ends while its run goes on. */
static const char stopping_event[] =
    "event: error\ndata: {\"error\":\"the server is stopping\"}\n\n";

/* ---- recipes ---- */

static const train_recipe recipe_default = {
    .hidden = 30, .epochs = 10, .batch = 10, .train_size = 10000,
    .eta = 0.5f, .lambda = 0, .cost = NNDL_COST_CROSS_ENTROPY, .seed = 1,
};

static int why_set(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return 0;
}

static int number_field(const cJSON *item, double min, double max, int integer, double *out,
                        char *why, size_t cap)
{
    if (!cJSON_IsNumber(item))
        return why_set(why, cap, "\"%s\" must be a number", item->string);
    double v = item->valuedouble;
    if (!(v >= min && v <= max) || (integer && v != (double)(long long)v))
        return why_set(why, cap, "\"%s\": %g is out of range; need %s %g to %g", item->string, v,
                       integer ? "a whole number from" : "a number from", min, max);
    *out = v;
    return 1;
}

int train_recipe_parse(const char *body, size_t len, train_recipe *r, char *why, size_t cap)
{
    *r = recipe_default;
    size_t start = 0;
    while (start < len && (body[start] == ' ' || body[start] == '\n' || body[start] == '\r' ||
                           body[start] == '\t'))
        start++;
    if (start == len) return 1;
    json_problem problem;
    cJSON *json = json_parse_strict(body, len, 64, &problem);
    if (!json) {
        char what[160];
        json_problem_describe(&problem, what, sizeof what);
        return why_set(why, cap, "the body is not valid JSON: %s", what);
    }
    if (!cJSON_IsObject(json)) {
        cJSON_Delete(json);
        return why_set(why, cap, "the body must be a JSON object of training settings");
    }
    int ok = 1;
    const cJSON *item;
    cJSON_ArrayForEach(item, json)
    {
        double v = 0;
        const char *k = item->string;
        if (strcmp(k, "hidden") == 0) {
            if ((ok = number_field(item, 1, 200, 1, &v, why, cap))) r->hidden = (int)v;
        } else if (strcmp(k, "epochs") == 0) {
            if ((ok = number_field(item, 1, 200, 1, &v, why, cap))) r->epochs = (int)v;
        } else if (strcmp(k, "batch") == 0) {
            if ((ok = number_field(item, 1, 1000, 1, &v, why, cap))) r->batch = (int)v;
        } else if (strcmp(k, "train_size") == 0) {
            if ((ok = number_field(item, 10, 50000, 1, &v, why, cap))) r->train_size = (int)v;
        } else if (strcmp(k, "eta") == 0) {
            if ((ok = number_field(item, 1e-6, 100, 0, &v, why, cap))) r->eta = (float)v;
            if (ok && !(r->eta > 0)) ok = why_set(why, cap, "\"eta\" must be positive");
        } else if (strcmp(k, "lambda") == 0) {
            if ((ok = number_field(item, 0, 1000, 0, &v, why, cap))) r->lambda = (float)v;
        } else if (strcmp(k, "seed") == 0) {
            if ((ok = number_field(item, 0, 1e15, 1, &v, why, cap)))
                r->seed = (unsigned long long)v;
        } else if (strcmp(k, "cost") == 0) {
            if (!cJSON_IsString(item) ||
                (strcmp(item->valuestring, "quadratic") != 0 &&
                 strcmp(item->valuestring, "cross-entropy") != 0))
                ok = why_set(why, cap, "\"cost\" must be \"quadratic\" or \"cross-entropy\"");
            else
                r->cost = (nndl_cost)nndl_cost_parse(item->valuestring);
        } else {
            ok = why_set(why, cap,
                         "unknown setting \"%.40s\" (known: hidden, epochs, batch, train_size, "
                         "eta, lambda, cost, seed)",
                         k);
        }
        if (!ok) break;
    }
    cJSON_Delete(json);
    return ok;
}

/* ---- events ---- */

/* Appends "event: NAME\ndata: JSON\n\n" to the run and wakes its streams.
 * Takes ownership of `data`. */
static void run_emit(train_run *run, const char *name, cJSON *data)
{
    char *json = data ? cJSON_PrintUnformatted(data) : NULL;
    cJSON_Delete(data);
    size_t cap = (json ? strlen(json) : 2) + strlen(name) + 32;
    char *text = malloc(cap);
    if (text) snprintf(text, cap, "event: %s\ndata: %s\n\n", name, json ? json : "{}");
    free(json);
    training *t = run->owner;
    pthread_mutex_lock(&t->lock);
    int max = (int)(sizeof run->events / sizeof run->events[0]);
    if (text && run->n_events < max)
        run->events[run->n_events++] = text;
    else
        free(text);
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
}

static void run_fail(train_run *run, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", message);
    run_emit(run, "error", o);
}

static cJSON *recipe_json(const train_recipe *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *sizes = cJSON_AddArrayToObject(o, "sizes");
    int s[3] = {784, r->hidden, 10};
    for (int i = 0; i < 3; i++) cJSON_AddItemToArray(sizes, cJSON_CreateNumber(s[i]));
    cJSON_AddNumberToObject(o, "epochs", r->epochs);
    cJSON_AddNumberToObject(o, "batch", r->batch);
    cJSON_AddNumberToObject(o, "train_size", r->train_size);
    cJSON_AddNumberToObject(o, "eta", r->eta);
    cJSON_AddNumberToObject(o, "lambda", r->lambda);
    cJSON_AddStringToObject(o, "cost", nndl_cost_name(r->cost));
    cJSON_AddNumberToObject(o, "seed", (double)r->seed);
    return o;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
}

static int stopping(training *t)
{
    pthread_mutex_lock(&t->lock);
    int s = t->stopping;
    pthread_mutex_unlock(&t->lock);
    return s;
}

/* ---- a run ---- */

/* The first `n` images of `all`, copied. */
static nndl_dataset *first_images(const nndl_dataset *all, size_t n, nndl_error *err)
{
    int rows = nndl_dataset_rows(all), cols = nndl_dataset_cols(all);
    nndl_dataset *ds = nndl_dataset_create(n, rows, cols, err);
    if (!ds) return NULL;
    if (n) {
        memcpy(nndl_dataset_image_mut(ds, 0), nndl_dataset_image(all, 0),
               n * (size_t)rows * (size_t)cols);
        memcpy(nndl_dataset_labels_mut(ds), nndl_dataset_labels(all), n);
    }
    return ds;
}

static void run_train(train_run *run)
{
    training *t = run->owner;
    const train_recipe *r = &run->recipe;
    nndl_error err = {0};
    nndl_dataset *train = NULL;
    nndl_net *net = NULL;
    nndl_trainer *trainer = NULL;

    run_emit(run, "start", recipe_json(r));
    if (mnist_shared_get(&t->srv->mnist, &err) != NNDL_OK) goto fail;
    const nndl_dataset *validation = t->srv->mnist.validation;
    if (!(train = first_images(t->srv->mnist.training, (size_t)r->train_size, &err))) goto fail;

    int sizes[3] = {784, r->hidden, 10};
    nndl_net_spec spec = nndl_net_spec_default(3, sizes);
    spec.cost = r->cost;
    spec.seed = r->seed;
    if (!(net = nndl_net_create(&spec, &err))) goto fail;
    nndl_net_set_threads(net, 1);
    nndl_sgd_config config = nndl_sgd_config_default(r->batch, r->eta);
    config.lambda = r->lambda;
    config.seed = r->seed;
    if (!(trainer = nndl_trainer_create(net, &config, &err))) goto fail;

    size_t correct = 0, total = nndl_dataset_count(validation);
    for (int epoch = 0; epoch < r->epochs; epoch++) {
        if (stopping(t)) {
            run_fail(run, "the server is stopping");
            goto done;
        }
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        double cost = 0;
        if (nndl_trainer_epoch(trainer, train, NULL, NULL, &err) != NNDL_OK) goto fail;
        double seconds = seconds_since(&t0);
        if (nndl_net_evaluate(net, validation, &correct, &err) != NNDL_OK ||
            nndl_net_total_cost(net, validation, r->lambda, 0, &cost, &err) != NNDL_OK)
            goto fail;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "epoch", epoch);
        cJSON_AddNumberToObject(o, "epochs", r->epochs);
        cJSON_AddNumberToObject(o, "correct", (double)correct);
        cJSON_AddNumberToObject(o, "total", (double)total);
        cJSON_AddNumberToObject(o, "accuracy", (double)correct / (double)total);
        cJSON_AddNumberToObject(o, "cost", cost);
        cJSON_AddNumberToObject(o, "seconds", seconds);
        run_emit(run, "epoch", o);
    }

    char name[64];
    snprintf(name, sizeof name, "run %d", run->id);
    int index = models_add(&t->srv->models, name, net, correct, total, "validation");
    net = NULL; /* the registry owns it now, or freed it */
    cJSON *o = cJSON_CreateObject();
    if (index >= 0)
        cJSON_AddNumberToObject(o, "model", index);
    else
        cJSON_AddNullToObject(o, "model");
    cJSON_AddNumberToObject(o, "correct", (double)correct);
    cJSON_AddNumberToObject(o, "total", (double)total);
    cJSON_AddNumberToObject(o, "accuracy", (double)correct / (double)total);
    run_emit(run, "done", o);
    goto done;
fail:
    run_fail(run, err.message[0] ? err.message : "training failed");
done:
    nndl_trainer_free(trainer);
    nndl_net_free(net);
    nndl_dataset_free(train);
}

static void *run_thread(void *arg)
{
    train_run *run = arg;
    run_train(run);
    training *t = run->owner;
    pthread_mutex_lock(&t->lock);
    run->finished = 1;
    t->active--;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

static void run_free(train_run *run)
{
    if (!run) return;
    if (!run->joined) pthread_join(run->thread, NULL);
    for (int i = 0; i < run->n_events; i++) free(run->events[i]);
    free(run);
}

/* ---- the table of runs ---- */

training *training_create(server *srv)
{
    training *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->srv = srv;
    t->next_id = 1;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->changed, NULL);
    return t;
}

void training_stop(training *t)
{
    pthread_mutex_lock(&t->lock);
    t->stopping = 1;
    pthread_cond_broadcast(&t->changed);
    pthread_mutex_unlock(&t->lock);
}

void training_free(training *t)
{
    if (!t) return;
    training_stop(t);
    for (int i = 0; i < SERVE_MAX_RUNS; i++) run_free(t->runs[i]);
    pthread_cond_destroy(&t->changed);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* A free slot of t->runs, making one by forgetting the oldest finished run
 * that no stream is reading; -1 if none. Called with the lock held. */
static int free_slot(training *t)
{
    int oldest = -1;
    for (int i = 0; i < SERVE_MAX_RUNS; i++) {
        train_run *run = t->runs[i];
        if (!run) return i;
        if (run->finished && run->streams == 0 && (oldest < 0 || run->id < t->runs[oldest]->id))
            oldest = i;
    }
    if (oldest >= 0) {
        train_run *old = t->runs[oldest];
        t->runs[oldest] = NULL;
        pthread_join(old->thread, NULL); /* finished: returns at once */
        old->joined = 1;
        run_free(old);
    }
    return oldest;
}

int training_start(training *t, const train_recipe *r, int *status, char *why, size_t cap)
{
    train_run *run = calloc(1, sizeof *run);
    if (!run) {
        *status = 503;
        why_set(why, cap, "out of memory for a training run");
        return 0;
    }
    run->recipe = *r;
    run->owner = t;
    pthread_mutex_lock(&t->lock);
    int slot = -1, id = 0;
    if (t->stopping) {
        *status = 503;
        why_set(why, cap, "the server is stopping");
    } else if (t->active >= SERVE_MAX_ACTIVE_RUNS) {
        *status = 429;
        why_set(why, cap, "%d training runs are already going; wait for one to finish",
                t->active);
    } else if ((slot = free_slot(t)) < 0) {
        *status = 503;
        why_set(why, cap, "every one of the %d remembered runs is still being watched",
                SERVE_MAX_RUNS);
    } else {
        id = run->id = t->next_id++;
        int rc = pthread_create(&run->thread, NULL, run_thread, run);
        if (rc != 0) {
            *status = 503;
            why_set(why, cap, "cannot start a thread: %s", strerror(rc));
            slot = -1;
        } else {
            t->runs[slot] = run;
            t->active++;
        }
    }
    pthread_mutex_unlock(&t->lock);
    if (slot < 0) {
        free(run);
        return 0;
    }
    return id; /* not run->id: once unlocked, a finished run may be freed */
}

/* ---- streams ---- */

event_stream *training_stream_open(training *t, int id)
{
    event_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_mutex_lock(&t->lock);
    for (int i = 0; i < SERVE_MAX_RUNS; i++)
        if (t->runs[i] && t->runs[i]->id == id) s->run = t->runs[i];
    if (s->run) {
        s->run->streams++;
        t->live_streams++;
    }
    pthread_mutex_unlock(&t->lock);
    if (!s->run) {
        free(s);
        return NULL;
    }
    s->t = t;
    return s;
}

/* Waits for the next event (lock held); sets s->pending to a copy of it, to
 * a keepalive comment, or leaves it NULL at the end of the stream. A
 * stream the server ends before its run has ended ends with an error
 * event, "the server is stopping", as the run itself will. */
static void next_text(event_stream *s)
{
    training *t = s->t;
    train_run *run = s->run;
    if (s->last_sent) {
        /* the run's thread ends just after its last event: the stream ends
         * when it has, so that a client can start another run at once */
        while (!run->finished && !t->stopping) pthread_cond_wait(&t->changed, &t->lock);
        return;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SERVE_KEEPALIVE_SECONDS;
    while (s->next == run->n_events && !run->finished && !t->stopping) {
        if (pthread_cond_timedwait(&t->changed, &t->lock, &deadline) == ETIMEDOUT) {
            s->pending = strdup(": still training\n\n");
            return;
        }
    }
    if (s->next < run->n_events) {
        s->pending = strdup(run->events[s->next++]);
        s->last_sent = s->pending && (strncmp(s->pending, "event: done\n", 12) == 0 ||
                                      strncmp(s->pending, "event: error\n", 13) == 0);
    } else if (t->stopping && !run->finished) {
        s->pending = strdup(stopping_event);
        s->last_sent = 1;
    }
}

/* The end of a stream (lock held). */
static void stream_ended(event_stream *s)
{
    if (s->done) return;
    s->done = 1;
    s->t->live_streams--;
    pthread_cond_broadcast(&s->t->changed);
}

void training_wait_streams(training *t, double seconds)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)seconds;
    deadline.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->lock);
    while (t->live_streams > 0)
        if (pthread_cond_timedwait(&t->changed, &t->lock, &deadline) == ETIMEDOUT) break;
    pthread_mutex_unlock(&t->lock);
}

size_t training_stream_read(event_stream *s, char *buf, size_t cap)
{
    if (!s->pending && !s->done) {
        pthread_mutex_lock(&s->t->lock);
        next_text(s);
        if (!s->pending) stream_ended(s);
        pthread_mutex_unlock(&s->t->lock);
        if (s->pending) {
            s->pending_len = strlen(s->pending);
            s->pending_off = 0;
        }
    }
    if (s->done) return 0;
    size_t n = s->pending_len - s->pending_off;
    if (n > cap) n = cap;
    memcpy(buf, s->pending + s->pending_off, n);
    s->pending_off += n;
    if (s->pending_off == s->pending_len) {
        free(s->pending);
        s->pending = NULL;
    }
    return n;
}

void training_stream_close(event_stream *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->t->lock);
    s->run->streams--;
    stream_ended(s);
    pthread_mutex_unlock(&s->t->lock);
    free(s->pending);
    free(s);
}
