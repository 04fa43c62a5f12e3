# Helpers every module uses, so that tests, fuzzers and benchmarks are
# registered the same way everywhere.
#
# ctest labels:
#   unit     no root needed
#   root     needs root, no lab
#   lab      uses deploy/lab.sh
#   interop  against wireguard-go
#   slow     takes minutes (combined with one of the above)
#   fuzz     bounded libFuzzer run (only in a TP_FUZZ build)
#   bench    never run by default (tests/run.sh excludes it)

# TP_EMULATOR: how a test that is not itself a built program (a script, a
# python reference) runs one: empty natively, "qemu-aarch64 -L /" in the
# arm64 cross-build (cmake/toolchain-aarch64.cmake). ctest already runs
# built test programs through CMAKE_CROSSCOMPILING_EMULATOR; scripts get
# this string in their environment and prefix it to the binaries they run.
string(JOIN " " TP_EMULATOR ${CMAKE_CROSSCOMPILING_EMULATOR})

# A sanitizer build (ASan+UBSan) runs the same tests 2-3x slower on a loaded
# machine: every test's timeout is scaled here, not in each test, and script
# tests see TP_SANITIZE=1 for their own waits.
set(TP_TIMEOUT_FACTOR 1)
if(TP_SANITIZE)
	set(TP_TIMEOUT_FACTOR 3)
endif()

# Add every subfolder of the current folder that has a CMakeLists.txt.
function(tp_add_module_dirs)
	file(GLOB children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}
		${CMAKE_CURRENT_SOURCE_DIR}/*)
	list(SORT children)
	foreach(child ${children})
		if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${child}
			AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt)
			add_subdirectory(${child})
		endif()
	endforeach()
endfunction()

# tp_add_test(NAME n SOURCES a.c b.c LIBS x y LABELS unit [TIMEOUT s] [ARGS ...])
# A CUnit (or any) test program in build/tests/, registered with ctest.
function(tp_add_test)
	cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
	add_executable(${T_NAME} ${T_SOURCES})
	target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} PkgConfig::CUNIT)
	set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${TP_TEST_BIN_DIR})
	add_test(NAME ${T_NAME} COMMAND ${T_NAME} ${T_ARGS})
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 300)
	endif()
	math(EXPR T_TIMEOUT "${T_TIMEOUT} * ${TP_TIMEOUT_FACTOR}")
	set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
endfunction()

# tp_add_script_test(NAME n COMMAND cmd args... LABELS lab [TIMEOUT s] [ENV K=V...])
# A shell-driven test (netns, lab, interop). Runs from the source tree with
# TP_BUILD_DIR set so it can find the binaries, and TP_EMULATOR (above): it
# runs a built binary as $TP_EMULATOR $TP_BUILD_DIR/NAME.
function(tp_add_script_test)
	cmake_parse_arguments(T "" "NAME;TIMEOUT" "COMMAND;LABELS;ENV" ${ARGN})
	add_test(NAME ${T_NAME} COMMAND ${T_COMMAND} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 600)
	endif()
	math(EXPR T_TIMEOUT "${T_TIMEOUT} * ${TP_TIMEOUT_FACTOR}")
	set(env "TP_BUILD_DIR=${CMAKE_BINARY_DIR};TP_SOURCE_DIR=${CMAKE_SOURCE_DIR};TP_EMULATOR=${TP_EMULATOR}")
	if(TP_SANITIZE)
		list(APPEND env "TP_SANITIZE=1")
	endif()
	list(APPEND env ${T_ENV})
	set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
		ENVIRONMENT "${env}")
endfunction()

# tp_add_fuzzer(NAME n SOURCES harness.c LIBS x CORPUS dir [SECONDS s])
# Only in TP_FUZZ builds. The ctest entry runs the harness for a bounded time
# on a copy of its seed corpus (the checked-in corpus is never written to).
function(tp_add_fuzzer)
	cmake_parse_arguments(F "" "NAME;CORPUS;SECONDS" "SOURCES;LIBS" ${ARGN})
	if(NOT TP_FUZZ)
		return()
	endif()
	if(NOT F_SECONDS)
		set(F_SECONDS 20)
	endif()
	add_executable(${F_NAME} ${F_SOURCES})
	target_compile_options(${F_NAME} PRIVATE -fsanitize=fuzzer)
	target_link_options(${F_NAME} PRIVATE -fsanitize=fuzzer)
	target_link_libraries(${F_NAME} PRIVATE ${F_LIBS})
	set_target_properties(${F_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${TP_TEST_BIN_DIR})
	set(work ${CMAKE_BINARY_DIR}/fuzz-work/${F_NAME})
	add_test(NAME ${F_NAME}
		COMMAND ${CMAKE_SOURCE_DIR}/tests/fuzz/run-fuzzer.sh
			$<TARGET_FILE:${F_NAME}> ${F_CORPUS} ${work} ${F_SECONDS})
	set_tests_properties(${F_NAME} PROPERTIES LABELS "fuzz" TIMEOUT 600)
endfunction()

# tp_add_bench(NAME n SOURCES ... LIBS ...)  Only in TP_BENCH builds; label bench.
function(tp_add_bench)
	cmake_parse_arguments(B "" "NAME" "SOURCES;LIBS;ARGS" ${ARGN})
	if(NOT TP_BENCH)
		return()
	endif()
	add_executable(${B_NAME} ${B_SOURCES})
	target_link_libraries(${B_NAME} PRIVATE ${B_LIBS})
	set_target_properties(${B_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
	add_test(NAME ${B_NAME} COMMAND ${B_NAME} ${B_ARGS})
	set_tests_properties(${B_NAME} PROPERTIES LABELS "bench" TIMEOUT 1800)
endfunction()
