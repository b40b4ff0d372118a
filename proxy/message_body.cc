#include "proxy/message_body.h"

#include "core/fair_share.h"

namespace greenlb::proxy {

PayloadResult pumpPayload(BodySource& src, BodySink& dst, core::Duration src_idle,
                          core::Duration dst_timeout, uint64_t max_payload) {
  PayloadResult r;
  core::FairShare share;
  uint64_t total = 0;
  for (;;) {
    core::Result<BodyPiece> piece = src.read(src_idle);
    if (!piece.ok()) {
      r.error = PayloadError::source;
      r.code = piece.error().code;
      return r;
    }
    total += piece->data.size();
    if (max_payload != 0 && total > max_payload) {
      r.error = PayloadError::too_large;
      return r;
    }
    if (!piece->data.empty()) {
      if (core::Status st = dst.write(piece->data, dst_timeout); !st.ok()) {
        r.error = PayloadError::destination;
        r.code = st.error().code;
        return r;
      }
      src.consume(piece->data.size());
    }
    if (piece->end) {
      if (core::Status st = dst.end(src.trailers(), dst_timeout); !st.ok()) {
        r.error = PayloadError::destination;
        r.code = st.error().code;
      }
      return r;
    }
    share.spend(piece->data.size());
  }
}

}  // namespace greenlb::proxy
