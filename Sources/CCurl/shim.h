// The system libcurl (Debian: libcurl4-openssl-dev), for OrdlogAWS's CurlTransport.
// curl_easy_setopt, curl_multi_setopt and curl_easy_getinfo are variadic, which Swift cannot call: these small
// typed wrappers pass each argument with the type libcurl reads it as (long, pointer, function pointer, curl_off_t).
#ifndef ORDLOG_CCURL_SHIM_H
#define ORDLOG_CCURL_SHIM_H
#include <curl/curl.h>

typedef size_t (*ordlog_curl_data_callback)(char *data, size_t size, size_t count, void *userdata);

static inline CURLcode ordlog_curl_easy_setopt_long(CURL *easy, CURLoption option, long value) {
    return curl_easy_setopt(easy, option, value);
}
static inline CURLcode ordlog_curl_easy_setopt_off(CURL *easy, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(easy, option, value);
}
static inline CURLcode ordlog_curl_easy_setopt_pointer(CURL *easy, CURLoption option, const void *value) {
    return curl_easy_setopt(easy, option, value);
}
static inline CURLcode ordlog_curl_easy_setopt_callback(
    CURL *easy, CURLoption option, ordlog_curl_data_callback value) {
    return curl_easy_setopt(easy, option, value);
}
static inline CURLMcode ordlog_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}
static inline CURLcode ordlog_curl_easy_getinfo_long(CURL *easy, CURLINFO info, long *value) {
    return curl_easy_getinfo(easy, info, value);
}
static inline CURLcode ordlog_curl_easy_getinfo_pointer(CURL *easy, CURLINFO info, void **value) {
    return curl_easy_getinfo(easy, info, value);
}
/// A finished transfer's result (CURLMsg's `data` is an anonymous-typed union).
static inline CURLcode ordlog_curl_msg_result(const CURLMsg *message) { return message->data.result; }
#endif
