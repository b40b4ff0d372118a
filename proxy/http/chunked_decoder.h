// Incremental decoder of the chunked transfer coding (RFC 9112 section 7.1) over any split
// of the byte stream. It validates the framing strictly and points at the payload inside
// the input, copying nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace greenlb::proxy::http {

// Bounds on the framing a peer may make us chew through without payload.
inline constexpr size_t kMaxChunkLineBytes = 4096;  // chunk-size line, extensions included
inline constexpr size_t kMaxTrailerBytes = size_t{8} * 1024;

class ChunkedDecoder {
 public:
  enum class Status : uint8_t { more, done, error };
  // consumed: bytes of `in` used up by this step (framing, payload or both).
  // data: payload inside those consumed bytes; may be empty (framing only).
  // status: more = call again with the rest of the input or, once it is all consumed,
  // with the next bytes received; done = the body (trailer included) ended exactly at
  // in[consumed - 1], the bytes after it belong to the next message; error = malformed.
  struct Step {
    size_t consumed;
    std::string_view data;
    Status status;
  };

  // Consumes framing up to the next payload, that payload (as much as `in` holds), and the
  // framing after it up to the payload of the next chunk. Typical loop:
  //   while (!in.empty()) {
  //     auto step = decoder.next(in);
  //     ... forward in.substr(0, step.consumed) verbatim, or step.data when de-chunking
  //     in.remove_prefix(step.consumed);
  //     if (step.status != ChunkedDecoder::Status::more) break;
  //   }
  Step next(std::string_view in);

  // Decodes `in`, the start of a chunked body as far as it has arrived, without keeping
  // state: error when its framing is already malformed, else more or done. `payload` gets
  // the payload announced so far. How a proxy refuses a body it already holds before the
  // head reaches the other side (docs/security.md, "Framing errors in hand").
  static Status check(std::string_view in, uint64_t* payload);

  // Payload bytes announced by the chunk sizes seen so far. A chunk counts as soon as its
  // size line is complete, so max_body_bytes can refuse it before its data arrives.
  uint64_t payloadBytes() const { return payload_bytes_; }

  bool done() const { return state_ == State::done; }
  void reset() { *this = ChunkedDecoder(); }

 private:
  enum class State : uint8_t {
    size,            // chunk-size hex digits
    size_bws,        // whitespace after the size: only before ';'
    ext_name_start,  // after ';' (BWS allowed)
    ext_name,
    ext_after_name,   // BWS after a name: '=' or ';' must follow
    ext_value_start,  // after '=' (BWS allowed)
    ext_token,
    ext_after_value,  // BWS after a value: ';' must follow
    ext_quoted,
    ext_quoted_pair,
    ext_after_quoted,
    size_lf,
    data,
    data_cr,
    data_lf,
    trailer_line_start,
    trailer_name,
    trailer_value,
    trailer_lf,
    final_lf,
    done,
    error,
  };

  // Advances over one framing byte; false on a syntax error.
  bool step(char c);
  // After the size or an extension element: ';' starts an extension, OWS moves to
  // after_ows (BWS), CR ends the line; anything else is an error.
  bool endOfElement(char c, State after_ows);

  State state_ = State::size;
  uint64_t chunk_size_ = 0;  // size of the chunk being read, then what is left of its data
  uint32_t size_digits_ = 0;
  uint32_t line_bytes_ = 0;     // of the current chunk-size line
  uint32_t trailer_bytes_ = 0;  // of the whole trailer section
  uint64_t payload_bytes_ = 0;
};

}  // namespace greenlb::proxy::http
