// The Docker IpamDriver endpoints as pure functions: every endpoint's answer follows the
// wire contract (200 + JSON on success, non-200 + {"Err"} on failure, null maps accepted,
// releases idempotent), pools are reference counted and survive a restore, networks
// without --subnet never get a subnet another network on this host holds, and bad input
// of every shape gets an error reply and leaves the pool table unchanged.
#include "driver/docker/ipam_api.h"

#include <gtest/gtest.h>

#include "driver/docker/free_subnet.h"

namespace wipam::driver {
namespace {

using nlohmann::json;

ring::Cidr cidr(const char* text) { return *ring::Cidr::parse(text); }

// The allocator's table, as the daemon shows it to IpamApi.
std::map<ring::Address, std::string> g_held;
std::optional<std::string> holder_of(const ring::Address& a) {
  auto it = g_held.find(a);
  return it == g_held.end() ? std::nullopt : std::optional(it->second);
}
std::vector<std::pair<ring::Address, std::string>> held_in(const ring::Range& r) {
  std::vector<std::pair<ring::Address, std::string>> held;
  for (const auto& [a, owner] : g_held) {
    if (r.contains(a)) {
      held.emplace_back(a, owner);
    }
  }
  return held;
}

class IpamApiTest : public ::testing::Test {
 protected:
  IpamApiTest() { g_held.clear(); }
  IpamApi api_{{{cidr("10.32.0.0/12"), cidr("10.32.0.0/12"), 24}}, holder_of, held_in};

