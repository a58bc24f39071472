// The CNI plugin without a daemon: parse_cni_request() against the spec's environment and
// configuration rules and its error codes, the result and error renderings per cniVersion,
// and run_cni() against a scripted fake of the admin socket (what it asks, in which order,
// what it gives back when ADD fails halfway, what GC releases: only its own network's stale
// attachments, never another network's or a legacy owner; how DEL and CHECK treat owners
// from before issue #11; how STATUS and DEL fail when the daemon does not answer).
#include "driver/client/cni.h"

#include <deque>
#include <map>

#include <gtest/gtest.h>

namespace wipam::driver {
namespace {

using nlohmann::json;

using Env = std::map<std::string, std::string>;

EnvLookup lookup(const Env& env) {
  return [env](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

Env add_env(const std::string& command = "ADD") {
  return {{"CNI_COMMAND", command},
          {"CNI_CONTAINERID", "c0ffee"},
          {"CNI_NETNS", "/var/run/netns/c0ffee"},
          {"CNI_IFNAME", "eth0"},
          {"CNI_PATH", "/opt/cni/bin"}};
}

json config(const std::string& version = "1.1.0") {
  return {{"cniVersion", version},
          {"name", "mynet"},
          {"type", "bridge"},
          {"ipam",
           {{"type", "weave-ipam-cni"},
            {"subnet", "10.32.1.0/24"},
            {"gateway", "10.32.1.1"},
            {"routes", json::array({{{"dst", "0.0.0.0/0"}}})},
            {"admin_socket", "/tmp/a.sock"}}}};
}

CniRequest parsed(const Env& env, const json& conf) {
  CniResult<CniRequest> r = parse_cni_request(lookup(env), conf.dump());
  if (auto* e = std::get_if<CniError>(&r)) {
    ADD_FAILURE() << "code " << static_cast<int>(e->code) << ": " << e->msg;
    return CniRequest();
  }
  return std::get<CniRequest>(r);
}

CniError failed(const Env& env, const std::string& stdin_text) {
  CniResult<CniRequest> r = parse_cni_request(lookup(env), stdin_text);
  if (auto* e = std::get_if<CniError>(&r)) {
    return *e;
  }
  ADD_FAILURE() << "parsed: " << stdin_text;
  return CniError();
}

TEST(CniParseTest, AddReadsTheAttachmentAndTheIpamSection) {
  CniRequest r = parsed(add_env(), config());
  EXPECT_EQ(r.command, CniCommand::kAdd);
  EXPECT_EQ(r.network, "mynet");
  EXPECT_EQ(r.owner(), "cni:mynet:c0ffee:eth0");
  EXPECT_EQ(r.legacy_owner(), "cni:c0ffee:eth0");
  EXPECT_EQ(r.ipam.admin_socket, "/tmp/a.sock");
  ASSERT_EQ(r.ipam.ranges.size(), 1u);
  EXPECT_EQ(r.ipam.ranges[0].subnet->to_string(), "10.32.1.0/24");
  EXPECT_EQ(r.ipam.ranges[0].gateway->to_string(), "10.32.1.1");
  EXPECT_EQ(r.ipam.routes, json::array({{{"dst", "0.0.0.0/0"}}}));
  EXPECT_TRUE(r.ips.empty());
}

TEST(CniParseTest, DefaultsWithoutOptionalIpamFields) {
  CniRequest r = parsed(
      add_env(), {{"cniVersion", "1.0.0"}, {"name", "n"}, {"ipam", {{"type", "weave-ipam-cni"}}}});
  EXPECT_EQ(r.ipam.admin_socket, "/run/weave-ipam/admin.sock");
  ASSERT_EQ(r.ipam.ranges.size(), 1u);
  EXPECT_FALSE(r.ipam.ranges[0].subnet.has_value());
  EXPECT_FALSE(r.ipam.ranges[0].gateway.has_value());
  EXPECT_TRUE(r.ipam.routes.empty());
}

TEST(CniParseTest, RequestedAddressesFromAllThreeSourcesGetTheSubnetPrefix) {
  Env env = add_env();
  env["CNI_ARGS"] = "IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.32.1.7,10.32.1.8";
  json conf = config();
  conf["runtimeConfig"] = {{"ips", {"10.32.1.5/24"}}};
  conf["args"] = {{"cni", {{"ips", {"10.32.1.6", "10.32.1.5"}}}}};
  EXPECT_EQ(parsed(env, conf).ips, (std::vector<std::string>{"10.32.1.5/24", "10.32.1.6/24",
                                                             "10.32.1.7/24", "10.32.1.8/24"}));
}

TEST(CniParseTest, WithoutASubnetRequestedAddressesStayAsGiven) {
  Env env = add_env();
  env["CNI_ARGS"] = "IP=10.32.9.9";
  EXPECT_EQ(parsed(env, {{"cniVersion", "1.1.0"}, {"name", "n"}, {"ipam", json::object()}}).ips,
            std::vector<std::string>{"10.32.9.9"});
}

TEST(CniParseTest, VersionNeedsNeitherConfigurationNorAttachment) {
  CniResult<CniRequest> r = parse_cni_request(lookup({{"CNI_COMMAND", "VERSION"}}), "");
  ASSERT_TRUE(std::holds_alternative<CniRequest>(r));
  EXPECT_EQ(std::get<CniRequest>(r).command, CniCommand::kVersion);
}

TEST(CniParseTest, DelNeedsNoNetnsAndIgnoresABrokenIpamConfig) {
  Env env = add_env("DEL");
  env.erase("CNI_NETNS");
  json conf = config();
  conf["ipam"]["subnet"] = "not a subnet";
  CniRequest r = parsed(env, conf);
  EXPECT_EQ(r.owner(), "cni:mynet:c0ffee:eth0");
  EXPECT_EQ(r.ipam.admin_socket, "/tmp/a.sock");
}

// Issue #11: the network's name is part of every owner, so it must be there and must not
// hold ':' (libcni's ValidateNetworkName); STATUS needs none.
TEST(CniParseTest, AMissingOrMalformedNetworkNameIsCode7) {
  for (const char* command : {"ADD", "DEL", "CHECK", "GC"}) {
    json conf = config();
    conf["cni.dev/valid-attachments"] = json::array();
    conf.erase("name");
    Env env = add_env(command);
    CniError e = failed(env, conf.dump());
    EXPECT_EQ(e.code, CniCode::kInvalidConfig) << command;
    EXPECT_NE(e.msg.find("\"name\""), std::string::npos) << e.msg;
    for (json bad : {json("a:b"), json(""), json("-net"), json("has space"), json(7)}) {
      conf["name"] = bad;
      EXPECT_EQ(failed(env, conf.dump()).code, CniCode::kInvalidConfig) << bad.dump();
    }
  }
  json conf = config();
  conf.erase("name");
  EXPECT_EQ(parsed({{"CNI_COMMAND", "STATUS"}}, conf).command, CniCommand::kStatus);
}

TEST(CniParseTest, GcReadsValidAttachmentsUnderEitherName) {
  json conf = config();
  conf["cni.dev/valid-attachments"] = {{{"containerID", "a"}, {"ifname", "eth0"}},
                                       {{"containerID", "b"}}};
  CniRequest r = parsed({{"CNI_COMMAND", "GC"}}, conf);
  ASSERT_EQ(r.valid_attachments.size(), 2u);
  EXPECT_EQ(r.valid_attachments[0].container_id, "a");
  EXPECT_EQ(r.valid_attachments[1].ifname, "");
  conf.erase("cni.dev/valid-attachments");
  conf["cni.dev/attachments"] = json::array();
  EXPECT_TRUE(parsed({{"CNI_COMMAND", "GC"}}, conf).valid_attachments.empty());
}

TEST(CniParseTest, CheckReadsPrevResultAddresses) {
  json conf = config();
  conf["prevResult"] = {{"ips", {{{"address", "10.32.1.5/24"}}}}};
  CniRequest r = parsed(add_env("CHECK"), conf);
  ASSERT_EQ(r.prev_ips.size(), 1u);
  EXPECT_EQ(r.prev_ips[0].to_string(), "10.32.1.5/24");
}

TEST(CniParseTest, MissingOrUnknownCommandIsCode4) {
  EXPECT_EQ(failed({}, "{}").code, CniCode::kInvalidEnvironment);
  CniError e = failed({{"CNI_COMMAND", "EXPLODE"}}, config().dump());
  EXPECT_EQ(e.code, CniCode::kInvalidEnvironment);
  EXPECT_NE(e.msg.find("EXPLODE"), std::string::npos);
}

TEST(CniParseTest, MissingAttachmentVariablesAreCode4) {
  for (const char* name : {"CNI_CONTAINERID", "CNI_IFNAME", "CNI_NETNS"}) {
    Env env = add_env();
    env.erase(name);
    CniError e = failed(env, config().dump());
    EXPECT_EQ(e.code, CniCode::kInvalidEnvironment) << name;
    EXPECT_EQ(e.msg, std::string(name) + " is not set");
    EXPECT_EQ(e.cni_version, "1.1.0");
  }
}

TEST(CniParseTest, MalformedContainerIdInterfaceOrCniArgsAreCode4) {
  for (auto [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"CNI_CONTAINERID", "-starts-with-dash"},
                                                        {"CNI_CONTAINERID", "has/slash"},
                                                        {"CNI_IFNAME", "eth0:1"},
                                                        {"CNI_IFNAME", "a-name-over-15-chars"},
                                                        {"CNI_IFNAME", ".."},
                                                        {"CNI_ARGS", "IP=10.32.1.5;garbage"}}) {
    Env env = add_env();
    env[name] = value;
    EXPECT_EQ(failed(env, config().dump()).code, CniCode::kInvalidEnvironment) << value;
  }
}

TEST(CniParseTest, BadJsonIsCode6) {
  EXPECT_EQ(failed(add_env(), "{not json").code, CniCode::kDecodeFailure);
  EXPECT_EQ(failed(add_env(), "[1, 2]").code, CniCode::kDecodeFailure);
  EXPECT_EQ(failed(add_env(), "").code, CniCode::kDecodeFailure);
}

TEST(CniParseTest, UnsupportedOrMissingVersionIsCode1) {
  EXPECT_EQ(failed(add_env(), config("0.3.1").dump()).code, CniCode::kIncompatibleVersion);
  json conf = config();
  conf.erase("cniVersion");
  EXPECT_EQ(failed(add_env(), conf.dump()).code, CniCode::kIncompatibleVersion);
}

TEST(CniParseTest, GcAndStatusNeedVersion110) {
  json conf = config("1.0.0");
  conf["cni.dev/valid-attachments"] = json::array();
  CniError e = failed({{"CNI_COMMAND", "GC"}}, conf.dump());
  EXPECT_EQ(e.code, CniCode::kIncompatibleVersion);
  EXPECT_EQ(e.cni_version, "1.1.0");  // 1.0.0 was not accepted, so the answer is in ours
  EXPECT_EQ(failed({{"CNI_COMMAND", "STATUS"}}, conf.dump()).code, CniCode::kIncompatibleVersion);
}

TEST(CniParseTest, GcWithoutValidAttachmentsIsRefused) {
  CniError e = failed({{"CNI_COMMAND", "GC"}}, config().dump());
  EXPECT_EQ(e.code, CniCode::kInvalidConfig);
  EXPECT_NE(e.msg.find("cni.dev/valid-attachments"), std::string::npos);
}

TEST(CniParseTest, BadIpamValuesAreCode7InTheRequestsVersion) {
  std::vector<std::pair<std::string, json>> bad = {
      {"ipam", "a string"},
      {"/ipam/subnet", "10.32.1.0/33"},
      {"/ipam/subnet", "10.32.1.5/24"},  // host bits set
      {"/ipam/gateway", "10.99.0.1"},    // outside the subnet
      {"/ipam/gateway", 7},
      {"/ipam/routes", {{"dst", "0.0.0.0/0"}}},  // not a list
      {"/ipam/routes", json::array({{{"gw", "10.32.1.1"}}})},
      {"/ipam/routes", json::array({{{"dst", "0.0.0.0/0"}, {"gw", "nope"}}})},
      {"/ipam/admin_socket", 1},
      {"/runtimeConfig/ips", json::array({"10.99.0.5"})},     // outside the subnet
      {"/runtimeConfig/ips", json::array({"10.32.1.5/16"})},  // another prefix length
      {"/runtimeConfig/ips", json::array({"10.32.1.1"})},     // the gateway
      {"/runtimeConfig/ips", json::array({"10.32.1.255"})},   // broadcast
      {"/runtimeConfig/ips", "10.32.1.5"},
      {"/args/cni/ips", json::array({5})},
      {"/prevResult/ips", json::array({{{"address", "x"}}})},
  };
  for (const auto& [where, value] : bad) {
    json conf = config("1.0.0");
    if (where == "ipam") {
      conf["ipam"] = value;
    } else {
      conf[json::json_pointer(where)] = value;
    }
    CniError e = failed(add_env("CHECK"), conf.dump());
    EXPECT_EQ(e.code, CniCode::kInvalidConfig) << where << " " << value.dump();
    EXPECT_EQ(e.cni_version, "1.0.0");
  }
}

TEST(CniParseTest, InvokedUnderThePluginNameByBasename) {
  EXPECT_TRUE(invoked_as_cni("/opt/cni/bin/weave-ipam-cni"));
  EXPECT_TRUE(invoked_as_cni("weave-ipam-cni"));
  EXPECT_FALSE(invoked_as_cni("/usr/bin/weave-ipam"));
  EXPECT_FALSE(invoked_as_cni("/opt/weave-ipam-cni/weave-ipam"));
}

TEST(CniRenderTest, ResultCarriesGatewayAndRoutes) {
  std::vector<ring::Cidr> ips = {*ring::Cidr::parse("10.32.1.5/24")};
  EXPECT_EQ(render_cni_result("1.1.0", ips, {*ring::Address::parse("10.32.1.1")},
                              json::array({{{"dst", "0.0.0.0/0"}}})),
            R"({"cniVersion":"1.1.0","ips":[{"address":"10.32.1.5/24","gateway":"10.32.1.1"}],)"
            R"("routes":[{"dst":"0.0.0.0/0"}]})"
            "\n");
}

TEST(CniRenderTest, Version040AddsIpVersionAndGatewayOnlyOnItsFamily) {
  std::vector<ring::Cidr> ips = {*ring::Cidr::parse("10.32.1.5/24"),
                                 *ring::Cidr::parse("fd00::5/64")};
  json out = json::parse(
      render_cni_result("0.4.0", ips, {*ring::Address::parse("10.32.1.1")}, json::array()));
  EXPECT_EQ(out["ips"][0]["version"], "4");
  EXPECT_EQ(out["ips"][1]["version"], "6");
  EXPECT_EQ(out["ips"][0]["gateway"], "10.32.1.1");
  EXPECT_FALSE(out["ips"][1].contains("gateway"));
  EXPECT_FALSE(out.contains("routes"));
  EXPECT_FALSE(json::parse(render_cni_result("1.0.0", ips, {}, json::array()))["ips"][0].contains(
      "version"));
}

TEST(CniRenderTest, ErrorAndVersion) {
  EXPECT_EQ(render_cni_error({CniCode::kTryAgainLater, "no daemon", "", "1.0.0"}),
            R"({"cniVersion":"1.0.0","code":11,"msg":"no daemon"})"
            "\n");
  EXPECT_EQ(json::parse(render_cni_error({CniCode::kInvalidConfig, "m", "d", "1.1.0"}))["details"],
            "d");
  EXPECT_EQ(render_cni_version(),
            R"({"cniVersion":"1.1.0","supportedVersions":["0.4.0","1.0.0","1.1.0"]})"
            "\n");
}

// The admin socket, scripted: each call takes the next answer queued for its target.
struct FakeDaemon {
  struct Call {
    std::string method, target;
    json body;
  };
  std::map<std::string, std::deque<Result<AdminAnswer>>> answers;
  std::vector<Call> calls;

  void answer(const std::string& target, unsigned status, const json& body) {
    answers[target].push_back(AdminAnswer{status, body.dump()});
  }
  void down(const std::string& target) {
    answers[target].push_back(Status::unavailable("the weave-ipam daemon is not running"));
  }

  AdminTransport transport() {
    return [this](const std::string&, const std::string& method, const std::string& target,
                  const std::string& body, std::chrono::milliseconds) -> Result<AdminAnswer> {
      calls.push_back({method, target, body.empty() ? json() : json::parse(body)});
      auto& queue = answers[target];
      if (queue.empty()) {
        return Status::internal("unexpected " + method + " " + target);
      }
      Result<AdminAnswer> a = queue.front();
      queue.pop_front();
      return a;
    };
  }
};

struct Ran {
  int code;
  json out;
};

Ran run(FakeDaemon& daemon, const Env& env, const json& conf) {
  std::string out;
  int code = run_cni(lookup(env), conf.dump(), out, daemon.transport());
  return {code, out.empty() ? json() : json::parse(out)};
}

TEST(CniRunTest, AddReservesTheGatewayThenAllocatesInTheSubnet) {
  FakeDaemon d;
  d.answer("/claim", 500, {{"Err", "address 10.32.1.1 is already in use by cni-gateway:x"}});
  d.answer("/allocate", 200, {{"addresses", {"10.32.1.5/24"}}});
  Ran r = run(d, add_env(), config());
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out["ips"], json::parse(R"([{"address":"10.32.1.5/24","gateway":"10.32.1.1"}])"));
  ASSERT_EQ(d.calls.size(), 2u);
  EXPECT_EQ(d.calls[0].body, json::parse(R"({"owner":"cni-gateway:10.32.1.1",
                                             "address":"10.32.1.1/24"})"));
  EXPECT_EQ(d.calls[1].body,
            json::parse(R"({"owner":"cni:mynet:c0ffee:eth0","subnet":"10.32.1.0/24"})"));
}

TEST(CniRunTest, AddWithoutSubnetOrGatewayAsksForTheDefaultSubnet) {
  FakeDaemon d;
  d.answer("/allocate", 200, {{"addresses", {"10.32.0.9/12"}}});
  Ran r = run(d, add_env(), {{"cniVersion", "1.1.0"}, {"name", "n"}});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out["ips"][0]["address"], "10.32.0.9/12");
  EXPECT_EQ(d.calls.at(0).body, json::parse(R"({"owner":"cni:n:c0ffee:eth0"})"));
}

TEST(CniRunTest, AddThatFailsHalfwayGivesBackWhatItClaimed) {
  FakeDaemon d;
  d.answer("/claim", 200, {{"addresses", {"10.32.1.5/24"}}});
  d.answer("/claim", 500, {{"Err", "address 10.32.1.6 is already in use by cni:mynet:other:eth0"}});
  d.answer("/release", 200, {{"released", {"10.32.1.5/24"}}});
  json conf = config();
  conf["runtimeConfig"] = {{"ips", {"10.32.1.5", "10.32.1.6"}}};
  Ran r = run(d, add_env(), conf);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out["code"], 100);
  EXPECT_EQ(r.out["msg"], "address 10.32.1.6 is already in use by cni:mynet:other:eth0");
  ASSERT_EQ(d.calls.size(), 3u);
  EXPECT_EQ(d.calls[2].body,
            json::parse(R"({"owner":"cni:mynet:c0ffee:eth0","address":"10.32.1.5/24"})"));
}

