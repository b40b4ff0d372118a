#include "proxy/h2/stream.h"

#include <algorithm>
#include <cstring>

#include "core/timeout.h"
#include "proxy/client_connection.h"
#include "proxy/grpc.h"
#include "proxy/h2/outbound_body.h"
#include "proxy/h2/server_session.h"
#include "proxy/http/buffer_writer.h"
#include "proxy/http/error_response.h"
#include "proxy/http/header_util.h"
#include "proxy/hub_context.h"

namespace greenlb::proxy {

namespace {

// The request window a stream grants its client (SETTINGS_INITIAL_WINDOW_SIZE is left at
// the protocol's default): the inbound buffer never holds more than this.
constexpr size_t kStreamWindow = 65535;

std::string_view view(nghttp2_rcbuf* b) {
  nghttp2_vec v = nghttp2_rcbuf_get_buf(b);
  return {reinterpret_cast<const char*>(v.base), v.len};
}

// `v` in decimal, written into `buf`.
std::string_view decimal(uint64_t v, char (&buf)[20]) {
  http::BufferWriter w(std::span<char>(buf, sizeof buf));
  w.putDecimal(v);
  return {buf, w.finish()};
}


// A field the Connection header of `fields` names (also hop-by-hop).
bool namedByConnection(std::span<const http::Header> fields, std::string_view name) {
  for (const http::Header& h : fields) {
    if (http::equalsIgnoreCase(h.name, "connection") && http::listContainsToken(h.value, name)) {
      return true;
    }
  }
  return false;
}

ssize_t readCallback(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                     uint32_t* data_flags, nghttp2_data_source* source, void*) {
  return static_cast<H2Stream*>(source->ptr)->readResponse(buf, length, data_flags);
}

}  // namespace

H2Stream::H2Stream(H2ServerSession& session, int32_t id) : session_(session), id_(id) {}

H2Stream::~H2Stream() {
  for (size_t i = 0; i < kept_count_; ++i) nghttp2_rcbuf_decref(kept_[i]);
}

const core::SocketAddress& H2Stream::peer() const { return session_.connection().peer(); }

const core::Stream* H2Stream::socket() const {
  return &session_.connection().stream();
}

bool H2Stream::tls() const { return session_.connection().isTls(); }
HubContext& H2Stream::hub() { return session_.hub(); }

bool H2Stream::addField(nghttp2_rcbuf* name, nghttp2_rcbuf* value, bool trailer,
                        size_t max_bytes) {
  std::string_view n = view(name), v = view(value);
  field_bytes_ += n.size() + v.size() + 32;  // RFC 9113 section 6.5.2's accounting
  if (field_bytes_ > max_bytes || kept_count_ + 2 > std::size(kept_)) return false;
  nghttp2_rcbuf_incref(name);
  nghttp2_rcbuf_incref(value);
  kept_[kept_count_++] = name;
  kept_[kept_count_++] = value;
  if (trailer) {
    if (trailer_count_ < std::size(trailer_fields_)) trailer_fields_[trailer_count_++] = {n, v};
    return true;
  }
  if (!n.empty() && n[0] == ':') {
    if (n == ":method") method_ = v;
    else if (n == ":scheme") scheme_ = v;
    else if (n == ":authority") authority_ = v;
    else if (n == ":path") path_ = v;
    return true;
  }
  if (head_.header_count >= http::kMaxHeaders) return false;
  if (n == "content-type" && v.starts_with("application/grpc")) grpc_ = true;
  if (n == "x-request-id" && head_.request_id.empty()) head_.request_id = v;
  head_.headers[head_.header_count++] = {n, v};
  return true;
}

bool H2Stream::finishHead(size_t header_block_bytes) {
  head_.method = method_;
  head_.target = path_;
  head_.target_form = path_ == "*" ? http::TargetForm::asterisk : http::TargetForm::origin;
  head_.version = http::Version::http11;
  head_.keep_alive = true;
  head_.head_bytes = header_block_bytes;
  // :authority is the request's authority; a Host field may stand in for it (RFC 9113
  // 8.3.1). It reaches an HTTP/1.1 upstream as Host.
  head_.host = authority_;
  if (head_.host.empty()) {
    if (const http::Header* h = head_.find("host")) head_.host = h->value;
  }
  head_.host_from_authority = true;
  // Several cookie fields become one for HTTP/1.1, joined with "; " (RFC 9113 8.2.3).
  size_t cookies = 0, cookie_bytes = 0;
  for (const http::Header& h : head_.fields()) {
    if (h.name == "cookie") {
      ++cookies;
      cookie_bytes += h.value.size() + 2;
    }
  }
  if (cookies > 1) {
    cookies_ = hub().buffers().get(cookie_bytes);
    size_t at = 0;
    uint32_t kept = 0;
    http::Header* first = nullptr;
    for (uint32_t i = 0; i < head_.header_count; ++i) {
      http::Header& h = head_.headers[i];
      if (h.name == "cookie") {
        if (at > 0) {
          std::memcpy(cookies_.data() + at, "; ", 2);
          at += 2;
        }
        std::memcpy(cookies_.data() + at, h.value.data(), h.value.size());
        at += h.value.size();
        if (first != nullptr) continue;  // dropped: joined into the first
        first = &head_.headers[kept];
      }
      head_.headers[kept++] = h;
    }
    head_.header_count = kept;
    first->value = std::string_view(cookies_.data(), at);
  }
  if (const http::Header* cl = head_.find("content-length")) {
    uint64_t n = 0;
    for (char c : cl->value) n = n * 10 + static_cast<uint64_t>(c - '0');  // nghttp2 checked
    head_.body = http::BodyKind::content_length;
    head_.content_length = n;
  } else {
    head_.body = end_of_request_ ? http::BodyKind::none : http::BodyKind::chunked;
  }
  return !method_.empty() && method_ != "CONNECT" && !path_.empty();
}

bool H2Stream::addData(const uint8_t* data, size_t len) {
  if (!in_.hasBuffer()) in_.attach(hub().buffers().get(kStreamWindow));
  // The window never lets the client send more than the buffer holds: read() hands the
  // exchange views from the buffer's start and consume() compacts behind them.
  if (len > in_.tailRoom()) return false;
  std::memcpy(in_.tail(), data, len);
  in_.produced(len);
  received_ += len;
  data_arrived_.set();
  return true;
}

void H2Stream::endOfRequest() {
  end_of_request_ = true;
  // A body that came whole before its exchange started goes upstream with a length.
  if (head_.body == http::BodyKind::chunked && !exchange_started_) {
    head_.body = http::BodyKind::content_length;
    head_.content_length = in_.size();
  }
  data_arrived_.set();
}

void H2Stream::closedBySession(uint32_t error_code) {
  closed_ = true;
  reset_code = error_code;
  data_arrived_.set();
  out_.wake();
}

void H2Stream::startExchange() {
  exchange_started_ = true;
  // Decided once, when the exchange starts: a body that finishes arriving later is
  // streamed, never sent whole (the exchange may already have sent the head without it).
  in_hand_ = end_of_request_ && (head_.body == http::BodyKind::none ||
                                 (head_.body == http::BodyKind::content_length &&
                                  in_.size() == head_.content_length));
}

std::string_view H2Stream::bodyInHandView() const {
  return in_hand_taken_ ? std::string_view() : in_.data();
}

void H2Stream::takeBodyInHand() {
  if (!in_hand_ || in_hand_taken_) return;
  in_hand_taken_ = true;
  size_t n = in_.size();
  in_.consume(n);
  if (n > 0 && !closed_) {
    nghttp2_session_consume(session_.session(), id_, n);
    session_.wantWrite();
  }
}

core::Result<BodyPiece> H2Stream::read(core::Duration idle) {
  for (;;) {
    if (closed_) return core::Error{ECANCELED};  // the client reset the stream
    if (!in_.empty()) {
      pending_consume_ = in_.size();
      return BodyPiece{in_.data(), end_of_request_};
    }
    if (end_of_request_) return BodyPiece{{}, true};
    data_arrived_.clear();
    std::optional<core::Timeout> bound;
    if (idle > core::Duration::zero()) bound.emplace(idle);
    if (core::Status st = data_arrived_.wait(); !st.ok()) return st.error();
  }
}

void H2Stream::consume(size_t n) {
  n = std::min(n, pending_consume_);
  pending_consume_ = 0;
  in_.consume(n);
  in_.compact();  // no view into the buffer is out now
  if (n > 0 && !closed_) {
    nghttp2_session_consume(session_.session(), id_, n);
    session_.wantWrite();
  }
}

std::span<const http::Header> H2Stream::trailers() const {
  return {trailer_fields_, trailer_count_};
}

bool H2Stream::submitHeaders(int status, std::span<const http::Header> fields,
                             std::string_view request_id, bool with_body,
                             const http::HeaderRules* rules) {
  // nghttp2 copies the fields when they are submitted: the lowercased names (and the
  // values rules expand) need only live through this call.
  thread_local char lower[http::kMaxResponseHeadBytes + conf::kMaxHeaderRuleBytes];
  nghttp2_nv nva[http::kMaxHeaders + 9 + conf::kMaxHeaderRuleFields];
  size_t count = 0;
  char status_text[4] = {static_cast<char>('0' + status / 100 % 10),
                         static_cast<char>('0' + status / 10 % 10),
                         static_cast<char>('0' + status % 10), 0};
  nva[count++] = h2Field(":status", std::string_view(status_text, 3));
  size_t at = 0;
  for (const http::Header& h : fields) {
    if (h2ConnectionSpecific(h.name) || namedByConnection(fields, h.name)) continue;
    if (rules != nullptr && rules->drops(h.name)) continue;
    if (at + h.name.size() > sizeof lower || count + 2 >= std::size(nva)) return false;
    for (size_t i = 0; i < h.name.size(); ++i) lower[at + i] = http::toLowerAscii(h.name[i]);
    nva[count++] = h2Field(std::string_view(lower + at, h.name.size()), h.value);
    at += h.name.size();
    out_.count(h.name.size() + h.value.size() + 2);
  }
  if (!request_id.empty() && (rules == nullptr || !rules->drops(http::HeaderId::x_request_id))) {
    nva[count++] = h2Field("x-request-id", request_id);
  }
  if (!sticky_cookie_.empty()) nva[count++] = h2Field("set-cookie", sticky_cookie_);
  if (rules != nullptr) {
    for (size_t i = 0; i < rules->fieldCount(); ++i) {
      http::HeaderRules::Field f = rules->field(i);
      if (at + rules->valueSize(f, *rule_vars_) > sizeof lower) return false;
      size_t start = at;
      rules->expand(f, *rule_vars_, [&](std::string_view piece) {
        if (piece.empty()) return;  // a variable with no value has no buffer
        std::memcpy(lower + at, piece.data(), piece.size());
        at += piece.size();
      });
      nva[count++] = h2Field(f.lower, std::string_view(lower + start, at - start));
    }
  }
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = readCallback;
  body_submitted_ = with_body;
  int rv = nghttp2_submit_response(session_.session(), id_, nva, count,
                                   with_body ? &provider : nullptr);
  session_.wantWrite();
  return rv == 0;
}

core::Status H2Stream::sendResponseHead(const http::ResponseHead& head,
                                        std::string_view request_id) {
  if (closed_) return core::Error{EPIPE};
  response_started_ = true;
  bool with_body = head.body != http::BodyKind::none &&
                   !(head.body == http::BodyKind::content_length && head.content_length == 0);
  if (!submitHeaders(head.status, head.fields(), request_id, with_body, response_rules_)) {
    return core::Error{EMSGSIZE};
  }
  if (!with_body) out_.finish();
  return {};
}

core::Status H2Stream::write(std::string_view data, core::Duration timeout) {
  return out_.write(session_, id_, closed_, hub().buffers(), data, timeout);
}

core::Status H2Stream::end(std::span<const http::Header> trailers, core::Duration) {
  if (closed_) return core::Error{EPIPE};
  out_.end(session_, id_, hub().buffers(), trailers);
  return {};
}

ssize_t H2Stream::readResponse(uint8_t* buf, size_t length, uint32_t* data_flags) {
  return out_.read(session_.session(), id_, buf, length, data_flags);
}

size_t H2Stream::sendError(int status, std::string_view request_id, uint32_t retry_after) {
  if (closed_) return 0;
  if (response_started_) {
    abortResponse();
    return 0;
  }
  response_started_ = true;
  if (grpc_) {
    // A trailers-only response: HTTP 200 with grpc-status (docs/http2.md, "gRPC").
    int code = grpcStatusForHttp(status);
    char code_text[4];
    size_t len = code >= 10 ? 2 : 1;
    code_text[0] = static_cast<char>(code >= 10 ? '0' + code / 10 : '0' + code);
    if (code >= 10) code_text[1] = static_cast<char>('0' + code % 10);
    std::string_view message = http::reasonPhrase(status);
    http::Header fields[] = {{"content-type", "application/grpc"},
                             {"grpc-status", std::string_view(code_text, len)},
                             {"grpc-message", message}};
    out_.finish();
    submitHeaders(200, fields, request_id, false);
    return out_.sent();
  }
  std::string_view reason = http::reasonPhrase(status);
  char length[20], wait[20];
  http::Header fields[] = {{"content-type", "text/plain"},
                           {"content-length", decimal(reason.size() + 1, length)},
                           {"retry-after", decimal(retry_after, wait)}};
  size_t field_count = retry_after != 0 ? 3 : 2;
  bool with_body = head_.method != "HEAD";
  if (with_body) {
    out_.put(hub().buffers(), reason);
    out_.put(hub().buffers(), "\n");
  }
  out_.finish();
  submitHeaders(status, std::span(fields, field_count), request_id, with_body);
  return out_.sent();
}

void H2Stream::abortResponse() {
  if (closed_) return;
  nghttp2_submit_rst_stream(session_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
  session_.wantWrite();
}

}  // namespace greenlb::proxy
