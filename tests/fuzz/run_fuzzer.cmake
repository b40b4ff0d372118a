# Runs one libFuzzer target for $GREENLB_FUZZ_SECONDS (default 20) on a fresh copy of its
# seed corpus, so the checked-in corpus never grows by accident. 0 seconds replays the
# corpus once. Called by the tests greenlb_add_fuzzer registers (tests/fuzz/CMakeLists.txt):
#   cmake -DFUZZER=bin -DCORPUS=dir -DWORK=dir -DARTIFACTS=dir [-DDICT=file] -P this
cmake_minimum_required(VERSION 3.25)

set(seconds 20)
if(NOT "$ENV{GREENLB_FUZZ_SECONDS}" STREQUAL "")
  set(seconds "$ENV{GREENLB_FUZZ_SECONDS}")
endif()
if(NOT seconds MATCHES "^[0-9]+$")
  message(FATAL_ERROR "GREENLB_FUZZ_SECONDS must be a whole number of seconds, not '${seconds}'")
endif()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK} ${ARTIFACTS})
file(GLOB seeds ${CORPUS}/*)
if(seeds)
  file(COPY ${seeds} DESTINATION ${WORK})
endif()

# -max_total_time=0 would mean "forever": 0 seconds replays the corpus instead.
if(seconds EQUAL 0)
  set(budget -runs=0)
else()
  set(budget -max_total_time=${seconds})
endif()
set(args ${budget} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
         -artifact_prefix=${ARTIFACTS}/)
if(DICT)
  list(APPEND args -dict=${DICT})
endif()

message(STATUS "${FUZZER} ${args} ${WORK}")
execute_process(COMMAND ${FUZZER} ${args} ${WORK} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${rc}); the input that failed is in ${ARTIFACTS}")
endif()
