/* errors: the table (see errors.h). */
#include "net/errors.h"

static const struct err_info table[ERR_COUNT] = {
    [ERR_BAD_REQUEST] = { "bad_request", 400, "malformed HTTP (the connection is closed)" },
    [ERR_BAD_PATH] = { "bad_path", 400, "a path with a malformed %-escape" },
    [ERR_BAD_BACKEND_COUNT] = { "bad_backend_count", 400, "backends / number_backend_servers is not a whole number from 1 up" },
    [ERR_BAD_MULTIPART] = { "bad_multipart", 400, "a form upload whose multipart framing is broken" },
    [ERR_MISSING_FIELD] = { "missing_field", 400, "a form with no field named image" },
    [ERR_EMPTY_IMAGE] = { "empty_image", 400, "an empty body or image field" },
    [ERR_BAD_IMAGE] = { "bad_image", 400, "a truncated or corrupt picture" },
    [ERR_BAD_JSON] = { "bad_json", 400, "an inference request (/v2) that is not valid JSON, or over a JSON limit" },
    [ERR_BAD_TENSOR] = { "bad_tensor", 400, "an inference input with the wrong name, datatype, shape or data, or none" },
    [ERR_CORS_REFUSED] = { "cors_refused", 403, "a CORS preflight from an origin --cors does not allow" },
    [ERR_NOT_FOUND] = { "not_found", 404, "no such path or file" },
    [ERR_MODEL_NOT_FOUND] = { "model_not_found", 404, "an unknown model or version under /v2/models/" },
    [ERR_METHOD_NOT_ALLOWED] = { "method_not_allowed", 405, "wrong method for the path (Allow says which)" },
    [ERR_REQUEST_TIMEOUT] = { "request_timeout", 408, "the request did not arrive whole within --timeout" },
    [ERR_BODY_TOO_LARGE] = { "body_too_large", 413, "a body over --max-body" },
    [ERR_IMAGE_TOO_LARGE] = { "image_too_large", 413, "a picture over the pixel limit (refused from its header)" },
    [ERR_URI_TOO_LONG] = { "uri_too_long", 414, "a request target over 4 KiB" },
    [ERR_UNSUPPORTED_MEDIA_TYPE] = { "unsupported_media_type", 415, "not a picture, or a format we do not decode" },
    [ERR_HEADERS_TOO_LARGE] = { "headers_too_large", 431, "a request head over 16 KiB or 64 headers" },
    [ERR_INTERNAL] = { "internal_error", 500, "a bug: the answer could not be made" },
    [ERR_FILE_UNREADABLE] = { "file_unreadable", 500, "a served file could not be read" },
    [ERR_FILE_TOO_LARGE] = { "file_too_large", 500, "a served file over the balancer's per-file limit (a quarter of --cache-mb)" },
    [ERR_INDEX_TOO_LARGE] = { "index_too_large", 500, "the results index does not fit its buffer" },
    [ERR_RESPONSE_TOO_LARGE] = { "response_too_large", 500, "an answer larger than the output buffer" },
    [ERR_NOT_IMPLEMENTED] = { "not_implemented", 501, "CONNECT, or a method or coding we do not implement" },
    [ERR_BAD_GATEWAY] = { "bad_gateway", 502, "the backend is unreachable or answered something unusable" },
    [ERR_SERVER_BUSY] = { "server_busy", 503, "a full inference queue (--queue) or memory budget (--max-memory); Retry-After says when to retry" },
    [ERR_OUT_OF_MEMORY] = { "out_of_memory", 503, "the worker or balancer ran out of memory for this request" },
    [ERR_NO_WORKER_ANSWERED] = { "no_worker_answered", 503, "every try (1 + --retries) failed before an answer began" },
    [ERR_NO_WORKER_UP] = { "no_worker_up", 503, "health checks mark every backend down; Retry-After says when to retry" },
    [ERR_BACKEND_TIMEOUT] = { "backend_timeout", 504, "the backend did not answer within --backend-timeout" },
    [ERR_ABANDONED] = { "abandoned", 504, "the worker dropped a job whose caller left or whose deadline passed" },
    [ERR_VERSION_NOT_SUPPORTED] = { "http_version_not_supported", 505, "an HTTP major version other than 1" },
};

const struct err_info *err_info(enum err_code e)
{
    return &table[(unsigned)e < ERR_COUNT ? e : ERR_INTERNAL];
}

enum err_code err_for_status(int status)
{
    switch (status) {
    case 408: return ERR_REQUEST_TIMEOUT;
    case 413: return ERR_BODY_TOO_LARGE;
    case 414: return ERR_URI_TOO_LONG;
    case 431: return ERR_HEADERS_TOO_LARGE;
    case 501: return ERR_NOT_IMPLEMENTED;
    case 503: return ERR_SERVER_BUSY;
    case 505: return ERR_VERSION_NOT_SUPPORTED;
    default: return ERR_BAD_REQUEST;
    }
}
