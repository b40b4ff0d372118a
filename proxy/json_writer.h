// A minimal streaming JSON writer for the admin documents: objects, arrays, strings
// (escaped), numbers, booleans and null, with the commas placed for you.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace greenlb::proxy {

// Appends `s` as a JSON string literal (quotes, escapes; control bytes as \uXXXX). Used by
// JsonWriter and by the access log's JSON lines (its hot path: no allocation beyond `out`).
void appendJsonString(std::string& out, std::string_view s);

class JsonWriter {
 public:
  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(int64_t n);
  JsonWriter& value(uint64_t n);
  JsonWriter& value(int n) { return value(static_cast<int64_t>(n)); }
  JsonWriter& value(double d);
  JsonWriter& value(bool b);
  JsonWriter& null();

  const std::string& str() const { return out_; }

 private:
  void separate();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace greenlb::proxy
