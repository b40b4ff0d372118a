# Included by ctest after the discovered metrics_test cases. gtest_discover_tests flattens
# a `LABELS "unit;tsan"` property into `LABELS unit tsan` (CMake 3.25), which labels the
# cases "unit" only; setting the list here keeps both, so the TSan run (-L tsan) finds them.
if(metrics_test_TESTS)
  set_tests_properties(${metrics_test_TESTS} PROPERTIES LABELS "unit;tsan")
endif()
