// Reports a fiber stack overflow as such: a fault on a fiber's guard page prints the
// fiber's name and stack size, then the process dies with SIGSEGV as it would anyway.
#pragma once

namespace greenlb::core {

// Installs the process-wide SIGSEGV handler once (other faults go to the previous handler).
void installStackOverflowReporter();
// Gives the calling thread an alternate signal stack, so the handler can run when the
// fault is the stack itself. Idempotent per thread.
void prepareThreadForOverflowReports();

}  // namespace greenlb::core
