#include "proxy/demo_upstream.h"

#include <charconv>
#include <string>

#include "core/timeout.h"
#include "proxy/http/request_parser.h"
#include "proxy/timed_io.h"

namespace greenlb::proxy {
namespace {

constexpr size_t kMaxHead = 16 * 1024;
constexpr uint64_t kMaxEcho = 1024 * 1024;

int queryInt(std::string_view target, std::string_view key, int fallback) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return fallback;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    if (pair.size() > key.size() && pair.substr(0, key.size()) == key && pair[key.size()] == '=') {
      int v = fallback;
      std::from_chars(pair.data() + key.size() + 1, pair.data() + pair.size(), v);
      return v;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return fallback;
}

}  // namespace

std::unique_ptr<DemoUpstream> DemoUpstream::start(int instance, uint16_t port, std::string* error) {
  core::ListenOptions o;
  o.reuse_port = false;
  auto sock = core::Listener::bind(*core::SocketAddress::fromIp("127.0.0.1", port), o);
  if (!sock.ok()) {
    *error = "demo upstream " + std::to_string(instance) + ": cannot listen on 127.0.0.1:" +
             std::to_string(port) + ": " + sock.error().message();
    return nullptr;
  }
  std::unique_ptr<DemoUpstream> up(new DemoUpstream(instance, std::move(*sock)));
  DemoUpstream* raw = up.get();
  up->acceptor_ = core::spawn(
      [raw] {
        for (;;) {
          core::Result<core::Stream> c = raw->socket_.accept();
          if (!c.ok()) return;
          core::currentHub().spawnDetached("demo", [raw, s = std::move(*c)]() mutable {
            raw->serve(std::move(s));
          });
        }
      },
      "demo-accept");
  return up;
}

DemoUpstream::DemoUpstream(int instance, core::Listener socket)
    : instance_(instance), socket_(std::move(socket)) {
  name_ = "demo upstream " + std::to_string(instance_) + " (" + socket_.localAddress()->str() + ")";
}

DemoUpstream::~DemoUpstream() {
  socket_.close();
  acceptor_.kill();
}

void DemoUpstream::serve(core::Stream conn) {
  PlainTransport out(conn);
  std::string buf(kMaxHead, '\0');
  size_t filled = 0;
  for (;;) {
    http::RequestParser parser(kMaxHead);
    http::RequestHead head;
    http::ParseStatus ps;
    {
      core::Timeout idle(std::chrono::seconds(60));
      while ((ps = parser.parse(std::string_view(buf.data(), filled), head)) ==
             http::ParseStatus::need_more) {
        if (filled == buf.size()) return;
        core::Result<size_t> n = conn.readSome(buf.data() + filled, buf.size() - filled);
        if (!n.ok() || *n == 0) return;
        filled += *n;
      }
    }
    if (ps != http::ParseStatus::done || head.body == http::BodyKind::chunked ||
        head.content_length > kMaxEcho) {
      const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      (void)writeTimed(out, bad, sizeof bad - 1, std::chrono::seconds(5));
      return;
    }
    size_t need = head.head_bytes + static_cast<size_t>(head.content_length);
    if (buf.size() < need) buf.resize(need);
    while (filled < need) {
      core::Timeout t(std::chrono::seconds(30));
      core::Result<size_t> n = conn.readSome(buf.data() + filled, buf.size() - filled);
      if (!n.ok() || *n == 0) return;
      filled += *n;
    }
    std::string_view path = head.target.substr(0, head.target.find('?'));
    int status = 200;
    std::string body;
    if (path == "/healthz") {
      body = "ok\n";
    } else if (path == "/slow") {
      int ms = queryInt(head.target, "ms", 1000);
      if (!core::sleep(std::chrono::milliseconds(ms)).ok()) return;
      body = name_ + ": slept " + std::to_string(ms) + " ms\n";
    } else if (path.substr(0, 8) == "/status/") {
      std::from_chars(path.data() + 8, path.data() + path.size(), status);
      if (status < 200 || status > 599) status = 400;
      body = name_ + ": status " + std::to_string(status) + "\n";
    } else if (path == "/echo") {
      body.assign(buf.data() + head.head_bytes, static_cast<size_t>(head.content_length));
    } else {
      body = "Hello from " + name_ + ": " + std::string(head.method) + " " +
             std::string(head.target) + "\n";
    }
    std::string response = "HTTP/1.1 " + std::to_string(status) + " Demo\r\nContent-Type: text/plain\r\n" +
                           "X-Demo-Upstream: " + std::to_string(instance_) +
                           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
                           (head.keep_alive ? "" : "Connection: close\r\n") + "\r\n";
    if (head.method != "HEAD") response += body;
    if (!writeTimed(out, response.data(), response.size(), std::chrono::seconds(30)).ok()) return;
    if (!head.keep_alive) return;
    buf.erase(0, need);
    filled -= need;
    buf.resize(std::max(buf.size(), kMaxHead));
  }
}

}  // namespace greenlb::proxy
