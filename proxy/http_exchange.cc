#include "proxy/http_exchange.h"

#include <algorithm>
#include <cstring>

#include "proxy/http_request_view.h"
#include "balancer/hash_key.h"
#include "balancer/sticky.h"
#include "core/hub.h"
#include "core/timeout.h"
#include "proxy/access_log.h"
#include "proxy/body_pump.h"
#include "proxy/grpc.h"
#include "proxy/h1_body.h"
#include "proxy/h2/upstream_session.h"
#include "proxy/h1_downstream.h"
#include "proxy/generation.h"
#include "proxy/http/buffer_writer.h"
#include "proxy/http/head_writer.h"
#include "proxy/http/response_parser.h"
#include "proxy/hub_context.h"
#include "proxy/timed_io.h"

namespace greenlb::proxy {

using core::Clock;
using core::Duration;
using metrics::ClientError;
using metrics::TimeoutKind;

namespace {

std::string_view headerValue(const http::RequestHead& head, std::string_view name) {
  const http::Header* h = head.find(name);
  return h == nullptr ? std::string_view() : h->value;
}

}  // namespace

HttpExchange::HttpExchange(Downstream& down, Generation& gen, const ListenerPlan& plan,
                           core::TimePoint started)
    : down_(down),
      gen_(gen),
      plan_(plan),
      head_(down.head()),
      started_(started),
      hub_(down.hub().index()) {
  idempotent_ = http::isIdempotentMethod(head_.method);
  grpc_ = isGrpc(head_);
  if (grpc_) {
    if (const http::Header* t = head_.find("grpc-timeout")) {
      grpc_timeout_ = parseGrpcTimeout(t->value).value_or(Duration::zero());
    }
  }
  if (!head_.request_id.empty() && http::isValidRequestId(head_.request_id)) {
    request_id_len_ = head_.request_id.size();
    std::memcpy(request_id_, head_.request_id.data(), request_id_len_);
  } else {
    request_id_len_ = http::generateRequestId(std::span<char>(request_id_, sizeof request_id_));
  }
}

HttpExchange::~HttpExchange() = default;

void HttpExchange::countClientError(ClientError reason) {
  plan_.metrics->client_errors[metrics::index(reason)].add(hub_);
}

void HttpExchange::run() {
  const conf::ListenerConfig& lc = *plan_.config;
  Router::Match route = plan_.router.match(head_.host, head_.target);
  // The listener's limit counts every request, routed or not; a route's, those it takes.
  if (rateLimited(plan_.rate_limit) ||
      (route.route >= 0 && rateLimited(plan_.route_limits[static_cast<size_t>(route.route)]))) {
    finish();
    return;
  }
  if (route.upstream < 0) {
    respondError(404, "no_route");
    finish();
    return;
  }
  upstream_index_ = route.upstream;
  upstream_ = gen_.upstreams[static_cast<size_t>(route.upstream)].get();
  if (route.rules != nullptr) {
    rules_ = route.rules;
    using conf::HeaderVariable;
    vars_[HeaderVariable::client_ip] = clientIp();
    vars_[HeaderVariable::request_id] = requestId();
    vars_[HeaderVariable::listener] = lc.name;
    vars_[HeaderVariable::upstream] = upstream_->name();
    if (!rules_->response.empty()) down_.setResponseRules(&rules_->response, &vars_);
  }
  if (head_.body == http::BodyKind::content_length && lc.limits.max_body_bytes != 0 &&
      head_.content_length > lc.limits.max_body_bytes) {
    countClientError(ClientError::too_large);
    respondError(413, "body_too_large");
  } else if (checkBodyInHand()) {
    std::optional<core::Timeout> deadline;
    if (grpc_timeout_ > Duration::zero()) {
      // grpc-timeout bounds the whole call: DEADLINE_EXCEEDED to the client, and the
      // upstream stream is cancelled as the exchange lets go of it (docs/grpc.md).
      deadline.emplace(grpc_timeout_);
      grpc_deadline_ = &*deadline;
    }
    forward(*upstream_);
    grpc_deadline_ = nullptr;
  }
  finish();
}

bool HttpExchange::deadlinePassed() {
  if (grpc_deadline_ == nullptr || !grpc_deadline_->expired()) return false;
  upstream_conn_.reset();
  h2_.reset();
  respondError(504, "grpc_deadline_exceeded");
  return true;
}

bool HttpExchange::checkBodyInHand() {
  H1Downstream* h1 = down_.http1();
  if (h1 == nullptr || head_.body != http::BodyKind::chunked || h1->window().empty()) return true;
  uint64_t payload = 0;
  http::ChunkedDecoder::Status st = http::ChunkedDecoder::check(h1->window().data(), &payload);
  if (st == http::ChunkedDecoder::Status::error) {
    countClientError(ClientError::bad_request);
    respondError(400, "bad_chunked_body");
    return false;
  }
  uint64_t max = plan_.config->limits.max_body_bytes;
  if (max != 0 && payload > max) {
    countClientError(ClientError::too_large);
    respondError(413, "body_too_large");
    return false;
  }
  return true;
}

std::string_view HttpExchange::clientIp() {
  if (client_ip_len_ == 0) client_ip_len_ = down_.peer().ipText(client_ip_, sizeof client_ip_);
  return {client_ip_, client_ip_len_};
}

bool HttpExchange::rateLimited(const RateLimit& limit) {
  if (!limit.limiter) return false;
  RateLimiter& limiter = *limit.limiter;
  uint64_t key = 0;
  switch (limiter.config().key) {
    case conf::RateLimitKey::client_ip:
      key = limiter.keyOf(clientIp());
      break;
    case conf::RateLimitKey::header:  // requests without the header share one bucket
      key = limiter.keyOf(headerValue(head_, limiter.config().header));
      break;
    case conf::RateLimitKey::global:
      break;
  }
  uint32_t wait = limiter.admit(key, rateLimitClockNs());
  if (wait == 0) return false;
  limit.limited->add(hub_);
  respondError(429, "rate_limited", wait);
  return true;
}

void HttpExchange::forward(balancer::Upstream& up) {
  const ClientTlsContext* tls = gen_.upstream_tls[static_cast<size_t>(upstream_index_)].get();
  attempts_.emplace(down_.hub(), up, tls);
  attempts_->proxyFor(down_.peer(), down_.socket());
  up.computeHashKey(httpRequestView(down_.peer(), head_), attempts_->pickContext());
  if (const auto& sticky = up.config().sticky) {
    // A cookie set by any greenlb for this upstream names its endpoint (balancer/sticky.h).
    if (auto value = balancer::cookieValue(headerValue(head_, "cookie"), sticky->cookie)) {
      attempts_->pickContext().sticky = balancer::parseStickyId(*value).value_or(0);
    }
  }
  while (attempts_->next() != nullptr) {
    if (attempt(up) != Attempt::retry) return;
  }
  if (deadlinePassed()) return;
  UpstreamError e = attempts_->error();
  respondError(info(e).status, info(e).name);
}

HttpExchange::Attempt HttpExchange::fail(UpstreamError e, bool replayable) {
  if (deadlinePassed()) return Attempt::failed;
  upstream_conn_.reset();
  h2_.reset();
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
  if (up.config().protocol == conf::UpstreamProtocol::http2) return attemptH2(up);
  upstream_conn_ = attempts_->openConnection(/*allow_pooled=*/true);
  if (upstream_conn_ == nullptr) return fail(attempts_->error(), true);  // nothing was sent
  if (Attempt a = sendRequest(up); a != Attempt::done) return a;
  if (Attempt a = awaitResponse(up); a != Attempt::done) return a;

  balancer::Endpoint& ep = *attempts_->endpoint();
  if (response_.upgrade) {
    if (!head_.upgrade || down_.http1() == nullptr) {
      return fail(UpstreamError::unexpected_upgrade, false);
    }
    attempts_->reportSuccess();
    ep.metrics().requests.add(hub_, response_.status);
    stickToEndpoint(up, ep);
    tunnel();
    return Attempt::done;
  }
  if (countResponse(ep)) {
    upstream_conn_.reset();  // not worth draining its body
    return Attempt::retry;
  }
  stickToEndpoint(up, ep);
  relayResponse(up);
  return Attempt::done;
}

bool HttpExchange::countResponse(balancer::Endpoint& ep) {
  ep.metrics().requests.add(hub_, response_.status);
  if (response_.status >= 500) {
    attempts_->reportFailure();
  } else {
    attempts_->reportSuccess();
  }
  if (!attempts_->retry(UpstreamError::upstream_status, replayable(), response_.status)) {
    return false;
  }
  error_ = info(UpstreamError::upstream_status).name;
  return true;
}

void HttpExchange::stickToEndpoint(const balancer::Upstream& up, const balancer::Endpoint& ep) {
  const auto& sticky = up.config().sticky;
  if (!sticky || attempts_->pickContext().sticky == ep.stickyId()) return;
  // Set-Cookie: NAME=ID; Path=/; HttpOnly[; Secure][; Max-Age=N] (docs/balancing.md,
  // "Sticky sessions"). The name is at most 64 bytes (conf), so this always fits.
  http::BufferWriter w(std::span<char>(sticky_cookie_, sizeof sticky_cookie_));
  char id[balancer::kStickyIdLength];
  w.put(sticky->cookie);
  w.put("=");
  w.put(balancer::formatStickyId(ep.stickyId(), id));
  w.put("; Path=/; HttpOnly");
  if (down_.tls()) w.put("; Secure");
  if (sticky->max_age.count() > 0) {
    w.put("; Max-Age=");
    w.putDecimal(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(sticky->max_age).count()));
  }
  down_.setStickyCookie(std::string_view(sticky_cookie_, w.finish()));
}

