#include "proxy/h2/upstream_session.h"

#include <algorithm>
#include <cstring>

#include "core/hub.h"
#include "core/timeout.h"
#include "proxy/h2/session_memory.h"
#include "proxy/http/error_response.h"
#include "proxy/http/header_util.h"
#include "proxy/timed_io.h"
#include "proxy/tls_context.h"
#include "proxy/tls_transport.h"
#include "proxy/upstream_pool.h"

namespace greenlb::proxy {

namespace {

constexpr size_t kStreamWindow = 65535;         // the response window of each stream
constexpr int32_t kConnectionWindow = 16 << 20;  // one slow stream never shuts the others
constexpr size_t kReadChunk = 16 * 1024;

std::string_view view(nghttp2_rcbuf* b) {
  nghttp2_vec v = nghttp2_rcbuf_get_buf(b);
  return {reinterpret_cast<const char*>(v.base), v.len};
}

H2UpstreamStream* streamOf(nghttp2_session* s, int32_t id) {
  return static_cast<H2UpstreamStream*>(nghttp2_session_get_stream_user_data(s, id));
}

ssize_t readRequestCallback(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                            uint32_t* data_flags, nghttp2_data_source* source, void*) {
  return static_cast<H2UpstreamStream*>(source->ptr)->readRequest(buf, length, data_flags);
}

}  // namespace

// --- the session ---

H2UpstreamSession::H2UpstreamSession(EndpointPool& pool, BufferPool& buffers,
                                     core::Duration idle_timeout, core::Duration write_timeout)
    : pool_(pool), buffers_(buffers), idle_timeout_(idle_timeout), write_timeout_(write_timeout) {}

H2UpstreamSession::~H2UpstreamSession() {
  writer_.reset();
  if (session_ != nullptr) nghttp2_session_del(session_);
}

UpstreamError H2UpstreamSession::open(const core::SocketAddress& to,
                                         const ClientTlsContext* tls,
                                         std::string_view endpoint_name) {
  core::Status st = stream_.connectTo(to);
  UpstreamError e = UpstreamError::none;
  if (!st.ok()) {
    e = st.error().cancelled() ? UpstreamError::cancelled
        : st.error().timedOut() ? UpstreamError::connect_timeout
                                : UpstreamError::connect_failed;
  } else if (tls != nullptr) {
    auto session = tls->handshake(endpoint_name, stream_);
    if (!session.ok()) {
      e = session.error().timedOut() ? UpstreamError::connect_timeout
                                     : UpstreamError::tls_handshake_failed;
    } else {
      tls_ = std::move(*session);
      const unsigned char* proto = nullptr;
      unsigned len = 0;
      SSL_get0_alpn_selected(tls_->ssl(), &proto, &len);
      if (std::string_view(reinterpret_cast<const char*>(proto), len) != "h2") {
        e = UpstreamError::tls_handshake_failed;  // the upstream does not speak h2
      }
    }
  }
  if (e == UpstreamError::none) {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback2(cb, onHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, onFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, onDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, onStreamClose);
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_auto_window_update(opt, 1);  // opened as the exchange reads
    nghttp2_session_client_new3(&session_, cb, this, opt, h2SessionMemory());
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                         {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE,
                                          static_cast<uint32_t>(kStreamWindow)}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
    Transport& t = tls_ ? static_cast<Transport&>(*tls_) : plain_;
    writer_.emplace(session_, t, buffers_, write_timeout_);
    reader_done_ = false;
    bool started = writer_->start() &&
                   core::currentHub().spawnDetached("h2-upstream", [this] {
                     readerLoop();
                     pool_.h2SessionEnded(this);  // may delete this: nothing after it
                   }) != nullptr;
    if (!started) {
      reader_done_ = true;
      e = UpstreamError::connect_failed;
    } else {
      wantWrite();
    }
  }
  connect_error_ = e;
  state_ = e == UpstreamError::none ? State::ready : State::dead;
  if (state_ == State::dead) stream_.close();
  ready_.set();
  return e;
}

UpstreamError H2UpstreamSession::awaitReady() {
  ++waiters_;
  core::Status st = ready_.wait();
  --waiters_;
  UpstreamError e = !st.ok() ? (st.error().cancelled() ? UpstreamError::cancelled
                                                       : UpstreamError::connect_timeout)
                    : state_ == State::ready                  ? UpstreamError::none
                    : connect_error_ != UpstreamError::none   ? connect_error_
                                                              : UpstreamError::connect_failed;
  if (finished()) pool_.h2SessionEnded(this);  // the last to wait on a failed connect: last use
  return e;
}

bool H2UpstreamSession::hasRoom() const {
  if (state_ == State::dead || goaway_) return false;
  if (state_ == State::connecting) return true;  // joins the connect in flight
  uint32_t max = nghttp2_session_get_remote_settings(session_,
                                                     NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return streams_ < std::min<uint32_t>(max, 1000);
}

void H2UpstreamSession::attach(H2UpstreamStream* s) {
  s->next = head_;
  if (head_ != nullptr) head_->prev = s;
  head_ = s;
  ++streams_;
}

void H2UpstreamSession::detach(H2UpstreamStream* s) {
  if (s->prev != nullptr) {
    s->prev->next = s->next;
  } else {
    head_ = s->next;
  }
  if (s->next != nullptr) s->next->prev = s->prev;
  s->prev = s->next = nullptr;
  --streams_;
  if (finished()) pool_.h2SessionEnded(this);  // may delete this
}

void H2UpstreamSession::close() {
  if (state_ != State::dead) stream_.close();  // the reader wakes with EBADF and ends
}

void H2UpstreamSession::end() {
  state_ = State::dead;
  ++waiters_;  // not finished (deleted) while streams are let go here
  for (H2UpstreamStream* s = head_; s != nullptr;) {
    H2UpstreamStream* next = s->next;
    if (!s->closed()) s->closedBySession(NGHTTP2_CONNECT_ERROR);
    if (s->abandoned()) delete s;
    s = next;
  }
  --waiters_;
}

void H2UpstreamSession::readerLoop() {
  Transport& t = tls_ ? static_cast<Transport&>(*tls_) : plain_;
  InputWindow in(buffers_.get(kReadChunk));
  for (;;) {
    in.clear();
    core::Result<size_t> n = core::Error{0};
    {
      // An idle connection (no stream) closes after pool.idle_timeout; a busy one waits
      // another round (each stream has its own timeouts).
      core::Timeout idle(idle_timeout_);
      n = readTimed(t, in.tail(), in.tailRoom(), core::Duration::zero());
      if (!n.ok() && idle.expired()) {
        if (streams_ > 0) continue;
        goaway_ = true;
        nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
        wantWrite();
        break;
      }
    }
    if (!n.ok() || *n == 0) break;
    ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(in.tail()),
                                          *n);
    if (rv < 0) {
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
      wantWrite();
      break;
    }
    wantWrite();
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) break;
  }
  end();
  writer_->stop();
  stream_.close();
  reader_done_ = true;
}

