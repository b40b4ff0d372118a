#include "proxy/http/chunked_decoder.h"

#include <algorithm>
#include <limits>

#include "proxy/http/header_util.h"

namespace greenlb::proxy::http {
namespace {

// A chunk (and the whole body) must stay below 2^63 so sums never overflow.
constexpr uint64_t kMaxChunkSize = std::numeric_limits<int64_t>::max();

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// qdtext of RFC 9110 section 5.6.4: HTAB, SP, VCHAR except '"' and '\', obs-text.
bool isQdText(char c) {
  return c != '"' && c != '\\' && isFieldValueChar(c);
}

}  // namespace

ChunkedDecoder::Step ChunkedDecoder::next(std::string_view in) {
  size_t i = 0;
  std::string_view data;
  while (i < in.size()) {
    if (state_ == State::data) {
      if (!data.empty()) break;  // one payload view per step
      const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_size_, in.size() - i));
      data = in.substr(i, n);
      i += n;
      chunk_size_ -= n;
      if (chunk_size_ == 0) state_ = State::data_cr;
      continue;
    }
    if (state_ == State::done || state_ == State::error) break;
    if (!step(in[i])) {
      state_ = State::error;
      return {i, data, Status::error};
    }
    ++i;
  }
  if (state_ == State::error) return {i, data, Status::error};
  return {i, data, state_ == State::done ? Status::done : Status::more};
}

bool ChunkedDecoder::endOfElement(char c, State after_ows) {
  if (c == ';') {
    state_ = State::ext_name_start;
  } else if (isOws(c)) {
    state_ = after_ows;
  } else if (c == '\r') {
    state_ = State::size_lf;
  } else {
    return false;
  }
  return true;
}

bool ChunkedDecoder::step(char c) {
  if (state_ <= State::size_lf && ++line_bytes_ > kMaxChunkLineBytes) return false;
  if (state_ >= State::trailer_line_start && ++trailer_bytes_ > kMaxTrailerBytes) return false;
  switch (state_) {
    case State::size: {
      const int v = hexValue(c);
      if (v >= 0) {
        // No sign, no "0x": only HEXDIG, checked for overflow.
        if (chunk_size_ > (kMaxChunkSize - v) / 16) return false;
        chunk_size_ = chunk_size_ * 16 + v;
        ++size_digits_;
        return true;
      }
      return size_digits_ > 0 && endOfElement(c, State::size_bws);
    }
    case State::size_bws:
      // RFC 9112 allows whitespace after the size only as the BWS before an extension.
      if (c == ';') {
        state_ = State::ext_name_start;
        return true;
      }
      return isOws(c);
    case State::ext_name_start:
      if (isOws(c)) return true;
      if (!isTokenChar(c)) return false;
      state_ = State::ext_name;
      return true;
    case State::ext_name:
      if (isTokenChar(c)) return true;
      if (c == '=') {
        state_ = State::ext_value_start;
        return true;
      }
      return endOfElement(c, State::ext_after_name);
    case State::ext_after_name:
      if (isOws(c)) return true;
      if (c == '=') {
        state_ = State::ext_value_start;
      } else if (c == ';') {
        state_ = State::ext_name_start;
      } else {
        return false;
      }
      return true;
    case State::ext_value_start:
      if (isOws(c)) return true;
      if (c == '"') {
        state_ = State::ext_quoted;
      } else if (isTokenChar(c)) {
        state_ = State::ext_token;
      } else {
        return false;
      }
      return true;
    case State::ext_token:
      if (isTokenChar(c)) return true;
      return endOfElement(c, State::ext_after_value);
    case State::ext_after_value:
      if (isOws(c)) return true;
      if (c != ';') return false;
      state_ = State::ext_name_start;
      return true;
    case State::ext_quoted:
      if (c == '"') {
        state_ = State::ext_after_quoted;
      } else if (c == '\\') {
        state_ = State::ext_quoted_pair;
      } else if (!isQdText(c)) {
        return false;
      }
      return true;
    case State::ext_quoted_pair:
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      if (!isFieldValueChar(c)) return false;
      state_ = State::ext_quoted;
      return true;
    case State::ext_after_quoted:
      return endOfElement(c, State::ext_after_value);
    case State::size_lf:
      if (c != '\n') return false;
      line_bytes_ = 0;
      size_digits_ = 0;
      if (chunk_size_ == 0) {
        state_ = State::trailer_line_start;
        return true;
      }
      if (chunk_size_ > kMaxChunkSize - payload_bytes_) return false;
      payload_bytes_ += chunk_size_;
      state_ = State::data;
      return true;
    case State::data_cr:
      if (c != '\r') return false;
      state_ = State::data_lf;
      return true;
    case State::data_lf:
      if (c != '\n') return false;
      state_ = State::size;
      return true;
    case State::trailer_line_start:
      // Trailer fields are header lines: a token name right at the line start (no
      // obs-fold), or CR of the empty line that ends the body.
      if (c == '\r') {
        state_ = State::final_lf;
      } else if (isTokenChar(c)) {
        state_ = State::trailer_name;
      } else {
        return false;
      }
      return true;
    case State::trailer_name:
      if (isTokenChar(c)) return true;
      if (c != ':') return false;  // also whitespace before the colon
      state_ = State::trailer_value;
      return true;
    case State::trailer_value:
      if (isFieldValueChar(c)) return true;
      if (c != '\r') return false;
      state_ = State::trailer_lf;
      return true;
    case State::trailer_lf:
      if (c != '\n') return false;
      state_ = State::trailer_line_start;
      return true;
    case State::final_lf:
      if (c != '\n') return false;
      state_ = State::done;
      return true;
    case State::data:
    case State::done:
    case State::error:
      break;
  }
  return false;
}

ChunkedDecoder::Status ChunkedDecoder::check(std::string_view in, uint64_t* payload) {
  ChunkedDecoder d;
  Status status = Status::more;
  while (!in.empty() && status == Status::more) {
    Step step = d.next(in);
    status = step.status;
    if (step.consumed == 0) break;
    in.remove_prefix(step.consumed);
  }
  *payload = d.payloadBytes();
  return status;
}

}  // namespace greenlb::proxy::http