TEST(CniRunTest, DaemonDownIsTryAgainLaterForAddAndDel) {
  FakeDaemon d;
  d.down("/allocate");
  d.down("/release");
  Ran add = run(d, add_env(), {{"cniVersion", "1.1.0"}, {"name", "n"}});
  EXPECT_EQ(add.out["code"], 11);
  Ran del = run(d, add_env("DEL"), config());
  EXPECT_EQ(del.code, 1);
  EXPECT_EQ(del.out["code"], 11);
  EXPECT_NE(del.out["details"].get<std::string>().find("admin_socket"), std::string::npos);
}

// Only this network's attachment, and the owner a version before issue #11 gave the same
// container interface (an interface is in one network at a time, so it was this one's).
TEST(CniRunTest, DelReleasesOnlyItsAttachmentAndItsLegacyOwnerAndPrintsNothing) {
  FakeDaemon d;
  d.answer("/release", 200, {{"released", {"10.32.1.5/24"}}});
  d.answer("/release", 200, {{"released", json::array()}});
  Ran r = run(d, add_env("DEL"), config());
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(r.out.is_null());
  ASSERT_EQ(d.calls.size(), 2u);
  EXPECT_EQ(d.calls[0].body, json::parse(R"({"owner":"cni:mynet:c0ffee:eth0"})"));
  EXPECT_EQ(d.calls[1].body, json::parse(R"({"owner":"cni:c0ffee:eth0"})"));
}

