#include "proxy/admin_server.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

#include "core/timeout.h"
#include "metrics/exposition.h"
#include "proxy/buffer_pool.h"
#include "proxy/history_json.h"
#include "proxy/history_sampler.h"
#include "proxy/http/request_parser.h"
#include "proxy/server.h"
#include "proxy/status_json.h"
#include "proxy/status_page.h"
#include "proxy/timed_io.h"

namespace greenlb::proxy {
namespace {

constexpr size_t kMaxAdminHead = 16 * 1024;
constexpr uint64_t kMaxAdminBody = 64 * 1024;
constexpr core::Duration kAdminIdle = std::chrono::seconds(30);
constexpr core::Duration kAdminIo = std::chrono::seconds(10);

struct Reply {
  int status = 200;
  std::string_view content_type = "text/plain; charset=utf-8";
  std::string body;
};

std::string_view reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 431: return "Request Header Fields Too Large";
    default: return "Service Unavailable";
  }
}

std::string_view pathOf(std::string_view target) {
  size_t q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

// /status/history?seconds=N: the newest N samples (the page polls a few each second);
// absent or invalid, all of them.
size_t secondsParam(std::string_view target) {
  size_t at = target.find("?seconds=");
  if (at == std::string_view::npos) at = target.find("&seconds=");
  if (at == std::string_view::npos) return SIZE_MAX;
  std::string_view digits = target.substr(at + 9);
  size_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  return ec == std::errc() && end != digits.data() ? n : SIZE_MAX;
}

}  // namespace

std::unique_ptr<AdminServer> AdminServer::start(Server& server, const core::SocketAddress& at,
                                                std::string* error) {
  core::ListenOptions o;
  o.reuse_port = false;  // one admin socket: a second greenlb on the same port must fail
  core::Result<core::Listener> sock = core::Listener::bind(at, o);
  if (!sock.ok()) {
    *error = "cannot listen on " + at.str() + " for the admin listener: " + sock.error().message();
    return nullptr;
  }
  std::unique_ptr<AdminServer> admin(new AdminServer(server, std::move(*sock)));
  AdminServer* raw = admin.get();
  admin->acceptor_ = core::spawn([raw] { raw->acceptLoop(); }, "admin-accept");
  return admin;
}

AdminServer::AdminServer(Server& server, core::Listener socket)
    : server_(server), socket_(std::move(socket)) {}

AdminServer::~AdminServer() {
  socket_.close();
  acceptor_.kill();
}

void AdminServer::acceptLoop() {
  for (;;) {
    core::Result<core::Stream> conn = socket_.accept();
    if (!conn.ok()) {
      if (conn.error().code == EBADF || conn.error().cancelled()) return;
      if (!core::sleep(std::chrono::milliseconds(10)).ok()) return;
      continue;
    }
    core::currentHub().spawnDetached("admin", [this, c = std::move(*conn)]() mutable {
      serve(std::move(c));
    });
  }
}

void AdminServer::serve(core::Stream conn) {
  std::string in;
  in.resize(kMaxAdminHead);
  size_t filled = 0;
  for (;;) {
    http::RequestParser parser(kMaxAdminHead);
    http::RequestHead head;
    http::ParseStatus ps = http::ParseStatus::need_more;
    {
      core::Timeout idle(kAdminIdle);
      while ((ps = parser.parse(std::string_view(in.data(), filled), head)) ==
             http::ParseStatus::need_more) {
        if (filled == in.size()) {
          ps = http::ParseStatus::error;
          break;
        }
        core::Result<size_t> n = conn.readSome(in.data() + filled, in.size() - filled);
        if (!n.ok() || *n == 0) return;
        filled += *n;
      }
    }
    Reply reply;
    bool keep = ps == http::ParseStatus::done && head.keep_alive;
    if (ps != http::ParseStatus::done) {
      reply.status = 400;
      reply.body = "bad request\n";
    } else {
      // Bodies are not used by any admin endpoint: skip them (bounded).
      size_t consumed = head.head_bytes;
      if (head.body == http::BodyKind::chunked ||
          (head.body == http::BodyKind::content_length && head.content_length > kMaxAdminBody)) {
        keep = false;
      } else if (head.body == http::BodyKind::content_length) {
        uint64_t need = consumed + head.content_length;
        core::Timeout t(kAdminIo);
        while (filled < need) {
          if (filled == in.size()) in.resize(need);
          core::Result<size_t> n = conn.readSome(in.data() + filled, in.size() - filled);
          if (!n.ok() || *n == 0) return;
          filled += *n;
        }
        consumed = need;
      }
      std::string_view path = pathOf(head.target);
      bool get = head.method == "GET" || head.method == "HEAD";
      if (path == "/metrics" && get) {
        const http::Header* accept = head.find("accept");
        bool om = accept != nullptr && metrics::wantsOpenMetrics(accept->value);
        reply.body = server_.registry().serialize(om);
        reply.content_type = om ? metrics::kOpenMetricsContentType : metrics::kPrometheusContentType;
      } else if (path == "/healthz" && get) {
        reply.body = "ok\n";
      } else if (path == "/readyz" && get) {
        bool ready = server_.ready();
        reply.status = ready ? 200 : 503;
        reply.body = ready ? "ready\n" : (server_.draining() ? "draining\n" : "starting\n");
      } else if (path == "/status" && get) {
        reply.body = statusJson(server_, server_.version());
        reply.content_type = "application/json";
      } else if (path == "/status/history" && get) {
        reply.body = historyJson(server_.history().history(), secondsParam(head.target));
        reply.content_type = "application/json";
      } else if (path == "/" && get) {
        reply.body = std::string(statusPageHtml());
        reply.content_type = "text/html; charset=utf-8";
      } else if (path == "/reload") {
        if (head.method != "POST") {
          reply.status = 405;
          reply.body = "use POST\n";
        } else if (!server_.allowReload()) {
          reply.status = 403;
          reply.body = "reload over HTTP is off: set [admin] allow_reload = true\n";
        } else {
          std::vector<std::string> errors;
          if (server_.reload(&errors)) {
            reply.body = "reloaded: generation " + std::to_string(server_.generationNumber()) + "\n";
          } else {
            reply.status = 400;
            for (const auto& e : errors) reply.body += e + "\n";
          }
        }
      } else if (path == "/metrics" || path == "/healthz" || path == "/readyz" ||
                 path == "/status" || path == "/status/history" || path == "/") {
        reply.status = 405;
        reply.body = "method not allowed\n";
      } else {
        reply.status = 404;
        reply.body = "not found: try /metrics /healthz /readyz /status /status/history /\n";
      }
      // Keep what the client pipelined after this request.
      in.erase(0, consumed);
      filled -= consumed;
      in.resize(std::max(in.size(), kMaxAdminHead));
    }
    std::string head_text = "HTTP/1.1 " + std::to_string(reply.status) + " " +
                            std::string(reason(reply.status)) +
                            "\r\nContent-Type: " + std::string(reply.content_type) +
                            "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                            "\r\nCache-Control: no-store\r\n" +
                            (keep ? "" : "Connection: close\r\n") + "\r\n";
    bool head_only = ps == http::ParseStatus::done && head.method == "HEAD";
    iovec iov[2] = {{head_text.data(), head_text.size()},
                    {reply.body.data(), head_only ? 0 : reply.body.size()}};
    PlainTransport out(conn);
    if (!writevTimed(out, iov, 2, kAdminIo).ok() || !keep) return;
  }
}

}  // namespace greenlb::proxy
