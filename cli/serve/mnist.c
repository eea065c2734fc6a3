/* MNIST for the server's training runs: loaded by the first run that needs
 * it and shared, read only, by every later one. */
#include <string.h>

#include "serve.h"

void mnist_shared_init(shared_mnist *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
}

void mnist_shared_free(shared_mnist *m)
{
    nndl_dataset_free(m->training);
    nndl_dataset_free(m->validation);
    nndl_dataset_free(m->test);
    pthread_mutex_destroy(&m->lock);
}

nndl_status mnist_shared_get(shared_mnist *m, nndl_error *err)
{
    pthread_mutex_lock(&m->lock);
    if (!m->tried) {
        m->tried = 1;
        char dir[4096];
        m->status = nndl_mnist_find(dir, sizeof dir, &m->error);
        if (m->status == NNDL_OK)
            m->status = nndl_mnist_load(dir, &m->training, &m->validation, &m->test, &m->error);
    }
    nndl_status status = m->status;
    if (status != NNDL_OK && err) *err = m->error;
    pthread_mutex_unlock(&m->lock);
    return status;
}
