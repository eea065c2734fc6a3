/* A fingerprint of labelled images, which model files record to say what
 * they were trained on. Its own file: only programs that ask for it link
 * OpenSSL. */
#include <openssl/evp.h>
#include <stdio.h>

#include "common/error.h"
#include "data/dataset.h"

nndl_status nndl_dataset_fingerprint(const nndl_dataset *const *parts, int n, char out[33],
                                     nndl_error *err)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    /* all pixels, then all labels: parts split off one file hash as the file */
    for (int i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(ctx, parts[i]->pixels, parts[i]->count * dataset_image_bytes(parts[i]));
    for (int i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(ctx, parts[i]->labels, parts[i]->count);
    ok = ok && EVP_DigestFinal_ex(ctx, digest, &len) && len >= 16;
    EVP_MD_CTX_free(ctx);
    if (!ok) return error_set(err, NNDL_ERR_NOMEM, "data: cannot compute a SHA-256 fingerprint");
    for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", digest[i]);
    return NNDL_OK;
}
