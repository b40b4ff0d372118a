// Green sockets: non-blocking fds whose operations try the system call first and park the
// calling fiber on EAGAIN until the hub's loop reports readiness (eventlet's trampoline).
//
// Each socket embeds one libevent event, registered once (EV_READ|EV_WRITE|EV_CLOSED|
// EV_PERSIST|EV_ET) on the hub of the first fiber that waits on it: no epoll_ctl and no
// allocation per wait. A socket therefore belongs to one hub once it has waited; closing it
// first wakes its waiters with EBADF. Timeouts come from the Timeout scopes around the calls.
//
// Readiness is never lost (docs/runtime.md, "Readiness state"): an edge that arrives while
// no fiber waits and no idle watcher is armed is remembered in a flag that only a drained
// read (EAGAIN, or a read shorter than asked) clears, as nginx's `ready` flag and Seastar's
// pollable state do. So a reader never issues a recv that cannot succeed, and a pooled or
// dormant socket can tell "nothing arrived since the last drain" without a system call.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/event_storage.h"
#include "core/result.h"
#include "core/time.h"

namespace greenlb::core {

class Fiber;
class Hub;

// An IPv4 or IPv6 socket address. 32 bytes, not the 132 of a sockaddr_storage: every
// connection holds one (docs/architecture.md, "Dormant connections").
struct SocketAddress {
  union Storage {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  };
  Storage storage{};
  socklen_t length = 0;

  // A literal IP ("10.0.0.1", "::1"); nullopt when `ip` is not one.
  static std::optional<SocketAddress> fromIp(std::string_view ip, uint16_t port);
  static SocketAddress fromSockaddr(const sockaddr* sa, socklen_t len);

  int family() const { return storage.sa.sa_family; }
  uint16_t port() const;
  const sockaddr* sockaddrPtr() const { return reinterpret_cast<const sockaddr*>(&storage); }
  // The IP as text into `out` (no brackets); returns its length. Needs 46 bytes at most.
  size_t ipText(char* out, size_t cap) const;
  // "1.2.3.4:80" or "[::1]:80".
  std::string str() const;
  bool operator==(const SocketAddress& o) const;
};

class Socket;

// Told about readiness of a socket no fiber is waiting on: how a dormant keep-alive
// connection wakes up (spawning a fiber again) and how an idle pooled upstream connection
// learns that its peer closed. The socket no longer calls it once it has fired.
class IdleWatcher {
 public:
  virtual void onIdleReadable(Socket& s) = 0;
  virtual void onIdleTimeout(Socket& s) = 0;

 protected:
  ~IdleWatcher() = default;
};

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() { close(); }
  Socket(Socket&& o) noexcept;
  Socket& operator=(Socket&& o) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Adopts a non-blocking fd (closing the current one).
  void reset(int fd);
  // Wakes any waiter with EBADF, unregisters and closes. Safe to call twice.
  void close();

  // Park until the kernel reports the fd readable / writable (or the wait fails).
  Status waitReadable();
  Status waitWritable();

  // Hands readiness to `w` while no fiber waits: the next readable edge calls
  // w->onIdleReadable, or `timeout` (> 0) without one calls w->onIdleTimeout. Either
  // disarms the watch. Costs no system call when the socket is already registered.
  void watchIdle(IdleWatcher* w, Duration timeout);
  void unwatchIdle();
  bool watchedIdle() const { return idle_ != nullptr; }

  // Something may be readable: an edge (data, FIN, RST or an error) arrived since the last
  // drained read, or no read has drained the socket yet.
  bool readReady() const { return read_ready_; }
  // The peer's FIN (EPOLLRDHUP), a hang-up or an end of stream was seen.
  bool peerClosed() const { return peer_closed_; }
  // Nothing has arrived since a read drained the socket: a pooled connection that is quiet
  // was left exactly at the end of its last message.
  bool quiet() const { return !read_ready_ && !peer_closed_; }
  // quiet(), confirmed when only an edge's flag is in doubt by one non-consuming look
  // (MSG_PEEK): true when nothing is pending and no FIN came. A read that filled its buffer
  // exactly leaves the flag set although the queue may be empty.
  bool probeQuiet();

