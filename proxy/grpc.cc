#include "proxy/grpc.h"

#include "proxy/http/header_util.h"

namespace greenlb::proxy {

bool isGrpc(const http::RequestHead& head) {
  const http::Header* ct = head.find("content-type");
  if (ct == nullptr) return false;
  std::string_view v = ct->value;
  constexpr std::string_view kGrpc = "application/grpc";
  return v.size() >= kGrpc.size() && http::equalsIgnoreCase(v.substr(0, kGrpc.size()), kGrpc) &&
         (v.size() == kGrpc.size() || v[kGrpc.size()] == '+' || v[kGrpc.size()] == ';');
}

std::optional<core::Duration> parseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  using namespace std::chrono;
  switch (value.back()) {
    case 'H': return duration_cast<core::Duration>(hours(n));
    case 'M': return duration_cast<core::Duration>(minutes(n));
    case 'S': return duration_cast<core::Duration>(seconds(n));
    case 'm': return duration_cast<core::Duration>(milliseconds(n));
    case 'u': return duration_cast<core::Duration>(microseconds(n));
    case 'n': return duration_cast<core::Duration>(nanoseconds(n));
    default: return std::nullopt;
  }
}

int grpcStatusOf(std::span<const http::Header> fields) {
  for (const http::Header& h : fields) {
    if (!http::equalsIgnoreCase(h.name, "grpc-status")) continue;
    if (h.value.empty() || h.value.size() > 2) return -1;
    int s = 0;
    for (char c : h.value) {
      if (c < '0' || c > '9') return -1;
      s = s * 10 + (c - '0');
    }
    return s <= 16 ? s : -1;
  }
  return -1;
}

int grpcStatusForHttp(int http_status) {
  switch (http_status) {
    case 429: return 8;   // RESOURCE_EXHAUSTED
    case 504: return 4;   // DEADLINE_EXCEEDED
    case 404: return 12;  // UNIMPLEMENTED: no route
    case 502:
    case 503: return 14;  // UNAVAILABLE
    default: return 13;   // INTERNAL
  }
}

}  // namespace greenlb::proxy
