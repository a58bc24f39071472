// The CLI's renderings match Weave's layouts (long status lines and errors shown whole), the
// status JSON names rings created apart, and the metrics text keeps Weave's names and
// Prometheus's histogram rules.
#include "driver/client/cli.h"

#include <gtest/gtest.h>

#include "driver/admin/admin_json.h"

namespace wipam::driver {
namespace {

using nlohmann::json;

json sample_status() {
  return json::parse(R"({
    "status": "ready", "range": "10.32.0.0/12", "default_subnet": "10.32.0.0/12",
    "range_size": "1048576", "allocated": "2",
    "peers": [
      {"name": "00:00:00:00:00:03", "nickname": "three", "reachable": false, "self": false,
       "owned": "349525"},
      {"name": "00:00:00:00:00:02", "nickname": "two", "reachable": true, "self": false,
       "owned": "0"},
      {"name": "00:00:00:00:00:01", "nickname": "one", "reachable": true, "self": true,
       "owned": "349526"}]})");
}

TEST(CliTest, StatusIsWeavesIpamSection) {
  EXPECT_EQ(render_status(sample_status()),
            "        Service: ipam\n"
            "         Status: ready\n"
            "          Range: 10.32.0.0/12\n"
            "  DefaultSubnet: 10.32.0.0/12\n");
}

TEST(CliTest, ALongStatusLineIsShownWhole) {
  json s = sample_status();
  std::string conflict = "not handing out addresses: " + std::string(900, 'x');
  s["status"] = conflict;
  EXPECT_NE(render_status(s).find("Status: " + conflict + "\n          Range: 10.32.0.0/12\n"),
            std::string::npos);
}

TEST(CliTest, StatusPeersShowsATargetsWholeError) {
  std::string error = "this peer's IP allocation was created apart from " + std::string(700, 'y');
  json peers = {
      {"peers", json::array()},
      {"targets", {{{"address", "127.0.0.2:6783"}, {"state", "waiting"}, {"last_error", error}}}}};
  std::string out = render_status_peers(peers);
  EXPECT_NE(out.find("target 127.0.0.2:6783"), std::string::npos) << out;
  EXPECT_NE(out.find("waiting (" + error + ")\n"), std::string::npos) << out;
}

TEST(CliTest, StatusJsonNamesRingsCreatedApart) {
  ring::StatusReport report;
  report.self = {ring::PeerName(1), "one", 1};
  report.universe = *ring::Cidr::parse("10.46.0.0/16");
  ring::RingConflict c{{ring::PeerName(2), "two", 2}, {ring::PeerName(1)}, {ring::PeerName(2)}};
  report.ring_conflicts = {c};
  report.conflicts = {c.message()};
  json j = status_json(report, report.universe);
  ASSERT_EQ(j["ring_conflicts"].size(), 1u);
  EXPECT_EQ(j["ring_conflicts"][0]["peer"], "00:00:00:00:00:02");
  EXPECT_EQ(j["ring_conflicts"][0]["nickname"], "two");
  EXPECT_EQ(j["ring_conflicts"][0]["ours"], json({"00:00:00:00:00:01"}));
  EXPECT_EQ(j["ring_conflicts"][0]["theirs"], json({"00:00:00:00:00:02"}));
  EXPECT_EQ(j["ring_conflicts"][0]["message"], c.message());
  EXPECT_EQ(j["conflicts"][0], c.message());
}

TEST(CliTest, StatusIpamIsOneLinePerOwningPeerSelfFirst) {
  EXPECT_EQ(render_status_ipam(sample_status()),
            "00:00:00:00:00:01(one)                 349526 IPs (33.3% of total) (2 active)\n"
            "00:00:00:00:00:03(three)               349525 IPs (33.3% of total) - unreachable!\n");
  EXPECT_EQ(render_status_ipam(json::object()), "");  // no ring yet: nothing, as Weave
}

TEST(CliTest, PsIsOwnerThenAddresses) {
  EXPECT_EQ(render_ps(json{{"web", {"10.32.0.1/12", "10.32.0.2/12"}}, {"db", {"10.32.0.9/12"}}}),
            "db 10.32.0.9/12\nweb 10.32.0.1/12 10.32.0.2/12\n");
}

TEST(CliTest, UnknownCommandsAndOptionsAreUsageErrors) {
  std::FILE* sink = std::tmpfile();
  EXPECT_EQ(run_cli({"frobnicate"}, sink, sink), 2);
  EXPECT_EQ(run_cli({"--bogus", "status"}, sink, sink), 2);
  EXPECT_EQ(run_cli({"claim", "only-owner"}, sink, sink), 2);
  EXPECT_EQ(run_cli({"--admin-socket", "/nonexistent/admin.sock", "status"}, sink, sink), 1);
  std::fclose(sink);
}

}  // namespace
}  // namespace wipam::driver
