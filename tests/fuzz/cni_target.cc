// CNI: the input is NUL-separated parts. The first is the environment, one KEY=VALUE per
// line (CNI_COMMAND, CNI_CONTAINERID, ...); the second is the network configuration on
// stdin; each further part is the daemon's next answer on the admin socket, "<status>
// <body>" (when they run out the daemon is down). run_cni() must print JSON or nothing,
// and exit 0 or 1.
#include <charconv>
#include <deque>
#include <map>

#include <nlohmann/json.hpp>

#include "driver/client/cni.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/fuzz_util.h"

namespace wipam::fuzz {
namespace {

constexpr std::size_t kMaxParts = 16;

std::map<std::string, std::string, std::less<>> environment(std::string_view text) {
  std::map<std::string, std::string, std::less<>> env;
  std::vector<std::string_view> lines =
      split(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), '\n', 32);
  for (std::string_view line : lines) {
    std::size_t eq = line.find('=');
    if (eq != std::string_view::npos) {
      env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
  }
  return env;
}

driver::AdminAnswer answer(std::string_view part) {
  auto [code, body] = first_word(part);
  unsigned status = 0;
  std::from_chars(code.data(), code.data() + code.size(), status);
  return {status, std::string(body)};
}

}  // namespace

int fuzz_cni(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string_view> parts = split(data, size, '\0', kMaxParts);
  auto env = environment(parts[0]);
  std::string stdin_text(parts.size() > 1 ? parts[1] : std::string_view());
  std::deque<driver::AdminAnswer> answers;
  for (std::size_t i = 2; i < parts.size(); ++i) {
    answers.push_back(answer(parts[i]));
  }
  driver::EnvLookup lookup = [&env](const char* name) -> std::optional<std::string> {
    auto it = env.find(std::string_view(name));
    return it == env.end() ? std::nullopt : std::optional(it->second);
  };
  driver::AdminTransport daemon =
      [&answers](const std::string&, const std::string&, const std::string&, const std::string&,
                 std::chrono::milliseconds) -> Result<driver::AdminAnswer> {
    if (answers.empty()) {
      return Status::unavailable("the weave-ipam daemon is not running");
    }
    driver::AdminAnswer a = answers.front();
    answers.pop_front();
    return a;
  };
  std::string out;
  int code = driver::run_cni(lookup, stdin_text, out, daemon);
  fuzz_check(code == 0 || code == 1, "CNI exits 0 or 1");
  fuzz_check(out.empty() || !nlohmann::json::parse(out, nullptr, false).is_discarded(),
             "CNI prints JSON: " + out);
  return 0;
}

}  // namespace wipam::fuzz
