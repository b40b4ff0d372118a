#include "proxy/http_exchange.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "core/hub.h"
#include "core/timeout.h"
#include "proxy/access_log.h"
#include "proxy/body_pump.h"
#include "proxy/client_connection.h"
#include "proxy/generation.h"
#include "proxy/http/error_response.h"
#include "proxy/http/head_writer.h"
#include "proxy/http/response_parser.h"
#include "proxy/http_request_view.h"
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

bool isStatusRetried(const conf::RetryConfig& r, int status) {
  return std::find(r.on_status.begin(), r.on_status.end(), status) != r.on_status.end();
}

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

HttpExchange::~HttpExchange() {
  if (pinned_ != nullptr) pinned_->unpin();
}

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
  bool keep = forward(*upstream_);
  finish();
  return keep;
}

bool HttpExchange::forward(balancer::Upstream& up) {
  const conf::UpstreamConfig& cfg = up.config();
  balancer::PickContext ctx;
  up.computeHashKey(httpRequestView(client_.peer(), head_), ctx);
  balancer::RetryBudget::Request budget(up.retryBudget(), hub_);
  uint32_t retries = 0;
  bool fresh_only = false;
  balancer::Endpoint* ep = nullptr;
  for (;;) {
    if (fresh_only) {
      ep->beginRequest();  // the same endpoint again (pickOrWait began the first one)
    } else {
      ctx.now = Clock::now();
      balancer::PickFailure why;
      ep = up.pickOrWait(hub_, ctx, &why);
      if (ep == nullptr) {
        auto reason = why == balancer::PickFailure::limits ? metrics::Unavailable::limits
                                                           : metrics::Unavailable::no_healthy;
        up.metrics().unavailable[metrics::index(reason)].add(hub_);
        return respondError(503, why == balancer::PickFailure::limits ? "upstream_limits"
                                                                      : "no_healthy_endpoint");
      }
      ctx.addTried(ep);
      // Pinned before anything parks: a DNS change may drop the endpoint from every
      // membership while this request still uses it (and logs its name at the end).
      if (pinned_ != nullptr) pinned_->unpin();
      pinned_ = &client_.hub().poolFor(up, *ep);
      pinned_->pin();
    }
    ++attempts_;
    endpoint_ = ep;
    bool can_retry = retries < cfg.retry.attempts;
    Attempt a = attempt(up, *ep, !fresh_only, can_retry);
    up.endRequest(hub_, *ep);
    switch (a) {
      case Attempt::done:
        return client_keep_alive_;
      case Attempt::failed:
        return client_keep_alive_;
      case Attempt::retry_fresh:
        fresh_only = true;  // same endpoint, new connection: not a retry (docs/proxying.md#retries)
        continue;
      case Attempt::retry:
        // Over the upstream's retry budget the failure goes to the client
        // (docs/proxying.md#retries).
        if (!budget.allowRetry()) return respondError(pending_status_, error_);
        fresh_only = false;
        ++retries;
        up.metrics().retries.add(hub_);
        if (!backoff(cfg.retry.backoff, retries)) return respondError(pending_status_, error_);
        continue;
    }
  }
}

bool HttpExchange::backoff(Duration base, uint32_t retry) {
  if (base <= Duration::zero()) return true;
  // Exponential with full jitter: uniform in [0, base * 2^(retry-1)], capped at 64x.
  thread_local std::minstd_rand rng{std::random_device{}()};
  int64_t cap = base.count() << std::min<uint32_t>(retry - 1, 6);
  if (cap <= 0) return true;
  Duration wait(std::uniform_int_distribution<int64_t>(0, cap)(rng));
  return core::sleep(wait).ok();
}

HttpExchange::Attempt HttpExchange::fail(bool can_retry, bool retry_allowed, int status,
                                        const char* error) {
  pending_status_ = status;
  error_ = error;
  upstream_conn_.reset();
  if (can_retry && retry_allowed) return Attempt::retry;
  respondError(status, error);
  return Attempt::failed;
}

