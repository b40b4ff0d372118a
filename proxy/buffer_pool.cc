#include "proxy/buffer_pool.h"

#include <algorithm>
#include <cstdlib>

namespace greenlb::proxy {

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    pool_ = std::exchange(o.pool_, nullptr);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

void Buffer::release() {
  if (data_ != nullptr) pool_->put(data_, size_);
  data_ = nullptr;
  pool_ = nullptr;
  size_ = 0;
}

BufferPool::~BufferPool() {
  for (auto& list : free_) {
    for (char* p : list) std::free(p);
  }
}

size_t BufferPool::classOf(size_t size) {
  size_t c = 0;
  for (size_t s = kMinSize; s < size && c + 1 < kClasses; s <<= 1) ++c;
  return c;
}

Buffer BufferPool::get(size_t size) {
  size_t c = classOf(size);
  size_t bytes = kMinSize << c;
  if (bytes < size) bytes = size;  // beyond the largest class: exact size, not cached
  if (bytes == (kMinSize << c) && !free_[c].empty()) {
    char* p = free_[c].back();
    free_[c].pop_back();
    unused_[c] = std::min(unused_[c], free_[c].size());
    return Buffer(this, p, bytes);
  }
  return Buffer(this, static_cast<char*>(std::malloc(bytes)), bytes);
}

void BufferPool::put(char* data, size_t size) {
  size_t c = classOf(size);
  if (size == (kMinSize << c) && free_[c].size() < kMaxCachedBytesPerClass / size) {
    free_[c].push_back(data);
    return;
  }
  std::free(data);
}

void BufferPool::trim() {
  for (size_t c = 0; c < kClasses; ++c) {
    std::vector<char*>& list = free_[c];
    // The front ones waited longest: the `unused_` coldest were never needed this period.
    size_t n = std::min(unused_[c], list.size());
    for (size_t i = 0; i < n; ++i) std::free(list[i]);
    list.erase(list.begin(), list.begin() + static_cast<ptrdiff_t>(n));
    unused_[c] = list.size();
  }
}

size_t BufferPool::cached() const {
  size_t n = 0;
  for (const auto& list : free_) n += list.size();
  return n;
}

}  // namespace greenlb::proxy
