# Builds the status page's one HTML document (docs/observability.md, "Status page"):
# index.html with each "/* embed: NAME */" comment replaced by the file NAME beside it,
# written as a C++ raw string literal that status_page.cc includes. The page is edited as
# plain HTML, CSS and JavaScript, yet served from the binary with nothing to fetch.
#
#   cmake -DDIR=<this directory> -DOUT=<generated .inc> -P embed.cmake
file(READ "${DIR}/index.html" page)
string(REGEX MATCHALL "/\\* embed: [a-z_]+\\.[a-z]+ \\*/" markers "${page}")
foreach(marker IN LISTS markers)
  string(REGEX REPLACE "/\\* embed: ([a-z_]+\\.[a-z]+) \\*/" "\\1" name "${marker}")
  file(READ "${DIR}/${name}" content)
  string(REPLACE "${marker}" "${content}" page "${page}")
endforeach()
set(delimiter "GREENLB_PAGE")
string(FIND "${page}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "the status page contains the raw string delimiter )${delimiter}\"")
endif()
# Written only when it changed, so an unchanged page does not recompile status_page.cc.
file(WRITE "${OUT}.tmp" "R\"${delimiter}(${page})${delimiter}\"\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
