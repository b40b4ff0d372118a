// The label values of the families counted by enum (client_errors by reason, timeouts by
// kind, ...), and index(), which turns such an enum into the index of its counter:
// `listener.client_errors[index(ClientError::too_large)].add(hub)`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace greenlb::metrics {

// reason; http2_protocol: a malformed frame or request (stream or connection error),
// http2_flood: a connection ended for abuse (rapid reset, CONTINUATION, control frames,
// HPACK bomb), proxy_protocol: a connection that did not open with the PROXY header its
// listener requires (missing, malformed, or cut short)
enum class ClientError : uint8_t {
  bad_request,
  header_timeout,
  too_large,
  reset,
  http2_protocol,
  http2_flood,
  proxy_protocol,
};
enum class TimeoutKind : uint8_t { connect, response, idle };                        // kind
enum class Unavailable : uint8_t { no_healthy, limits, draining };                   // reason
enum class CheckResult : uint8_t { success, failure };                               // result
// grpc_status: the gRPC status code a call ended with, 0 (OK) to 16 (UNAUTHENTICATED).
enum class GrpcStatus : uint8_t {};
inline constexpr size_t kGrpcStatusCount = 17;

// Label values, in enum order.
inline constexpr std::string_view kClientErrorNames[] = {
    "bad_request",    "header_timeout", "too_large",     "reset",
    "http2_protocol", "http2_flood",    "proxy_protocol"};
inline constexpr std::string_view kTimeoutKindNames[] = {"connect", "response", "idle"};
inline constexpr std::string_view kUnavailableNames[] = {"no_healthy", "limits", "draining"};
inline constexpr std::string_view kCheckResultNames[] = {"success", "failure"};
inline constexpr std::string_view kGrpcStatusNames[kGrpcStatusCount] = {
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16"};

// The label an enum fills and its values, in enum order (found by argument type, so that
// CountersBy<E> knows its size and the exposition its label).
struct LabelValues {
  std::string_view label;
  std::span<const std::string_view> values;
};
constexpr LabelValues labelsOf(ClientError) {
  return {"reason", kClientErrorNames};
}
constexpr LabelValues labelsOf(TimeoutKind) {
  return {"kind", kTimeoutKindNames};
}
constexpr LabelValues labelsOf(Unavailable) {
  return {"reason", kUnavailableNames};
}
constexpr LabelValues labelsOf(CheckResult) {
  return {"result", kCheckResultNames};
}
constexpr LabelValues labelsOf(GrpcStatus) {
  return {"grpc_status", kGrpcStatusNames};
}

// The array index of an enum value.
template <class E>
constexpr size_t index(E e) {
  return static_cast<size_t>(e);
}

}  // namespace greenlb::metrics
