#include "proxy/h2/server_session.h"

#include <algorithm>
#include <cstring>

#include "core/timeout.h"
#include "proxy/client_connection.h"
#include "proxy/generation.h"
#include "proxy/h2/session_memory.h"
#include "proxy/h2/stream.h"
#include "proxy/http_exchange.h"
#include "proxy/hub_context.h"
#include "proxy/listener_socket.h"
#include "proxy/timed_io.h"

namespace greenlb::proxy {

using core::Clock;
using metrics::ClientError;

namespace {

constexpr size_t kStreamWindow = 65535;            // the protocol's default, left as is
constexpr size_t kMaxConnectionWindow = 16 << 20;  // 16 MiB
// A graceful GOAWAY, then the final one this much later (RFC 9113 6.8: a round trip).
constexpr core::Duration kGoawayGrace = std::chrono::seconds(1);
// Frames that carry no request but cost us (PING, SETTINGS, PRIORITY, empty DATA,
// RST_STREAM) per second before the connection counts as a flood (CVE-2019-9512/9515/9518).
constexpr uint32_t kMaxControlFramesPerSecond = 500;
// nghttp2's own protections (CVE-2023-44487 rapid reset, CVE-2024-28182 CONTINUATION).
constexpr uint64_t kResetBurst = 1000;
constexpr uint64_t kResetRate = 33;
constexpr size_t kMaxContinuations = 8;

H2ServerSession& sessionOf(void* user_data) { return *static_cast<H2ServerSession*>(user_data); }

H2Stream* streamOf(nghttp2_session* s, int32_t id) {
  return static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(s, id));
}

}  // namespace

HubContext& H2ServerSession::hub() { return conn_.hub(); }

H2ServerSession::H2ServerSession(ClientConnection& c, const ListenerPlan& plan,
                                 core::TimePoint accepted)
    : conn_(c), plan_(plan), accepted_(accepted), control_window_(Clock::now()) {
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback2(cb, onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, onStreamClose);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, onInvalidFrame);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, onFrameSend);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // The request window opens as the exchange takes the body (H2Stream::consume), not as
  // nghttp2 reads it: flow control end to end.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_stream_reset_rate_limit(opt, kResetBurst, kResetRate);
  nghttp2_option_set_max_continuations(opt, kMaxContinuations);
  nghttp2_option_set_max_settings(opt, 32);
  nghttp2_session_server_new3(&session_, cb, this, opt, h2SessionMemory());
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);

  const conf::ListenerConfig& lc = *plan_.config;
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, lc.limits.max_concurrent_streams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(lc.limits.max_header_bytes)},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  // The connection window covers every stream's: one slow stream never shuts the others.
  size_t window = std::min<size_t>(kMaxConnectionWindow,
                                   size_t{lc.limits.max_concurrent_streams} * kStreamWindow);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(window));
  hub().addHttp2(this);
}

H2ServerSession::~H2ServerSession() {
  hub().removeHttp2(this);
  // Streams nghttp2 still held (their fibers are gone by now): it calls back no more.
  nghttp2_session_del(session_);
  while (streams_ != nullptr) release(streams_);
}

// --- nghttp2 callbacks: they only record and mark fibers ready, never wait ---

int H2ServerSession::onBeginHeaders(nghttp2_session* s, const nghttp2_frame* frame, void* ud) {
  H2ServerSession& self = sessionOf(ud);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  if (self.ending_) {
    nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
    return 0;
  }
  auto* stream = new H2Stream(self, frame->hd.stream_id);
  stream->next = self.streams_;
  if (self.streams_ != nullptr) self.streams_->prev = stream;
  self.streams_ = stream;
  nghttp2_session_set_stream_user_data(s, frame->hd.stream_id, stream);
  return 0;
}

