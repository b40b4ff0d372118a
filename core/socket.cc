#include "core/socket.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cassert>
#include <cstring>

#include "core/hub.h"

namespace greenlb::core {
namespace {

event* asEvent(detail::EventStorage& s) { return reinterpret_cast<event*>(s.bytes); }

// A socket's own address (getsockname) or its peer's (getpeername).
Result<SocketAddress> addressOf(int fd, int (*name)(int, sockaddr*, socklen_t*)) {
  SocketAddress a;
  a.length = sizeof a.storage;
  if (name(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0) return lastError();
  return a;
}

}  // namespace

// ---- SocketAddress ----

std::optional<SocketAddress> SocketAddress::fromIp(std::string_view ip, uint16_t port) {
  char text[INET6_ADDRSTRLEN + 1];
  if (ip.empty() || ip.size() >= sizeof text) return std::nullopt;
  std::memcpy(text, ip.data(), ip.size());
  text[ip.size()] = '\0';
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.length = sizeof(sockaddr_in);
    return a;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.length = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

SocketAddress SocketAddress::fromSockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddress a;
  if (len > sizeof a.storage) len = sizeof a.storage;
  std::memcpy(&a.storage, sa, len);
  a.length = len;
  return a;
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return 0;
}

size_t SocketAddress::ipText(char* out, size_t cap) const {
  const void* src = nullptr;
  if (family() == AF_INET) {
    // By hand: glibc's inet_ntop formats IPv4 with sprintf, ~1,500 instructions, and the
    // proxy prints the client's address into X-Forwarded-For on every request.
    const auto* b = reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr);
    char text[INET_ADDRSTRLEN];
    size_t n = 0;
    for (int i = 0; i < 4; ++i) {
      if (i > 0) text[n++] = '.';
      unsigned v = b[i];
      if (v >= 100) text[n++] = static_cast<char>('0' + v / 100);
      if (v >= 10) text[n++] = static_cast<char>('0' + v / 10 % 10);
      text[n++] = static_cast<char>('0' + v % 10);
    }
    if (n + 1 > cap) return 0;
    std::memcpy(out, text, n);
    out[n] = '\0';
    return n;
  }
  if (family() == AF_INET6) {
    src = &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr;
  }
  if (src == nullptr || inet_ntop(family(), src, out, static_cast<socklen_t>(cap)) == nullptr) {
    return 0;
  }
  return std::strlen(out);
}

std::string SocketAddress::str() const {
  char ip[INET6_ADDRSTRLEN];
  size_t n = ipText(ip, sizeof ip);
  std::string out;
  if (family() == AF_INET6) {
    out.append("[").append(ip, n).append("]");
  } else {
    out.append(ip, n);
  }
  return out + ":" + std::to_string(port());
}

bool SocketAddress::operator==(const SocketAddress& o) const {
  return length == o.length && std::memcmp(&storage, &o.storage, length) == 0;
}

// ---- Socket ----

Socket::Socket(Socket&& o) noexcept { *this = std::move(o); }

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this == &o) return *this;
  close();
  assert(o.reader_ == nullptr && o.writer_ == nullptr && "moving a socket with waiters");
  o.unwatchIdle();
  o.unregister();  // the event points at `o`; the new owner registers again when it waits
  fd_ = std::exchange(o.fd_, -1);
  read_ready_ = std::exchange(o.read_ready_, true);
  peer_closed_ = std::exchange(o.peer_closed_, false);
  return *this;
}

void Socket::reset(int fd) {
  close();
  fd_ = fd;
  read_ready_ = true;
  peer_closed_ = false;
}

void Socket::close() {
  if (fd_ < 0) return;
  if (reader_ != nullptr) wakeWaiter(reader_, EBADF);
  if (writer_ != nullptr) wakeWaiter(writer_, EBADF);
  idle_ = nullptr;
  idle_timer_ = false;
  unregister();
  ::close(fd_);
  fd_ = -1;
}

void Socket::ensureRegistered() {
  if (registered_) return;
  Hub* hub = Hub::current();
  assert(hub != nullptr && "socket wait outside a hub");
  // Registering reports the readiness the fd already has (epoll's ET add), so nothing that
  // arrived before is missed; EV_CLOSED (EPOLLRDHUP) tells a FIN from data.
  event_assign(asEvent(ev_), hub->base(), fd_,
               EV_READ | EV_WRITE | EV_CLOSED | EV_PERSIST | EV_ET, &Socket::onEvent, this);
  event_add(asEvent(ev_), nullptr);
  registered_ = true;
}