HttpExchange::Attempt HttpExchange::sendRequest(balancer::Upstream& up) {
  const conf::UpstreamConfig& cfg = up.config();
  http::ForwardInfo fi;
  fi.client_ip = clientIp();
  fi.proto = down_.tls() ? "https" : "http";
  fi.request_id = requestId();
  fi.upgrade = head_.upgrade;
  fi.drop_expect = true;  // the proxy answers Expect: 100-continue itself
  fi.default_host = attempts_->endpoint()->name();
  applyRequestRules(fi);
  std::span<char> buf = scratch();
  size_t n = http::writeUpstreamRequestHead(head_, fi, buf);
  if (n == 0) {
    upstream_conn_.reset();
    countClientError(ClientError::too_large);
    respondError(431, "head_too_large");
    return Attempt::failed;
  }
  // What of the body is already here goes with the head: all of it when it is in hand,
  // else (an HTTP/1.1 client's Content-Length body) the part that came with the head.
  std::string_view with_head;
  if (down_.bodyInHand()) {
    with_head = down_.bodyInHandView();
  } else if (H1Downstream* h1 = down_.http1(); h1 && head_.body == http::BodyKind::content_length) {
    with_head = h1->window().data().substr(
        0, static_cast<size_t>(std::min<uint64_t>(h1->window().size(), head_.content_length)));
  }
  iovec iov[2] = {{buf.data(), n}, {const_cast<char*>(with_head.data()), with_head.size()}};
  size_t written = 0;
  core::Status st = writevTimed(upstream_conn_->transport(), iov, 2, cfg.timeouts.idle, &written);
  if (!st.ok()) {
    if (st.error().cancelled()) return fail(UpstreamError::cancelled, false);
    // A pooled connection the upstream closed meanwhile.
    if (attempts_->reused()) return failReused(UpstreamError::upstream_write_failed, written == 0);
    return fail(UpstreamError::upstream_write_failed, replayable());
  }
  if (down_.bodyInHand()) return Attempt::done;  // the body (if any) went with the head
  return streamRequestBody(up, with_head.size());
}