  // Answers a request that needs no allocator; fails the test otherwise.
  ApiReply now(const char* path, const std::string& body) {
    IpamApi::Outcome out = api_.handle(path, body);
    EXPECT_TRUE(out.reply.has_value()) << path << " " << body;
    return out.reply.value_or(ApiReply{0, ""});
  }
  json ok(const char* path, const std::string& body) {
    ApiReply r = now(path, body);
    EXPECT_EQ(r.status, 200u) << r.body;
    return json::parse(r.body);
  }
  std::string err(const char* path, const std::string& body) {
    ApiReply r = now(path, body);
    EXPECT_NE(r.status, 200u) << r.body;
    json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("Err") ? j["Err"].get<std::string>() : "(no Err)";
  }
  std::string pool(const std::string& subnet, const std::string& sub = "") {
    return ok("/IpamDriver.RequestPool", json{{"AddressSpace", "weavelocal"},
                                              {"Pool", subnet},
                                              {"SubPool", sub},
                                              {"Options", nullptr},
                                              {"V6", false}}
                                             .dump())["PoolID"];
  }
};

TEST_F(IpamApiTest, HandshakeEndpointsAnswerWithJsonBodies) {
  EXPECT_EQ(ok("/Plugin.Activate", "")["Implements"], json::array({"IpamDriver"}));
  json caps = ok("/IpamDriver.GetCapabilities", "");
  EXPECT_EQ(caps["RequiresMACAddress"], false);
  EXPECT_EQ(caps["RequiresRequestReplay"], false);
  json spaces = ok("/IpamDriver.GetDefaultAddressSpaces", "");
  EXPECT_EQ(spaces["LocalDefaultAddressSpace"], "weavelocal");
  EXPECT_EQ(spaces["GlobalDefaultAddressSpace"], "weaveglobal");
}

TEST_F(IpamApiTest, RequestPoolWithASubnetIsReferenceCounted) {
  IpamApi::Outcome first = api_.handle("/IpamDriver.RequestPool",
                                       R"({"Pool":"10.32.1.0/24","SubPool":"","Options":null})");
  ASSERT_TRUE(first.reply);
  EXPECT_EQ(json::parse(first.reply->body)["PoolID"], "weave-10.32.1.0/24");
  EXPECT_EQ(json::parse(first.reply->body)["Pool"], "10.32.1.0/24");
  ASSERT_EQ(first.writes.size(), 1u);
  EXPECT_EQ(first.writes[0].key, "p/weave-10.32.1.0/24");
  EXPECT_EQ(pool("10.32.1.0/24"), "weave-10.32.1.0/24");
  EXPECT_EQ(api_.pools().at("weave-10.32.1.0/24").refs, 2u);
  ok("/IpamDriver.ReleasePool", R"({"PoolID":"weave-10.32.1.0/24"})");
  EXPECT_EQ(api_.pools().size(), 1u);
  ok("/IpamDriver.ReleasePool", R"({"PoolID":"weave-10.32.1.0/24"})");
  EXPECT_TRUE(api_.pools().empty());
  ok("/IpamDriver.ReleasePool", R"({"PoolID":"weave-10.32.1.0/24"})");  // idempotent
  ok("/IpamDriver.ReleasePool", R"({"PoolID":"never-issued"})");
}

TEST_F(IpamApiTest, NetworksWithoutASubnetEachGetTheirOwn) {
  std::string a = pool("");
  std::string b = pool("");
  EXPECT_EQ(a, "weave-10.32.0.0/24");
  EXPECT_EQ(b, "weave-10.32.1.0/24");
  ok("/IpamDriver.ReleasePool", json{{"PoolID", a}}.dump());
  EXPECT_EQ(pool(""), "weave-10.32.0.0/24");  // free again once released
  json sized = ok("/IpamDriver.RequestPool", R"({"Pool":"","Options":{"size":"28"}})");
  EXPECT_EQ(sized["Pool"], "10.32.2.0/28");
}

TEST_F(IpamApiTest, AutomaticSubnetsAvoidExplicitPools) {
  pool("10.32.0.0/23");
  EXPECT_EQ(pool(""), "weave-10.32.2.0/24");
}

TEST_F(IpamApiTest, AutomaticSubnetsRunOutWithAClearError) {
  IpamApi small({{cidr("10.32.0.0/12"), cidr("10.32.0.0/23"), 24}}, holder_of, held_in);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(small.handle("/IpamDriver.RequestPool", "{}").reply);
  }
  IpamApi::Outcome out = small.handle("/IpamDriver.RequestPool", "{}");
  ASSERT_TRUE(out.reply);
  EXPECT_EQ(out.reply->status, 500u);
  EXPECT_NE(out.reply->body.find("no free /24 left in the default subnet 10.32.0.0/23"),
            std::string::npos);
  EXPECT_TRUE(out.writes.empty());
}

// The first free subnet is computed by jumping past pools, not by walking every candidate:
// here 2^19 /32 candidates lie under the first pool, and an unbounded walk would take
// seconds per request (2^80 steps for an IPv6 /128 in a /48).
TEST_F(IpamApiTest, AutomaticSubnetsSkipPoolsWithoutWalkingEveryCandidate) {
  pool("10.32.0.0/13");
  pool("10.40.0.0/24");
  pool("10.40.2.0/23");
  auto sized = [&](const char* size) {
    return ok("/IpamDriver.RequestPool", json{{"Options", {{"size", size}}}}.dump())["Pool"]
        .get<std::string>();
  };
  EXPECT_EQ(sized("32"), "10.40.1.0/32");
  EXPECT_EQ(sized("24"), "10.40.4.0/24");  // 10.40.1.0/24 overlaps the /32 now
  EXPECT_NE(err("/IpamDriver.RequestPool", R"({"Options":{"size":"13"}})").find("no free /13"),
            std::string::npos);
}

// Walking candidates one by one would take 2^79 steps here and never finish.
TEST(FirstFreeBlockTest, AnIpv6SpaceOfSingleAddressesIsSearchedInAFewJumps) {
  auto cidr = [](const char* text) { return *ring::Cidr::parse(text); };
  ring::Cidr space = cidr("fd00:32::/48");
  std::vector<ring::Cidr> taken{cidr("fd00:32::/49"), cidr("fd00:32:0:8000::/50"),
                                cidr("fd00:32:0:c000::/128")};
  Result<ring::Cidr> free = first_free_block(space, 128, taken);
  ASSERT_TRUE(free.ok()) << free.status().to_string();
  EXPECT_EQ(free->to_string(), "fd00:32:0:c000::1/128");
  EXPECT_EQ(first_free_block(space, 64, taken)->to_string(), "fd00:32:0:c001::/64");
  // The whole space taken: exhausted, at once.
  EXPECT_FALSE(first_free_block(space, 128, {cidr("fd00:32::/48")}).ok());
  EXPECT_FALSE(
      first_free_block(space, 49, {cidr("fd00:32::/49"), cidr("fd00:32:0:c000::/50")}).ok());
}

TEST_F(IpamApiTest, DeeplyNestedOrHugeBodiesAreRefusedAndChangeNothing) {
  std::string deep(60000, '[');
  EXPECT_NE(err("/IpamDriver.RequestPool", deep).find("nests deeper"), std::string::npos);
  std::string deep_object = "{\"Pool\":" + std::string(5000, '{');
  EXPECT_NE(err("/IpamDriver.RequestPool", deep_object).find("nests deeper"), std::string::npos);
  std::string huge = "{\"Pool\":\"" + std::string(IpamApi::kMaxBodyBytes, 'x') + "\"}";
  EXPECT_NE(err("/IpamDriver.RequestPool", huge).find("larger than"), std::string::npos);
  // Brackets inside strings are not nesting.
  std::string bracketed = "{\"Pool\":\"" + std::string(1000, '[') + "\"}";
  EXPECT_NE(err("/IpamDriver.RequestPool", bracketed).find("[[["), std::string::npos);
  EXPECT_TRUE(api_.pools().empty());
}

TEST_F(IpamApiTest, StoredPoolsOfTheWrongShapeAreRefusedNeverAborted) {
  for (const char* value :
       {R"({"subnet":"10.32.5.0/24","refs":1,"automatic":"yes"})",
        R"({"subnet":"10.32.5.0/24","refs":1,"sub_pool":7})",
        R"({"subnet":"10.32.5.0/24","refs":-1})", R"({"subnet":"10.32.5.0/24","refs":1e40})",
        R"({"subnet":"10.32.5.0/24","refs":99999999999})", R"({"subnet":5,"refs":1})", "[]", "",
        "{\"subnet\":", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}) {
    IpamApi restored({{cidr("10.32.0.0/12"), cidr("10.32.0.0/12"), 24}}, holder_of, held_in);
    Status s = restored.restore({{"p/weave-10.32.5.0/24", value}});
    EXPECT_EQ(s.code(), Code::kCorruption) << value;
    EXPECT_NE(s.message().find("p/weave-10.32.5.0/24"), std::string::npos) << s.message();
  }
}

TEST_F(IpamApiTest, RequestPoolRefusesBadSubnets) {
  EXPECT_EQ(err("/IpamDriver.RequestPool", R"({"Pool":"10.64.0.0/16"})"),
            "range 10.64.0.0/16 is outside the allocation range 10.32.0.0/12");
  EXPECT_EQ(err("/IpamDriver.RequestPool", R"({"Pool":"10.32.0.1/16"})"),
            "10.32.0.1/16 has host bits set; did you mean 10.32.0.0/16?");
  EXPECT_NE(err("/IpamDriver.RequestPool", R"({"Pool":"banana"})").find("banana"),
            std::string::npos);
  EXPECT_EQ(err("/IpamDriver.RequestPool", R"({"Pool":"","SubPool":"10.32.0.0/24"})"),
            "a sub-pool (--ip-range) needs a pool (--subnet)");
  EXPECT_EQ(err("/IpamDriver.RequestPool", R"({"Pool":"10.32.0.0/24","SubPool":"10.32.1.0/25"})"),
            "sub-pool 10.32.1.0/25 is outside the pool 10.32.0.0/24");
  EXPECT_NE(err("/IpamDriver.RequestPool", R"({"Pool":"","V6":true})").find("IPv6"),
            std::string::npos);
  EXPECT_NE(err("/IpamDriver.RequestPool", R"({"Pool":"","Options":{"size":"8"}})").find("size"),
            std::string::npos);
  EXPECT_NE(err("/IpamDriver.RequestPool", R"({"Pool":"","Options":{"size":7}})").find("size"),
            std::string::npos);
  EXPECT_TRUE(api_.pools().empty());
}

TEST_F(IpamApiTest, WrongTypesAndMalformedBodiesAreRefused) {
  for (const char* body : {"", "{", "[]", "null", "42", R"({"Pool":5})", R"({"SubPool":[]})",
                           R"({"Options":"x"})", R"({"V6":"yes"})", "{\"Pool\":\"\xff\"}"}) {
    ApiReply r = now("/IpamDriver.RequestPool", body);
    EXPECT_EQ(r.status, 400u) << body;
    EXPECT_TRUE(json::parse(r.body, nullptr, false).contains("Err")) << body;
  }
  EXPECT_TRUE(api_.pools().empty());
  for (const char* body : {"{", R"({"PoolID":7})", R"({"PoolID":"weave-10.32.0.0/24","Address":1})",
                           R"({"PoolID":"weave-10.32.0.0/24","Options":[]})"}) {
    EXPECT_EQ(now("/IpamDriver.RequestAddress", body).status, 400u) << body;
  }
  std::string big(IpamApi::kMaxBodyBytes + 1, ' ');
  EXPECT_EQ(now("/IpamDriver.RequestPool", big).status, 400u);
}

TEST_F(IpamApiTest, UnknownPathIs404WithErr) {
  ApiReply r = now("/IpamDriver.Nope", "{}");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(json::parse(r.body)["Err"], "unknown endpoint /IpamDriver.Nope");
}

TEST_F(IpamApiTest, DynamicRequestBecomesAnAnonymousAllocationInThePool) {
  std::string id = pool("10.32.5.0/24", "10.32.5.128/25");
  IpamApi::Outcome out =
      api_.handle("/IpamDriver.RequestAddress",
                  json{{"PoolID", id}, {"Address", ""}, {"Options", nullptr}}.dump());
  ASSERT_TRUE(out.command);
  const auto& allocate = std::get<ring::AllocateCommand>(*out.command);
  EXPECT_EQ(allocate.owner, "");
  EXPECT_EQ(allocate.subnet.to_string(), "10.32.5.0/24");
  ASSERT_TRUE(allocate.within);
  EXPECT_EQ(allocate.within->to_string(), "10.32.5.128/25");
  ring::Reply reply;
  reply.addresses = {ring::Cidr(*ring::Address::parse("10.32.5.129"), 12)};
  ApiReply answer = out.finish(reply);
  EXPECT_EQ(answer.status, 200u);
  EXPECT_EQ(json::parse(answer.body)["Address"], "10.32.5.129/24");  // the pool's prefix
  reply.status = Status::exhausted("no free addresses left");
  ApiReply failed = out.finish(reply);
  EXPECT_EQ(failed.status, 500u);
  EXPECT_EQ(json::parse(failed.body)["Err"], "no free addresses left");
}

TEST_F(IpamApiTest, SpecificAddressBecomesAClaimAndMustLieInThePool) {
  std::string id = pool("10.32.5.0/24");
  IpamApi::Outcome out =
      api_.handle("/IpamDriver.RequestAddress",
                  json{{"PoolID", id},
                       {"Address", "10.32.5.7"},
                       {"Options", {{"RequestAddressType", "com.docker.network.gateway"}}}}
                      .dump());
  ASSERT_TRUE(out.command);
  EXPECT_EQ(std::get<ring::ClaimCommand>(*out.command).address.to_string(), "10.32.5.7/24");
  // A gateway is recorded under its pool, so reconcile can tell it from a leaked address.
  EXPECT_EQ(std::get<ring::ClaimCommand>(*out.command).owner, "gateway:" + id);
  // Every host's network names the same gateway: it is offered for sharing (shares.h).
  EXPECT_EQ(std::get<ring::ClaimCommand>(*out.command).sharing, ring::Sharing::kOffer);
  out = api_.handle("/IpamDriver.RequestAddress", json{{"PoolID", id}, {"Address", ""}}.dump());
  ASSERT_TRUE(out.command);
  EXPECT_EQ(std::get<ring::AllocateCommand>(*out.command).owner, "");
  EXPECT_FALSE(std::get<ring::AllocateCommand>(*out.command).offer_share);
  // A plain --ip only joins what a swarm manager offered elsewhere; it offers nothing.
  out = api_.handle("/IpamDriver.RequestAddress",
                    json{{"PoolID", id}, {"Address", "10.32.5.8"}}.dump());
  ASSERT_TRUE(out.command);
  EXPECT_EQ(std::get<ring::ClaimCommand>(*out.command).sharing, ring::Sharing::kJoin);
  EXPECT_EQ(
      err("/IpamDriver.RequestAddress", json{{"PoolID", id}, {"Address", "10.32.6.7"}}.dump()),
      "address 10.32.6.7 is outside the pool 10.32.5.0/24");
  EXPECT_NE(err("/IpamDriver.RequestAddress", json{{"PoolID", id}, {"Address", "10.32.5"}}.dump())
                .find("10.32.5"),
            std::string::npos);
  EXPECT_NE(err("/IpamDriver.RequestAddress", R"({"PoolID":"weave-10.99.0.0/24","Address":""})")
                .find("unknown pool"),
            std::string::npos);
}

TEST_F(IpamApiTest, ReleaseAddressIsIdempotentAndHarmlessForUnknowns) {
  std::string id = pool("10.32.5.0/24");
  g_held[*ring::Address::parse("10.32.5.7")] = "10.32.5.7";
  IpamApi::Outcome out = api_.handle("/IpamDriver.ReleaseAddress",
                                     json{{"PoolID", id}, {"Address", "10.32.5.7"}}.dump());
  ASSERT_TRUE(out.command);
  EXPECT_EQ(std::get<ring::ReleaseCommand>(*out.command).address.to_string(), "10.32.5.7");
  EXPECT_EQ(out.finish(ring::Reply{}).status, 200u);
  g_held.clear();  // already free: nothing to do, and still a success
  ok("/IpamDriver.ReleaseAddress", json{{"PoolID", id}, {"Address", "10.32.5.7"}}.dump());
  ok("/IpamDriver.ReleaseAddress", R"({"PoolID":"weave-10.99.0.0/24","Address":"10.99.0.1"})");
  ok("/IpamDriver.ReleaseAddress", json{{"PoolID", id}, {"Address", "10.33.0.1"}}.dump());
  EXPECT_NE(
      err("/IpamDriver.ReleaseAddress", json{{"PoolID", id}, {"Address", "x"}}.dump()).find("'x'"),
      std::string::npos);
}

// dockerd's ReleaseAddress names no container, so it frees only what the plugin gave out in
// that pool, and only while that same owner holds it: never a CNI, admin or peer
// reservation, nor another pool's gateway, that shares the address.
TEST_F(IpamApiTest, ReleaseAddressFreesOnlyThePluginsOwnAllocationAndOnlyWhileItsOwnerHoldsIt) {
  std::string id = pool("10.32.5.0/24");
  const std::string container(64, 'c');
  auto release = [&](const char* address) {
    return api_.handle("/IpamDriver.ReleaseAddress",
                       json{{"PoolID", id}, {"Address", address}}.dump());
  };
  auto owner_released = [&](const char* address) -> std::optional<std::string> {
    IpamApi::Outcome out = release(address);
    if (!out.command) {
      EXPECT_EQ(out.reply->status, 200u);
      return std::nullopt;
    }
    return std::get<ring::ReleaseCommand>(*out.command).owner;
  };
  g_held[*ring::Address::parse("10.32.5.2")] = "10.32.5.2";
  g_held[*ring::Address::parse("10.32.5.3")] = container;
  g_held[*ring::Address::parse("10.32.5.1")] = "gateway:" + id;
  g_held[*ring::Address::parse("10.32.5.4")] = "cni:pods:abc:eth0";
  g_held[*ring::Address::parse("10.32.5.5")] = "peer:00:00:00:00:00:02";
  g_held[*ring::Address::parse("10.32.5.6")] = "gateway:weave-10.32.6.0/24";
  g_held[*ring::Address::parse("10.32.5.7")] = "my-script";
  EXPECT_EQ(owner_released("10.32.5.2"), "10.32.5.2");
  EXPECT_EQ(owner_released("10.32.5.3"), container);
  EXPECT_EQ(owner_released("10.32.5.1"), "gateway:" + id);
  EXPECT_EQ(owner_released("10.32.5.4"), std::nullopt);
  EXPECT_EQ(owner_released("10.32.5.5"), std::nullopt);
  EXPECT_EQ(owner_released("10.32.5.6"), std::nullopt);
  EXPECT_EQ(owner_released("10.32.5.7"), std::nullopt);
  EXPECT_NE(release("10.32.5.4").note.find("cni:pods:abc:eth0"), std::string::npos);
}

TEST_F(IpamApiTest, ALeakedPoolIsForgottenAndEveryRequestGivesANewGeneration) {
  std::string id = pool("10.32.5.0/24");
  std::uint64_t first = api_.pools().at(id).generation;
  pool("10.32.5.0/24");
  EXPECT_NE(api_.pools().at(id).generation, first);
  std::vector<ring::StoreWrite> writes = api_.forget_pool(id);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].key, "p/" + id);
  EXPECT_FALSE(writes[0].value.has_value());
  EXPECT_TRUE(api_.pools().empty());
  EXPECT_TRUE(api_.forget_pool(id).empty());
}

