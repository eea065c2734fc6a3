/* Fetching MNIST with libcurl and checking it by MD5.
 *
 * Mirrors are tried in order: $NNDL_MNIST_MIRROR if set (a base URL such as
 * file:///srv/mnist/ or https://host/dir/; the file name is appended), then
 * the public mirrors below. NNDL_MNIST_MIRROR_ONLY=1 leaves only
 * $NNDL_MNIST_MIRROR in the list: the tests use it so that they never reach
 * for the network.
 *
 * A file goes to a temporary name in the target directory, is checked
 * against the well-known MD5 of its decompressed content, and only then is
 * renamed into place: an interrupted or damaged download never appears
 * under the real name. */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "data/gz_reader.h"
#include "nndl.h"

static const char *const public_mirrors[] = {
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
};

/* MD5 of each decompressed file, in the order of nndl_mnist_files. */
static const char *const mnist_md5[4] = {
    "6bbc9ace898e44ae57da46a324031adb",
    "a25bea736e30d166cdddb491f175f624",
    "2646ac647ad5339dbf082846283269ea",
    "27ae3e4e09519cfbb04c329615203637",
};

enum {
    PATH_CAP = 4096,
    MAX_MIRRORS = 3,
    HASH_CHUNK = 1 << 16,
    CONNECT_TIMEOUT_S = 15,
    LOW_SPEED_BYTES = 1024, /* give up below 1 KiB/s ... */
    LOW_SPEED_TIME_S = 30   /* ... sustained for 30 s */
};
#define MAX_DOWNLOAD_BYTES (64u << 20) /* the largest file is 9.5 MiB */

/* MD5 of the decompressed content of `path`, as 32 lowercase hex digits. */
static nndl_status md5_of_gz(const char *path, char hex[33], nndl_error *err)
{
    gz_reader *in = NULL;
    nndl_status st = gz_reader_open(path, NNDL_ERR_NOT_FOUND, &in, err);
    if (st) return st;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t *buf = alloc_array(HASH_CHUNK, 1);
    if (!ctx || !buf || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL)) {
        st = error_set(err, NNDL_ERR_NOMEM, "%s: cannot set up MD5", path);
        goto done;
    }
    /* gz_reader checks the gzip stream to its end: a cut or damaged one is
     * an error, not an end */
    size_t n = HASH_CHUNK;
    while (st == NNDL_OK && n == HASH_CHUNK) {
        st = gz_reader_read(in, buf, HASH_CHUNK, &n, err);
        if (st == NNDL_OK) EVP_DigestUpdate(ctx, buf, n);
    }
    if (st) goto done;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    for (unsigned i = 0; i < len && i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[32] = 0;
done:
    alloc_free(buf);
    EVP_MD_CTX_free(ctx);
    gz_reader_close(in);
    return st;
}

/* Checks one file of MNIST (index i of nndl_mnist_files) at `path`. */
static nndl_status check_file(const char *path, int i, nndl_error *err)
{
    char hex[33];
    nndl_status st = md5_of_gz(path, hex, err);
    if (st) return st;
    if (strcmp(hex, mnist_md5[i]) != 0)
        return error_set(err, NNDL_ERR_FORMAT,
                         "%s: MD5 of the decompressed data is %s, expected %s (damaged or "
                         "not the MNIST file %s)",
                         path, hex, mnist_md5[i], nndl_mnist_files[i]);
    return NNDL_OK;
}

static int join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_CAP, "%s/%s", dir, name);
    return n >= 0 && n < PATH_CAP;
}

nndl_status nndl_mnist_verify(const char *dir, nndl_error *err)
{
    if (!dir) return error_set(err, NNDL_ERR_ARG, "mnist verify: no directory given");
    /* the files as they are there: gzip-compressed, or unpacked */
    nndl_data_files files;
    nndl_status st = nndl_mnist_files_in(dir, &files, err);
    for (int i = 0; i < 4 && st == NNDL_OK; i++) st = check_file(files.path[i], i, err);
    return st;
}

/* mkdir -p: creates `dir` and any missing parents. */
static nndl_status make_dirs(const char *dir, nndl_error *err)
{
    char path[PATH_CAP];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return error_set(err, NNDL_ERR_ARG, "%s: directory name too long", dir);
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != 0) continue;
        char c = *p;
        *p = 0;
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return error_set(err, NNDL_ERR_IO, "%s: cannot create directory (%s)", path,
                             strerror(errno));
        *p = c;
        if (!c) break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return error_set(err, NNDL_ERR_IO, "%s: not a directory", dir);
    return NNDL_OK;
}

typedef struct sink {
    FILE *f;
    size_t bytes;
    int too_big;
} sink;

static size_t write_cb(char *data, size_t size, size_t nmemb, void *user)
{
    sink *s = user;
    size_t n = size * nmemb; /* curl guarantees this fits */
    if (n > MAX_DOWNLOAD_BYTES - s->bytes) {
        s->too_big = 1;
        return 0; /* aborts the transfer */
    }
    if (fwrite(data, 1, n, s->f) != n) return 0;
    s->bytes += n;
    return n;
}

static void set_options(CURL *curl, char *errbuf)
{
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L); /* HTTP 404 is a failure */
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_BYTES);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, (long)LOW_SPEED_TIME_S);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MAX_DOWNLOAD_BYTES);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM: safe with threads */
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "nndl/" NNDL_VERSION);
    /* A mirror may be file://, but a redirect must not lead there. */
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FILE);
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
}