int H2ServerSession::onHeader(nghttp2_session* s, const nghttp2_frame* frame, nghttp2_rcbuf* name,
                              nghttp2_rcbuf* value, uint8_t, void* ud) {
  H2ServerSession& self = sessionOf(ud);
  H2Stream* stream = streamOf(s, frame->hd.stream_id);
  if (stream == nullptr) return 0;
  bool trailer = frame->headers.cat == NGHTTP2_HCAT_HEADERS;
  if (!stream->addField(name, value, trailer, self.plan_.config->limits.max_header_bytes)) {
    // A header list over the limit we announced (an HPACK bomb expands here): the
    // connection ends, counted as a flood.
    self.header_bomb_ = true;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int H2ServerSession::onFrameRecv(nghttp2_session* s, const nghttp2_frame* frame, void* ud) {
  H2ServerSession& self = sessionOf(ud);
  const nghttp2_frame_hd& hd = frame->hd;
  switch (hd.type) {
    case NGHTTP2_HEADERS: {
      H2Stream* stream = streamOf(s, hd.stream_id);
      if (stream == nullptr) break;
      bool end = (hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        if (end) stream->endOfRequest();
        stream->started = Clock::now();
        if (!stream->finishHead(hd.length + 9)) {
          nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, hd.stream_id, NGHTTP2_PROTOCOL_ERROR);
          break;
        }
        self.pending_.push_back(stream);  // started once this read is processed
      } else if (end) {
        stream->endOfRequest();  // trailers
      }
      break;
    }
    case NGHTTP2_DATA: {
      H2Stream* stream = streamOf(s, hd.stream_id);
      bool end = (hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
      if (hd.length == 0 && !end && self.countControlFrame()) return NGHTTP2_ERR_CALLBACK_FAILURE;
      if (stream != nullptr && end) stream->endOfRequest();
      break;
    }
    case NGHTTP2_PING:
    case NGHTTP2_SETTINGS:
      if ((hd.flags & NGHTTP2_FLAG_ACK) == 0 && self.countControlFrame()) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      break;
    case NGHTTP2_PRIORITY:
    case NGHTTP2_RST_STREAM:
      if (self.countControlFrame()) return NGHTTP2_ERR_CALLBACK_FAILURE;
      break;
    default:
      break;
  }
  return 0;
}

int H2ServerSession::onDataChunk(nghttp2_session* s, uint8_t, int32_t id, const uint8_t* data,
                                 size_t len, void*) {
  H2Stream* stream = streamOf(s, id);
  if (stream != nullptr && !stream->addData(data, len)) {
    nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_FLOW_CONTROL_ERROR);
  }
  return 0;
}

int H2ServerSession::onStreamClose(nghttp2_session* s, int32_t id, uint32_t error_code, void* ud) {
  H2ServerSession& self = sessionOf(ud);
  H2Stream* stream = streamOf(s, id);
  if (stream == nullptr) return 0;
  nghttp2_session_set_stream_user_data(s, id, nullptr);
  stream->closedBySession(error_code);
  // Reset before its response ended (by the client, or by us): the exchange stops and its
  // upstream request is cancelled with it (its connection closes).
  if (error_code != NGHTTP2_NO_ERROR && stream->fiber != nullptr && !stream->fiber_done) {
    stream->fiber->kill();
  }
  if (stream->fiber == nullptr || stream->fiber_done) self.release(stream);
  return 0;
}

int H2ServerSession::onInvalidFrame(nghttp2_session*, const nghttp2_frame*, int, void* ud) {
  sessionOf(ud).protocol_errors_ = true;
  return 0;
}

int H2ServerSession::onFrameSend(nghttp2_session* s, const nghttp2_frame* frame, void* ud) {
  H2ServerSession& self = sessionOf(ud);
  // The response ended before the request did (a 413, an early answer): the client is
  // told to stop sending (RFC 9113 8.1), after the last frame of the response.
  if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0 &&
      (frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS)) {
    H2Stream* stream = streamOf(s, frame->hd.stream_id);
    if (stream != nullptr && !stream->requestEnded()) {
      nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    }
  }
  if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR) {
    self.goaway_error_ = frame->goaway.error_code;
  }
  if (frame->hd.type == NGHTTP2_RST_STREAM &&
      (frame->rst_stream.error_code == NGHTTP2_PROTOCOL_ERROR ||
       frame->rst_stream.error_code == NGHTTP2_FLOW_CONTROL_ERROR)) {
    self.countError(false);  // a malformed request: its stream ends, the connection goes on
  }
  return 0;
}