HttpExchange::Attempt HttpExchange::attempt(balancer::Upstream& up, balancer::Endpoint& ep,
                                            bool allow_pooled, bool can_retry) {
  const conf::UpstreamConfig& cfg = up.config();
  EndpointPool& pool = client_.hub().poolFor(up, ep);
  if (allow_pooled) upstream_conn_ = pool.take();
  bool reused = upstream_conn_ != nullptr;
  if (!reused) {
    upstream_conn_ = pool.fresh();
    core::TimePoint t0 = Clock::now();
    core::Status st;
    bool timed_out = false;
    const ClientTlsContext* tls = gen_.upstream_tls[static_cast<size_t>(upstream_index_)].get();
    bool tls_failed = false;
    {
      core::Timeout t(cfg.timeouts.connect);  // TCP and TLS connect ([upstream.timeouts])
      st = upstream_conn_->stream().connectTo(ep.address());
      if (st.ok() && tls != nullptr) {
        auto session = tls->handshake(ep.name(), upstream_conn_->stream());
        if (session.ok()) {
          upstream_conn_->setTls(std::move(*session));
        } else {
          st = session.error();
        }
        tls_failed = !st.ok();
      }
      timed_out = t.expired();
    }
    if (!st.ok()) {
      if (st.error().cancelled()) return fail(false, false, 502, "cancelled");
      ep.metrics().connect_failures.add(hub_);
      if (timed_out) up.metrics().timeouts[metrics::index(TimeoutKind::connect)].add(hub_);
      up.reportFailure(ep, Clock::now());
      // A connect failure is always retryable: nothing was sent (docs/proxying.md#retries).
      return fail(can_retry, cfg.retry.on_connect_failure, 502,
                  timed_out ? "connect_timeout"
                            : (tls_failed ? "tls_handshake_failed" : "connect_failed"));
    }
    up.metrics().connect_duration.observe(hub_, core::toSeconds(Clock::now() - t0));
  }
  if (Attempt a = sendRequest(up, ep, reused, can_retry); a != Attempt::done) return a;
  if (Attempt a = awaitResponse(up, ep, reused, can_retry); a != Attempt::done) return a;

  if (response_.upgrade) {
    if (!head_.upgrade) return fail(false, false, 502, "unexpected_upgrade");
    up.reportSuccess(ep);
    ep.metrics().requests.add(hub_, response_.status);
    return tunnel() ? Attempt::done : Attempt::failed;
  }
  ep.metrics().requests.add(hub_, response_.status);
  bool is_5xx = response_.status >= 500;
  if (is_5xx) {
    up.reportFailure(ep, Clock::now());
  } else {
    up.reportSuccess(ep);
  }
  if (can_retry && isStatusRetried(cfg.retry, response_.status) && idempotent_ && replayable_ &&
      !body_streamed_) {
    pending_status_ = response_.status;
    error_ = "upstream_status_retried";
    upstream_conn_.reset();  // not worth draining its body
    return Attempt::retry;
  }
  return relayResponse(up, ep) ? Attempt::done : Attempt::failed;
}

HttpExchange::Attempt HttpExchange::sendRequest(balancer::Upstream& up, balancer::Endpoint& ep,
                                                bool reused, bool can_retry) {
  const conf::UpstreamConfig& cfg = up.config();
  char ip[64];
  size_t ip_len = client_.peer().ipText(ip, sizeof ip);
  http::ForwardInfo fi;
  fi.client_ip = std::string_view(ip, ip_len);
  fi.proto = plan_.config->tls ? "https" : "http";
  fi.request_id = requestId();
  fi.upgrade = head_.upgrade;
  fi.drop_expect = true;  // the proxy answers Expect: 100-continue itself
  fi.default_host = ep.name();
  size_t n = http::writeUpstreamRequestHead(head_, fi, std::span<char>(scratch_.data(), scratch_.size()));
  if (n == 0) {
    plan_.metrics->client_errors[metrics::index(ClientError::too_large)].add(hub_);
    respondError(431, "head_too_large");
    return Attempt::failed;
  }
  size_t buffered = 0;
  if (head_.body == http::BodyKind::content_length) {
    buffered = static_cast<size_t>(std::min<uint64_t>(in_.size(), head_.content_length));
  }
  iovec iov[2] = {{scratch_.data(), n}, {const_cast<char*>(in_.data().data()), buffered}};
  core::Status st = writevTimed(upstream_conn_->transport(), iov, 2, cfg.timeouts.idle);
  if (!st.ok()) {
    if (st.error().cancelled()) return fail(false, false, 502, "cancelled");
    // A pooled connection the upstream closed meanwhile: try a fresh one, no retry counted.
    if (reused) {
      upstream_conn_.reset();
      return Attempt::retry_fresh;
    }
    up.reportFailure(ep, Clock::now());
    return fail(can_retry, cfg.retry.on_reset && idempotent_ && replayable_, 502,
                "upstream_write_failed");
  }
  if (replayable_) return Attempt::done;  // the body (if any) went with the head

  // Stream the rest of the body: from here on the request cannot be sent again.
  if (head_.expect_continue && !continue_sent_ && in_.size() <= buffered) {
    char cont[64];
    size_t cn = http::writeContinueResponse(std::span<char>(cont, sizeof cont));
    if (!writeTimed(client_.transport(), cont, cn, plan_.config->timeouts.client_idle).ok()) {
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
    left -= buffered;
  }
  PumpSource src{client_.transport(), in_, plan_.config->timeouts.client_idle};
  PumpOptions opts;
  opts.max_payload = plan_.config->limits.max_body_bytes;
  PumpResult r = pumpBody(src, upstream_conn_->transport(), cfg.timeouts.idle, head_.body, left, opts);
  bytes_received_ += r.wire_bytes;
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
      up.reportFailure(ep, Clock::now());
      upstream_conn_.reset();
      respondError(502, "upstream_write_failed");
      return Attempt::failed;
  }
  return Attempt::failed;
}

