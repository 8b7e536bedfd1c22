# ---- sanitizer and libFuzzer runs (labels sanitize, fuzz) ----------------------------------------
# The regular build runs what the sanitizer and libFuzzer builds made (cmake/sanitizers.cmake),
# so that one ctest run reports them with everything else. scripts/test.sh makes those builds
# first and passes their directories here; a build directory left empty adds no tests.
set(HVMM_ASAN_BUILD_DIR "" CACHE PATH "A -DHVMM_SANITIZE=address,undefined build: its unit and KVM tests run here")
set(HVMM_TSAN_BUILD_DIR "" CACHE PATH "A -DHVMM_SANITIZE=thread build: its hvmm_threaded_unit_tests run here")
set(HVMM_FUZZ_BUILD_DIR "" CACHE PATH "A -DHVMM_LIBFUZZER=ON build: each target is fuzzed here for a while")
set(HVMM_FUZZ_SECONDS 15 CACHE STRING "How long each libFuzzer target runs in the suite")

# A finding fails the test: ASan and UBSan stop at the first report (UBSan's -fno-sanitize-recover
# does so too), TSan is told to. Stacks with names for the log.
set(HVMM_SANITIZER_ENVIRONMENT
    "ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:strict_string_checks=1"
    "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1"
    "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=${CMAKE_SOURCE_DIR}/tests/sanitize/tsan.supp")
if(HVMM_ASAN_BUILD_DIR)
  add_test(NAME sanitize.asan.unit COMMAND ${HVMM_ASAN_BUILD_DIR}/hvmm_unit_tests)
  set_tests_properties(sanitize.asan.unit PROPERTIES LABELS sanitize TIMEOUT 1500
                       ENVIRONMENT "${HVMM_SANITIZER_ENVIRONMENT}")
  if(HVMM_KVM_TESTS)
    # Like the regular KVM tests: on this host when it opens /dev/kvm, else once in the lab.
    set(results ${CMAKE_BINARY_DIR}/kvm-results-asan)
    add_test(NAME sanitize.asan.kvm_where_kvm_is
             COMMAND ${CMAKE_SOURCE_DIR}/tests/kvm/run_in_lab.sh ${HVMM_ASAN_BUILD_DIR}/hvmm_kvm_tests
                     ${results})
    set_tests_properties(sanitize.asan.kvm_where_kvm_is PROPERTIES FIXTURES_SETUP hvmm_asan_kvm_where
                         LABELS "sanitize;kvm" TIMEOUT 1000 ENVIRONMENT "${HVMM_SANITIZER_ENVIRONMENT}")
    add_test(NAME sanitize.asan.kvm
             COMMAND ${CMAKE_SOURCE_DIR}/tests/sanitize/kvm_tests.sh ${HVMM_ASAN_BUILD_DIR}/hvmm_kvm_tests
                     ${results})
    set_tests_properties(sanitize.asan.kvm PROPERTIES FIXTURES_REQUIRED hvmm_asan_kvm_where
                         LABELS "sanitize;kvm" TIMEOUT 600 ENVIRONMENT "${HVMM_SANITIZER_ENVIRONMENT}")
  endif()
endif()

if(HVMM_TSAN_BUILD_DIR)
  # hvmm_threaded_unit_tests: the unit tests that run threads (CMakeLists.txt says which).
  add_test(NAME sanitize.tsan.threads COMMAND ${HVMM_TSAN_BUILD_DIR}/hvmm_threaded_unit_tests)
  set_tests_properties(sanitize.tsan.threads PROPERTIES LABELS sanitize TIMEOUT 900
                       ENVIRONMENT "${HVMM_SANITIZER_ENVIRONMENT}")
endif()

if(HVMM_FUZZ_BUILD_DIR)
  foreach(target_source ${HVMM_FUZZ_TARGETS})
    get_filename_component(target_name ${target_source} NAME_WE)
    string(REGEX REPLACE "^fuzz_" "" short_name ${target_name})
    add_test(NAME fuzz.libfuzzer.${short_name}
             COMMAND ${CMAKE_SOURCE_DIR}/tests/fuzz/run_libfuzzer.sh --seconds ${HVMM_FUZZ_SECONDS}
                     --out ${CMAKE_BINARY_DIR}/libfuzzer ${HVMM_FUZZ_BUILD_DIR} ${short_name})
    math(EXPR timeout "${HVMM_FUZZ_SECONDS} * 4 + 60")
    set_tests_properties(fuzz.libfuzzer.${short_name} PROPERTIES LABELS fuzz TIMEOUT ${timeout})
  endforeach()
endif()
# ---- end of sanitizer and libFuzzer runs -----------------------------------------------------------