template <class Info>
void HttpExchange::applyRequestRules(Info& fi) const {
  if (rules_ == nullptr) return;
  if (!rules_->request.empty()) {
    fi.rules = &rules_->request;
    fi.vars = &vars_;
  }
  fi.rewrite = rules_->rewrite;
}

std::span<char> HttpExchange::scratch() {
  if (!scratch_) {
    // A route's rules write at most kMaxHeaderRuleBytes more, and its rewrite at most its
    // rewrite_prefix more (conf/header_rules.h).
    size_t rules =
        rules_ == nullptr ? 0 : conf::kMaxHeaderRuleBytes + rules_->rewrite_prefix.size();
    scratch_ = down_.hub().buffers().get(plan_.config->limits.max_header_bytes +
                                         http::kHeadRewriteSlack + rules);
  }
  return {scratch_.data(), scratch_.size()};
}

HttpExchange::Attempt HttpExchange::attemptH2(balancer::Upstream& up) {
  const conf::UpstreamConfig& cfg = up.config();
  const conf::ListenerConfig& lc = *plan_.config;
  h2_ = attempts_->openStream();
  if (h2_ == nullptr) return fail(attempts_->error(), true);  // nothing was sent
  H2ForwardInfo fi;
  fi.client_ip = clientIp();
  fi.proto = down_.tls() ? "https" : "http";
  fi.request_id = requestId();
  fi.scheme = gen_.upstream_tls[static_cast<size_t>(upstream_index_)] ? "https" : "http";
  fi.default_authority = attempts_->endpoint()->name();
  applyRequestRules(fi);
  nghttp2_nv fields[http::kMaxHeaders + 12 + conf::kMaxHeaderRuleFields];
  size_t n = h2RequestFields(head_, fi, scratch(), fields);
  if (n == 0) {
    h2_.reset();
    countClientError(ClientError::too_large);
    respondError(431, "head_too_large");
    return Attempt::failed;
  }
  bool streaming = !down_.bodyInHand();
  std::optional<std::string_view> in_hand;
  if (!streaming) in_hand = down_.bodyInHandView();
  if (!h2_->submit(std::span(fields, n), in_hand, streaming).ok()) {
    return fail(UpstreamError::upstream_write_failed, replayable());
  }
  // A body not in hand streams alongside the response: a gRPC streaming call goes both
  // ways at once. The pump is this exchange's helper fiber; it ends before the exchange.
  PayloadResult pumped;
  core::JoinHandle<void> pump;
  if (streaming) {
    body_streamed_ = true;
    pump = core::spawn(
        [&] {
          pumped = pumpPayload(down_.requestBody(), *h2_, lc.timeouts.client_idle,
                               cfg.timeouts.idle, lc.limits.max_body_bytes);
          if (pumped.ok()) {
            down_.setRequestBodyDone();
          } else {
            h2_->cancel();  // the request is incomplete: cancelled upstream
          }
        },
        "h2-request-body");
  }
  auto stopPump = [&] {
    if (!pump.valid()) return;
    pump.kill();
    while (!pump.done()) core::yield();  // it uses this exchange: not cancellable
  };
  core::TimePoint sent = Clock::now();
  core::Status st;
  bool timed_out;
  {
    core::Timeout deadline(cfg.timeouts.response);
    st = h2_->awaitHead(response_);
    timed_out = deadline.expired();
  }
  if (!st.ok()) {
    stopPump();
    if (st.error().cancelled()) return fail(UpstreamError::cancelled, false);
    if (h2_->refused()) {
      // REFUSED_STREAM, or above a GOAWAY's last stream id: never processed, so always
      // safe to send again (when the body can be sent again).
      return fail(UpstreamError::upstream_refused, !body_streamed_);
    }
    if (timed_out) {
      up.metrics().timeouts[metrics::index(TimeoutKind::response)].add(hub_);
      return fail(UpstreamError::response_timeout, replayable());
    }
    if (!pumped.ok() && pumped.error != PayloadError::destination) {
      stopPump();
      return failRequestBody(pumped);
    }
    return fail(UpstreamError::upstream_reset, replayable());
  }
  first_byte_seconds_ = core::toSeconds(Clock::now() - sent);
  up.metrics().first_byte_duration.observe(hub_, first_byte_seconds_);
  balancer::Endpoint& ep = *attempts_->endpoint();
  if (countResponse(ep)) {
    stopPump();
    h2_.reset();
    return Attempt::retry;
  }
  status_ = response_.status;
  if (grpc_) grpc_status_ = grpcStatusOf(response_.fields());  // a trailers-only answer
  stickToEndpoint(up, ep);
  bool client_gone = !down_.sendResponseHead(response_, requestId()).ok();
  PayloadResult r;
  if (!client_gone) {
    BodySink& sink = down_.responseBody();
    r = pumpPayload(*h2_, sink, cfg.timeouts.idle, lc.timeouts.client_idle);
    bytes_sent_ += sink.bytesWritten();
    client_gone = r.error == PayloadError::destination;
    if (grpc_ && r.ok()) {
      int s = grpcStatusOf(h2_->trailers());
      if (s >= 0) grpc_status_ = s;
    }
  }
  // The response ended: a request body still streaming is of no more use upstream.
  stopPump();
  if (client_gone) {
    error_ = "client_gone";
    down_.abortResponse();
  } else if (!r.ok()) {
    if (deadlinePassed()) return Attempt::done;
    if (r.code == ETIMEDOUT) up.metrics().timeouts[metrics::index(TimeoutKind::idle)].add(hub_);
    attempts_->reportFailure();
    error_ = "upstream_body_failed";
    down_.abortResponse();
  } else if (!pumped.ok() && pump.valid() && pumped.error != PayloadError::destination &&
             pumped.code != ECANCELED) {
    error_ = "client_body_failed";
  }
  h2_.reset();
  return Attempt::done;
}