HttpExchange::Attempt HttpExchange::awaitResponse(balancer::Upstream& up, balancer::Endpoint& ep,
                                                  bool reused, bool can_retry) {
  const conf::UpstreamConfig& cfg = up.config();
  if (!out_.hasBuffer()) out_.attach(client_.hub().buffers().get(kMaxResponseHeadBytes));
  out_.clear();
  bool head_request = head_.method == "HEAD";
  http::ResponseParser parser(kMaxResponseHeadBytes, head_request);
  core::TimePoint sent = Clock::now();
  bool got_bytes = false;
  core::Timeout deadline(cfg.timeouts.response);
  for (;;) {
    if (!out_.ensureRoom()) return fail(false, false, 502, "response_head_too_large");
    core::Result<size_t> n =
        readTimed(upstream_conn_->transport(), out_.tail(), out_.tailRoom(), core::Duration::zero());
    if (!n.ok() && n.error().cancelled()) return fail(false, false, 502, "cancelled");
    if (!n.ok() && deadline.expired()) {
      up.metrics().timeouts[metrics::index(TimeoutKind::response)].add(hub_);
      up.reportFailure(ep, Clock::now());
      return fail(can_retry, cfg.retry.on_timeout && idempotent_ && replayable_ && !body_streamed_,
                  504, "response_timeout");
    }
    if (!n.ok() || *n == 0) {
      if (!got_bytes && reused && replayable_ && !body_streamed_) {
        upstream_conn_.reset();
        return Attempt::retry_fresh;  // closed on reuse
      }
      up.reportFailure(ep, Clock::now());
      return fail(can_retry, cfg.retry.on_reset && idempotent_ && replayable_ && !body_streamed_,
                  502, "upstream_reset");
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
      if (ps == http::ParseStatus::error) {
        // Nothing reached the client yet: a broken head is retried like a reset.
        up.reportFailure(ep, Clock::now());
        return fail(can_retry, cfg.retry.on_reset && idempotent_ && replayable_ && !body_streamed_,
                    502, "bad_response");
      }
      if (response_.status >= 100 && response_.status < 200 && !response_.upgrade) {
        // Interim responses (100, 103) are not relayed: the proxy answers Expect itself.
        out_.consume(response_.head_bytes);
        parser.reset(head_request);
        if (out_.empty()) break;
        continue;
      }
      out_.pinHead(response_.head_bytes);
      return Attempt::done;
    }
  }
}

bool HttpExchange::relayResponse(balancer::Upstream& up, balancer::Endpoint& ep) {
  const conf::UpstreamConfig& cfg = up.config();
  const conf::ListenerConfig& lc = *plan_.config;
  bool client10 = head_.version == http::Version::http10;
  bool dechunk = client10 && response_.body == http::BodyKind::chunked;
  // Draining, or the listener was removed by a reload while this request ran: the client
  // is told to go (docs/operations.md#drain).
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
  bytes_sent_ += r.wire_bytes;
  switch (r.error) {
    case PumpError::none:
      break;
    case PumpError::destination:
      error_ = "client_gone";
      client_keep_alive_ = false;
      return false;
    case PumpError::source:
      if (r.code == ETIMEDOUT) up.metrics().timeouts[metrics::index(TimeoutKind::idle)].add(hub_);
      up.reportFailure(ep, Clock::now());
      [[fallthrough]];
    default:
      // The response is half sent: all we can do is cut the client connection.
      error_ = "upstream_body_failed";
      client_keep_alive_ = false;
      return false;
  }
  if (response_.keep_alive && response_.body != http::BodyKind::until_close) {
    ++upstream_conn_->requests;
    client_.hub().poolFor(up, ep).give(std::move(upstream_conn_));
  } else {
    upstream_conn_.reset();
  }
  return true;
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
  // sent after its request go to the upstream first.
  iovec iov[2] = {{scratch_.data(), n}, {const_cast<char*>(out_.data().data()), out_.size()}};
  response_started_ = true;
  client_keep_alive_ = false;
  if (!writevTimed(client_.transport(), iov, 2, lc.timeouts.client_idle).ok()) {
    error_ = "client_gone";
    return false;
  }
  out_.consume(out_.size());
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

bool HttpExchange::respondError(int status, const char* error) {
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
  if (replayable_ && head_.body == http::BodyKind::content_length &&
      in_.size() >= head_.content_length) {
    in_.consume(static_cast<size_t>(head_.content_length));
    request_body_done_ = true;
  }
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
    r.endpoint = endpoint_ != nullptr ? std::string_view(endpoint_->name()) : std::string_view();
    r.error = error_;
    r.status = status_;
    r.bytes_received = bytes_received_ + head_.head_bytes;
    r.bytes_sent = bytes_sent_;
    r.attempts = attempts_;
    r.duration_seconds = seconds;
    r.upstream_seconds = first_byte_seconds_;
    log->record(hub_, r);
  }
}

}  // namespace greenlb::proxy
