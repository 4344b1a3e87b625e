#ifndef AGENTMGR_CCURL_H
#define AGENTMGR_CCURL_H

#include <curl/curl.h>
#include <stddef.h>

/// libcurl for Swift. curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call:
/// one typed wrapper per kind of argument the Kubernetes client uses.

/// The body callback (CURLOPT_WRITEFUNCTION): return `size * count` to go on, anything else aborts.
typedef size_t (*agentmgr_curl_write_callback)(char *data, size_t size, size_t count, void *context);
/// The progress callback (CURLOPT_XFERINFOFUNCTION): return non-zero to abort the transfer.
typedef int (*agentmgr_curl_progress_callback)(void *context, curl_off_t download_total, curl_off_t downloaded,
                                               curl_off_t upload_total, curl_off_t uploaded);

/// curl_global_init(CURL_GLOBAL_ALL): call once, before any other thread uses libcurl.
CURLcode agentmgr_curl_global_init(void);
CURLcode agentmgr_curl_set_long(CURL *handle, CURLoption option, long value);
/// libcurl copies the string (7.17+), so it need not outlive the call.
CURLcode agentmgr_curl_set_string(CURL *handle, CURLoption option, const char *value);
/// For pointer options whose pointee must outlive the transfer (a curl_slist of headers).
CURLcode agentmgr_curl_set_pointer(CURL *handle, CURLoption option, void *value);
/// A `*_BLOB` option (CA bundle, client certificate or key in memory); libcurl copies the bytes.
CURLcode agentmgr_curl_set_blob(CURL *handle, CURLoption option, const void *data, size_t length);
/// The request body (copied by libcurl). Makes the request a POST unless CURLOPT_CUSTOMREQUEST says otherwise.
CURLcode agentmgr_curl_set_body(CURL *handle, const void *data, size_t length);
CURLcode agentmgr_curl_set_write_callback(CURL *handle, agentmgr_curl_write_callback callback, void *context);
/// Also turns progress reporting on (CURLOPT_NOPROGRESS 0).
CURLcode agentmgr_curl_set_progress_callback(CURL *handle, agentmgr_curl_progress_callback callback, void *context);
/// The last response's HTTP status, 0 before one arrived.
long agentmgr_curl_response_code(CURL *handle);

#endif