TEST(CniRunTest, CheckComparesHeldAddressesWithRequestAndPrevResult) {
  FakeDaemon d;
  json owners = {{"cni:mynet:c0ffee:eth0", {"10.32.1.5/24"}},
                 {"cni:othernet:c0ffee:eth0", {"10.32.1.9/24"}}};
  json conf = config();
  conf["prevResult"] = {{"ips", {{{"address", "10.32.1.5/24"}}, {{"address", "192.168.0.2/24"}}}}};
  d.answer("/owners", 200, owners);
  EXPECT_EQ(run(d, add_env("CHECK"), conf).code, 0);  // 192.168.0.2 is not ours to check

  conf["prevResult"]["ips"][0]["address"] = "10.32.1.6/24";
  d.answer("/owners", 200, owners);
  Ran mismatch = run(d, add_env("CHECK"), conf);
  EXPECT_EQ(mismatch.out["code"], 101);

  Env other = add_env("CHECK");
  other["CNI_CONTAINERID"] = "unknown";
  d.answer("/owners", 200, owners);
  Ran unknown = run(d, other, config());
  EXPECT_EQ(unknown.code, 1);
  EXPECT_EQ(unknown.out["code"], 3);

  json elsewhere = config();  // the container's interface is held, but for another network
  elsewhere["name"] = "thirdnet";
  d.answer("/owners", 200, owners);
  EXPECT_EQ(run(d, add_env("CHECK"), elsewhere).out["code"], 3);
}