TEST_F(IpamApiTest, PoolTableSurvivesARestore) {
  std::map<std::string, std::string> store;
  auto keep = [&](const IpamApi::Outcome& out) {
    for (const ring::StoreWrite& w : out.writes) {
      if (w.value) {
        store[w.key] = *w.value;
      } else {
        store.erase(w.key);
      }
    }
  };
  keep(api_.handle("/IpamDriver.RequestPool",
                   R"({"Pool":"10.32.5.0/24","SubPool":"10.32.5.0/25"})"));
  keep(api_.handle("/IpamDriver.RequestPool", "{}"));
  IpamApi restored({{cidr("10.32.0.0/12"), cidr("10.32.0.0/12"), 24}}, holder_of, held_in);
  ASSERT_TRUE(restored.restore(store).ok());
  EXPECT_EQ(restored.pools().size(), 2u);
  EXPECT_EQ(restored.pools().at("weave-10.32.5.0/24-10.32.5.0/25").sub_pool->to_string(),
            "10.32.5.0/25");
  IpamApi::Outcome next = restored.handle("/IpamDriver.RequestPool", "{}");
  EXPECT_EQ(json::parse(next.reply->body)["Pool"], "10.32.1.0/24");
}

TEST_F(IpamApiTest, CorruptStoredPoolIsRefused) {
  for (const char* value : {"", "{", R"({"subnet":"x","refs":1})", R"({"subnet":"10.32.0.0/24"})",
                            R"({"subnet":"10.32.0.0/24","refs":-1})"}) {
    IpamApi restored({{cidr("10.32.0.0/12"), cidr("10.32.0.0/12"), 24}}, holder_of, held_in);
    Status s = restored.restore({{"p/weave-x", value}});
    EXPECT_EQ(s.code(), Code::kCorruption) << value;
  }
}

