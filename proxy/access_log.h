// The access log (docs/observability.md, "Access log"): one line per request, JSON or
// combined format.
//
// A hub formats its lines into its own buffer (no lock, no allocation in steady state) and
// hands full buffers — or, every 200 ms, partial ones — to a writer thread, which does the
// blocking file writes. SIGUSR1 makes the writer reopen the file (log rotation).
#pragma once

#include <condition_variable>
#include <ctime>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "conf/config.h"
#include "core/time.h"

namespace greenlb::proxy {

// What one request left behind. Views must stay valid for the record() call only.
struct AccessRecord {
  std::string_view client_ip;
  std::string_view method;
  std::string_view target;
  std::string_view protocol;  // "HTTP/1.1"
  std::string_view host;
  std::string_view user_agent;
  std::string_view referer;
  std::string_view request_id;
  std::string_view listener;
  std::string_view upstream;
  std::string_view endpoint;
  std::string_view error;  // why the proxy answered itself or cut the exchange ("" if not)
  int status = 0;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint32_t attempts = 0;
  double duration_seconds = 0;
  double upstream_seconds = -1;  // first byte from the upstream; < 0 when none
  int grpc_status = -1;          // a gRPC call's grpc-status; < 0: not gRPC (or none seen)
};

class AccessLog {
 public:
  // Opens the destination ("stdout" or a file path); nullptr for "off". `hubs` buffers.
  static std::unique_ptr<AccessLog> open(const conf::AccessLogConfig& config, size_t hubs,
                                         std::string* error);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Hub `hub` only: formats the line into the hub's buffer.
  void record(size_t hub, const AccessRecord& r);
  // Hub `hub` only: hands the hub's buffered lines to the writer (called by a hub timer).
  void flush(size_t hub);
  // Any thread: reopen the file at the next write (SIGUSR1).
  void reopen();
  conf::LogFormat format() const { return format_; }

 private:
  AccessLog(std::string path, conf::LogFormat format, int fd, size_t hubs);
  void writerLoop();
  void submit(std::string&& chunk);

  std::string path_;
  conf::LogFormat format_;
  int fd_;
  struct alignas(64) HubBuffer {
    std::string text;
    time_t cached_second = 0;  // the second iso/clf were formatted for
    char iso[32];
    size_t iso_len = 0;
    char clf[40];
    size_t clf_len = 0;
  };
  std::unique_ptr<HubBuffer[]> hub_buffers_;
  size_t hubs_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> queue_;
  std::vector<std::string> recycled_;
  bool stop_ = false;
  bool reopen_ = false;
  std::thread writer_;
};

}  // namespace greenlb::proxy
