// The admin API's releases (issue #11) against a real allocator core: by owner or by
// address they free what clients hold (by address whoever holds it: an operator's tool),
// and never a "peer:" reservation, which this peer keeps for another peer that held the
// address first; /allocate and /claim refuse owners that would forge one.
#include "driver/admin/admin_api.h"

#include <optional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace wipam::driver {
namespace {

using nlohmann::json;

ring::Cidr cidr(const char* text) { return *ring::Cidr::parse(text); }
ring::Address addr(const char* text) { return *ring::Address::parse(text); }
const ring::PeerName kSelf(1);
const ring::PeerName kOther(2);

// A peer that seeds its ring(s) alone: 10.32.0.0/16, and fd00:32::/48 beside it when dual.
std::vector<ring::AllocatorConfig> single_seed(bool dual) {
  std::vector<ring::AllocatorConfig> out;
  for (const char* universe : {"10.32.0.0/16", "fd00:32::/48"}) {
    ring::AllocatorConfig c;
    c.self = {kSelf, "self", 1};
    c.universe = cidr(universe);
    c.init = ring::SeedInit{{kSelf}};
    out.push_back(c);
    if (!dual) {
      break;
    }
  }
  return out;
}

std::vector<AllocationRange> ranges_of(const std::vector<ring::AllocatorConfig>& configs) {
  std::vector<AllocationRange> out;
  for (const ring::AllocatorConfig& c : configs) {
    out.push_back({c.universe, c.universe, c.universe.address().is_v4() ? 24 : 64});
  }
  return out;
}

struct Answer {
  unsigned status = 0;
  json body;
  std::string err() const { return body.value("Err", std::string("(no Err)")); }
};

template <bool kDual>
class AdminApiFixture : public ::testing::Test {
 protected:
  AdminApiFixture() {
    EXPECT_TRUE(allocators_.start(now(), {}).ok());
    EXPECT_EQ(post("/prime", json::object()).status, 200u);
  }

  ring::Millis now() { return ring::Millis{++clock_}; }

  // The body of GET `path`.
  std::string get(const std::string& path) {
    std::string body;
    api_.handle(HttpRequest{"GET", path, ""},
                [&body](unsigned, std::string text, std::string) { body = std::move(text); });
    return body;
  }

  Answer post(const std::string& path, const json& body) {
    std::optional<Answer> got;
    api_.handle(HttpRequest{"POST", path, body.dump()},
                [&got](unsigned status, std::string text, std::string) {
                  got = Answer{status, json::parse(text, nullptr, false)};
                });
    EXPECT_TRUE(got.has_value()) << path << " did not answer at once";
    return got.value_or(Answer{});
  }

  // What peer kOther tells us it still holds in our ranges: we reserve exactly that.
  void other_peer_holds(std::vector<ring::Address> addresses) {
    ring::Effects fx = allocators_.message(
        now(), kOther,
        ring::RangedMessage{std::nullopt, ring::HeldAddresses{std::move(addresses)}});
    EXPECT_TRUE(fx.events.empty() || fx.events.front().kind != ring::EventKind::kBadMessage);
  }

  std::optional<std::string> holder(const char* address) const {
    const std::string* held = allocators_.holder(addr(address));
    return held == nullptr ? std::nullopt : std::optional(*held);
  }