// Swarm (issue 17): the manager allocates the pool, gateway and task addresses through us;
// then the node running a task asks for the same pool and, as static addresses, the same
// gateway and task address. Those re-requests are the same allocation, counted, so the
// address is freed only by the last of the releases. Local networks are unchanged.
class SwarmIpamTest : public IpamApiTest {
 protected:
  std::string swarm_pool() {
    return ok("/IpamDriver.RequestPool",
              json{{"AddressSpace", "weaveglobal"}, {"Pool", "10.32.51.0/24"}, {"Options", {}}}
                  .dump())["PoolID"];
  }
  IpamApi::Outcome ask(const std::string& id, const std::string& address, bool gateway) {
    json options = gateway ? json{{"RequestAddressType", "com.docker.network.gateway"}} : json();
    return api_.handle("/IpamDriver.RequestAddress",
                       json{{"PoolID", id}, {"Address", address}, {"Options", options}}.dump());
  }
  IpamApi::Outcome release(const std::string& id, const std::string& address) {
    return api_.handle("/IpamDriver.ReleaseAddress",
                       json{{"PoolID", id}, {"Address", address}}.dump());
  }
  IpamApi::Outcome manager_asks(const std::string& id, const std::string& address) {
    return api_.handle("/IpamDriver.RequestAddress",
                       json{{"PoolID", id},
                            {"Address", address},
                            {"Options", {{"com.docker.network.ipam.serial", "true"}}}}
                           .dump());
  }
  static ring::Address addr(const char* text) { return *ring::Address::parse(text); }
};