TEST(CniRunTest, CheckAcceptsAnAttachmentHeldUnderItsLegacyOwner) {
  FakeDaemon d;
  json conf = config();
  conf["prevResult"] = {{"ips", {{{"address", "10.32.1.5/24"}}}}};
  d.answer("/owners", 200, {{"cni:c0ffee:eth0", {"10.32.1.5/24"}}});
  Ran r = run(d, add_env("CHECK"), conf);
  EXPECT_EQ(r.code, 0) << r.out;
  // Once it is held under the new owner, that one is what counts.
  d.answer("/owners", 200,
           {{"cni:c0ffee:eth0", {"10.32.1.5/24"}}, {"cni:mynet:c0ffee:eth0", {"10.32.1.6/24"}}});
  EXPECT_EQ(run(d, add_env("CHECK"), conf).out["code"], 101);
}

std::vector<json> released_owners(const FakeDaemon& d) {
  std::vector<json> released;
  for (const auto& c : d.calls) {
    if (c.target == "/release") {
      released.push_back(c.body["owner"]);
    }
  }
  return released;
}

// Issue #11: GC of mynet releases mynet's attachments the runtime no longer lists, in any
// subnet, and nothing of othernet's, even in mynet's subnet or for a listed container.
TEST(CniRunTest, GcOfOneNetworkReleasesOnlyItsOwnStaleAttachments) {
  FakeDaemon d;
  d.answer("/owners", 200,
           {{"cni:mynet:keep:eth0", {"10.32.1.2/24"}},
            {"cni:mynet:keep:net1", {"10.32.1.3/24"}},
            {"cni:mynet:all:eth0", {"10.32.1.4/24"}},
            {"cni:mynet:all:net2", {"10.32.1.6/24"}},
            {"cni:mynet:stale:eth0", {"10.32.1.5/24"}},
            {"cni:mynet:moved:eth0", {"10.40.0.5/16"}},  // from before a subnet change
            {"cni:othernet:stale:eth0", {"10.32.1.7/24"}},
            {"cni:othernet:keep:net1", {"10.32.1.8/24"}},
            {"cni:othernet:gone:eth0", {"10.40.0.6/16"}},
            {"cni-gateway:10.32.1.1", {"10.32.1.1/24"}},
            {"docker-endpoint", {"10.32.1.9/24"}}});
  for (int i = 0; i < 3; ++i) {
    d.answer("/release", 200, {{"released", json::array()}});
  }
  json conf = config();
  conf["cni.dev/valid-attachments"] = {{{"containerID", "keep"}, {"ifname", "eth0"}},
                                       {{"containerID", "all"}}};
  Ran r = run(d, {{"CNI_COMMAND", "GC"}}, conf);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(released_owners(d), (std::vector<json>{"cni:mynet:keep:net1", "cni:mynet:moved:eth0",
                                                   "cni:mynet:stale:eth0"}));
  EXPECT_EQ(d.calls.front().target, "/owners");  // no subnet to look up any more
}

