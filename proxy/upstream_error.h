// Why an upstream attempt failed: one typed value shared by HTTP exchanges, TCP tunnels,
// the retry decision and the access log (docs/balancing.md, "Retries"). Each error knows
// the status a client is answered with, the name logged, and which `retry.on` condition
// may retry it.
#pragma once

#include <cstdint>
#include <string_view>

namespace greenlb::proxy {

enum class UpstreamError : uint8_t {
  none,
  no_healthy_endpoint,      // 503: every endpoint out and panic off, or none at all
  upstream_limits,          // 503: max_connections / max_pending
  connect_failed,           // 502: TCP connect refused or reset
  connect_timeout,          // 502: TCP or TLS connect took longer than timeouts.connect
  tls_handshake_failed,     // 502
  upstream_write_failed,    // 502: the request could not be written
  upstream_reset,           // 502: reset or closed before the response head ended
  upstream_refused,         // 502: HTTP/2 REFUSED_STREAM or above a GOAWAY: never processed
  response_timeout,         // 504: no response head within timeouts.response
  bad_response,             // 502: a malformed response head or framing in hand
  response_head_too_large,  // 502
  unexpected_upgrade,       // 502: a 101 to a request that asked for none
  upstream_status,          // the upstream's own status, listed in retry.on
  cancelled,                // the request's fiber was killed (shutdown): never retried
};

// The `retry.on` condition an error falls under.
enum class RetryOn : uint8_t { never, connect_failure, reset, timeout, status };

struct UpstreamErrorInfo {
  int status;             // what the client is answered (upstream_status: its own)
  std::string_view name;  // the access log's `error`
  RetryOn retry_on;
  bool endpoint_fault;    // counts for passive outlier detection
};

constexpr UpstreamErrorInfo info(UpstreamError e) {
  switch (e) {
    case UpstreamError::none: return {0, "", RetryOn::never, false};
    case UpstreamError::no_healthy_endpoint: return {503, "no_healthy_endpoint", RetryOn::never, false};
    case UpstreamError::upstream_limits: return {503, "upstream_limits", RetryOn::never, false};
    case UpstreamError::connect_failed: return {502, "connect_failed", RetryOn::connect_failure, true};
    case UpstreamError::connect_timeout: return {502, "connect_timeout", RetryOn::connect_failure, true};
    case UpstreamError::tls_handshake_failed:
      return {502, "tls_handshake_failed", RetryOn::connect_failure, true};
    case UpstreamError::upstream_write_failed:
      return {502, "upstream_write_failed", RetryOn::reset, true};
    case UpstreamError::upstream_reset: return {502, "upstream_reset", RetryOn::reset, true};
    case UpstreamError::upstream_refused:
      return {502, "upstream_refused", RetryOn::connect_failure, false};
    case UpstreamError::response_timeout: return {504, "response_timeout", RetryOn::timeout, true};
    case UpstreamError::bad_response: return {502, "bad_response", RetryOn::reset, true};
    case UpstreamError::response_head_too_large:
      return {502, "response_head_too_large", RetryOn::never, true};
    case UpstreamError::unexpected_upgrade: return {502, "unexpected_upgrade", RetryOn::never, true};
    case UpstreamError::upstream_status:
      return {0, "upstream_status_retried", RetryOn::status, false};
    case UpstreamError::cancelled: return {502, "cancelled", RetryOn::never, false};
  }
  return {502, "?", RetryOn::never, false};
}

}  // namespace greenlb::proxy