/* Writes a reason into `why`, cut short if long: the messages built from
 * it are one line of limited length anyway. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void say(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

/* The reason in an error message "path: reason"; a message about the
 * temporary file is reported under the mirror's name instead. */
static const char *after_path(const char *message, const char *path)
{
    size_t n = strlen(path);
    if (strncmp(message, path, n) == 0 && message[n] == ':' && message[n + 1] == ' ')
        return message + n + 2;
    return message;
}

/* Fetches `base` + file i into a temporary file in `dir`, checks it and
 * renames it into place. A failure of the mirror or of the file it served
 * is written to `why` and returns NNDL_ERR_NETWORK; a local failure (the
 * directory cannot be written) returns its own status through err. */
static nndl_status fetch_one(CURL *curl, const char *base, const char *dir, int i,
                             char *why, size_t why_cap, nndl_error *err)
{
    const char *name = nndl_mnist_files[i];
    char url[PATH_CAP], tmp[PATH_CAP], final[PATH_CAP];
    size_t blen = strlen(base);
    const char *sep = blen && base[blen - 1] == '/' ? "" : "/";
    if (snprintf(url, sizeof url, "%s%s%s", base, sep, name) >= (int)sizeof url ||
        snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name) >= (int)sizeof tmp ||
        !join(final, dir, name))
        return error_set(err, NNDL_ERR_ARG, "%s: name too long", dir);

    int fd = mkstemp(tmp);
    /* mkstemp makes the file private; the data is public. */
    FILE *f = fd >= 0 && fchmod(fd, 0644) == 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        nndl_status st = error_set(err, NNDL_ERR_IO, "%s: cannot create a file in it (%s)",
                                   dir, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        return st;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    sink s = {f, 0, 0};
    set_options(curl, errbuf);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL); /* errbuf goes out of scope */
    int write_failed = fflush(f) != 0 || fsync(fileno(f)) != 0;
    write_failed |= fclose(f) != 0;

    nndl_status st = NNDL_ERR_NETWORK;
    nndl_error check;
    if (s.too_big)
        say(why, why_cap, "%s: larger than %u MiB", base, MAX_DOWNLOAD_BYTES >> 20);
    else if (rc != CURLE_OK)
        say(why, why_cap, "%s: %s", base, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    else if (write_failed)
        st = error_set(err, NNDL_ERR_IO, "%s: cannot write (%s)", tmp, strerror(errno));
    else if (check_file(tmp, i, &check) != NNDL_OK)
        say(why, why_cap, "%s: %s", base, after_path(check.message, tmp));
    else if (rename(tmp, final) != 0)
        st = error_set(err, NNDL_ERR_IO, "%s: cannot rename into place (%s)", final,
                       strerror(errno));
    else
        return NNDL_OK;
    unlink(tmp);
    return st;
}

/* Tries every mirror in turn for file i. */
static nndl_status download_file(CURL *curl, const char *const *mirrors, int n_mirrors,
                                 const char *dir, int i, nndl_error *err)
{
    char tried[400] = "", why[400];
    size_t used = 0;
    for (int m = 0; m < n_mirrors; m++) {
        nndl_status st = fetch_one(curl, mirrors[m], dir, i, why, sizeof why, err);
        if (st != NNDL_ERR_NETWORK) return st;
        int n = snprintf(tried + used, sizeof tried - used, "%s%s", m ? "; " : "", why);
        if (n > 0) used += (size_t)n < sizeof tried - used ? (size_t)n : sizeof tried - used - 1;
    }
    return error_set(err, NNDL_ERR_NETWORK,
                     "%s: download failed; put the four MNIST files in %s by hand (tried %s)",
                     nndl_mnist_files[i], dir, tried);
}

nndl_status nndl_mnist_download(const char *dir, nndl_error *err)
{
    if (!dir || !*dir) return error_set(err, NNDL_ERR_ARG, "mnist download: no directory given");
    const char *mirrors[MAX_MIRRORS];
    int n_mirrors = 0;
    const char *own = getenv("NNDL_MNIST_MIRROR");
    const char *only = getenv("NNDL_MNIST_MIRROR_ONLY");
    if (own && *own) mirrors[n_mirrors++] = own;
    if (!(n_mirrors && only && strcmp(only, "1") == 0))
        for (size_t m = 0; m < sizeof public_mirrors / sizeof *public_mirrors; m++)
            mirrors[n_mirrors++] = public_mirrors[m];

    nndl_status st = make_dirs(dir, err);
    if (st) return st;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return error_set(err, NNDL_ERR_NETWORK, "mnist download: cannot initialize libcurl");
    CURL *curl = curl_easy_init();
    if (!curl) {
        curl_global_cleanup();
        return error_set(err, NNDL_ERR_NOMEM, "mnist download: cannot initialize libcurl");
    }
    char path[PATH_CAP];
    for (int i = 0; i < 4 && !st; i++) {
        if (!join(path, dir, nndl_mnist_files[i])) {
            st = error_set(err, NNDL_ERR_ARG, "%s: directory name too long", dir);
            break;
        }
        if (check_file(path, i, NULL) == NNDL_OK) continue; /* present and correct */
        st = download_file(curl, mirrors, n_mirrors, dir, i, err);
    }
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return st;
}
