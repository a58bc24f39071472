// Admin JSON: each line of the input is one request on the admin socket, "<METHOD> <target>
// <body>" ("POST /claim {...}", "DELETE /peer/host-b?force=1"). AdminApi answers from a real
// allocator that owns the whole range, with an IpamApi beside it and no mesh (a peer
// without gossip). Every JSON answer must be JSON, and every refusal must say why.
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
  ring::Cidr range = *ring::Cidr::parse("10.32.0.0/16");
  FuzzPeer peer(FuzzPeer::seed_config(range));
  fuzz_check(peer.start(), "a fresh allocator starts");
  driver::IpamApi ipam(
      range, range, 24, [](const ring::Address&) { return std::nullopt; },
      driver::IpamApi::none_held);
  driver::DaemonCounters counters;
  driver::AdminApi api(
      range, peer.allocator(), ipam, nullptr, counters,
      [&peer](const ring::Command& c, std::function<void(const ring::Reply&)> done) {
        for (const ring::Reply& r : peer.run(c)) {
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