// A legacy owner names no network and networks may share a subnet: GC cannot tell whose
// it is, so it leaves it to the DEL of its attachment (or an operator).
TEST(CniRunTest, GcNeverReleasesLegacyOwners) {
  FakeDaemon d;
  d.answer("/owners", 200,
           {{"cni:stale:eth0", {"10.32.1.5/24"}},
            {"cni:keep:eth0", {"10.32.1.2/24"}},
            {"cni:a:b:c:d", {"10.32.1.3/24"}},  // not an owner this plugin writes
            {"cni:mynet:stale:eth0", {"10.32.1.4/24"}}});
  d.answer("/release", 200, {{"released", {"10.32.1.4/24"}}});
  json conf = config();
  conf["cni.dev/valid-attachments"] = {{{"containerID", "keep"}, {"ifname", "eth0"}}};
  EXPECT_EQ(run(d, {{"CNI_COMMAND", "GC"}}, conf).code, 0);
  EXPECT_EQ(released_owners(d), std::vector<json>{"cni:mynet:stale:eth0"});
}

TEST(CniRunTest, GcReportsTheOwnersItCouldNotRelease) {
  FakeDaemon d;
  d.answer("/owners", 200, {{"cni:mynet:a:eth0", {"10.32.1.2/24"}}});
  d.answer("/release", 500, {{"Err", "shutting down"}});
  json conf = config();
  conf["cni.dev/valid-attachments"] = json::array();
  Ran r = run(d, {{"CNI_COMMAND", "GC"}}, conf);
  EXPECT_EQ(r.out["code"], 100);
  EXPECT_NE(r.out["details"].get<std::string>().find("cni:mynet:a:eth0: shutting down"),
            std::string::npos);
}

