#include "core/forward.h"

#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "core/fair_share.h"
#include "core/hub.h"
#include "core/timeout.h"

namespace greenlb::core {
namespace {

constexpr size_t kSpliceChunk = 64 * 1024;

// Empty pipes kept per hub for the next tunnel, so a tunnel costs no pipe2/close pair.
struct PipePool {
  struct Pipe {
    int read = -1;
    int write = -1;
  };
  std::vector<Pipe> free;
  static constexpr size_t kMaxKept = 64;

  ~PipePool() {
    for (auto& p : free) {
      ::close(p.read);
      ::close(p.write);
    }
  }
  bool take(Pipe* out) {
    if (!free.empty()) {
      *out = free.back();
      free.pop_back();
      return true;
    }
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return false;
    *out = Pipe{fds[0], fds[1]};
    return true;
  }
  // Only a drained pipe can be reused.
  void give(Pipe p, bool empty) {
    if (empty && free.size() < kMaxKept) {
      free.push_back(p);
      return;
    }
    ::close(p.read);
    ::close(p.write);
  }
};

class IdleClock {
 public:
  explicit IdleClock(const ForwardOptions& o) : idle_(o.idle), activity_(o.activity) {
    if (activity_ == nullptr) activity_ = &own_;
    *activity_ = Clock::now();
  }
  void stamp() {
    if (idle_ > Duration::zero()) *activity_ = Clock::now();
  }
  // Waits for readiness, bounded by the idle deadline measured from the latest activity.
  Status wait(Socket& s, bool readable) {
    if (idle_ <= Duration::zero()) return readable ? s.waitReadable() : s.waitWritable();
    for (;;) {
      Duration left = idle_ - (Clock::now() - *activity_);
      if (left <= Duration::zero()) return Error{ETIMEDOUT};
      Timeout t(left);
      Status st = readable ? s.waitReadable() : s.waitWritable();
      if (!t.expired()) return st;
      // Our deadline fired; the other direction may have moved bytes meanwhile.
    }
  }

 private:
  Duration idle_;
  TimePoint* activity_;
  TimePoint own_;
};

Result<uint64_t> forwardBySplice(Stream& from, Stream& to, IdleClock& clock, PipePool::Pipe pipe,
                                 bool* pipe_empty) {
  uint64_t total = 0;
  FairShare share;
  for (;;) {
    ssize_t n = splice(from.fd(), nullptr, pipe.write, nullptr, kSpliceChunk,
                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return lastError();
      if (Status st = clock.wait(from, true); !st.ok()) return st.error();
      continue;
    }
    if (n == 0) break;
    *pipe_empty = false;
    auto pending = static_cast<size_t>(n);
    while (pending > 0) {
      ssize_t m = splice(pipe.read, nullptr, to.fd(), nullptr, pending,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (m < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return lastError();
        if (Status st = clock.wait(to, false); !st.ok()) return st.error();
        continue;
      }
      pending -= static_cast<size_t>(m);
      total += static_cast<uint64_t>(m);
    }
    *pipe_empty = true;
    clock.stamp();
    share.spend(static_cast<size_t>(n));
  }
  if (Status st = to.shutdownWrite(); !st.ok() && st.error().code != ENOTCONN) return st.error();
  return total;
}

Result<uint64_t> forwardByCopy(Stream& from, Stream& to, IdleClock& clock, char* buf,
                               size_t size) {
  uint64_t total = 0;
  FairShare share;
  for (;;) {
    Result<size_t> n = from.tryRead(buf, size);
    if (!n.ok()) {
      if (n.error().code != EAGAIN) return n.error();
      if (Status st = clock.wait(from, true); !st.ok()) return st.error();
      continue;
    }
    if (*n == 0) break;
    const char* p = buf;
    size_t left = *n;
    while (left > 0) {
      ssize_t m = ::send(to.fd(), p, left, MSG_NOSIGNAL);
      if (m < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return lastError();
        if (Status st = clock.wait(to, false); !st.ok()) return st.error();
        continue;
      }
      p += m;
      left -= static_cast<size_t>(m);
    }
    total += *n;
    clock.stamp();
    share.spend(*n);
  }
  if (Status st = to.shutdownWrite(); !st.ok() && st.error().code != ENOTCONN) return st.error();
  return total;
}

}  // namespace

Result<uint64_t> forward(Stream& from, Stream& to, const ForwardOptions& options) {
  IdleClock clock(options);
  if (options.use_splice) {
    auto& pipes = currentHub().local<PipePool>();
    PipePool::Pipe pipe;
    if (pipes.take(&pipe)) {
      bool empty = true;
      Result<uint64_t> r = forwardBySplice(from, to, clock, pipe, &empty);
      pipes.give(pipe, empty);
      return r;
    }
  }
  if (options.buffer == nullptr || options.buffer_size == 0) return Error{EINVAL};
  return forwardByCopy(from, to, clock, options.buffer, options.buffer_size);
}

}  // namespace greenlb::core
