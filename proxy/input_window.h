// The bytes read from one side of a connection and not yet consumed, in a pooled buffer.
//
// A message head stays put at the front while its body streams through the space behind
// it, so the head's zero-copy views stay valid for the whole exchange (routing, logging)
// without copying a header.
#pragma once

#include <cstring>
#include <string_view>

#include "proxy/buffer_pool.h"

namespace greenlb::proxy {

// Room a body always has behind its head, whatever the head's size: a window is sized
// max head + this, so a head just under the limit cannot leave a body one byte at a time
// (a recv and a send per byte, which would hold the hub: docs/security.md, "Fairness").
inline constexpr size_t kMinBodyWindow = 16 * 1024;

class InputWindow {
 public:
  InputWindow() = default;
  explicit InputWindow(Buffer buffer) : buffer_(std::move(buffer)) {}

  bool hasBuffer() const { return static_cast<bool>(buffer_); }
  // Forgets every byte (keeps the buffer).
  void clear() { begin_ = end_ = pinned_ = 0; }
  void attach(Buffer buffer) { buffer_ = std::move(buffer); }
  Buffer detach() {
    begin_ = end_ = pinned_ = 0;
    return std::move(buffer_);
  }

  // Unconsumed bytes.
  std::string_view data() const { return {buffer_.data() + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  // Where the next read goes, and how much fits there.
  char* tail() { return buffer_.data() + end_; }
  size_t tailRoom() const { return buffer_.size() - end_; }
  void produced(size_t n) { end_ += n; }
  void consume(size_t n) {
    begin_ += n;
    if (begin_ == end_ && begin_ >= pinned_) begin_ = end_ = pinned_;
  }

  // Keeps [begin, begin + n) in place (a parsed head) and consumes it: later bytes flow
  // through the room behind it.
  void pinHead(size_t n) {
    begin_ += n;
    pinned_ = begin_;
  }
  void unpin() { pinned_ = 0; }
  // Moves the unconsumed bytes to the front (after any pinned head) to make tail room.
  void compact() {
    size_t keep = pinned_;
    if (begin_ == keep) return;
    std::memmove(buffer_.data() + keep, buffer_.data() + begin_, end_ - begin_);
    end_ = keep + (end_ - begin_);
    begin_ = keep;
  }
  // Makes room for a read if the tail is full; false when the window is entirely full.
  bool ensureRoom() {
    if (tailRoom() > 0) return true;
    compact();
    return tailRoom() > 0;
  }
  char* base() const { return buffer_.data(); }

 private:
  Buffer buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  size_t pinned_ = 0;  // bytes at the front kept for a parsed head
};

}  // namespace greenlb::proxy