  std::int64_t clock_ = 0;
  ring::RequestId id_ = 0;
  std::vector<ring::AllocatorConfig> configs_ = single_seed(kDual);
  ring::RangeAllocators allocators_{configs_};
  IpamApi ipam_{ranges_of(configs_),
                [](const ring::Address&) { return std::optional<std::string>(); },
                IpamApi::none_held};
  DaemonCounters counters_;
  AdminApi api_{ranges_of(configs_),
                allocators_,
                ipam_,
                nullptr,
                counters_,
                [this](const ring::Command& c, std::function<void(const ring::Reply&)> done) {
                  for (const ring::Reply& r : allocators_.command(now(), ++id_, c).replies) {
                    done(r);
                  }
                }};
};
using AdminApiTest = AdminApiFixture<false>;

TEST_F(AdminApiTest, ReleaseByAddressNeverFreesAPeerReservation) {
  other_peer_holds({addr("10.32.0.7")});
  ASSERT_EQ(holder("10.32.0.7"), "peer:" + kOther.to_string());
  for (const json& body : {json{{"address", "10.32.0.7"}}, json{{"address", "10.32.0.7/16"}}}) {
    Answer a = post("/release", body);
    EXPECT_EQ(a.status, 400u) << a.body;
    EXPECT_NE(
        a.err().find("address 10.32.0.7 is reserved by this peer for peer " + kOther.to_string()),
        std::string::npos)
        << a.err();
    EXPECT_NE(a.err().find("rmpeer"), std::string::npos) << a.err();
  }
  Answer by_owner = post("/release", {{"owner", "peer:" + kOther.to_string()}});
  EXPECT_NE(by_owner.status, 200u);
  EXPECT_NE(by_owner.err().find("is reserved by this peer"), std::string::npos) << by_owner.err();
  Answer both =
      post("/release", {{"owner", "peer:" + kOther.to_string()}, {"address", "10.32.0.7"}});
  EXPECT_NE(both.status, 200u);
  EXPECT_EQ(holder("10.32.0.7"), "peer:" + kOther.to_string());
}

TEST_F(AdminApiTest, ReleaseByAddressFreesAContainersAllocationForTheOperator) {
  ASSERT_EQ(post("/claim", {{"owner", "cni:net:c1:eth0"}, {"address", "10.32.0.9"}}).status, 200u);
  ASSERT_EQ(post("/claim", {{"owner", "docker-c2"}, {"address", "10.32.0.10"}}).status, 200u);
  Answer wrong_owner = post("/release", {{"address", "10.32.0.9"}, {"owner", "docker-c2"}});
  EXPECT_EQ(wrong_owner.status, 200u);
  EXPECT_EQ(wrong_owner.body["released"], json::array());
  EXPECT_EQ(holder("10.32.0.9"), "cni:net:c1:eth0");

  Answer cni = post("/release", {{"address", "10.32.0.9"}});
  EXPECT_EQ(cni.status, 200u) << cni.body;
  EXPECT_EQ(cni.body["released"], json::array({"10.32.0.9/16"}));
  EXPECT_FALSE(holder("10.32.0.9"));
  Answer docker = post("/release", {{"address", "10.32.0.10/16"}, {"owner", "docker-c2"}});
  EXPECT_EQ(docker.body["released"], json::array({"10.32.0.10/16"}));
  EXPECT_FALSE(holder("10.32.0.10"));
  EXPECT_EQ(post("/release", {{"address", "10.32.0.10"}}).body["released"], json::array());
}

TEST_F(AdminApiTest, ReleaseByOwnerLeavesThePeersReservationsAlone) {
  other_peer_holds({addr("10.32.0.7")});
  ASSERT_EQ(post("/claim", {{"owner", "c1"}, {"address", "10.32.0.8"}}).status, 200u);
  Answer a = post("/release", {{"owner", "c1"}});
  EXPECT_EQ(a.body["released"], json::array({"10.32.0.8/16"}));
  EXPECT_EQ(holder("10.32.0.7"), "peer:" + kOther.to_string());
}

TEST_F(AdminApiTest, AllocateAndClaimRefuseOwnersThatWouldForgeAReservation) {
  Answer claim = post("/claim", {{"owner", "peer:00:00:00:00:00:09"}, {"address", "10.32.0.5"}});
  EXPECT_EQ(claim.status, 400u);
  EXPECT_NE(claim.err().find("reservations for other peers"), std::string::npos) << claim.err();
  EXPECT_EQ(post("/allocate", {{"owner", "peer:x"}}).status, 400u);
  EXPECT_TRUE(allocators_.primary().allocations().empty());
}

using DualStackAdminApiTest = AdminApiFixture<true>;

TEST_F(DualStackAdminApiTest, EveryRangeIsShownAndServed) {
  Answer v4 = post("/allocate", {{"owner", "web"}});
  Answer v6 = post("/allocate", {{"owner", "web"}, {"subnet", "fd00:32::/64"}});
  ASSERT_EQ(v4.status, 200u) << v4.body;
  ASSERT_EQ(v6.status, 200u) << v6.body;
  std::string a4 = v4.body["addresses"][0];
  std::string a6 = v6.body["addresses"][0];
  EXPECT_EQ(a4.rfind("10.32.", 0), 0u);
  EXPECT_EQ(a6.rfind("fd00:32::", 0), 0u);
  // A bare IPv6 address is claimed with its range's default subnet's prefix.
  Answer claim = post("/claim", {{"owner", "db"}, {"address", "fd00:32::99"}});
  EXPECT_EQ(claim.body["addresses"], json::array({"fd00:32::99/48"})) << claim.body;

  json status = json::parse(get("/status"));
  EXPECT_EQ(status["range"], "10.32.0.0/16");  // the first range's fields stay at the top
  ASSERT_EQ(status["ranges"].size(), 2u);
  EXPECT_EQ(status["ranges"][1]["range"], "fd00:32::/48");
  EXPECT_EQ(status["ranges"][1]["allocated"], "2");
  EXPECT_EQ(status["ranges"][1]["range_size"], "1208925819614629174706176");
  json owners = json::parse(get("/owners"));
  EXPECT_EQ(owners["web"], json::array({a4, a6}));
  json allocations = json::parse(get("/allocations"));
  EXPECT_EQ(allocations.size(), 3u);
  std::string metrics = get("/metrics");
  EXPECT_NE(metrics.find("weave_ips{state=\"local-used\",range=\"fd00:32::/48\"} 2\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("weave_ips{state=\"local-used\",range=\"10.32.0.0/16\"} 1\n"),
            std::string::npos);

  Answer released = post("/release", {{"owner", "web"}});
  EXPECT_EQ(released.body["released"].size(), 2u) << released.body;
  Answer by_address = post("/release", {{"address", "fd00:32::99"}});
  EXPECT_EQ(by_address.body["released"], json::array({"fd00:32::99/48"})) << by_address.body;
}

}  // namespace
}  // namespace wipam::driver
