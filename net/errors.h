/* errors: the one table of error codes the service answers with — code, HTTP status, meaning.
 *
 * Every error the worker, the balancer and the server core send is {"error":"<code>","detail":"..."}
 * with the status from this table (srv_respond_error takes an enum err_code, not a status).  The README's
 * error table is written by hand from this one; tests/test_errors.c checks both list the same codes. */
#ifndef NET_ERRORS_H
#define NET_ERRORS_H

enum err_code {
    ERR_BAD_REQUEST,             /* 400 malformed HTTP */
    ERR_BAD_PATH,
    ERR_BAD_BACKEND_COUNT,
    ERR_BAD_MULTIPART,
    ERR_MISSING_FIELD,
    ERR_EMPTY_IMAGE,
    ERR_BAD_IMAGE,
    ERR_BAD_JSON,
    ERR_BAD_TENSOR,
    ERR_CORS_REFUSED,
    ERR_NOT_FOUND,
    ERR_MODEL_NOT_FOUND,
    ERR_METHOD_NOT_ALLOWED,
    ERR_REQUEST_TIMEOUT,
    ERR_BODY_TOO_LARGE,
    ERR_IMAGE_TOO_LARGE,
    ERR_URI_TOO_LONG,
    ERR_UNSUPPORTED_MEDIA_TYPE,
    ERR_HEADERS_TOO_LARGE,
    ERR_INTERNAL,
    ERR_FILE_UNREADABLE,
    ERR_FILE_TOO_LARGE,
    ERR_INDEX_TOO_LARGE,
    ERR_RESPONSE_TOO_LARGE,
    ERR_NOT_IMPLEMENTED,
    ERR_BAD_GATEWAY,
    ERR_SERVER_BUSY,
    ERR_OUT_OF_MEMORY,
    ERR_NO_WORKER_ANSWERED,
    ERR_NO_WORKER_UP,
    ERR_BACKEND_TIMEOUT,
    ERR_ABANDONED,
    ERR_VERSION_NOT_SUPPORTED,
    ERR_COUNT
};

struct err_info {
    const char *code;    /* the "error" field */
    int status;          /* the HTTP status it is sent with */
    const char *meaning; /* one line for people (the README says the same) */
};

/* The entry for e (e < ERR_COUNT). */
const struct err_info *err_info(enum err_code e);
/* The code the server core answers a parse failure of this status with (-rc of http_parse_request). */
enum err_code err_for_status(int status);

#endif