void Socket::unregister() {
  if (!registered_) return;
  event_del(asEvent(ev_));
  registered_ = false;
}

Status Socket::waitReadable() {
  if (fd_ < 0) return Error{EBADF};
  ensureRegistered();
  Hub& hub = *Hub::current();  // the socket's: it registered on the hub it waits on
  Fiber* self = hub.currentFiber();
  assert(reader_ == nullptr && "two fibers reading one socket");
  reader_ = self;
  int rc = hub.park();
  if (rc == EBADF) return Error{rc};  // closed under us: the socket may be gone already
  if (reader_ == self) reader_ = nullptr;
  return rc == 0 ? Status{} : Status{Error{rc}};
}

Status Socket::waitWritable() {
  if (fd_ < 0) return Error{EBADF};
  ensureRegistered();
  Hub& hub = *Hub::current();
  Fiber* self = hub.currentFiber();
  assert(writer_ == nullptr && "two fibers writing one socket");
  writer_ = self;
  int rc = hub.park();
  if (rc == EBADF) return Error{rc};
  if (writer_ == self) writer_ = nullptr;
  return rc == 0 ? Status{} : Status{Error{rc}};
}

void Socket::watchIdle(IdleWatcher* w, Duration timeout) {
  ensureRegistered();
  idle_ = w;
  if (timeout > Duration::zero()) {
    timeval tv;
    Hub::current()->timerValue(timeout, &tv);
    event_add(asEvent(ev_), &tv);  // already inserted: only (re)arms the timer
    idle_timer_ = true;
  } else if (idle_timer_) {
    event_remove_timer(asEvent(ev_));
    idle_timer_ = false;
  }
}

void Socket::unwatchIdle() {
  idle_ = nullptr;
  if (idle_timer_) {
    event_remove_timer(asEvent(ev_));
    idle_timer_ = false;
  }
}

void Socket::wakeWaiter(Fiber*& waiter, int code) {
  Fiber* f = std::exchange(waiter, nullptr);
  f->hub().wake(f, code);
}

void Socket::onEvent(int, short what, void* arg) {
  auto* s = static_cast<Socket*>(arg);
  if (what & EV_TIMEOUT) {
    IdleWatcher* w = s->idle_;
    s->unwatchIdle();
    if (w != nullptr) w->onIdleTimeout(*s);  // may destroy s
    return;
  }
  if ((what & EV_WRITE) && s->writer_ != nullptr) {
    wakeWaiter(s->writer_, 0);
  }
  // EPOLLHUP and EPOLLERR come as EV_READ|EV_WRITE: the next read reports them.
  if (what & EV_CLOSED) s->peer_closed_ = true;
  if (what & (EV_READ | EV_CLOSED)) {
    s->read_ready_ = true;  // remembered even when nobody waits: never lost
    if (s->reader_ != nullptr) {
      wakeWaiter(s->reader_, 0);
    } else if (IdleWatcher* w = s->idle_; w != nullptr) {
      s->unwatchIdle();
      w->onIdleReadable(*s);  // may destroy s
    }
  }
}

// ---- Stream ----

Result<Stream> Stream::connect(const SocketAddress& to) {
  Stream s;
  if (Status st = s.connectTo(to); !st.ok()) return st.error();
  return s;
}

Status Stream::connectTo(const SocketAddress& to) {
  close();
  int fd = ::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return lastError();
  fd_ = fd;
  if (to.family() == AF_INET || to.family() == AF_INET6) setNoDelay(true);
  if (::connect(fd, to.sockaddrPtr(), to.length) == 0) return {};
  if (errno != EINPROGRESS) {
    Error e = lastError();
    close();
    return e;
  }
  if (Status st = waitWritable(); !st.ok()) {
    if (st.error().code != EBADF) close();
    return st;
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    close();
    return Error{err};
  }
  return {};
}

Result<size_t> Stream::receive(void* buf, size_t len, bool peek) {
  if (fd_ < 0) return Error{EBADF};
  // Drained and no edge since: the recv could only say EAGAIN. A registered socket hears
  // every later arrival; an unregistered one registers in the wait that follows, which
  // reports what arrived meanwhile. A FIN seen with the last data is still to be read.
  if (!read_ready_ && !peer_closed_) return Error{EAGAIN};
  for (;;) {
    ssize_t n = ::recv(fd_, buf, len, peek ? MSG_PEEK | MSG_DONTWAIT : 0);
    if (n > 0) {
      // A stream read returns less than asked only when the receive queue ran dry (it
      // looks at the backlog too), and whatever arrives later raises a new edge. A peek
      // leaves what it saw queued: the flag stays.
      if (!peek && static_cast<size_t>(n) < len) read_ready_ = false;
      return static_cast<size_t>(n);
    }
    if (n == 0) {
      if (len > 0) peer_closed_ = true;
      return size_t{0};
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) read_ready_ = false;
    return lastError();
  }
}

