// The libFuzzer entry point of one target; CMake compiles it once per target, naming the
// target's function in WIPAM_FUZZ_FN.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return wipam::fuzz::WIPAM_FUZZ_FN(data, size);
}