HttpExchange::Attempt HttpExchange::failRequestBody(const PayloadResult& r) {
  h2_.reset();
  switch (r.error) {
    case PayloadError::too_large:
      countClientError(ClientError::too_large);
      respondError(413, "body_too_large");
      break;
    case PayloadError::source:
      if (r.code == ETIMEDOUT) {
        countClientError(ClientError::header_timeout);
        respondError(408, "client_body_timeout");
      } else if (r.code == EPROTO) {
        countClientError(ClientError::bad_request);
        respondError(400, "bad_chunked_body");
      } else {
        countClientError(ClientError::reset);
        error_ = "client_reset";
        status_ = 499;
      }
      break;
    default:
      respondError(502, "upstream_write_failed");
      break;
  }
  return Attempt::failed;
}

HttpExchange::Attempt HttpExchange::streamRequestBody(balancer::Upstream& up,
                                                      size_t sent_with_head) {
  const conf::ListenerConfig& lc = *plan_.config;
  Duration upstream_idle = up.config().timeouts.idle;
  body_streamed_ = true;
  enum class Failure : uint8_t { none, client_timeout, client_reset, framing, too_large, upstream };
  Failure failure = Failure::none;
  bool body_late = false;
  {
    // [listener.timeouts] request_body bounds the whole body, from the head's arrival: a
    // client trickling bytes just inside client_idle cannot hold the request forever.
    std::optional<core::Timeout> whole;
    if (lc.timeouts.request_body > Duration::zero()) {
      whole.emplace(lc.timeouts.request_body - (Clock::now() - started_));
    }
    if (H1Downstream* h1 = down_.http1()) {  // HTTP/1.1 to HTTP/1.1: verbatim
      PumpResult r = h1->pumpBodyTo(upstream_conn_->transport(), upstream_idle, sent_with_head);
      switch (r.error) {
        case PumpError::none: break;
        case PumpError::source:
          failure = r.code == ETIMEDOUT ? Failure::client_timeout : Failure::client_reset;
          break;
        case PumpError::framing: failure = Failure::framing; break;
        case PumpError::too_large: failure = Failure::too_large; break;
        case PumpError::destination: failure = Failure::upstream; break;
      }
    } else {
      H1BodyWriter sink(upstream_conn_->transport(), head_.body == http::BodyKind::chunked);
      PayloadResult r = pumpPayload(down_.requestBody(), sink, lc.timeouts.client_idle,
                                    upstream_idle, lc.limits.max_body_bytes);
      switch (r.error) {
        case PayloadError::none: down_.setRequestBodyDone(); break;
        case PayloadError::source:
          failure = r.code == ETIMEDOUT ? Failure::client_timeout
                    : r.code == EPROTO  ? Failure::framing
                                        : Failure::client_reset;
          break;
        case PayloadError::too_large: failure = Failure::too_large; break;
        case PayloadError::destination: failure = Failure::upstream; break;
      }
    }
    body_late = whole && whole->expired();
  }
  if (failure == Failure::none) return Attempt::done;
  upstream_conn_.reset();
  if (body_late) {
    countClientError(ClientError::header_timeout);
    respondError(408, "request_body_timeout");
    return Attempt::failed;
  }
  switch (failure) {
    case Failure::client_timeout:
      countClientError(ClientError::header_timeout);
      respondError(408, "client_body_timeout");
      break;
    case Failure::client_reset:
      countClientError(ClientError::reset);
      error_ = "client_reset";
      status_ = 499;  // logged only: nobody to answer
      break;
    case Failure::framing:
      countClientError(ClientError::bad_request);
      respondError(400, "bad_chunked_body");
      break;
    case Failure::too_large:
      countClientError(ClientError::too_large);
      respondError(413, "body_too_large");
      break;
    case Failure::upstream:
      attempts_->reportFailure();
      respondError(502, "upstream_write_failed");
      break;
    case Failure::none:
      break;
  }
  return Attempt::failed;
}

