// What the proxy knows of gRPC (docs/grpc.md): which requests are gRPC calls, their
// deadline (grpc-timeout), the grpc-status a call ended with, and the status greenlb
// answers with when it ends a call itself.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "core/time.h"
#include "proxy/http/message.h"

namespace greenlb::proxy {

// content-type application/grpc, application/grpc+proto, ...
bool isGrpc(const http::RequestHead& head);
// A grpc-timeout value: 1 to 8 digits and a unit (H, M, S, m, u, n); nullopt otherwise.
std::optional<core::Duration> parseGrpcTimeout(std::string_view value);
// The grpc-status field among `fields` (0..16), or -1.
int grpcStatusOf(std::span<const http::Header> fields);
// The gRPC status for an HTTP status greenlb answers itself: 14 UNAVAILABLE for 502 and
// 503, 4 DEADLINE_EXCEEDED for 504, 8 RESOURCE_EXHAUSTED for 429, 12 UNIMPLEMENTED for
// 404 (no route), 13 INTERNAL otherwise.
int grpcStatusForHttp(int http_status);

}  // namespace greenlb::proxy