TEST_F(SwarmIpamTest, ANodesReRequestOfTheManagersAddressesIsTheSameAllocation) {
  std::string id = swarm_pool();
  EXPECT_EQ(swarm_pool(), id);  // the node's RequestPool for the manager's subnet
  EXPECT_TRUE(api_.pools().at(id).swarm);
  IpamApi::Outcome task = ask(id, "", false);  // the manager's allocations are offered
  ASSERT_TRUE(task.command);
  EXPECT_TRUE(std::get<ring::AllocateCommand>(*task.command).offer_share);
  g_held[addr("10.32.51.1")] = IpamApi::kGatewayOwnerPrefix + id;  // the manager's gateway
  g_held[addr("10.32.51.2")] = "10.32.51.2";                       // a task's address
  for (auto [address, gateway] : {std::pair{"10.32.51.1", true}, std::pair{"10.32.51.2", false}}) {
    IpamApi::Outcome again = ask(id, address, gateway);
    ASSERT_TRUE(again.reply) << address << ": went to the allocator as a claim";
    EXPECT_EQ(again.reply->status, 200u) << again.reply->body;
    EXPECT_EQ(json::parse(again.reply->body)["Address"], std::string(address) + "/24");
    ASSERT_EQ(again.writes.size(), 1u);  // the count is durable before the answer
  }
  EXPECT_EQ(api_.pools().at(id).rerequests.at(addr("10.32.51.2")), 1u);
  IpamApi::Outcome first = release(id, "10.32.51.2");  // the node's, or the manager's
  ASSERT_TRUE(first.reply);
  EXPECT_FALSE(first.command) << "the first of two releases freed the address";
  IpamApi::Outcome last = release(id, "10.32.51.2");
  ASSERT_TRUE(last.command);
  auto* freed = std::get_if<ring::ReleaseCommand>(&*last.command);
  ASSERT_NE(freed, nullptr);
  EXPECT_EQ(freed->address, addr("10.32.51.2"));
  EXPECT_EQ(freed->owner, std::optional<std::string>("10.32.51.2"));
}

