#include "proxy/http_exchange.h"

#include <algorithm>
#include <cstring>

#include "proxy/http_request_view.h"
#include "core/hub.h"
#include "core/timeout.h"
#include "proxy/access_log.h"
#include "proxy/body_pump.h"
#include "proxy/client_connection.h"
#include "proxy/generation.h"
#include "proxy/http/error_response.h"
#include "proxy/http/head_writer.h"
#include "proxy/http/response_parser.h"
#include "proxy/hub_context.h"
#include "proxy/listener_socket.h"
#include "proxy/timed_io.h"
#include "proxy/tunnel.h"

namespace greenlb::proxy {

using core::Clock;
using core::Duration;
using metrics::ClientError;
using metrics::TimeoutKind;

namespace {

// Heads an upstream may send us; larger is a broken response (502).
constexpr size_t kMaxResponseHeadBytes = 32 * 1024;
// Room for a rewritten head: the received one plus the headers the proxy adds.
constexpr size_t kHeadRewriteSlack = 2048;

std::string_view protocolText(http::Version v) {
  return v == http::Version::http10 ? "HTTP/1.0" : "HTTP/1.1";
}

std::string_view headerValue(const http::RequestHead& head, std::string_view name) {
  const http::Header* h = head.find(name);
  return h == nullptr ? std::string_view() : h->value;
}

}  // namespace

HttpExchange::HttpExchange(ClientConnection& client, Generation& gen, const ListenerPlan& plan,
                           const http::RequestHead& head, InputWindow& in,
                           core::TimePoint started, bool keep_alive_allowed)
    : client_(client),
      gen_(gen),
      plan_(plan),
      head_(head),
      in_(in),
      started_(started),
      hub_(client.hub().index()),
      keep_alive_allowed_(keep_alive_allowed) {
  idempotent_ = http::isIdempotentMethod(head_.method);
  switch (head_.body) {
    case http::BodyKind::none:
      replayable_ = true;
      request_body_done_ = true;
      break;
    case http::BodyKind::content_length:
      // A body already buffered whole leaves nothing unread on the client side: the
      // connection may stay alive (finish() consumes it from in_ once no retry needs it).
      replayable_ = in_.size() >= head_.content_length;
      request_body_done_ = replayable_;
      break;
    default:  // chunked bodies are streamed, never replayed
      replayable_ = false;
      request_body_done_ = false;
      break;
  }
  if (isValidRequestIdView(head_.request_id)) {
    request_id_len_ = head_.request_id.size();
    std::memcpy(request_id_, head_.request_id.data(), request_id_len_);
  } else {
    request_id_len_ = http::generateRequestId(std::span<char>(request_id_, sizeof request_id_));
  }
  size_t scratch = std::max(plan_.config->limits.max_header_bytes, kMaxResponseHeadBytes) +
                   kHeadRewriteSlack;
  scratch_ = client_.hub().buffers().get(scratch);
}

HttpExchange::~HttpExchange() = default;

bool HttpExchange::isValidRequestIdView(std::string_view id) {
  return !id.empty() && http::isValidRequestId(id);
}

std::string_view HttpExchange::requestId() const { return {request_id_, request_id_len_}; }

bool HttpExchange::run() {
  const conf::ListenerConfig& lc = *plan_.config;
  int index = plan_.router.route(head_.host, head_.target);
  if (index < 0) {
    bool keep = respondError(404, "no_route");
    finish();
    return keep;
  }
  upstream_index_ = index;
  upstream_ = gen_.upstreams[static_cast<size_t>(index)].get();
  if (head_.body == http::BodyKind::content_length && lc.limits.max_body_bytes != 0 &&
      head_.content_length > lc.limits.max_body_bytes) {
    plan_.metrics->client_errors[metrics::index(ClientError::too_large)].add(hub_);
    respondError(413, "body_too_large");
    finish();
    return false;
  }
  if (!checkBodyInHand()) {
    finish();
    return false;
  }
  bool keep = forward(*upstream_);
  finish();
  return keep;
}

bool HttpExchange::checkBodyInHand() {
  if (head_.body != http::BodyKind::chunked || in_.empty()) return true;
  uint64_t payload = 0;
  http::ChunkedDecoder::Status st = http::ChunkedDecoder::check(in_.data(), &payload);
  if (st == http::ChunkedDecoder::Status::error) {
    plan_.metrics->client_errors[metrics::index(ClientError::bad_request)].add(hub_);
    respondError(400, "bad_chunked_body");
    return false;
  }
  uint64_t max = plan_.config->limits.max_body_bytes;
  if (max != 0 && payload > max) {
    plan_.metrics->client_errors[metrics::index(ClientError::too_large)].add(hub_);
    respondError(413, "body_too_large");
    return false;
  }
  return true;
}

bool HttpExchange::forward(balancer::Upstream& up) {
  const ClientTlsContext* tls = gen_.upstream_tls[static_cast<size_t>(upstream_index_)].get();
  attempts_.emplace(client_.hub(), up, tls);
  up.computeHashKey(httpRequestView(client_.peer(), head_), attempts_->pickContext());
  while (attempts_->next() != nullptr) {
    switch (attempt(up)) {
      case Attempt::done:
      case Attempt::failed:
        return client_keep_alive_;
      case Attempt::retry:
        continue;
    }
  }
  UpstreamError e = attempts_->error();
  return respondError(info(e).status, info(e).name);
}

HttpExchange::Attempt HttpExchange::fail(UpstreamError e, bool replayable) {
  upstream_conn_.reset();
  error_ = info(e).name;
  if (e == UpstreamError::cancelled) {
    respondError(502, error_);
    return Attempt::failed;
  }
  if (info(e).endpoint_fault) attempts_->reportFailure();
  if (attempts_->retry(e, replayable)) return Attempt::retry;
  respondError(info(e).status, error_);
  return Attempt::failed;
}

HttpExchange::Attempt HttpExchange::failReused(UpstreamError e, bool nothing_sent) {
  // RFC 9110 section 9.2.2: only an idempotent request, or one that provably never reached
  // the upstream, may be sent again; a POST the upstream may have processed is not.
  if (idempotent_ || nothing_sent) {
    upstream_conn_.reset();
    attempts_->again();
    return Attempt::retry;
  }
  return fail(e, false);
}

HttpExchange::Attempt HttpExchange::attempt(balancer::Upstream& up) {
  upstream_conn_ = attempts_->openConnection(/*allow_pooled=*/true);
  if (upstream_conn_ == nullptr) return fail(attempts_->error(), true);  // nothing was sent
  if (Attempt a = sendRequest(up); a != Attempt::done) return a;
  if (Attempt a = awaitResponse(up); a != Attempt::done) return a;

  balancer::Endpoint& ep = *attempts_->endpoint();
  if (response_.upgrade) {
    if (!head_.upgrade) return fail(UpstreamError::unexpected_upgrade, false);
    attempts_->reportSuccess();
    ep.metrics().requests.add(hub_, response_.status);
    return tunnel() ? Attempt::done : Attempt::failed;
  }
  ep.metrics().requests.add(hub_, response_.status);
  if (response_.status >= 500) {
    attempts_->reportFailure();
  } else {
    attempts_->reportSuccess();
  }
  if (attempts_->retry(UpstreamError::upstream_status,
                       idempotent_ && replayable_ && !body_streamed_, response_.status)) {
    error_ = info(UpstreamError::upstream_status).name;
    upstream_conn_.reset();  // not worth draining its body
    return Attempt::retry;
  }
  return relayResponse(up) ? Attempt::done : Attempt::failed;
}

HttpExchange::Attempt HttpExchange::sendRequest(balancer::Upstream& up) {
  const conf::UpstreamConfig& cfg = up.config();
  char ip[64];
  size_t ip_len = client_.peer().ipText(ip, sizeof ip);
  http::ForwardInfo fi;
  fi.client_ip = std::string_view(ip, ip_len);
  fi.proto = plan_.config->tls ? "https" : "http";
  fi.request_id = requestId();
  fi.upgrade = head_.upgrade;
  fi.drop_expect = true;  // the proxy answers Expect: 100-continue itself
  fi.default_host = attempts_->endpoint()->name();
  size_t n = http::writeUpstreamRequestHead(head_, fi, std::span<char>(scratch_.data(), scratch_.size()));
  if (n == 0) {
    upstream_conn_.reset();
    plan_.metrics->client_errors[metrics::index(ClientError::too_large)].add(hub_);
    respondError(431, "head_too_large");
    return Attempt::failed;
  }
  size_t buffered = 0;
  if (head_.body == http::BodyKind::content_length) {
    buffered = static_cast<size_t>(std::min<uint64_t>(in_.size(), head_.content_length));
  }
  iovec iov[2] = {{scratch_.data(), n}, {const_cast<char*>(in_.data().data()), buffered}};
  size_t written = 0;
  core::Status st = writevTimed(upstream_conn_->transport(), iov, 2, cfg.timeouts.idle, &written);
  if (!st.ok()) {
    if (st.error().cancelled()) return fail(UpstreamError::cancelled, false);
    // A pooled connection the upstream closed meanwhile.
    if (attempts_->reused()) return failReused(UpstreamError::upstream_write_failed, written == 0);
    return fail(UpstreamError::upstream_write_failed, idempotent_ && replayable_);
  }
  if (replayable_) return Attempt::done;  // the body (if any) went with the head

  // Stream the rest of the body: from here on the request cannot be sent again.
  const conf::ListenerConfig& lc = *plan_.config;
  if (head_.expect_continue && !continue_sent_ && in_.size() <= buffered) {
    char cont[64];
    size_t cn = http::writeContinueResponse(std::span<char>(cont, sizeof cont));
    if (!writeTimed(client_.transport(), cont, cn, lc.timeouts.client_idle).ok()) {
      error_ = "client_gone";
      upstream_conn_.reset();
      return Attempt::failed;
    }
    continue_sent_ = true;
  }
  body_streamed_ = true;
  uint64_t left = head_.content_length;
  if (head_.body == http::BodyKind::content_length) {
    in_.consume(buffered);
    bytes_received_ += buffered;
    left -= buffered;
  }
  PumpSource src{client_.transport(), in_, lc.timeouts.client_idle};
  PumpOptions opts;
  opts.max_payload = lc.limits.max_body_bytes;
  PumpResult r;
  bool body_late = false;
  {
    // [listener.timeouts] request_body bounds the whole body, from the head's arrival: a
    // client trickling bytes just inside client_idle cannot hold the request forever.
    std::optional<core::Timeout> whole;
    if (lc.timeouts.request_body > Duration::zero()) {
      whole.emplace(lc.timeouts.request_body - (Clock::now() - started_));
    }
    r = pumpBody(src, upstream_conn_->transport(), cfg.timeouts.idle, head_.body, left, opts);
    body_late = whole && whole->expired();
  }
  bytes_received_ += r.in_bytes;
  if (body_late && !r.ok()) {
    upstream_conn_.reset();
    plan_.metrics->client_errors[metrics::index(ClientError::header_timeout)].add(hub_);
    respondError(408, "request_body_timeout");
    return Attempt::failed;
  }
  switch (r.error) {
    case PumpError::none:
      request_body_done_ = true;
      return Attempt::done;
    case PumpError::source:
      upstream_conn_.reset();
      if (r.code == ETIMEDOUT) {
        plan_.metrics->client_errors[metrics::index(ClientError::header_timeout)].add(hub_);
        respondError(408, "client_body_timeout");
      } else {
        plan_.metrics->client_errors[metrics::index(ClientError::reset)].add(hub_);
        error_ = "client_reset";
        status_ = 499;  // logged only: nobody to answer
      }
      return Attempt::failed;
    case PumpError::framing:
      upstream_conn_.reset();
      plan_.metrics->client_errors[metrics::index(ClientError::bad_request)].add(hub_);
      respondError(400, "bad_chunked_body");
      return Attempt::failed;
    case PumpError::too_large:
      upstream_conn_.reset();
      plan_.metrics->client_errors[metrics::index(ClientError::too_large)].add(hub_);
      respondError(413, "body_too_large");
      return Attempt::failed;
    case PumpError::destination:
      attempts_->reportFailure();
      upstream_conn_.reset();
      respondError(502, "upstream_write_failed");
      return Attempt::failed;
  }
  return Attempt::failed;
}

HttpExchange::Attempt HttpExchange::awaitResponse(balancer::Upstream& up) {
  const conf::UpstreamConfig& cfg = up.config();
  if (!out_.hasBuffer()) {
    out_.attach(client_.hub().buffers().get(kMaxResponseHeadBytes + kMinBodyWindow));
  }
  out_.clear();
  bool head_request = head_.method == "HEAD";
  bool replayable = idempotent_ && replayable_ && !body_streamed_;
  http::ResponseParser parser(kMaxResponseHeadBytes, head_request);
  core::TimePoint sent = Clock::now();
  bool got_bytes = false;
  core::Timeout deadline(cfg.timeouts.response);
  for (;;) {
    if (!out_.ensureRoom()) return fail(UpstreamError::response_head_too_large, false);
    core::Result<size_t> n =
        readTimed(upstream_conn_->transport(), out_.tail(), out_.tailRoom(), core::Duration::zero());
    if (!n.ok() && n.error().cancelled()) return fail(UpstreamError::cancelled, false);
    if (!n.ok() && deadline.expired()) {
      up.metrics().timeouts[metrics::index(TimeoutKind::response)].add(hub_);
      return fail(UpstreamError::response_timeout, replayable);
    }
    if (!n.ok() || *n == 0) {
      // Closed on reuse before a byte of response: the upstream dropped an idle connection
      // as we sent (the keep-alive race).
      if (!got_bytes && attempts_->reused() && !body_streamed_ && replayable_) {
        return failReused(UpstreamError::upstream_reset, false);
      }
      return fail(UpstreamError::upstream_reset, replayable);
    }
    if (!got_bytes) {
      got_bytes = true;
      first_byte_seconds_ = core::toSeconds(Clock::now() - sent);
      up.metrics().first_byte_duration.observe(hub_, first_byte_seconds_);
    }
    out_.produced(*n);
    for (;;) {
      http::ParseStatus ps = parser.parse(out_.data(), response_);
      if (ps == http::ParseStatus::need_more) break;
      // Nothing reached the client yet: a broken head is retried like a reset.
      if (ps == http::ParseStatus::error) return fail(UpstreamError::bad_response, replayable);
      if (response_.status >= 100 && response_.status < 200 && !response_.upgrade) {
        // Interim responses (100, 103) are not relayed: the proxy answers Expect itself.
        out_.consume(response_.head_bytes);
        parser.reset(head_request);
        if (out_.empty()) break;
        continue;
      }
      out_.pinHead(response_.head_bytes);
      // Framing already broken in the bytes that came with the head: a 502 now, not a
      // relayed head followed by a cut.
      uint64_t payload = 0;
      if (response_.body == http::BodyKind::chunked && !out_.empty() &&
          http::ChunkedDecoder::check(out_.data(), &payload) == http::ChunkedDecoder::Status::error) {
        return fail(UpstreamError::bad_response, replayable);
      }
      return Attempt::done;
    }
  }
}

bool HttpExchange::relayResponse(balancer::Upstream& up) {
  const conf::UpstreamConfig& cfg = up.config();
  const conf::ListenerConfig& lc = *plan_.config;
  bool client10 = head_.version == http::Version::http10;
  bool dechunk = client10 && response_.body == http::BodyKind::chunked;
  // Draining, or the listener was removed by a reload while this request ran: the client
  // is told to go (docs/operations.md, "Drain").
  client_keep_alive_ = keep_alive_allowed_ && head_.keep_alive && request_body_done_ &&
                       !client_.hub().draining() && !client_.listener().stopped() &&
                       response_.body != http::BodyKind::until_close && !dechunk;
  http::ResponseInfo info;
  info.request_id = requestId();
  info.keep_alive = client_keep_alive_;
  info.client_is_http10 = client10;
  info.dechunk = dechunk;
  size_t n = http::writeClientResponseHead(response_, info,
                                           std::span<char>(scratch_.data(), scratch_.size()));
  if (n == 0) return respondError(502, "response_head_too_large");
  status_ = response_.status;
  size_t body_part = 0;
  if (response_.body == http::BodyKind::content_length) {
    body_part = static_cast<size_t>(std::min<uint64_t>(out_.size(), response_.content_length));
  }
  iovec iov[2] = {{scratch_.data(), n}, {const_cast<char*>(out_.data().data()), body_part}};
  response_started_ = true;
  if (!writevTimed(client_.transport(), iov, 2, lc.timeouts.client_idle).ok()) {
    error_ = "client_gone";
    client_keep_alive_ = false;
    return false;
  }
  bytes_sent_ += n + body_part;
  out_.consume(body_part);
  uint64_t left = response_.body == http::BodyKind::content_length
                      ? response_.content_length - body_part
                      : 0;
  PumpSource src{upstream_conn_->transport(), out_, cfg.timeouts.idle};
  PumpOptions opts;
  opts.dechunk = dechunk;
  http::BodyKind kind = response_.body;
  if (kind == http::BodyKind::content_length && left == 0) kind = http::BodyKind::none;
  PumpResult r = pumpBody(src, client_.transport(), lc.timeouts.client_idle, kind, left, opts);
  bytes_sent_ += r.out_bytes;
  switch (r.error) {
    case PumpError::none:
      break;
    case PumpError::destination:
      error_ = "client_gone";
      client_keep_alive_ = false;
      return false;
    case PumpError::source:
      if (r.code == ETIMEDOUT) up.metrics().timeouts[metrics::index(TimeoutKind::idle)].add(hub_);
      attempts_->reportFailure();
      [[fallthrough]];
    default:
      // The response is half sent: all we can do is cut the client connection.
      error_ = "upstream_body_failed";
      client_keep_alive_ = false;
      return false;
  }
  releaseUpstream();
  return true;
}

void HttpExchange::releaseUpstream() {
  std::unique_ptr<UpstreamConnection> conn = std::move(upstream_conn_);
  if (!response_.keep_alive || response_.body == http::BodyKind::until_close) return;
  // Bytes past the response's framing, in our window or decrypted ahead by TLS, would be
  // read as the next request's response: the connection cannot be reused.
  bool excess = !out_.empty() || conn->transport().hasBuffered();
  if (!excess && conn->stream().probeQuiet()) {
    ++conn->requests;
    attempts_->pool().give(std::move(conn));
    return;
  }
  if (excess || !conn->stream().peerClosed()) {
    // Unasked bytes: an upstream that sent more than its framing said (a body on a HEAD,
    // 204 or 304 answer; a body longer than its Content-Length).
    error_ = "upstream_excess_bytes";
    upstream_->metrics().protocol_errors.add(hub_);
  }
  out_.clear();
}

bool HttpExchange::tunnel() {
  const conf::ListenerConfig& lc = *plan_.config;
  http::ResponseInfo info;
  info.request_id = requestId();
  info.keep_alive = true;
  size_t n = http::writeClientResponseHead(response_, info,
                                           std::span<char>(scratch_.data(), scratch_.size()));
  if (n == 0) return respondError(502, "response_head_too_large");
  status_ = response_.status;
  // Bytes the upstream sent after its 101 go to the client with the head; bytes the client
  // sent after its request go to the upstream first, but not the request's own body, which
  // went with the head.
  iovec iov[2] = {{scratch_.data(), n}, {const_cast<char*>(out_.data().data()), out_.size()}};
  response_started_ = true;
  client_keep_alive_ = false;
  if (!writevTimed(client_.transport(), iov, 2, lc.timeouts.client_idle).ok()) {
    error_ = "client_gone";
    return false;
  }
  out_.consume(out_.size());
  takeBufferedBody();
  if (!in_.empty()) {
    if (!writeTimed(upstream_conn_->transport(), in_.data().data(), in_.size(),
                    lc.timeouts.tunnel_idle).ok()) {
      error_ = "upstream_write_failed";
      return false;
    }
    in_.consume(in_.size());
  }
  TunnelResult t =
      runTunnel(client_.transport(), upstream_conn_->transport(), lc.timeouts.tunnel_idle);
  bytes_received_ += t.a_to_b;
  bytes_sent_ += t.b_to_a;
  if (!t.clean) error_ = "tunnel_closed";
  upstream_conn_.reset();
  return false;  // a tunnel ends the client connection
}

void HttpExchange::takeBufferedBody() {
  if (!replayable_ || head_.body != http::BodyKind::content_length || buffered_body_taken_) return;
  in_.consume(static_cast<size_t>(head_.content_length));
  bytes_received_ += head_.content_length;
  buffered_body_taken_ = true;
  request_body_done_ = true;
}

bool HttpExchange::respondError(int status, std::string_view error) {
  status_ = status;
  error_ = error;
  if (response_started_) {
    client_keep_alive_ = false;
    return false;
  }
  // Answers about the upstream (404 no route, 5xx) to a fully read request keep the
  // connection; answers about the request itself (400, 408, 413, 431) close it.
  bool keep = keep_alive_allowed_ && head_.keep_alive && request_body_done_ &&
              !client_.hub().draining() && !client_.listener().stopped() &&
              (status == 404 || status >= 500);
  char buf[1024];
  size_t n = http::writeErrorResponse(status, requestId(), !keep, std::span<char>(buf, sizeof buf),
                                      head_.method == "HEAD");
  response_started_ = true;
  if (n == 0 || !writeTimed(client_.transport(), buf, n, plan_.config->timeouts.client_idle).ok()) {
    keep = false;
  } else {
    bytes_sent_ += n;
  }
  client_keep_alive_ = keep;
  return keep;
}

void HttpExchange::finish() {
  // A request whose body was buffered whole is consumed only now: retries resent it.
  takeBufferedBody();
  if (!request_body_done_) client_keep_alive_ = false;
  upstream_conn_.reset();
  core::TimePoint now = Clock::now();
  double seconds = core::toSeconds(now - started_);
  size_t metric_index = upstream_index_ < 0 ? plan_.request_metrics.size() - 1
                                            : static_cast<size_t>(upstream_index_);
  metrics::RequestMetrics& rm = *plan_.request_metrics[metric_index];
  if (status_ != 0 && status_ != 499) rm.requests.add(hub_, status_);
  rm.duration.observe(hub_, seconds);
  plan_.metrics->bytes_received.add(hub_, bytes_received_ + head_.head_bytes);
  plan_.metrics->bytes_sent.add(hub_, bytes_sent_);

  if (AccessLog* log = client_.hub().accessLog(); log != nullptr) {
    balancer::Endpoint* endpoint = attempts_ ? attempts_->endpoint() : nullptr;
    char ip[64];
    size_t ip_len = client_.peer().ipText(ip, sizeof ip);
    AccessRecord r;
    r.client_ip = std::string_view(ip, ip_len);
    r.method = head_.method;
    r.target = head_.target;
    r.protocol = protocolText(head_.version);
    r.host = head_.host;
    r.user_agent = headerValue(head_, "user-agent");
    r.referer = headerValue(head_, "referer");
    r.request_id = requestId();
    r.listener = plan_.config->name;
    r.upstream = upstream_ != nullptr ? std::string_view(upstream_->name()) : std::string_view();
    r.endpoint = endpoint != nullptr ? std::string_view(endpoint->name()) : std::string_view();
    r.error = error_;
    r.status = status_;
    r.bytes_received = bytes_received_ + head_.head_bytes;
    r.bytes_sent = bytes_sent_;
    r.attempts = attempts_ ? attempts_->attempts() : 0;
    r.duration_seconds = seconds;
    r.upstream_seconds = first_byte_seconds_;
    log->record(hub_, r);
  }
}

}  // namespace greenlb::proxy