Result<size_t> Stream::tryRead(void* buf, size_t len) {
  return receive(buf, len, false);
}

Result<size_t> Stream::tryPeek(void* buf, size_t len) {
  return receive(buf, len, true);
}

bool Socket::probeQuiet() {
  if (peer_closed_) return false;
  if (!read_ready_) return true;
  char byte;
  for (;;) {
    ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return false;
    if (n == 0) {
      peer_closed_ = true;
      return false;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return false;
    read_ready_ = false;
    return true;
  }
}

Result<size_t> Stream::readSome(void* buf, size_t len) {
  for (;;) {
    Result<size_t> n = tryRead(buf, len);
    if (n.ok() || n.error().code != EAGAIN) return n;
    if (Status st = waitReadable(); !st.ok()) return st.error();
  }
}

Status Stream::readExact(void* buf, size_t len) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    Result<size_t> n = readSome(p, len);
    if (!n.ok()) return n.error();
    if (*n == 0) return Error{ENODATA};
    p += *n;
    len -= *n;
  }
  return {};
}

Status Stream::writeAll(const void* buf, size_t len) {
  auto* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = ::send(fd_, p, len, MSG_NOSIGNAL);
    if (n >= 0) {
      p += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return lastError();
    if (Status st = waitWritable(); !st.ok()) return st;
  }
  return {};
}

Status Stream::writev(iovec* iov, int count) {
  while (count > 0) {
    if (iov->iov_len == 0) {
      ++iov;
      --count;
      continue;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return lastError();
      if (Status st = waitWritable(); !st.ok()) return st;
      continue;
    }
    consumeIov(iov, count, static_cast<size_t>(n));
  }
  return {};
}

void consumeIov(iovec*& iov, int& count, size_t written) {
  while (count > 0 && written >= iov->iov_len) {
    written -= iov->iov_len;
    iov->iov_len = 0;
    ++iov;
    --count;
  }
  if (count > 0) {
    iov->iov_base = static_cast<char*>(iov->iov_base) + written;
    iov->iov_len -= written;
  }
}

Result<size_t> Stream::tryWritev(const iovec* iov, int count) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(count);
  for (;;) {
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return lastError();
  }
}

Status Stream::shutdownWrite() {
  if (::shutdown(fd_, SHUT_WR) != 0) return lastError();
  return {};
}

Result<SocketAddress> Stream::peerAddress() const {
  return addressOf(fd_, getpeername);
}

Result<SocketAddress> Stream::localAddress() const {
  return addressOf(fd_, getsockname);
}

void Stream::setNoDelay(bool on) {
  int v = on ? 1 : 0;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v);
}

// ---- Listener ----

Result<Listener> Listener::bind(const SocketAddress& at, const ListenOptions& options) {
  int fd = ::socket(at.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return lastError();
  Listener l(fd);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (options.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    return lastError();
  }
  if (::bind(fd, at.sockaddrPtr(), at.length) != 0) return lastError();
  if (::listen(fd, options.backlog) != 0) return lastError();
  return l;
}

Result<int> Listener::tryAcceptFd(SocketAddress* peer) {
  for (;;) {
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      // Replies go out in more than one write (head, then body pieces as they arrive):
      // without TCP_NODELAY each later write waits for the peer's delayed ACK (40 ms).
      if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
        int on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      }
      if (peer != nullptr) *peer = SocketAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
      return fd;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    return lastError();
  }
}

Result<int> Listener::acceptFd(SocketAddress* peer) {
  for (;;) {
    Result<int> fd = tryAcceptFd(peer);
    if (fd.ok() || fd.error().code != EAGAIN) return fd;
    if (Status st = waitReadable(); !st.ok()) return st.error();
  }
}

Result<Stream> Listener::accept(SocketAddress* peer) {
  Result<int> fd = acceptFd(peer);
  if (!fd.ok()) return fd.error();
  return Stream(*fd);
}

Result<SocketAddress> Listener::localAddress() const {
  return addressOf(fd_, getsockname);
}

}  // namespace greenlb::core