HttpExchange::Attempt HttpExchange::awaitResponse(balancer::Upstream& up) {
  const conf::UpstreamConfig& cfg = up.config();
  if (!out_.hasBuffer()) {
    out_.attach(down_.hub().buffers().get(http::kMaxResponseHeadBytes + kMinBodyWindow));
  }
  out_.clear();
  bool head_request = head_.method == "HEAD";
  bool replay = replayable();
  http::ResponseParser parser(http::kMaxResponseHeadBytes, head_request);
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
      return fail(UpstreamError::response_timeout, replay);
    }
    if (!n.ok() || *n == 0) {
      // Closed on reuse before a byte of response: the upstream dropped an idle connection
      // as we sent (the keep-alive race).
      if (!got_bytes && attempts_->reused() && !body_streamed_ && down_.bodyInHand()) {
        return failReused(UpstreamError::upstream_reset, false);
      }
      return fail(UpstreamError::upstream_reset, replay);
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
      if (ps == http::ParseStatus::error) return fail(UpstreamError::bad_response, replay);
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
        return fail(UpstreamError::bad_response, replay);
      }
      return Attempt::done;
    }
  }
}

void HttpExchange::relayResponse(balancer::Upstream& up) {
  const conf::UpstreamConfig& cfg = up.config();
  status_ = response_.status;
  Transport& upstream = upstream_conn_->transport();
  bool client_failed;
  bool upstream_failed;
  int upstream_code = 0;
  if (H1Downstream* h1 = down_.http1()) {  // HTTP/1.1 to HTTP/1.1: verbatim
    PumpResult r = h1->relayFrom(response_, requestId(), out_, upstream, cfg.timeouts.idle,
                                 &bytes_sent_);
    client_failed = r.error == PumpError::destination;
    upstream_failed = !r.ok() && !client_failed;
    upstream_code = r.code;
  } else {
    core::Status st = down_.sendResponseHead(response_, requestId());
    client_failed = !st.ok();
    upstream_failed = false;
    if (st.ok()) {
      H1BodyReader body(upstream, out_, response_.body, response_.content_length);
      BodySink& sink = down_.responseBody();
      PayloadResult r = pumpPayload(body, sink, cfg.timeouts.idle, plan_.config->timeouts.client_idle);
      bytes_sent_ += sink.bytesWritten();
      client_failed = r.error == PayloadError::destination;
      upstream_failed = !r.ok() && !client_failed;
      upstream_code = r.code;
    }
  }
  if (client_failed) {
    error_ = "client_gone";
    down_.abortResponse();
    return;
  }
  if (upstream_failed) {
    if (upstream_code == ETIMEDOUT) {
      up.metrics().timeouts[metrics::index(TimeoutKind::idle)].add(hub_);
    }
    attempts_->reportFailure();
    // The response is half sent: all we can do is cut the client's stream.
    error_ = "upstream_body_failed";
    down_.abortResponse();
    return;
  }
  releaseUpstream();
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

void HttpExchange::tunnel() {
  status_ = response_.status;
  bool head_sent = false;
  TunnelResult t = down_.http1()->tunnel(response_, requestId(), out_,
                                         upstream_conn_->transport(), &head_sent);
  bytes_received_ += t.a_to_b;
  bytes_sent_ += t.b_to_a;
  if (!head_sent) {
    error_ = "client_gone";
  } else if (!t.clean) {
    error_ = "tunnel_closed";
  }
  upstream_conn_.reset();
}

void HttpExchange::respondError(int status, std::string_view error, uint32_t retry_after) {
  status_ = status;
  error_ = error;
  if (grpc_) grpc_status_ = grpcStatusForHttp(status);
  if (down_.responseStarted()) {
    down_.abortResponse();
    return;
  }
  bytes_sent_ += down_.sendError(status, requestId(), retry_after);
}

void HttpExchange::finish() {
  // A request whose body was buffered whole is taken only now: retries resent it.
  down_.takeBodyInHand();
  upstream_conn_.reset();
  core::TimePoint now = Clock::now();
  double seconds = core::toSeconds(now - started_);
  size_t metric_index = upstream_index_ < 0 ? plan_.request_metrics.size() - 1
                                            : static_cast<size_t>(upstream_index_);
  metrics::RequestMetrics& rm = *plan_.request_metrics[metric_index];
  if (status_ != 0 && status_ != 499) rm.requests.add(hub_, status_);
  if (grpc_ && grpc_status_ >= 0) {
    rm.grpc_requests[static_cast<size_t>(grpc_status_)].add(hub_);
  }
  rm.duration.observe(hub_, seconds);
  uint64_t received = bytes_received_ + down_.bytesReceived() + head_.head_bytes;
  plan_.metrics->bytes_received.add(hub_, received);
  plan_.metrics->bytes_sent.add(hub_, bytes_sent_);

  if (AccessLog* log = down_.hub().accessLog(); log != nullptr) {
    balancer::Endpoint* endpoint = attempts_ ? attempts_->endpoint() : nullptr;
    AccessRecord r;
    r.client_ip = clientIp();
    r.method = head_.method;
    r.target = head_.target;
    r.protocol = down_.protocol();
    r.host = head_.host;
    r.user_agent = headerValue(head_, "user-agent");
    r.referer = headerValue(head_, "referer");
    r.request_id = requestId();
    r.listener = plan_.config->name;
    r.upstream = upstream_ != nullptr ? std::string_view(upstream_->name()) : std::string_view();
    r.endpoint = endpoint != nullptr ? std::string_view(endpoint->name()) : std::string_view();
    r.error = error_;
    r.status = status_;
    r.bytes_received = received;
    r.bytes_sent = bytes_sent_;
    r.attempts = attempts_ ? attempts_->attempts() : 0;
    r.duration_seconds = seconds;
    r.upstream_seconds = first_byte_seconds_;
    r.grpc_status = grpc_ ? grpc_status_ : -1;
    log->record(hub_, r);
  }
}

}  // namespace greenlb::proxy
