// The memory nghttp2 allocates for greenlb's HTTP/2 sessions (docs/http2.md, "Flow control
// and memory"). nghttp2 mallocs and frees for every stream and frame (its stream record,
// outbound items, header buffers, copies of header lists): with hundreds of streams in
// flight per hub that overflows glibc's small per-thread cache and every request pays the
// allocator's slow paths (about a tenth of the CPU of a gRPC request). Sessions are
// hub-local, so a per-thread cache of freed blocks in size classes hands them out again
// without a lock, as HAProxy's pools do for its own HTTP/2 mux.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>

namespace greenlb::proxy {

// The allocator to give nghttp2_session_{client,server}_new3. Blocks freed on a thread go
// to that thread's cache (any thread may free any block: each is a malloc'd one).
nghttp2_mem* h2SessionMemory();

// Blocks the calling thread's cache holds (for tests).
size_t h2SessionMemoryCached();

}  // namespace greenlb::proxy
