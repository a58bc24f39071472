// Replays every committed fuzz input, the seed corpus and the inputs of crashes found and
// fixed, through the same target functions the libFuzzer programs run (scripts/fuzz.sh),
// so the ordinary (sanitizer) test build guards the fixes. A failure is a crash, a
// sanitizer report or an exception; a refused input is fine.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/fuzz/fuzz_targets.h"

namespace wipam::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> inputs(const std::string& target) {
  std::vector<fs::path> files;
  for (const char* kind : {"corpus", "regressions"}) {
    fs::path dir = fs::path(WIPAM_FUZZ_DIR) / kind / target;
    if (!fs::is_directory(dir)) {
      continue;
    }
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
      if (e.is_regular_file() && e.path().filename().string().front() != '.') {
        files.push_back(e.path());
      }
    }
  }
  return files;
}

class FuzzReplay : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzReplay, EveryCommittedInputRuns) {
  std::vector<fs::path> files = inputs(std::string(GetParam().name));
  EXPECT_FALSE(files.empty()) << "no seed corpus for " << GetParam().name;
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    std::ifstream in(file, std::ios::binary);
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
    EXPECT_EQ(GetParam().run(bytes.data(), bytes.size()), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay, ::testing::ValuesIn(targets()),
                         [](const ::testing::TestParamInfo<Target>& param_info) {
                           return std::string(param_info.param.name);
                         });

}  // namespace
}  // namespace wipam::fuzz
