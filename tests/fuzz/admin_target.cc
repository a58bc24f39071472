// Admin JSON: each line of the input is one request on the admin socket, "<METHOD> <target>
// <body>" ("POST /claim {...}", "DELETE /peer/host-b?force=1"). AdminApi answers from real
// dual-stack allocators (an IPv4 and an IPv6 range, each owned whole), with an IpamApi beside
// them and no mesh (a peer without gossip). Every JSON answer must be JSON, and every refusal must
// say why.
#include <optional>

#include <nlohmann/json.hpp>

#include "driver/admin/admin_api.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/fuzz_util.h"

namespace wipam::fuzz {
namespace {

constexpr std::size_t kMaxRequests = 64;

void check_answer(unsigned status, const std::string& body, const std::string& type) {
  if (type != "application/json") {
    return;  // the ring page and the metrics are text
  }
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  fuzz_check(!j.is_discarded(), "an admin answer is JSON: " + body);
  fuzz_check(status == 200 || (j.is_object() && j.contains("Err")), "a refusal has Err: " + body);
}

}  // namespace

int fuzz_admin(const std::uint8_t* data, std::size_t size) {
  quiet_logs();
  // Dual-stack: an IPv4 and an IPv6 range, each its own allocator, as the daemon runs them.
  std::vector<ring::AllocatorConfig> configs = {
      FuzzPeer::seed_config(*ring::Cidr::parse("10.32.0.0/16")),
      FuzzPeer::seed_config(*ring::Cidr::parse("fd00:32::/48"))};
  std::vector<driver::AllocationRange> ranges;
  for (const ring::AllocatorConfig& c : configs) {
    ranges.push_back({c.universe, c.universe, c.universe.address().is_v4() ? 24 : 64});
  }
  ring::RangeAllocators allocators(configs);
  std::int64_t clock = 1000;
  ring::RequestId next_id = 1;
  fuzz_check(allocators.start(ring::Millis{clock}, {}).ok(), "fresh allocators start");
  driver::IpamApi ipam(
      ranges, [](const ring::Address&) { return std::nullopt; }, driver::IpamApi::none_held);
  driver::DaemonCounters counters;
  driver::AdminApi api(ranges, allocators, ipam, nullptr, counters,
                       [&](const ring::Command& c, std::function<void(const ring::Reply&)> done) {
                         ring::Effects fx = allocators.command(ring::Millis{++clock}, next_id++, c);
                         fuzz_check(allocators.check_invariants().ok(),
                                    "the allocators' invariants hold");
                         for (const ring::Reply& r : fx.replies) {
                           done(r);
                         }
                       });
  for (std::string_view line : split(data, size, '\n', kMaxRequests)) {
    auto [method, rest] = first_word(line);
    auto [target, body] = first_word(rest);
    api.handle(driver::HttpRequest{std::string(method), std::string(target), std::string(body)},
               check_answer);
  }
  return 0;
}

}  // namespace wipam::fuzz
