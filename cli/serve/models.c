/* The networks nndl serve answers with: the model files it was started
 * with, then the networks its training runs produce. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

void models_init(model_registry *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
}

void models_free(model_registry *r)
{
    for (int i = 0; i < r->count; i++) {
        nndl_net_free(r->models[i]->net);
        pthread_mutex_destroy(&r->models[i]->lock);
        free(r->models[i]);
    }
    pthread_mutex_destroy(&r->lock);
}

int models_count(model_registry *r)
{
    pthread_mutex_lock(&r->lock);
    int n = r->count;
    pthread_mutex_unlock(&r->lock);
    return n;
}

served_model *models_get(model_registry *r, int index)
{
    pthread_mutex_lock(&r->lock);
    served_model *m = index >= 0 && index < r->count ? r->models[index] : NULL;
    pthread_mutex_unlock(&r->lock);
    return m;
}

int models_add(model_registry *r, const char *name, nndl_net *net, size_t correct,
               size_t total, const char *accuracy_on)
{
    served_model *m = calloc(1, sizeof *m);
    if (!m) {
        nndl_net_free(net);
        return -1;
    }
    /* a served network answers one request at a time: one thread is enough */
    nndl_net_set_threads(net, 1);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->net = net;
    m->correct = correct;
    m->total = total;
    m->accuracy_on = accuracy_on;
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_lock(&r->lock);
    int index = r->count < SERVE_MAX_MODELS ? r->count : -1;
    if (index >= 0) r->models[r->count++] = m;
    pthread_mutex_unlock(&r->lock);
    if (index < 0) {
        nndl_net_free(net);
        pthread_mutex_destroy(&m->lock);
        free(m);
    }
    return index;
}
