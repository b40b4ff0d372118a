// How an exchange holds its HTTP/2 upstream stream (proxy/h2/upstream_session.h): letting
// go of the handle cancels the request upstream (RST_STREAM CANCEL) when the stream is
// still open; the stream object itself lives on until nghttp2 is done with it.
#pragma once

#include <memory>

namespace greenlb::proxy {

class H2UpstreamStream;

struct H2UpstreamStreamRelease {
  void operator()(H2UpstreamStream* s) const;
};
using H2StreamHandle = std::unique_ptr<H2UpstreamStream, H2UpstreamStreamRelease>;

}  // namespace greenlb::proxy