// Gateways are held by address: networks that share nothing never share a gateway owner.
TEST(CniRunTest, GatewayOwnersOfTwoNetworksDoNotCollide) {
  FakeDaemon d;
  json other = config();
  other["name"] = "othernet";
  other["ipam"]["subnet"] = "10.32.2.0/24";
  other["ipam"]["gateway"] = "10.32.2.1";
  for (int i = 0; i < 2; ++i) {
    d.answer("/claim", 200, {{"addresses", json::array()}});
    d.answer("/allocate", 200, {{"addresses", {"10.32.1.5/24"}}});
  }
  EXPECT_EQ(run(d, add_env(), config()).code, 0);
  EXPECT_EQ(run(d, add_env(), other).code, 0);
  ASSERT_EQ(d.calls.size(), 4u);
  EXPECT_EQ(d.calls[0].body["owner"], "cni-gateway:10.32.1.1");
  EXPECT_EQ(d.calls[2].body["owner"], "cni-gateway:10.32.2.1");
  EXPECT_EQ(d.calls[1].body["owner"], "cni:mynet:c0ffee:eth0");
  EXPECT_EQ(d.calls[3].body["owner"], "cni:othernet:c0ffee:eth0");
}

TEST(CniRunTest, StatusPrimesAFreshDaemonAndNeedsFreeSpace) {
  FakeDaemon d;
  d.answer("/status", 200, {{"ready", false}, {"status", "idle"}, {"free", "0"}});
  d.answer("/prime", 200, json::object());
  d.answer("/status", 200, {{"ready", true}, {"free", "65534"}});
  EXPECT_EQ(run(d, {{"CNI_COMMAND", "STATUS"}}, config()).code, 0);

  d.answer("/status", 200,
           {{"ready", true},
            {"free", "0"},
            {"range", "10.32.0.0/12"},
            {"peers", {{{"self", false}, {"reachable", false}, {"free", "9"}}}}});
  Ran full = run(d, {{"CNI_COMMAND", "STATUS"}}, config());
  EXPECT_EQ(full.out["code"], 50);
  EXPECT_NE(full.out["msg"].get<std::string>().find("no free addresses"), std::string::npos);

  d.answer("/status", 200,
           {{"ready", true}, {"free", "0"}, {"peers", {{{"reachable", true}, {"free", "9"}}}}});
  EXPECT_EQ(run(d, {{"CNI_COMMAND", "STATUS"}}, config()).code, 0);
}

