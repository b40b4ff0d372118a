#include "proxy/h1_downstream.h"

#include <algorithm>

#include "proxy/client_connection.h"
#include "proxy/generation.h"
#include "proxy/http/error_response.h"
#include "proxy/http/head_writer.h"
#include "proxy/hub_context.h"
#include "proxy/listener_socket.h"
#include "proxy/timed_io.h"

namespace greenlb::proxy {

H1Downstream::H1Downstream(ClientConnection& c, const ListenerPlan& plan,
                           const http::RequestHead& head, InputWindow& in,
                           bool keep_alive_allowed)
    : client_(c), plan_(plan), head_(head), in_(in), keep_alive_allowed_(keep_alive_allowed) {
  switch (head_.body) {
    case http::BodyKind::none:
      in_hand_ = true;
      break;
    case http::BodyKind::content_length:
      // A body already buffered whole leaves nothing unread on the connection: it may stay
      // alive (takeBodyInHand() consumes it once no retry needs it).
      in_hand_ = in_.size() >= head_.content_length;
      break;
    default:  // chunked bodies are streamed, never replayed
      in_hand_ = false;
      break;
  }
  body_done_ = in_hand_;
}

std::string_view H1Downstream::protocol() const {
  return head_.version == http::Version::http10 ? "HTTP/1.0" : "HTTP/1.1";
}

const core::SocketAddress& H1Downstream::peer() const { return client_.peer(); }

const core::Stream* H1Downstream::socket() const {
  return &client_.stream();
}

bool H1Downstream::tls() const { return client_.isTls(); }
HubContext& H1Downstream::hub() { return client_.hub(); }
Transport& H1Downstream::transport() { return client_.transport(); }

std::string_view H1Downstream::bodyInHandView() const {
  if (head_.body != http::BodyKind::content_length || in_hand_taken_) return {};
  return in_.data().substr(0, static_cast<size_t>(head_.content_length));
}

void H1Downstream::takeBodyInHand() {
  if (!in_hand_ || in_hand_taken_ || head_.body != http::BodyKind::content_length) return;
  in_.consume(static_cast<size_t>(head_.content_length));
  body_bytes_ += head_.content_length;
  in_hand_taken_ = true;
}

core::Status H1Downstream::sendContinue() {
  if (!head_.expect_continue || continue_sent_) return {};
  char cont[64];
  size_t n = http::writeContinueResponse(std::span<char>(cont, sizeof cont));
  continue_sent_ = true;
  return writeTimed(transport(), cont, n, plan_.config->timeouts.client_idle);
}

core::Result<BodyPiece> H1Downstream::ContinueFirst::read(core::Duration idle) {
  if (d_.in_.empty()) {
    if (core::Status st = d_.sendContinue(); !st.ok()) return st.error();
  }
  return d_.body_reader_->read(idle);
}

BodySource& H1Downstream::requestBody() {
  if (!body_reader_) body_reader_.emplace(transport(), in_, head_.body, head_.content_length);
  return continue_first_;
}

PumpResult H1Downstream::pumpBodyTo(Transport& upstream, core::Duration upstream_timeout,
                                    size_t sent_with_head) {
  const conf::ListenerConfig& lc = *plan_.config;
  if (in_.size() <= sent_with_head) {
    if (core::Status st = sendContinue(); !st.ok()) {
      return PumpResult{PumpError::source, st.error().code, 0, 0};
    }
  }
  uint64_t left = head_.content_length;
  if (head_.body == http::BodyKind::content_length) {
    in_.consume(sent_with_head);
    body_bytes_ += sent_with_head;
    left -= sent_with_head;
  }
  PumpSource src{transport(), in_, lc.timeouts.client_idle};
  PumpOptions opts;
  opts.max_payload = lc.limits.max_body_bytes;
  PumpResult r = pumpBody(src, upstream, upstream_timeout, head_.body, left, opts);
  body_bytes_ += r.in_bytes;
  if (r.ok()) body_done_ = true;
  return r;
}

core::Status H1Downstream::writeHead(const http::ResponseHead& response,
                                     std::string_view request_id, size_t body_part,
                                     const char* body, uint64_t* bytes_sent) {
  bool client10 = head_.version == http::Version::http10;
  dechunk_ = client10 && response.body == http::BodyKind::chunked;
  // Draining, or the listener was removed by a reload while this request ran: the client
  // is told to go (docs/operations.md, "Drain").
  keep_alive_ = keep_alive_allowed_ && head_.keep_alive && body_done_ &&
                !client_.hub().draining() && !client_.listener().stopped() &&
                response.body != http::BodyKind::until_close && !dechunk_;
  http::ResponseInfo info;
  info.request_id = request_id;
  info.keep_alive = keep_alive_;
  info.client_is_http10 = client10;
  info.dechunk = dechunk_;
  info.rules = response_rules_;
  info.vars = rule_vars_;
  info.set_cookie = sticky_cookie_;
  if (!scratch_) {
    size_t rules = response_rules_ == nullptr ? 0 : conf::kMaxHeaderRuleBytes;
    size_t cookie = sticky_cookie_.empty() ? 0 : http::kMaxStickyCookieBytes;
    scratch_ = hub().buffers().get(http::kMaxResponseHeadBytes + http::kHeadRewriteSlack + rules +
                                   cookie);
  }
  size_t n = http::writeClientResponseHead(response, info,
                                           std::span<char>(scratch_.data(), scratch_.size()));
  if (n == 0) return core::Error{EMSGSIZE};
  iovec iov[2] = {{scratch_.data(), n}, {const_cast<char*>(body), body_part}};
  response_started_ = true;
  if (core::Status st = writevTimed(transport(), iov, 2, plan_.config->timeouts.client_idle);
      !st.ok()) {
    keep_alive_ = false;
    return st;
  }
  *bytes_sent += n + body_part;
  return {};
}

PumpResult H1Downstream::relayFrom(const http::ResponseHead& response,
                                   std::string_view request_id, InputWindow& out,
                                   Transport& upstream, core::Duration upstream_idle,
                                   uint64_t* bytes_sent) {
  size_t body_part = 0;
  if (response.body == http::BodyKind::content_length) {
    body_part = static_cast<size_t>(std::min<uint64_t>(out.size(), response.content_length));
  }
  core::Status st = writeHead(response, request_id, body_part, out.data().data(), bytes_sent);
  if (!st.ok()) return PumpResult{PumpError::destination, st.error().code, 0, 0};
  out.consume(body_part);
  uint64_t left = response.body == http::BodyKind::content_length
                      ? response.content_length - body_part
                      : 0;
  PumpSource src{upstream, out, upstream_idle};
  PumpOptions opts;
  opts.dechunk = dechunk_;
  http::BodyKind kind = response.body;
  if (kind == http::BodyKind::content_length && left == 0) kind = http::BodyKind::none;
  PumpResult r = pumpBody(src, transport(), plan_.config->timeouts.client_idle, kind, left, opts);
  *bytes_sent += r.out_bytes;
  if (!r.ok()) keep_alive_ = false;  // half a response: all we can do is cut
  return r;
}

TunnelResult H1Downstream::tunnel(const http::ResponseHead& response,
                                  std::string_view request_id, InputWindow& out,
                                  Transport& upstream, bool* head_sent) {
  const conf::ListenerConfig& lc = *plan_.config;
  TunnelResult t;
  t.clean = false;
  keep_alive_ = false;  // a tunnel ends the client connection
  uint64_t sent = 0;
  // Bytes the upstream sent after its 101 go to the client with the head.
  *head_sent = writeHead(response, request_id, out.size(), out.data().data(), &sent).ok();
  t.b_to_a = sent;
  if (!*head_sent) return t;
  out.consume(out.size());
  // Bytes the client sent after its request go to the upstream first, but not the
  // request's own body, which went with the head.
  takeBodyInHand();
  if (!in_.empty()) {
    if (!writeTimed(upstream, in_.data().data(), in_.size(), lc.timeouts.tunnel_idle).ok()) {
      return t;
    }
    t.a_to_b += in_.size();
    in_.consume(in_.size());
  }
  TunnelResult r = runTunnel(transport(), upstream, lc.timeouts.tunnel_idle);
  r.a_to_b += t.a_to_b;
  r.b_to_a += t.b_to_a;
  return r;
}

core::Status H1Downstream::sendResponseHead(const http::ResponseHead& response,
                                            std::string_view request_id) {
  // A response from a codec with no HTTP/1.1 framing of its own (HTTP/2 upstream): a
  // known length passes, an unknown one is chunked (or close-delimited for HTTP/1.0).
  http::ResponseHead framed = response;
  bool client10 = head_.version == http::Version::http10;
  if (framed.body != http::BodyKind::none && framed.body != http::BodyKind::content_length) {
    framed.body = client10 ? http::BodyKind::until_close : http::BodyKind::chunked;
    framed.framing = framed.body == http::BodyKind::chunked ? http::BodyKind::chunked
                                                            : http::BodyKind::none;
  }
  uint64_t sent = 0;
  core::Status st = writeHead(framed, request_id, 0, nullptr, &sent);
  body_writer_.emplace(transport(), framed.body == http::BodyKind::chunked);
  return st;
}

BodySink& H1Downstream::responseBody() {
  if (!body_writer_) body_writer_.emplace(transport(), false);
  return *body_writer_;
}

size_t H1Downstream::sendError(int status, std::string_view request_id, uint32_t retry_after) {
  if (response_started_) {
    keep_alive_ = false;
    return 0;
  }
  // Answers about the upstream (404 no route, 5xx) or the rate (429) to a fully read
  // request keep the connection; answers about the request itself (400, 408, 413, 431)
  // close it.
  bool keep = keep_alive_allowed_ && head_.keep_alive && body_done_ &&
              !client_.hub().draining() && !client_.listener().stopped() &&
              (status == 404 || status == 429 || status >= 500);
  char buf[1024];
  size_t n = http::writeErrorResponse(status, request_id, !keep, std::span<char>(buf, sizeof buf),
                                      head_.method == "HEAD", retry_after);
  response_started_ = true;
  if (n == 0 || !writeTimed(transport(), buf, n, plan_.config->timeouts.client_idle).ok()) {
    keep_alive_ = false;
    return 0;
  }
  keep_alive_ = keep;
  return n;
}

}  // namespace greenlb::proxy
