#include "proxy/h1_body.h"

#include <algorithm>
#include <cstdio>

#include "proxy/timed_io.h"

namespace greenlb::proxy {

using http::BodyKind;
using http::ChunkedDecoder;

core::Status H1BodyReader::refill(core::Duration idle, bool eof_ends, bool* eof) {
  *eof = false;
  if (!window_.ensureRoom()) return core::Error{ENOBUFS};
  core::Result<size_t> n = readTimed(t_, window_.tail(), window_.tailRoom(), idle);
  if (!n.ok()) return n.error();
  if (*n == 0) {
    *eof = true;
    return eof_ends ? core::Status{} : core::Status{core::Error{ENODATA}};
  }
  window_.produced(*n);
  return {};
}

core::Result<BodyPiece> H1BodyReader::read(core::Duration idle) {
  step_bytes_ = 0;
  for (;;) {
    if (done_) return BodyPiece{{}, true};
    bool eof = false;
    switch (kind_) {
      case BodyKind::none:
        done_ = true;
        continue;
      case BodyKind::content_length: {
        if (left_ == 0) {
          done_ = true;
          continue;
        }
        if (window_.empty()) {
          if (core::Status st = refill(idle, false, &eof); !st.ok()) return st.error();
        }
        size_t n = static_cast<size_t>(std::min<uint64_t>(window_.size(), left_));
        step_bytes_ = n;
        left_ -= n;
        done_ = left_ == 0;
        return BodyPiece{window_.data().substr(0, n), done_};
      }
      case BodyKind::until_close: {
        if (window_.empty()) {
          if (core::Status st = refill(idle, true, &eof); !st.ok()) return st.error();
          if (eof) {
            done_ = true;
            continue;
          }
        }
        step_bytes_ = window_.size();
        return BodyPiece{window_.data(), false};
      }
      case BodyKind::chunked: {
        if (window_.empty()) {
          if (core::Status st = refill(idle, false, &eof); !st.ok()) return st.error();
        }
        ChunkedDecoder::Step step = chunked_.next(window_.data());
        if (step.status == ChunkedDecoder::Status::error) return core::Error{EPROTO};
        done_ = step.status == ChunkedDecoder::Status::done;
        if (step.data.empty()) {  // framing only: take it and go on
          window_.consume(step.consumed);
          wire_ += step.consumed;
          continue;
        }
        step_bytes_ = step.consumed;  // the payload and the framing around it
        return BodyPiece{step.data, done_};
      }
    }
  }
}

void H1BodyReader::consume(size_t) {
  // A piece is always taken whole (pumpPayload does): its framing goes with it.
  window_.consume(step_bytes_);
  wire_ += step_bytes_;
  step_bytes_ = 0;
}

core::Status H1BodyWriter::write(std::string_view data, core::Duration timeout) {
  if (!chunked_) {
    wire_ += data.size();
    return writeTimed(t_, data.data(), data.size(), timeout);
  }
  char size_line[24];
  int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
  iovec iov[3] = {{size_line, static_cast<size_t>(n)},
                  {const_cast<char*>(data.data()), data.size()},
                  {const_cast<char*>("\r\n"), 2}};
  wire_ += static_cast<size_t>(n) + data.size() + 2;
  return writevTimed(t_, iov, 3, timeout);
}

core::Status H1BodyWriter::end(std::span<const http::Header> trailers, core::Duration timeout) {
  if (!chunked_) {
    dropped_trailers_ += trailers.size();
    return {};
  }
  if (core::Status st = writeTimed(t_, "0\r\n", 3, timeout); !st.ok()) return st;
  wire_ += 3;
  for (const http::Header& h : trailers) {
    iovec iov[4] = {{const_cast<char*>(h.name.data()), h.name.size()},
                    {const_cast<char*>(": "), 2},
                    {const_cast<char*>(h.value.data()), h.value.size()},
                    {const_cast<char*>("\r\n"), 2}};
    wire_ += h.name.size() + h.value.size() + 4;
    if (core::Status st = writevTimed(t_, iov, 4, timeout); !st.ok()) return st;
  }
  wire_ += 2;
  return writeTimed(t_, "\r\n", 2, timeout);
}

}  // namespace greenlb::proxy
