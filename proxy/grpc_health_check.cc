#include "proxy/grpc_health_check.h"

#include <nghttp2/nghttp2.h>

#include <cstring>

#include "balancer/endpoint.h"

namespace greenlb::proxy {

namespace {

// What the one call collects from nghttp2's callbacks.
struct Call {
  int32_t stream = -1;
  std::string request;   // the gRPC message, length-prefixed
  size_t sent = 0;
  std::string response;  // DATA of the call
  int http_status = 0;
  int grpc_status = -1;
  bool closed = false;
  uint32_t close_code = 0;
};

nghttp2_nv nv(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

int onHeader(nghttp2_session*, const nghttp2_frame*, const uint8_t* name, size_t namelen,
             const uint8_t* value, size_t valuelen, uint8_t, void* ud) {
  auto& call = *static_cast<Call*>(ud);
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  auto number = [](std::string_view s) {
    int x = 0;
    for (char c : s) x = (c >= '0' && c <= '9') ? x * 10 + (c - '0') : x;
    return x;
  };
  if (n == ":status") call.http_status = number(v);
  if (n == "grpc-status") call.grpc_status = number(v);
  return 0;
}

int onData(nghttp2_session*, uint8_t, int32_t, const uint8_t* data, size_t len, void* ud) {
  auto& call = *static_cast<Call*>(ud);
  if (call.response.size() < 4096) call.response.append(reinterpret_cast<const char*>(data), len);
  return 0;
}

int onClose(nghttp2_session*, int32_t id, uint32_t code, void* ud) {
  auto& call = *static_cast<Call*>(ud);
  if (id == call.stream) {
    call.closed = true;
    call.close_code = code;
  }
  return 0;
}

ssize_t readBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                 nghttp2_data_source* source, void*) {
  auto& call = *static_cast<Call*>(source->ptr);
  size_t n = std::min(length, call.request.size() - call.sent);
  std::memcpy(buf, call.request.data() + call.sent, n);
  call.sent += n;
  if (call.sent == call.request.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

// HealthCheckRequest { string service = 1; }, in a gRPC frame (no compression, length).
std::string requestMessage(const std::string& service) {
  std::string pb;
  if (!service.empty()) {
    pb.push_back('\x0a');  // field 1, length-delimited
    size_t len = service.size();
    while (len >= 0x80) {  // varint
      pb.push_back(static_cast<char>((len & 0x7f) | 0x80));
      len >>= 7;
    }
    pb.push_back(static_cast<char>(len));
    pb += service;
  }
  std::string frame(5, '\0');
  uint32_t n = static_cast<uint32_t>(pb.size());
  frame[1] = static_cast<char>(n >> 24);
  frame[2] = static_cast<char>(n >> 16);
  frame[3] = static_cast<char>(n >> 8);
  frame[4] = static_cast<char>(n);
  return frame + pb;
}

// HealthCheckResponse { ServingStatus status = 1; }: the status, or -1. An absent field is
// 0 (UNKNOWN), as protobuf defaults go.
int servingStatus(const std::string& frame) {
  if (frame.size() < 5 || frame[0] != 0) return -1;  // compressed answers are not read
  std::string_view pb(frame.data() + 5, frame.size() - 5);
  int status = 0;
  while (!pb.empty()) {
    auto key = static_cast<uint8_t>(pb[0]);
    pb.remove_prefix(1);
    uint64_t value = 0;
    if ((key & 7) == 0) {  // varint
      int shift = 0;
      while (!pb.empty()) {
        auto b = static_cast<uint8_t>(pb[0]);
        pb.remove_prefix(1);
        value |= uint64_t{b & 0x7fu} << shift;
        shift += 7;
        if ((b & 0x80) == 0) break;
      }
      if (key >> 3 == 1) status = static_cast<int>(value);
    } else {
      return status;  // a field we do not read: what we have is the answer
    }
  }
  return status;
}

balancer::ProbeResult check(balancer::ProbeChannel& channel, const balancer::Endpoint& ep,
                            const std::string& service, const std::string& scheme) {
  Call call;
  call.request = requestMessage(service);
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_header_callback(cb, onHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, onData);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, onClose);
  nghttp2_session* session = nullptr;
  nghttp2_session_client_new(&session, cb, &call);
  nghttp2_session_callbacks_del(cb);
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  nghttp2_nv fields[] = {nv(":method", "POST"),
                         nv(":scheme", scheme),
                         nv(":authority", ep.name()),
                         nv(":path", "/grpc.health.v1.Health/Check"),
                         nv("content-type", "application/grpc"),
                         nv("te", "trailers"),
                         nv("user-agent", "greenlb-health-check")};
  nghttp2_data_provider body{};
  body.source.ptr = &call;
  body.read_callback = readBody;
  call.stream = nghttp2_submit_request(session, nullptr, fields, std::size(fields), &body, nullptr);
  balancer::ProbeResult result{false, false, "no answer"};
  char buf[4096];
  while (!call.closed) {
    const uint8_t* data = nullptr;
    ssize_t n;
    bool write_failed = false;
    while ((n = nghttp2_session_mem_send(session, &data)) > 0) {
      if (!channel.writeAll(data, static_cast<size_t>(n)).ok()) {
        write_failed = true;
        break;
      }
    }
    if (write_failed || n < 0) {
      result.reason = "connection failed";
      break;
    }
    core::Result<size_t> got = channel.readSome(buf, sizeof buf);
    if (!got.ok()) {
      result.cancelled = got.error().cancelled();
      result.reason = got.error().timedOut() ? "timed out" : "connection failed";
      break;
    }
    if (*got == 0) {
      result.reason = "connection closed";
      break;
    }
    if (nghttp2_session_mem_recv(session, reinterpret_cast<const uint8_t*>(buf), *got) < 0) {
      result.reason = "HTTP/2 protocol error";
      break;
    }
  }
  nghttp2_session_del(session);
  if (!call.closed) return result;
  if (call.http_status != 200) return {false, false, "status " + std::to_string(call.http_status)};
  if (call.grpc_status != 0) {
    return {false, false, "grpc-status " + std::to_string(call.grpc_status)};
  }
  int serving = servingStatus(call.response);
  if (serving == 1) return {true, false, {}};  // SERVING
  return {false, false, serving == 2 ? "NOT_SERVING" : "serving status " + std::to_string(serving)};
}

}  // namespace

balancer::ProbeConversation grpcHealthCheck(std::string service, std::string scheme) {
  return [service = std::move(service), scheme = std::move(scheme)](
             balancer::ProbeChannel& channel, const balancer::Endpoint& ep) {
    return check(channel, ep, service, scheme);
  };
}

}  // namespace greenlb::proxy
