#include "proxy/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

#include "proxy/json_writer.h"

namespace greenlb::proxy {
namespace {

constexpr size_t kFlushBytes = 32 * 1024;  // a hub hands its buffer over past this
constexpr size_t kReserve = 64 * 1024;

int openTarget(const std::string& path, std::string* error) {
  if (path == "stdout") return STDOUT_FILENO;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0 && error != nullptr) {
    *error = "cannot open access log " + path + ": " + std::strerror(errno);
  }
  return fd;
}

// Combined-format fields are quoted: keep quotes and control bytes out of them.
void appendQuoted(std::string& out, std::string_view s) {
  out.push_back('"');
  if (s.empty()) out.push_back('-');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back(c == '"' || c < 0x20 || c == 0x7f ? '_' : ch);
  }
  out.push_back('"');
}

void appendNumber(std::string& out, uint64_t v) {
  char buf[24];
  int n = std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
  out.append(buf, static_cast<size_t>(n));
}

void appendSeconds(std::string& out, double v) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.6f", v);
  out.append(buf, static_cast<size_t>(n));
}

}  // namespace

std::unique_ptr<AccessLog> AccessLog::open(const conf::AccessLogConfig& config, size_t hubs,
                                           std::string* error) {
  if (config.path == "off") return nullptr;
  int fd = openTarget(config.path, error);
  if (fd < 0) return nullptr;
  return std::unique_ptr<AccessLog>(new AccessLog(config.path, config.format, fd, hubs));
}

AccessLog::AccessLog(std::string path, conf::LogFormat format, int fd, size_t hubs)
    : path_(std::move(path)), format_(format), fd_(fd), hub_buffers_(new HubBuffer[hubs]),
      hubs_(hubs) {
  for (size_t i = 0; i < hubs_; ++i) hub_buffers_[i].text.reserve(kReserve);
  writer_ = std::thread([this] { writerLoop(); });
}

AccessLog::~AccessLog() {
  // Hubs have stopped: whatever they buffered goes out now.
  for (size_t i = 0; i < hubs_; ++i) {
    if (!hub_buffers_[i].text.empty()) submit(std::move(hub_buffers_[i].text));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  writer_.join();
  if (fd_ != STDOUT_FILENO && fd_ >= 0) ::close(fd_);
}

void AccessLog::record(size_t hub, const AccessRecord& r) {
  HubBuffer& b = hub_buffers_[hub];
  std::string& out = b.text;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (now.tv_sec != b.cached_second) {
    // Formatting a time costs more than the rest of the line: once a second per hub.
    b.cached_second = now.tv_sec;
    tm t;
    gmtime_r(&now.tv_sec, &t);
    b.iso_len = std::strftime(b.iso, sizeof b.iso, "%Y-%m-%dT%H:%M:%S", &t);
    b.clf_len = std::strftime(b.clf, sizeof b.clf, "%d/%b/%Y:%H:%M:%S +0000", &t);
  }
  if (format_ == conf::LogFormat::json) {
    char ms[16];
    int n = std::snprintf(ms, sizeof ms, ".%03ldZ", now.tv_nsec / 1000000);
    out.append("{\"time\":\"").append(b.iso, b.iso_len).append(ms, static_cast<size_t>(n));
    out.append("\",\"client\":");
    appendJsonString(out, r.client_ip);
    out.append(",\"method\":");
    appendJsonString(out, r.method);
    out.append(",\"target\":");
    appendJsonString(out, r.target);
    out.append(",\"protocol\":");
    appendJsonString(out, r.protocol);
    out.append(",\"host\":");
    appendJsonString(out, r.host);
    out.append(",\"status\":");
    appendNumber(out, static_cast<uint64_t>(r.status));
    out.append(",\"bytes_received\":");
    appendNumber(out, r.bytes_received);
    out.append(",\"bytes_sent\":");
    appendNumber(out, r.bytes_sent);
    out.append(",\"duration\":");
    appendSeconds(out, r.duration_seconds);
    out.append(",\"upstream_time\":");
    if (r.upstream_seconds < 0) {
      out.append("null");
    } else {
      appendSeconds(out, r.upstream_seconds);
    }
    out.append(",\"listener\":");
    appendJsonString(out, r.listener);
    out.append(",\"upstream\":");
    appendJsonString(out, r.upstream);
    out.append(",\"endpoint\":");
    appendJsonString(out, r.endpoint);
    out.append(",\"attempts\":");
    appendNumber(out, r.attempts);
    out.append(",\"request_id\":");
    appendJsonString(out, r.request_id);
    out.append(",\"user_agent\":");
    appendJsonString(out, r.user_agent);
    out.append(",\"referer\":");
    appendJsonString(out, r.referer);
    out.append(",\"error\":");
    appendJsonString(out, r.error);
    if (r.grpc_status >= 0) {  // gRPC calls only
      out.append(",\"grpc_status\":");
      appendNumber(out, static_cast<uint64_t>(r.grpc_status));
    }
    out.append("}\n");
  } else {
    out.append(r.client_ip).append(" - - [").append(b.clf, b.clf_len).append("] \"");
    out.append(r.method).append(" ").append(r.target).append(" ").append(r.protocol);
    out.append("\" ");
    appendNumber(out, static_cast<uint64_t>(r.status));
    out.push_back(' ');
    appendNumber(out, r.bytes_sent);
    out.push_back(' ');
    appendQuoted(out, r.referer);
    out.push_back(' ');
    appendQuoted(out, r.user_agent);
    out.push_back('\n');
  }
  if (out.size() >= kFlushBytes) flush(hub);
}

void AccessLog::flush(size_t hub) {
  HubBuffer& b = hub_buffers_[hub];
  if (b.text.empty()) return;
  std::string next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(b.text));
    if (!recycled_.empty()) {
      next = std::move(recycled_.back());
      recycled_.pop_back();
    }
  }
  cv_.notify_one();
  next.clear();
  if (next.capacity() < kReserve) next.reserve(kReserve);
  b.text = std::move(next);
}

void AccessLog::submit(std::string&& chunk) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(chunk));
  }
  cv_.notify_one();
}

void AccessLog::reopen() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    reopen_ = true;
  }
  cv_.notify_one();
}

void AccessLog::writerLoop() {
  std::vector<std::string> batch;
  for (;;) {
    bool reopen = false, stop = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || reopen_ || !queue_.empty(); });
      batch.swap(queue_);
      reopen = std::exchange(reopen_, false);
      stop = stop_;
    }
    if (reopen && fd_ != STDOUT_FILENO) {
      std::string error;
      int fd = openTarget(path_, &error);
      if (fd >= 0) {
        ::close(fd_);
        fd_ = fd;
      } else {
        std::fprintf(stderr, "greenlb: %s (keeping the old file)\n", error.c_str());
      }
    }
    for (auto& chunk : batch) {
      const char* p = chunk.data();
      size_t left = chunk.size();
      while (left > 0) {
        ssize_t n = ::write(fd_, p, left);  // blocking-ok: the log writer thread, never a hub
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // disk full or closed pipe: drop this chunk rather than block
        p += n;
        left -= static_cast<size_t>(n);
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& chunk : batch) {
        chunk.clear();
        if (recycled_.size() < 4 * hubs_) recycled_.push_back(std::move(chunk));
      }
    }
    batch.clear();
    if (stop) {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty()) return;
    }
  }
}

}  // namespace greenlb::proxy