TEST_F(SwarmIpamTest, OnlyTheLastReleasePoolOfASwarmPoolRetiresItsAddresses) {
  std::string id = swarm_pool();
  swarm_pool();  // the node's
  auto release_pool = [&](const std::string& pool_id) {
    return api_.handle("/IpamDriver.ReleasePool", json{{"PoolID", pool_id}}.dump());
  };
  EXPECT_FALSE(release_pool(id).retired_swarm_pool) << "the manager still has the network";
  IpamApi::Outcome last = release_pool(id);
  ASSERT_TRUE(last.retired_swarm_pool);
  EXPECT_EQ(last.retired_swarm_pool->id, id);
  EXPECT_EQ(last.retired_swarm_pool->subnet.to_string(), "10.32.51.0/24");
  std::string local = pool("10.32.52.0/24");
  EXPECT_FALSE(release_pool(local).retired_swarm_pool) << "a local pool's leaks are reconcile's";
  // What a retired pool frees: only what dockerd's calls in that pool created.
  EXPECT_TRUE(IpamApi::dockerd_owns(id, addr("10.32.51.4"), "10.32.51.4"));
  EXPECT_TRUE(IpamApi::dockerd_owns(id, addr("10.32.51.1"), IpamApi::kGatewayOwnerPrefix + id));
  EXPECT_FALSE(IpamApi::dockerd_owns(id, addr("10.32.51.3"), "cni:net:c1:eth0"));
  EXPECT_FALSE(IpamApi::dockerd_owns(id, addr("10.32.51.1"), IpamApi::kGatewayOwnerPrefix + local));
}

