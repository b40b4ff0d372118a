#include "proxy/h2/frame_writer.h"

#include <sys/socket.h>

#include <cstring>

#include "core/timeout.h"
#include "proxy/timed_io.h"

namespace greenlb::proxy {

namespace {
constexpr size_t kWriteChunk = 16 * 1024;  // frames coalesced per write
}  // namespace

bool H2FrameWriter::start() {
  done_ = false;
  fiber_ = core::currentHub().spawnDetached("h2-writer", [this] { loop(); });
  if (fiber_ == nullptr) done_ = true;
  return fiber_ != nullptr;
}

void H2FrameWriter::loop() {
  Buffer buf = buffers_.get(kWriteChunk);
  for (;;) {
    dirty_.clear();  // before taking: whatever is queued while we write wakes us again
    size_t len = 0;
    bool ok = true;
    for (;;) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        ok = false;
        break;
      }
      if (n == 0) break;
      auto size = static_cast<size_t>(n);
      if (len + size > buf.size() && len > 0) {
        ok = writeTimed(transport_, buf.data(), len, timeout_).ok();
        len = 0;
        if (!ok) break;
      }
      if (size > buf.size()) {  // a frame larger than the buffer goes on its own
        ok = writeTimed(transport_, data, size, timeout_).ok();
        if (!ok) break;
        continue;
      }
      std::memcpy(buf.data() + len, data, size);
      len += size;
    }
    if (ok && len > 0) ok = writeTimed(transport_, buf.data(), len, timeout_).ok();
    if (!ok) {
      failed_ = true;
      ::shutdown(transport_.socket().fd(), SHUT_RDWR);  // the reader sees it too
      break;
    }
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
      ::shutdown(transport_.socket().fd(), SHUT_RD);  // done: the reader's next read ends
    }
    if (stopping_ && !nghttp2_session_want_write(session_)) break;
    if (!dirty_.isSet() && !dirty_.wait().ok()) break;  // killed
  }
  done_ = true;
  exit_.notifyAll();
}

void H2FrameWriter::stop() {
  if (done_) return;
  stopping_ = true;
  dirty_.set();
  {
    core::Timeout bound(timeout_);
    while (!done_) {
      if (exit_.wait() != 0) break;
    }
  }
  if (!done_) {
    fiber_->kill();
    while (!done_) core::yield();
  }
}

}  // namespace greenlb::proxy