TEST(CniRunTest, StatusIsNotAvailableWhenTheDaemonIsDownOrCannotBecomeReady) {
  FakeDaemon d;
  d.down("/status");
  EXPECT_EQ(run(d, {{"CNI_COMMAND", "STATUS"}}, config()).out["code"], 50);
  d.answer("/status", 200, {{"ready", false}, {"status", "awaiting consensus (quorum: 2)"}});
  d.answers["/prime"].push_back(Status::deadline_exceeded("no answer within 5 s"));
  Ran r = run(d, {{"CNI_COMMAND", "STATUS"}}, config());
  EXPECT_EQ(r.out["code"], 50);
  EXPECT_EQ(r.out["msg"], "the weave-ipam daemon is not ready: awaiting consensus (quorum: 2)");
}

TEST(CniRunTest, VersionAnswersWithoutTheDaemon) {
  FakeDaemon d;
  std::string out;
  EXPECT_EQ(run_cni(lookup({{"CNI_COMMAND", "VERSION"}}), "", out, d.transport()), 0);
  EXPECT_EQ(out, render_cni_version());
  EXPECT_TRUE(d.calls.empty());
}

}  // namespace
}  // namespace wipam::driver

namespace wipam::driver {
namespace {

json dual_config() {
  json conf = {{"cniVersion", "1.0.0"}, {"name", "mynet"}};
  conf["ipam"] = {{"type", "weave-ipam"},
                  {"ranges", json::parse(R"([[{"subnet":"10.32.1.0/24","gateway":"10.32.1.1"}],
                                               [{"subnet":"fd00:32:0:1::/64"}]])")}};
  return conf;
}

TEST(CniParseTest, RangesInHostLocalsLayoutGiveOneRangePerSet) {
  Env env = add_env();
  env["CNI_ARGS"] = "IP=fd00:32:0:1::9";
  CniResult<CniRequest> parsed = parse_cni_request(lookup(env), dual_config().dump());
  ASSERT_TRUE(std::holds_alternative<CniRequest>(parsed));
  const CniRequest& r = std::get<CniRequest>(parsed);
  ASSERT_EQ(r.ipam.ranges.size(), 2u);
  EXPECT_EQ(r.ipam.ranges[0].subnet->to_string(), "10.32.1.0/24");
  EXPECT_EQ(r.ipam.ranges[0].gateway->to_string(), "10.32.1.1");
  EXPECT_EQ(r.ipam.ranges[1].subnet->to_string(), "fd00:32:0:1::/64");
  EXPECT_FALSE(r.ipam.ranges[1].gateway.has_value());
  EXPECT_EQ(r.ips, (std::vector<std::string>{"fd00:32:0:1::9/64"}));  // its set's prefix
}

TEST(CniParseTest, BadRangeSetsAreCode7) {
  for (const char* ranges :
       {R"([])", R"({"subnet":"10.32.1.0/24"})", R"([[]])", R"([[{"gateway":"10.32.1.1"}]])",
        R"([[{"subnet":"10.32.1.0/24"},{"subnet":"10.32.2.0/24"}]])",
        R"([[{"subnet":"10.32.1.0/24"}],[{"subnet":"10.32.1.0/25"}]])",
        R"([[{"subnet":"10.32.1.0/24","gateway":"10.32.2.1"}]])",
        R"([[{"subnet":"10.32.1.0/24","rangeStart":"10.32.1.10"}]])"}) {
    json conf = dual_config();
    conf["ipam"]["ranges"] = json::parse(ranges);
    std::string out;
    EXPECT_EQ(run_cni(lookup(add_env()), conf.dump(), out, nullptr), 1) << ranges;
    EXPECT_EQ(json::parse(out)["code"], 7) << ranges << out;
  }
  json both = dual_config();
  both["ipam"]["subnet"] = "10.32.1.0/24";
  std::string out;
  EXPECT_EQ(run_cni(lookup(add_env()), both.dump(), out, nullptr), 1);
  EXPECT_NE(out.find("not both"), std::string::npos) << out;
}

TEST(CniRunTest, ADualStackAddReturnsOneAddressOfEachFamily) {
  FakeDaemon d;
  d.answer("/claim", 200, {{"addresses", {"10.32.1.1/24"}}});  // the IPv4 set's gateway
  d.answer("/allocate", 200, {{"addresses", {"10.32.1.5/24"}}});
  d.answer("/allocate", 200, {{"addresses", {"fd00:32:0:1::7/64"}}});
  Ran r = run(d, add_env(), dual_config());
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out["ips"], json::parse(R"([{"address":"10.32.1.5/24","gateway":"10.32.1.1"},
                                          {"address":"fd00:32:0:1::7/64"}])"));
  ASSERT_EQ(d.calls.size(), 3u);
  EXPECT_EQ(d.calls[2].body,
            json::parse(R"({"owner":"cni:mynet:c0ffee:eth0","subnet":"fd00:32:0:1::/64"})"));
}

TEST(CniRunTest, ADualStackAddClaimsTheRequestedAddressInItsSetAndUndoesAFailure) {
  FakeDaemon d;
  d.answer("/claim", 200, {{"addresses", {"10.32.1.1/24"}}});
  d.answer("/allocate", 200, {{"addresses", {"10.32.1.5/24"}}});
  d.answer("/claim", 500, {{"Err", "address fd00:32:0:1::9 is already in use by x"}});
  d.answer("/release", 200, {{"released", {"10.32.1.5/24"}}});
  json conf = dual_config();
  conf["runtimeConfig"] = {{"ips", {"fd00:32:0:1::9"}}};
  Ran r = run(d, add_env(), conf);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out["msg"], "address fd00:32:0:1::9 is already in use by x");
  ASSERT_EQ(d.calls.size(), 4u);
  EXPECT_EQ(d.calls[2].body,
            json::parse(R"({"owner":"cni:mynet:c0ffee:eth0","address":"fd00:32:0:1::9/64"})"));
  EXPECT_EQ(d.calls[3].target, "/release");
  EXPECT_EQ(d.calls[3].body,
            json::parse(R"({"owner":"cni:mynet:c0ffee:eth0","address":"10.32.1.5/24"})"));
}

}  // namespace
}  // namespace wipam::driver