int H2UpstreamSession::onHeader(nghttp2_session* s, const nghttp2_frame* frame,
                                nghttp2_rcbuf* name, nghttp2_rcbuf* value, uint8_t, void*) {
  if (H2UpstreamStream* stream = streamOf(s, frame->hd.stream_id)) stream->addField(name, value);
  return 0;
}

int H2UpstreamSession::onFrameRecv(nghttp2_session* s, const nghttp2_frame* frame, void* ud) {
  auto& self = *static_cast<H2UpstreamSession*>(ud);
  const nghttp2_frame_hd& hd = frame->hd;
  bool end = (hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (hd.type) {
    case NGHTTP2_HEADERS:
      if (H2UpstreamStream* stream = streamOf(s, hd.stream_id)) {
        if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE ||
            frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
          stream->headEnded(end);
        }
      }
      break;
    case NGHTTP2_DATA:
      if (end) {
        if (H2UpstreamStream* stream = streamOf(s, hd.stream_id)) stream->endOfResponse();
      }
      break;
    case NGHTTP2_GOAWAY:
      // No new streams here; nghttp2 closes the ones above last_stream_id as refused.
      self.goaway_ = true;
      break;
    default:
      break;
  }
  return 0;
}

int H2UpstreamSession::onDataChunk(nghttp2_session* s, uint8_t, int32_t id, const uint8_t* data,
                                   size_t len, void*) {
  H2UpstreamStream* stream = streamOf(s, id);
  if (stream != nullptr && !stream->addData(data, len)) {
    nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_FLOW_CONTROL_ERROR);
  }
  return 0;
}