TEST_F(SwarmIpamTest, TheManagersOwnReRequestAfterARestartAddsNoHold) {
  std::string id = swarm_pool();
  g_held[addr("10.32.51.2")] = "10.32.51.2";
  EXPECT_EQ(swarm_pool(), id);  // the restarted manager asks for its pool again, then restores
  IpamApi::Outcome restore = manager_asks(id, "10.32.51.2");
  ASSERT_TRUE(restore.reply);
  EXPECT_EQ(restore.reply->status, 200u);
  EXPECT_TRUE(api_.pools().at(id).rerequests.empty());
  EXPECT_TRUE(release(id, "10.32.51.2").command) << "its one release frees it";
}

// A `docker run --ip A` on an attachable overlay reaches us as the manager's request: when A
// is a task's, it is a claim of an address in use (Docker's own IPAM refuses it too).
TEST_F(SwarmIpamTest, AManagersRequestForAHeldAddressIsAClaimUnlessItRestoresIt) {
  std::string id = swarm_pool();
  g_held[addr("10.32.51.2")] = "10.32.51.2";  // a task's address
  IpamApi::Outcome claim = manager_asks(id, "10.32.51.2");
  ASSERT_TRUE(claim.command) << "answered as the same allocation: a duplicate";
  ASSERT_TRUE(std::holds_alternative<ring::ClaimCommand>(*claim.command));
  // What the manager holds is offered to the workers that run its tasks.
  EXPECT_EQ(std::get<ring::ClaimCommand>(*claim.command).sharing, ring::Sharing::kOffer);
  swarm_pool();                               // the manager restarts and asks again
  g_held[addr("10.32.51.3")] = "10.32.51.3";  // held after that: not restored by it
  EXPECT_TRUE(manager_asks(id, "10.32.51.2").reply) << "its restore";
  EXPECT_TRUE(manager_asks(id, "10.32.51.2").command) << "a second one is a claim again";
  EXPECT_TRUE(manager_asks(id, "10.32.51.3").command);
  g_held[addr("10.32.51.4")] = "10.32.51.4";
  swarm_pool();  // restarted again: 10.32.51.2, .3 and .4 may be restored
  EXPECT_TRUE(manager_asks(id, "10.32.51.3").reply);
  EXPECT_TRUE(manager_asks(id, "").command);  // its first new allocation: the restore is over
  EXPECT_TRUE(manager_asks(id, "10.32.51.4").command) << "a stale restore let a claim through";
}

TEST_F(SwarmIpamTest, OtherClaimsInASwarmPoolAndEveryClaimInALocalPoolGoToTheAllocator) {
  std::string id = swarm_pool();
  g_held[addr("10.32.51.1")] = IpamApi::kGatewayOwnerPrefix + id;
  g_held[addr("10.32.51.3")] = "cni:net:c1:eth0";
  EXPECT_TRUE(ask(id, "10.32.51.1", false).command) << "a task may not re-request the gateway";
  EXPECT_TRUE(ask(id, "10.32.51.3", false).command) << "a CNI address is no re-request";
  EXPECT_TRUE(ask(id, "10.32.51.4", false).command) << "a free address is claimed as usual";
  std::string local = pool("10.32.52.0/24");
  g_held[addr("10.32.52.5")] = "10.32.52.5";
  EXPECT_TRUE(ask(local, "10.32.52.5", false).command) << "a local --ip of a used address";
  EXPECT_TRUE(api_.pools().at(local).rerequests.empty());
}

TEST_F(SwarmIpamTest, ANodesLocalRequestForASwarmSubnetIsTheSwarmPool) {
  std::string id = swarm_pool();
  // What dockerd 20.10 sends when a node re-creates the overlay for a task.
  EXPECT_EQ(pool("10.32.51.0/24"), id);
  EXPECT_TRUE(api_.pools().at(id).swarm);
  EXPECT_EQ(api_.pools().at(id).refs, 2u);
  pool("10.32.53.0/24");
  EXPECT_NE(
      err("/IpamDriver.RequestPool", R"({"AddressSpace":"weaveglobal","Pool":"10.32.53.0/24"})")
          .find("in use by a local network"),
      std::string::npos);
  EXPECT_FALSE(api_.pools().at("weave-10.32.53.0/24").swarm);
}

