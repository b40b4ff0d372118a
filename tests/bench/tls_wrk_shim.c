// Preloaded into wrk by tls_compare.py. wrk keeps one SSL object per connection slot and,
// on reconnect, calls SSL_shutdown + SSL_clear, which keeps the session: the next handshake
// resumes it whenever the server issued a ticket. This wraps SSL_clear to
//  - count each finished handshake as full or resumed (printed at exit: "TLSSHIM full=N
//    resumed=M"), so a run shows which kind it measured, and
//  - with TLSBENCH_NO_RESUME set, drop the session so every handshake is a full one.
// wrk runs one thread here (-t1): plain counters.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>

static long full, resumed;

int SSL_clear(SSL* s) {
  static int (*real)(SSL*);
  static int no_resume = -1;
  if (real == NULL) real = (int (*)(SSL*))dlsym(RTLD_NEXT, "SSL_clear");
  if (no_resume < 0) no_resume = getenv("TLSBENCH_NO_RESUME") != NULL;
  if (SSL_is_init_finished(s)) {
    if (SSL_session_reused(s)) {
      ++resumed;
    } else {
      ++full;
    }
  }
  int r = real(s);
  if (no_resume) SSL_set_session(s, NULL);
  return r;
}

__attribute__((destructor)) static void report(void) {
  fprintf(stderr, "TLSSHIM full=%ld resumed=%ld\n", full, resumed);
}
