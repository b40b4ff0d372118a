// The writer fiber of an HTTP/2 connection, client or server side (docs/http2.md): it
// serializes what nghttp2 has queued (nghttp2_session_mem_send), coalesces the frames into
// one write of up to 16 KiB, and writes them to the connection's transport. Whoever queues
// something calls wake(). When the peer stops taking bytes for `timeout`, or is gone, the
// writer shuts the socket down, so the connection's reader sees the end too; when nghttp2
// has nothing left to read or write (GOAWAY exchanged, no stream open) it shuts the read
// side, for the same reason.
#pragma once

#include <nghttp2/nghttp2.h>

#include "core/event.h"
#include "core/hub.h"
#include "core/time.h"
#include "core/wait_queue.h"
#include "proxy/buffer_pool.h"
#include "proxy/transport.h"

namespace greenlb::proxy {

class H2FrameWriter {
 public:
  H2FrameWriter(nghttp2_session* session, Transport& transport, BufferPool& buffers,
                core::Duration timeout)
      : session_(session), transport_(transport), buffers_(buffers), timeout_(timeout) {}
  ~H2FrameWriter() { stop(); }
  H2FrameWriter(const H2FrameWriter&) = delete;
  H2FrameWriter& operator=(const H2FrameWriter&) = delete;

  // Spawns the fiber on the current hub; false at the fiber stack limit.
  bool start();
  void wake() { dirty_.set(); }
  // Writes what nghttp2 still has queued (within `timeout`), then ends the fiber. Returns
  // once the fiber is gone, even when the calling fiber was killed.
  void stop();
  // The peer stopped taking bytes or is gone.
  bool failed() const { return failed_; }

 private:
  void loop();

  nghttp2_session* session_;
  Transport& transport_;
  BufferPool& buffers_;
  core::Duration timeout_;
  core::Fiber* fiber_ = nullptr;
  core::Event dirty_;
  core::WaitQueue exit_;
  bool stopping_ = false;
  bool done_ = true;
  bool failed_ = false;
};

}  // namespace greenlb::proxy
