# Sanitizer and libFuzzer builds, each in a build directory of its own (scripts/test.sh makes
# them: build-test-asan, build-test-tsan, build-test-fuzz). Included before any target is made,
# so the flags reach every layer library, the command and the tests alike.
#
#   -DHVMM_SANITIZE=address,undefined   g++: the unit and KVM tests under ASan and UBSan
#   -DHVMM_SANITIZE=thread              g++: the threaded unit tests under TSan
#   -DHVMM_LIBFUZZER=ON                 clang: tests/fuzz/fuzz_*.cc as libFuzzer binaries, with
#                                       ASan and UBSan (tests/fuzz/run_libfuzzer.sh runs them)
set(HVMM_SANITIZE "" CACHE STRING "Sanitizers for every target (-fsanitize=...), e.g. address,undefined")
option(HVMM_LIBFUZZER "Build tests/fuzz/fuzz_*.cc for libFuzzer (clang) with ASan and UBSan" OFF)

if(HVMM_LIBFUZZER)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "HVMM_LIBFUZZER needs clang (-DCMAKE_CXX_COMPILER=clang++): "
                        "g++ has no libFuzzer")
  endif()
  if(NOT HVMM_SANITIZE)
    set(HVMM_SANITIZE address,undefined)
  endif()
  # Coverage instrumentation everywhere; the fuzz targets alone link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(HVMM_SANITIZE)
  # Frame pointers give whole stacks in reports; a UBSan finding stops the run (a test that
  # printed one and went on would pass).
  add_compile_options(-fsanitize=${HVMM_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${HVMM_SANITIZE})
  if(HVMM_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()
