# Compares `greenlb --print-config -c CONFIG` with the golden file GOLDEN. Paths in the
# output are absolute, so the checkout's location is written as <checkout>.
#   cmake -DGREENLB=bin -DCONFIG=file -DGOLDEN=file -DACTUAL=file -DSOURCE_DIR=dir -P this
# With GREENLB_UPDATE_GOLDEN=1 in the environment it rewrites GOLDEN instead.
cmake_minimum_required(VERSION 3.25)

execute_process(COMMAND ${GREENLB} --print-config -c ${CONFIG}
                OUTPUT_VARIABLE actual ERROR_VARIABLE errors RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "greenlb --print-config -c ${CONFIG} failed (${rc}):\n${errors}")
endif()
string(REPLACE "${SOURCE_DIR}" "<checkout>" actual "${actual}")

if("$ENV{GREENLB_UPDATE_GOLDEN}" STREQUAL "1")
  file(WRITE ${GOLDEN} "${actual}")
  message(STATUS "rewrote ${GOLDEN}")
  return()
endif()

file(READ ${GOLDEN} expected)
if(NOT actual STREQUAL expected)
  file(WRITE ${ACTUAL} "${actual}")
  execute_process(COMMAND diff -u ${GOLDEN} ${ACTUAL} OUTPUT_VARIABLE diff)
  message(FATAL_ERROR "effective config of ${CONFIG} differs from ${GOLDEN} "
                      "(rerun with GREENLB_UPDATE_GOLDEN=1 if the change is intended):\n${diff}")
endif()
