// HTTP/2 from clients (docs/http2.md): one session per client connection that spoke h2
// (by ALPN on TLS, by the connection preface on plain listeners), driven by libnghttp2 with
// nghttp2_session_mem_recv/mem_send over the connection's transport. No nghttp2 callback
// ever blocks or waits.
//
// Fibers: the connection's own fiber reads and feeds frames to nghttp2, which calls back
// into the streams; a writer fiber serializes what nghttp2 has to send and writes it; each
// request stream runs its exchange in a fiber of its own. Flow control joins the two sides:
// a stream's request window opens only as its exchange takes the body, and its response
// fiber waits while the client's window is shut.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/hub.h"
#include "core/time.h"
#include "core/wait_queue.h"
#include "proxy/h2/frame_writer.h"
#include "proxy/input_window.h"

namespace greenlb::proxy {

class ClientConnection;
class H2Stream;
class HubContext;
struct ListenerPlan;

// The connection preface's first bytes (RFC 9113 section 3.4).
inline constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

class H2ServerSession {
 public:
  H2ServerSession(ClientConnection& c, const ListenerPlan& plan, core::TimePoint accepted);
  ~H2ServerSession();
  H2ServerSession(const H2ServerSession&) = delete;
  H2ServerSession& operator=(const H2ServerSession&) = delete;

  // The connection's fiber: serves until the client or greenlb ends the connection. `in`
  // holds what was read already (the preface, maybe more).
  void run(InputWindow& in);

  // Drain (SIGTERM) or listener closed: graceful GOAWAY now, the final one a moment later;
  // streams in flight finish.
  void drain();

  // --- for streams ---
  nghttp2_session* session() { return session_; }
  ClientConnection& connection() { return conn_; }
  HubContext& hub();
  // nghttp2 has something to send: wakes the writer.
  void wantWrite() {
    if (writer_) writer_->wake();
  }
  const ListenerPlan& plan() const { return plan_; }
  // A stream's fiber ended its exchange.
  void streamFiberDone(H2Stream* s);

  // The hub's list of sessions (intrusive; HubContext::addHttp2).
  H2ServerSession* prev = nullptr;
  H2ServerSession* next = nullptr;

 private:
  // nghttp2 callbacks (user_data is the session).
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame*, void*);
  static int onHeader(nghttp2_session*, const nghttp2_frame*, nghttp2_rcbuf*, nghttp2_rcbuf*,
                      uint8_t, void*);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame*, void*);
  static int onDataChunk(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int onStreamClose(nghttp2_session*, int32_t, uint32_t, void*);
  static int onInvalidFrame(nghttp2_session*, const nghttp2_frame*, int, void*);
  static int onFrameSend(nghttp2_session*, const nghttp2_frame*, void*);

  // Starts the fibers of the streams whose request heads the last read completed, unless
  // they were reset in that same read (rapid reset costs no fiber and no upstream request).
  void startPending();
  void serveStream(H2Stream* s);  // a stream's fiber
  void release(H2Stream* s);      // both holders are done with it
  void killStreams();
  // One more frame that carries no request; true when that makes a flood.
  bool countControlFrame();
  void countError(bool flood);

  ClientConnection& conn_;
  const ListenerPlan& plan_;  // the generation's plan at the connection's start: settings
  core::TimePoint accepted_;
  nghttp2_session* session_ = nullptr;
  std::optional<H2FrameWriter> writer_;
  H2Stream* streams_ = nullptr;   // every stream nghttp2 or a fiber still holds (intrusive)
  std::vector<H2Stream*> pending_;  // request heads complete, fibers not yet started
  size_t running_fibers_ = 0;
  core::WaitQueue fibers_exit_;
  bool ending_ = false;           // the connection is going: no new streams
  bool draining_ = false;
  bool failed_ = false;           // ended by an error (GOAWAY with a code)
  bool flood_ = false;            // countControlFrame() tripped
  bool header_bomb_ = false;      // a header list over max_header_bytes
  bool protocol_errors_ = false;
  uint32_t goaway_error_ = 0;     // the error of a GOAWAY nghttp2 sent on its own
  core::JoinHandle<void> goaway_timer_;  // drain: the final GOAWAY after the graceful one
  uint64_t requests_ = 0;
  // Flood accounting (per second): frames that cost us and carry no request.
  uint32_t control_frames_ = 0;   // PING, SETTINGS, empty DATA, PRIORITY, WINDOW_UPDATE
  core::TimePoint control_window_;
};

// True when the connection speaks HTTP/2: ALPN chose "h2", or a plain connection opened
// with the preface (reading more of it when only a part is in `in` yet).
bool speaksHttp2(ClientConnection& c, const ListenerPlan& plan, InputWindow& in,
                 core::TimePoint accepted);

// Serves the connection as HTTP/2 until it ends.
void serveHttp2(ClientConnection& c, const ListenerPlan& plan, InputWindow& in,
                core::TimePoint accepted);

}  // namespace greenlb::proxy