bool H2ServerSession::countControlFrame() {
  core::TimePoint now = Clock::now();
  if (now - control_window_ >= std::chrono::seconds(1)) {
    control_window_ = now;
    control_frames_ = 0;
  }
  if (++control_frames_ <= kMaxControlFramesPerSecond) return false;
  flood_ = true;
  return true;
}

void H2ServerSession::countError(bool flood) {
  auto reason = flood ? ClientError::http2_flood : ClientError::http2_protocol;
  plan_.metrics->client_errors[metrics::index(reason)].add(hub().index());
}

// --- streams ---

void H2ServerSession::startPending() {
  for (H2Stream* s : pending_) {
    if (s->closed()) continue;  // reset in the same read (rapid reset): never started
    s->fiber = hub().hub().spawnDetached("h2-stream", [this, s] { serveStream(s); });
    if (s->fiber == nullptr) {  // at the fiber stack limit: shed this stream
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id(), NGHTTP2_REFUSED_STREAM);
      continue;
    }
    ++running_fibers_;
    ++requests_;
    plan_.metrics->http2_streams_active.add(hub().index(), 1);
  }
  pending_.clear();
}

void H2ServerSession::serveStream(H2Stream* s) {
  {
    // Each stream uses the generation in force when it starts: a reload keeps the
    // connection, its new streams see the new config.
    GenerationLease lease(hub());
    Generation* plan_gen = nullptr;
    const ListenerPlan& plan = conn_.listener().planIn(*lease, &plan_gen);
    s->startExchange();
    HttpExchange(*s, *plan_gen, plan, s->started).run();
  }
  s->fiber_done = true;
  --running_fibers_;
  plan_.metrics->http2_streams_active.add(hub().index(), -1);
  fibers_exit_.notifyAll();
  if (s->closed()) release(s);
  wantWrite();
}

void H2ServerSession::release(H2Stream* s) {
  if (s->prev != nullptr) {
    s->prev->next = s->next;
  } else {
    streams_ = s->next;
  }
  if (s->next != nullptr) s->next->prev = s->prev;
  delete s;
}

// --- drain ---

void H2ServerSession::drain() {
  if (draining_ || ending_) return;
  draining_ = true;
  nghttp2_submit_shutdown_notice(session_);
  wantWrite();
  goaway_timer_ = hub().hub().spawn(
      [this] {
        if (!core::sleep(kGoawayGrace).ok()) return;
        nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(session_),
                              NGHTTP2_NO_ERROR, nullptr, 0);
        wantWrite();
      },
      "h2-goaway");
}

// --- the reader: the connection's own fiber ---