TEST_F(SwarmIpamTest, TheCountsSurviveARestoreAndBadOnesAreRefused) {
  std::string id = swarm_pool();
  g_held[addr("10.32.51.2")] = "10.32.51.2";
  IpamApi::Outcome again = ask(id, "10.32.51.2", false);
  ASSERT_EQ(again.writes.size(), 1u);
  IpamApi restored({{cidr("10.32.0.0/12"), cidr("10.32.0.0/12"), 24}}, holder_of, held_in);
  ASSERT_TRUE(restored.restore({{again.writes[0].key, *again.writes[0].value}}).ok());
  EXPECT_TRUE(restored.pools().at(id).swarm);
  EXPECT_EQ(restored.pools().at(id).rerequests.at(addr("10.32.51.2")), 1u);
  for (const char* value :
       {R"({"subnet":"10.32.51.0/24","refs":1,"swarm":1})",
        R"({"subnet":"10.32.51.0/24","refs":1,"swarm":true,"rerequests":{"10.99.0.1":1}})",
        R"({"subnet":"10.32.51.0/24","refs":1,"swarm":true,"rerequests":{"10.32.51.2":0}})",
        R"({"subnet":"10.32.51.0/24","refs":1,"swarm":true,"rerequests":[]})"}) {
    IpamApi bad({{cidr("10.32.0.0/12"), cidr("10.32.0.0/12"), 24}}, holder_of, held_in);
    EXPECT_EQ(bad.restore({{"p/" + id, value}}).code(), Code::kCorruption) << value;
  }
}

}  // namespace
}  // namespace wipam::driver

namespace wipam::driver {
namespace {

// A dual-stack peer: an IPv4 and an IPv6 range, each with its own default subnet.
class DualStackIpamApiTest : public IpamApiTest {
 protected:
  IpamApi dual_{{{cidr("10.32.0.0/12"), cidr("10.32.0.0/12"), 24},
                 {cidr("fd00:32::/48"), cidr("fd00:32::/48"), 64}},
                holder_of,
                held_in};
  IpamApi::Outcome call(const char* path, const json& body) {
    return dual_.handle(path, body.dump());
  }
  json pool_of(const json& request) {
    IpamApi::Outcome out = call("/IpamDriver.RequestPool", request);
    EXPECT_TRUE(out.reply && out.reply->status == 200) << (out.reply ? out.reply->body : "");
    return json::parse(out.reply->body);
  }
};

TEST_F(DualStackIpamApiTest, AnIpv6PoolWithoutASubnetGetsASlash64OfItsOwn) {
  json a = pool_of({{"AddressSpace", "weavelocal"}, {"Pool", ""}, {"V6", true}});
  json b = pool_of({{"AddressSpace", "weavelocal"}, {"Pool", ""}, {"V6", true}});
  json v4 = pool_of({{"AddressSpace", "weavelocal"}, {"Pool", ""}, {"V6", false}});
  EXPECT_EQ(a["Pool"], "fd00:32::/64");
  EXPECT_EQ(b["Pool"], "fd00:32:0:1::/64");
  EXPECT_EQ(v4["Pool"], "10.32.0.0/24");  // the families' pools do not crowd each other
  // An address in it is allocated from the IPv6 range, prefix /64.
  IpamApi::Outcome out = call("/IpamDriver.RequestAddress", {{"PoolID", a["PoolID"]}});
  ASSERT_TRUE(out.command.has_value());
  const auto& allocate = std::get<ring::AllocateCommand>(*out.command);
  EXPECT_EQ(allocate.subnet, cidr("fd00:32::/64"));
  ring::Reply reply{1, Status(), {cidr("fd00:32::5/128")}, ""};
  EXPECT_EQ(json::parse(out.finish(reply).body)["Address"], "fd00:32::5/64");
}

TEST_F(DualStackIpamApiTest, ANamedPoolIsOfItsOwnFamilyWhateverV6Says) {
  // A swarm manager's RequestPool says V6 false for an IPv6 overlay too.
  json p = pool_of({{"AddressSpace", "weaveglobal"}, {"Pool", "fd00:32:0:5::/64"}, {"V6", false}});
  EXPECT_EQ(p["Pool"], "fd00:32:0:5::/64");
  IpamApi::Outcome claim =
      call("/IpamDriver.RequestAddress", {{"PoolID", p["PoolID"]}, {"Address", "fd00:32:0:5::9"}});
  ASSERT_TRUE(claim.command.has_value());
  EXPECT_EQ(std::get<ring::ClaimCommand>(*claim.command).address, cidr("fd00:32:0:5::9/64"));
  IpamApi::Outcome outside = call("/IpamDriver.RequestPool", {{"Pool", "fd00:99::/64"}});
  ASSERT_TRUE(outside.reply.has_value());
  EXPECT_NE(outside.reply->body.find("outside the allocation range fd00:32::/48"),
            std::string::npos);
}

TEST_F(IpamApiTest, WithoutAnIpv6RangeV6PoolsFailNamingTheFlag) {
  std::string why = err("/IpamDriver.RequestPool", R"({"Pool":"","V6":true})");
  EXPECT_NE(why.find("no IPv6 allocation range is configured"), std::string::npos) << why;
  EXPECT_NE(why.find("--ipalloc-range"), std::string::npos) << why;
  EXPECT_NE(err("/IpamDriver.RequestPool", R"({"Pool":"fd00::/64"})").find("--ipalloc-range"),
            std::string::npos);
}

}  // namespace
}  // namespace wipam::driver