 protected:
  void ensureRegistered();
  void unregister();
  static void onEvent(int fd, short what, void* arg);
  // Clears `waiter` and makes that fiber runnable on its hub with `code`.
  static void wakeWaiter(Fiber*& waiter, int code);

  // Every connection embeds one (docs/architecture.md, "Dormant connections"): no hub
  // pointer (a waiting fiber knows its hub; registering takes the current one) and the
  // int next to the flags, so the socket is the event plus 32 bytes.
  Fiber* reader_ = nullptr;
  Fiber* writer_ = nullptr;
  IdleWatcher* idle_ = nullptr;
  int fd_ = -1;
  bool registered_ = false;
  bool idle_timer_ = false;
  bool read_ready_ = true;     // unknown until a read drains the socket
  bool peer_closed_ = false;
  detail::EventStorage ev_;
};

// After a vectored write of `written` bytes: drops the iovecs written whole and advances
// into the first one written in part (iov and count are updated in place).
void consumeIov(iovec*& iov, int& count, size_t written);

// A connected TCP (or Unix) stream.
class Stream : public Socket {
 public:
  using Socket::Socket;

  // Connects a new stream; bounded by the caller's Timeout scopes.
  static Result<Stream> connect(const SocketAddress& to);
  // Connects this (closed) stream in place, for objects that must not move.
  Status connectTo(const SocketAddress& to);

  // Reads what is available, waiting for at least one byte; 0 means end of stream.
  Result<size_t> readSome(void* buf, size_t len);
  // One attempt, no waiting: EAGAIN comes back as an error, without a system call when no
  // edge arrived since the last drained read (readReady() is false).
  Result<size_t> tryRead(void* buf, size_t len);

  // One look without consuming (MSG_PEEK), no waiting: the bytes queued (up to len), 0 at
  // the end of stream, EAGAIN as an error when none are. Bytes already seen stay queued, so
  // waiting for more is waitReadable(): only a new arrival raises the next edge. For
  // protocols whose end must not be read past (the PROXY header before TLS or HTTP).
  Result<size_t> tryPeek(void* buf, size_t len);
  // Reads exactly len bytes; ENODATA when the stream ends first.
  Status readExact(void* buf, size_t len);
  // Writes all of it, waiting for buffer space as needed.
  Status writeAll(const void* buf, size_t len);
  // Writes every byte of the vector (which is consumed: entries are adjusted).
  Status writev(iovec* iov, int count);
  // One sendmsg attempt, no waiting: the bytes written, or EAGAIN as an error.
  Result<size_t> tryWritev(const iovec* iov, int count);
  Status shutdownWrite();

  Result<SocketAddress> peerAddress() const;
  // The address this end is bound to (getsockname).
  Result<SocketAddress> localAddress() const;
  void setNoDelay(bool on);

 private:
  Result<size_t> receive(void* buf, size_t len, bool peek);
};

struct ListenOptions {
  bool reuse_port = true;  // one listening socket per hub on the same address
  int backlog = 4096;
};

class Listener : public Socket {
 public:
  using Socket::Socket;
  static Result<Listener> bind(const SocketAddress& at, const ListenOptions& options = {});

  // Waits for a connection; the accepted fd is non-blocking, close-on-exec and, for TCP,
  // TCP_NODELAY (replies are written in pieces; Nagle would hold the later ones).
  Result<Stream> accept(SocketAddress* peer = nullptr);
  // The same without wrapping, for callers that embed the Stream elsewhere.
  Result<int> acceptFd(SocketAddress* peer = nullptr);
  // One connection already waiting in the backlog, or EAGAIN as an error: never waits.
  // Before closing a listening socket, whose close resets every queued connection.
  Result<int> tryAcceptFd(SocketAddress* peer = nullptr);
  Result<SocketAddress> localAddress() const;
};

}  // namespace greenlb::core
