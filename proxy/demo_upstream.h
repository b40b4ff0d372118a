// A small HTTP/1.1 server on greenlb's runtime that stands in for a backend in the demo
// (and in examples): it says which instance answered, and offers /slow?ms=N, /status/N,
// /echo and /healthz for trying timeouts, retries and bodies.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/hub.h"
#include "core/socket.h"

namespace greenlb::proxy {

class DemoUpstream {
 public:
  // Binds 127.0.0.1:`port` and serves on the current hub; nullptr (and `error`) on failure.
  static std::unique_ptr<DemoUpstream> start(int instance, uint16_t port, std::string* error);
  ~DemoUpstream();

 private:
  DemoUpstream(int instance, core::Listener socket);
  void serve(core::Stream conn);

  int instance_;
  std::string name_;
  core::Listener socket_;
  core::JoinHandle<void> acceptor_;
};

}  // namespace greenlb::proxy
