// Per-hub pools of I/O buffers in power-of-two size classes (16 KiB and up), so a request
// borrows its buffers instead of allocating them, and an idle keep-alive connection holds
// none. Hub-local: no lock.
//
// A pool keeps as many free buffers as its busiest moment needed (up to 64 MiB a class), so
// 1,000 connections in flight never go back to malloc for each request (which they did
// with a fixed cap of 512 buffers: 2,000 in use, the rest allocated and freed every
// time). What a whole trim period (the hub's 5 s sweep) left unused is given back, so a
// burst does not hold its memory for good.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace greenlb::proxy {

class BufferPool;

// A borrowed buffer; returns itself to its pool when destroyed.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Buffer&& o) noexcept
      : pool_(std::exchange(o.pool_, nullptr)),
        data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept;
  ~Buffer() { release(); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  char* data() const { return data_; }
  size_t size() const { return size_; }
  explicit operator bool() const { return data_ != nullptr; }
  void release();

 private:
  friend class BufferPool;
  Buffer(BufferPool* pool, char* data, size_t size) : pool_(pool), data_(data), size_(size) {}
  BufferPool* pool_ = nullptr;
  char* data_ = nullptr;
  size_t size_ = 0;
};

class BufferPool {
 public:
  static constexpr size_t kMinSize = 16 * 1024;
  static constexpr size_t kClasses = 7;         // 16 KiB .. 1 MiB
  static constexpr size_t kMaxCachedBytesPerClass = 64 * 1024 * 1024;

  BufferPool() = default;
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A buffer of at least `size` bytes (rounded up to its class).
  Buffer get(size_t size = kMinSize);

  size_t cached() const;
  // Frees the buffers no get() needed since the previous trim.
  void trim();

 private:
  friend class Buffer;
  void put(char* data, size_t size);
  static size_t classOf(size_t size);
  std::vector<char*> free_[kClasses];  // the back is the most recently used
  size_t unused_[kClasses] = {};       // fewest free buffers since the last trim
};

}  // namespace greenlb::proxy
