#include "balancer/health_probe.h"

#include <cerrno>

#include "core/socket.h"
#include "core/timeout.h"

namespace greenlb::balancer {
namespace {

// Enough for any status line; the rest of the response is not read.
constexpr size_t kStatusLineMax = 512;

std::string describe(core::Error e, bool timed_out) {
  if (timed_out || e.timedOut()) return "timeout";
  switch (e.code) {
    case ECONNREFUSED: return "connect refused";
    case ECONNRESET: return "connection reset";
    case EHOSTUNREACH:
    case ENETUNREACH: return "unreachable";
    default: return e.message();
  }
}

class PlainChannel final : public ProbeChannel {
 public:
  explicit PlainChannel(core::Stream& s) : s_(s) {}
  core::Status writeAll(const void* buf, size_t len) override { return s_.writeAll(buf, len); }
  core::Result<size_t> readSome(void* buf, size_t len) override { return s_.readSome(buf, len); }

 private:
  core::Stream& s_;
};

ProbeResult failed(core::Error e, bool timed_out) {
  ProbeResult r;
  r.cancelled = e.cancelled();
  r.reason = describe(e, timed_out);
  return r;
}

}  // namespace

int parseStatusLine(std::string_view head) {
  // "HTTP/1.x SSS" then a space or the end of the line.
  if (head.size() < 12 || head.substr(0, 7) != "HTTP/1." || head[8] != ' ') return 0;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9') return 0;
    status = status * 10 + (head[i] - '0');
  }
  if (head.size() > 12 && head[12] != ' ' && head[12] != '\r' && head[12] != '\n') return 0;
  return status >= 100 ? status : 0;
}

ProbeResult probeEndpoint(const Endpoint& ep, const conf::HealthConfig& cfg,
                          const ProbeHooks& hooks) {
  const ProbeChannelFactory& secure = hooks.secure;
  core::Timeout deadline(cfg.timeout);
  core::Stream conn;
  if (core::Status st = conn.connectTo(ep.address()); !st.ok()) {
    return failed(st.error(), deadline.expired());
  }
  if (!hooks.preamble.empty()) {
    if (core::Status st = conn.writeAll(hooks.preamble.data(), hooks.preamble.size()); !st.ok()) {
      return failed(st.error(), deadline.expired());
    }
  }
  std::unique_ptr<ProbeChannel> channel;
  if (secure) {
    auto made = secure(ep, conn);
    if (!made.ok()) {
      ProbeResult r = failed(made.error(), deadline.expired());
      if (!r.cancelled && !deadline.expired()) r.reason = "TLS handshake failed";
      return r;
    }
    channel = std::move(*made);
  } else {
    channel = std::make_unique<PlainChannel>(conn);
  }
  if (hooks.conversation) {
    ProbeResult r = hooks.conversation(*channel, ep);
    if (!r.ok && deadline.expired()) r.reason = "timed out";
    return r;
  }
  if (cfg.path.empty()) return ProbeResult{true, false, {}};
  std::string request = "GET " + cfg.path + " HTTP/1.1\r\nHost: " + ep.name() +
                        "\r\nUser-Agent: greenlb-health-check\r\nAccept: */*\r\n"
                        "Connection: close\r\n\r\n";
  if (core::Status st = channel->writeAll(request.data(), request.size()); !st.ok()) {
    return failed(st.error(), deadline.expired());
  }
  char head[kStatusLineMax];
  size_t have = 0;
  while (have < sizeof head) {
    core::Result<size_t> n = channel->readSome(head + have, sizeof head - have);
    if (!n.ok()) return failed(n.error(), deadline.expired());
    if (*n == 0) break;
    have += *n;
    if (std::string_view(head, have).find('\n') != std::string_view::npos) break;
  }
  std::string_view got(head, have);
  if (got.find('\n') == std::string_view::npos) {
    return ProbeResult{false, false, have == 0 ? "connection closed" : "bad response"};
  }
  int status = parseStatusLine(got);
  if (status == 0) return ProbeResult{false, false, "bad response"};
  if (status >= 200 && status < 400) return ProbeResult{true, false, {}};
  return ProbeResult{false, false, "status " + std::to_string(status)};
}

}  // namespace greenlb::balancer
