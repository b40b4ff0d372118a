#include "proxy/proxy_header_reader.h"

#include <algorithm>
#include <string_view>

namespace greenlb::proxy {

ProxyRead readProxyHeader(core::Stream& s, conf::ProxyProtocol accept, ProxyHeader* header) {
  // Enough for any header's addresses; TLVs after them are read past in pieces below.
  char buf[kProxyHeaderPeekBytes];
  size_t seen = 0;
  auto ended = [&](bool timed_out) {
    return ProxyRead{seen == 0 ? ProxyReadOutcome::silent : ProxyReadOutcome::invalid, timed_out};
  };
  for (;;) {
    core::Result<size_t> n = s.tryPeek(buf, sizeof buf);
    if (n.ok() && *n == 0) return ended(false);
    if (!n.ok() && n.error().code != EAGAIN) return ended(false);  // reset
    if (n.ok()) {
      ProxyParse p = parseProxyHeader(std::string_view(buf, *n), accept, header);
      if (p.status == ProxyParseStatus::error) return {ProxyReadOutcome::invalid};
      if (p.status == ProxyParseStatus::done) {
        // Consume the header: its first bytes are queued already, TLVs may still arrive.
        for (size_t left = p.length; left > 0;) {
          core::Status st = s.readExact(buf, std::min(left, sizeof buf));
          if (!st.ok()) {
            if (st.error().code == ECANCELED || st.error().code == EBADF) {
              return {ProxyReadOutcome::failed};
            }
            return {ProxyReadOutcome::invalid, st.error().timedOut()};
          }
          left -= std::min(left, sizeof buf);
        }
        return {ProxyReadOutcome::ok};
      }
      // The parser decides within sizeof buf bytes, so a full look is never "need more".
      seen = *n;
      // Every byte there is was seen and the client has closed: nothing more will come
      // (the queued bytes keep a peek from ever returning the end of stream).
      if (s.peerClosed()) return {ProxyReadOutcome::invalid};
    }
    core::Status st = s.waitReadable();
    if (!st.ok()) {
      if (st.error().timedOut()) return ended(true);
      return {ProxyReadOutcome::failed};
    }
  }
}

}  // namespace greenlb::proxy