void H2ServerSession::run(InputWindow& in) {
  const conf::ListenerConfig& lc = *plan_.config;
  writer_.emplace(session_, conn_.transport(), hub().buffers(), lc.timeouts.client_idle);
  if (!writer_->start()) return;
  wantWrite();  // our SETTINGS
  if (hub().draining() || conn_.listener().stopped()) drain();
  for (;;) {
    if (!in.empty()) {
      ssize_t rv = nghttp2_session_mem_recv(
          session_, reinterpret_cast<const uint8_t*>(in.data().data()), in.size());
      if (rv < 0) {
        bool flood = flood_ || header_bomb_ || rv == NGHTTP2_ERR_FLOODED ||
                     rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
        countError(flood);
        nghttp2_session_terminate_session(
            session_, flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
        failed_ = true;
        break;
      }
      in.consume(static_cast<size_t>(rv));
      in.compact();
      startPending();
      wantWrite();
    }
    if (goaway_error_ != 0 && !failed_) {
      // nghttp2 ended the session itself (rapid reset, a connection-level protocol error).
      countError(goaway_error_ == NGHTTP2_ENHANCE_YOUR_CALM);
      failed_ = true;
      break;
    }
    if (ending_) break;
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) break;
    // Waiting for the client: before its first request within client_header of accept;
    // then client_idle, after which a connection with no stream running gets GOAWAY (one
    // with streams running waits another round: each exchange has its own timeouts).
    core::Duration limit = requests_ == 0 ? lc.timeouts.client_header - (Clock::now() - accepted_)
                                          : lc.timeouts.client_idle;
    if (limit <= core::Duration::zero()) limit = core::Duration(1);
    if (!in.ensureRoom()) break;
    core::Result<size_t> n = core::Error{0};
    {
      std::optional<core::Timeout> bound;
      bound.emplace(limit);
      n = conn_.transport().tryRead(in.tail(), in.tailRoom());
      while (!n.ok() && n.error().code == EAGAIN) {
        core::Status st = conn_.transport().waitReady(true);
        if (!st.ok()) {
          n = st.error();
          break;
        }
        n = conn_.transport().tryRead(in.tail(), in.tailRoom());
      }
      if (!n.ok() && n.error().timedOut() && bound && bound->expired()) {
        if (running_fibers_ > 0) continue;  // streams still running: another round
        if (requests_ == 0) {
          plan_.metrics->client_errors[metrics::index(ClientError::header_timeout)].add(
              hub().index());
        }
        nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);  // idle: GOAWAY
        break;
      }
    }
    if (!n.ok() || *n == 0) break;  // the client closed, reset, or the socket was shut
    in.produced(*n);
  }
  // The end: no new streams; the ones running are cancelled (their upstream requests with
  // them), the writer flushes what is left (a GOAWAY) and stops.
  ending_ = true;
  pending_.clear();
  // Every fiber that uses the session is waited for, even when this one was killed
  // (shutdown): they touch the session until they end.
  if (running_fibers_ > 0) {
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    killStreams();
    while (running_fibers_ > 0) {
      if (fibers_exit_.wait() != 0) core::yield();
    }
  }
  if (goaway_timer_.valid()) {
    goaway_timer_.kill();
    while (!goaway_timer_.done()) core::yield();
  }
  writer_->stop();  // what is left (a GOAWAY) goes out first
}

void H2ServerSession::killStreams() {
  for (H2Stream* s = streams_; s != nullptr; s = s->next) {
    if (s->fiber != nullptr && !s->fiber_done) s->fiber->kill();
  }
}

bool speaksHttp2(ClientConnection& c, const ListenerPlan& plan, InputWindow& in,
                 core::TimePoint accepted) {
  if (!plan.config->http2) return false;
  if (c.isTls()) return c.alpn() == "h2";
  // Plain: HTTP/2 with prior knowledge opens with the preface (RFC 9113 section 3.3).
  core::Timeout deadline(plan.config->timeouts.client_header - (Clock::now() - accepted));
  while (in.size() < kHttp2Preface.size()) {
    if (!kHttp2Preface.starts_with(in.data())) return false;
    core::Result<size_t> n = readTimed(c.transport(), in.tail(), in.tailRoom(), core::Duration::zero());
    if (!n.ok() || *n == 0) return false;  // readHead then sees what is there
    in.produced(*n);
  }
  return in.data().starts_with(kHttp2Preface);
}

void serveHttp2(ClientConnection& c, const ListenerPlan& plan, InputWindow& in,
                core::TimePoint accepted) {
  H2ServerSession session(c, plan, accepted);
  plan.metrics->http2_connections.add(c.hub().index(), 1);
  session.run(in);
  plan.metrics->http2_connections.add(c.hub().index(), -1);
}

}  // namespace greenlb::proxy
