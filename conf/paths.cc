#include "conf/paths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace greenlb::conf {
namespace {

// A config, certificates included, is far below this; a larger file is a mistake
// (a log or a disk image named by accident) and must not be read into memory.
constexpr off_t kMaxFileBytes = 64 * 1024 * 1024;

// An open, checked regular file; closes itself.
class RegularFile {
 public:
  explicit RegularFile(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd_ < 0) {
      error_ = std::strerror(errno);
      return;
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      error_ = std::strerror(errno);
    } else if (S_ISDIR(st.st_mode)) {
      error_ = "is a directory";
    } else if (!S_ISREG(st.st_mode)) {
      error_ = "is not a regular file";
    } else if (st.st_size > kMaxFileBytes) {
      error_ = "is larger than 64 MiB";
    } else {
      size_ = st.st_size;
    }
  }
  ~RegularFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  int fd() const { return fd_; }
  off_t size() const { return size_; }
  const std::string& error() const { return error_; }

 private:
  int fd_ = -1;
  off_t size_ = 0;
  std::string error_;
};

}  // namespace

std::filesystem::path configDir(const std::string& config_path) {
  std::error_code ec;
  std::filesystem::path dir;
  if (!config_path.empty()) dir = std::filesystem::absolute(config_path, ec).parent_path();
  if (dir.empty()) dir = std::filesystem::current_path(ec);
  return dir;
}

std::string resolvePath(const std::filesystem::path& base_dir, std::string_view path) {
  std::filesystem::path p(path);
  if (p.is_absolute()) return std::string(path);
  return (base_dir / p).lexically_normal().string();
}

std::string unreadableReason(const std::string& path) {
  return RegularFile(path).error();
}

bool readWholeFile(const std::string& path, std::string& out, std::string& error) {
  RegularFile file(path);
  if (!file.error().empty()) {
    error = file.error();
    return false;
  }
  out.clear();
  out.reserve(static_cast<size_t>(file.size()));
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(file.fd(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = std::strerror(errno);
      return false;
    }
    if (n == 0) return true;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > static_cast<size_t>(kMaxFileBytes)) {
      error = "is larger than 64 MiB";
      return false;
    }
  }
}

}  // namespace greenlb::conf