int H2UpstreamSession::onStreamClose(nghttp2_session* s, int32_t id, uint32_t code, void*) {
  if (H2UpstreamStream* stream = streamOf(s, id)) {
    nghttp2_session_set_stream_user_data(s, id, nullptr);
    stream->closedBySession(code);
    if (stream->abandoned()) delete stream;  // may delete the session: last
  }
  return 0;
}

// --- a stream ---

void H2UpstreamStreamRelease::operator()(H2UpstreamStream* s) const { s->abandon(); }

H2StreamHandle H2UpstreamStream::open(H2UpstreamSession& session) {
  return H2StreamHandle(new H2UpstreamStream(session));
}

H2UpstreamStream::H2UpstreamStream(H2UpstreamSession& session) : session_(session) {
  session_.attach(this);
}

H2UpstreamStream::~H2UpstreamStream() {
  for (size_t i = 0; i < kept_count_; ++i) nghttp2_rcbuf_decref(kept_[i]);
  session_.detach(this);  // may delete the session: last
}

void H2UpstreamStream::cancel() {
  if (id_ <= 0 || closed_) return;
  nghttp2_submit_rst_stream(session_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
  session_.wantWrite();
}

void H2UpstreamStream::abandon() {
  abandoned_ = true;
  // Whatever nghttp2 still asks of the request body from now on: nothing more.
  streaming_ = true;
  body_in_hand_ = {};
  out_.drop();
  if (id_ > 0 && !closed_) {
    // Let go before the stream ended: the request is cancelled upstream. nghttp2 closes
    // the stream once the RST_STREAM is out, and the session deletes this then.
    nghttp2_submit_rst_stream(session_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
    session_.wantWrite();
    return;
  }
  delete this;
}

core::Status H2UpstreamStream::submit(std::span<const nghttp2_nv> fields,
                                      std::optional<std::string_view> body, bool streaming) {
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = readRequestCallback;
  bool with_body = streaming || (body && !body->empty());
  streaming_ = streaming;
  if (body) {
    body_in_hand_ = *body;
    out_.finish();
  }
  int32_t id = nghttp2_submit_request(session_.session(), nullptr, fields.data(), fields.size(),
                                      with_body ? &provider : nullptr, this);
  if (id < 0) return core::Error{EPROTO};
  id_ = id;
  session_.wantWrite();
  return {};
}

core::Status H2UpstreamStream::awaitHead(http::ResponseHead& out) {
  while (!head_done_) {
    if (closed_) return core::Error{ECONNRESET};
    head_ready_.clear();
    if (core::Status st = head_ready_.wait(); !st.ok()) return st;
  }
  out = http::ResponseHead{};
  out.version = http::Version::http11;
  out.status = status_;
  out.reason = http::reasonPhrase(status_);
  for (size_t i = 0; i < field_count_; ++i) out.headers[i] = fields_[i];
  out.header_count = static_cast<uint32_t>(field_count_);
  out.keep_alive = true;
  if (head_end_stream_) {
    out.body = http::BodyKind::none;
  } else if (const http::Header* cl = out.find("content-length")) {
    uint64_t n = 0;
    for (char c : cl->value) n = n * 10 + static_cast<uint64_t>(c - '0');  // nghttp2 checked
    out.body = http::BodyKind::content_length;
    out.content_length = n;
  } else {
    out.body = http::BodyKind::chunked;  // a length only the stream's end tells
  }
  out.framing = out.body;
  return {};
}

void H2UpstreamStream::addField(nghttp2_rcbuf* name, nghttp2_rcbuf* value) {
  std::string_view n = view(name), v = view(value);
  if (kept_count_ + 2 > std::size(kept_)) return;
  if (n == ":status") {
    int s = 0;
    for (char c : v) s = s * 10 + (c - '0');
    status_ = s;
    if (s >= 100 && s < 200) field_count_ = 0;  // an interim head: its fields are dropped
    return;
  }
  nghttp2_rcbuf_incref(name);
  nghttp2_rcbuf_incref(value);
  kept_[kept_count_++] = name;
  kept_[kept_count_++] = value;
  if (head_done_) {  // after the head: trailers
    if (trailer_count_ < std::size(trailers_)) trailers_[trailer_count_++] = {n, v};
  } else if (field_count_ < std::size(fields_)) {
    fields_[field_count_++] = {n, v};
  }
}

void H2UpstreamStream::headEnded(bool end_stream) {
  if (head_done_) {  // the trailers' HEADERS
    if (end_stream) endOfResponse();
    return;
  }
  if (status_ >= 100 && status_ < 200) return;  // interim: the real head follows
  head_done_ = true;
  head_end_stream_ = end_stream;
  if (end_stream) end_of_response_ = true;
  head_ready_.set();
  data_arrived_.set();
}

bool H2UpstreamStream::addData(const uint8_t* data, size_t len) {
  if (!in_.hasBuffer()) in_.attach(session_.buffers().get(kStreamWindow));
  if (len > in_.tailRoom()) return false;
  std::memcpy(in_.tail(), data, len);
  in_.produced(len);
  received_ += len;
  data_arrived_.set();
  return true;
}

void H2UpstreamStream::endOfResponse() {
  end_of_response_ = true;
  data_arrived_.set();
}

void H2UpstreamStream::closedBySession(uint32_t code) {
  closed_ = true;
  close_code_ = code;
  head_ready_.set();
  data_arrived_.set();
  out_.wake();
}

core::Result<BodyPiece> H2UpstreamStream::read(core::Duration idle) {
  for (;;) {
    if (!in_.empty()) {
      pending_consume_ = in_.size();
      return BodyPiece{in_.data(), end_of_response_};
    }
    if (end_of_response_) return BodyPiece{{}, true};
    if (closed_) return core::Error{close_code_ == NGHTTP2_NO_ERROR ? ENODATA : ECONNRESET};
    data_arrived_.clear();
    std::optional<core::Timeout> bound;
    if (idle > core::Duration::zero()) bound.emplace(idle);
    if (core::Status st = data_arrived_.wait(); !st.ok()) return st.error();
  }
}

void H2UpstreamStream::consume(size_t n) {
  n = std::min(n, pending_consume_);
  pending_consume_ = 0;
  in_.consume(n);
  in_.compact();  // no view into the buffer is out now
  if (n > 0 && !closed_ && id_ > 0) {
    nghttp2_session_consume(session_.session(), id_, n);
    session_.wantWrite();
  }
}

core::Status H2UpstreamStream::write(std::string_view data, core::Duration timeout) {
  return out_.write(session_, id_, closed_, session_.buffers(), data, timeout);
}

core::Status H2UpstreamStream::end(std::span<const http::Header> trailers, core::Duration) {
  if (closed_) return core::Error{EPIPE};
  out_.end(session_, id_, session_.buffers(), trailers);
  return {};
}

ssize_t H2UpstreamStream::readRequest(uint8_t* buf, size_t length, uint32_t* data_flags) {
  if (!streaming_) {  // the body in hand
    size_t n = std::min(length, body_in_hand_.size());
    std::memcpy(buf, body_in_hand_.data(), n);
    body_in_hand_.remove_prefix(n);
    if (body_in_hand_.empty()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
  return out_.read(session_.session(), id_, buf, length, data_flags);
}

// --- the request head ---

size_t h2RequestFields(const http::RequestHead& head, const H2ForwardInfo& info,
                       std::span<char> scratch, std::span<nghttp2_nv> out) {
  using http::equalsIgnoreCase;
  size_t count = 0;
  size_t at = 0;
  auto keep = [&](std::string_view s) -> std::string_view {  // into scratch
    if (at + s.size() > scratch.size()) return {};
    std::memcpy(scratch.data() + at, s.data(), s.size());
    std::string_view v(scratch.data() + at, s.size());
    at += s.size();
    return v;
  };
  std::string_view path = head.target;
  if (head.target_form == http::TargetForm::absolute) {  // "http://host/path?q" -> "/path?q"
    size_t scheme_end = path.find("://");
    size_t slash = scheme_end == std::string_view::npos ? 0 : path.find('/', scheme_end + 3);
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
  if (info.rewrite.active()) {  // "/api/x?q" -> "/x?q", in scratch
    size_t rest = std::min(path.size(), info.rewrite.prefix_len);
    if (info.rewrite.with.size() + path.size() - rest > scratch.size()) return 0;
    size_t start = at;
    keep(info.rewrite.with);
    keep(path.substr(rest));
    path = std::string_view(scratch.data() + start, at - start);
  }
  std::string_view authority = head.host.empty() ? info.default_authority : head.host;
  if (out.size() < 8) return 0;
  out[count++] = h2Field(":method", head.method);
  out[count++] = h2Field(":scheme", info.scheme);
  out[count++] = h2Field(":authority", authority);
  out[count++] = h2Field(":path", path);
  // X-Forwarded-For: the received values, then the client.
  size_t xff_start = at;
  for (const http::Header& h : head.fields()) {
    if (!equalsIgnoreCase(h.name, "x-forwarded-for")) continue;
    if (at > xff_start) keep(", ");
    keep(h.value);
  }
  if (at > xff_start) keep(", ");
  keep(info.client_ip);
  std::string_view xff(scratch.data() + xff_start, at - xff_start);
  for (const http::Header& h : head.fields()) {
    std::string_view n = h.name;
    if (equalsIgnoreCase(n, "connection") || equalsIgnoreCase(n, "keep-alive") ||
        equalsIgnoreCase(n, "proxy-connection") || equalsIgnoreCase(n, "transfer-encoding") ||
        equalsIgnoreCase(n, "upgrade") || equalsIgnoreCase(n, "host") ||
        equalsIgnoreCase(n, "expect") || equalsIgnoreCase(n, "http2-settings") ||
        equalsIgnoreCase(n, "x-forwarded-for") || equalsIgnoreCase(n, "x-forwarded-proto") ||
        equalsIgnoreCase(n, "x-forwarded-host") || equalsIgnoreCase(n, "x-request-id")) {
      continue;
    }
    // TE may only say "trailers" in HTTP/2 (gRPC sends it).
    if (equalsIgnoreCase(n, "te") && !equalsIgnoreCase(h.value, "trailers")) continue;
    bool named = false;
    for (const http::Header& c : head.fields()) {
      if (equalsIgnoreCase(c.name, "connection") && http::listContainsToken(c.value, n)) named = true;
    }
    if (named) continue;
    if (info.rules != nullptr && info.rules->drops(n)) continue;
    if (count + 5 > out.size() || at + n.size() > scratch.size()) return 0;
    char* lower = scratch.data() + at;
    for (size_t i = 0; i < n.size(); ++i) lower[i] = http::toLowerAscii(n[i]);
    at += n.size();
    out[count++] = h2Field(std::string_view(lower, n.size()), h.value);
  }
  const http::HeaderRules* rules = info.rules;
  auto own = [&](http::HeaderId id) { return rules == nullptr || !rules->drops(id); };
  if (own(http::HeaderId::x_forwarded_for)) out[count++] = h2Field("x-forwarded-for", xff);
  if (!info.proto.empty() && own(http::HeaderId::x_forwarded_proto)) {
    out[count++] = h2Field("x-forwarded-proto", info.proto);
  }
  if (!head.host.empty() && own(http::HeaderId::x_forwarded_host)) {
    out[count++] = h2Field("x-forwarded-host", head.host);
  }
  if (!info.request_id.empty() && own(http::HeaderId::x_request_id)) {
    out[count++] = h2Field("x-request-id", info.request_id);
  }
  if (rules != nullptr) {
    for (size_t i = 0; i < rules->fieldCount(); ++i) {
      http::HeaderRules::Field f = rules->field(i);
      if (count == out.size() || rules->valueSize(f, *info.vars) > scratch.size() - at) return 0;
      size_t start = at;
      rules->expand(f, *info.vars, [&](std::string_view piece) {
        if (!piece.empty()) keep(piece);  // a variable with no value has no buffer
      });
      out[count++] = h2Field(f.lower, std::string_view(scratch.data() + start, at - start));
    }
  }
  return count;
}

}  // namespace greenlb::proxy
