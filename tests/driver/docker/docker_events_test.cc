// The Docker JSON the watcher reads: events, networks with their containers, container IDs.
#include "driver/docker/docker_events.h"

#include <string>

#include <gtest/gtest.h>

namespace wipam::driver {
namespace {

using ring::Address;

Address ip(const char* text) { return *Address::parse(text); }
const std::string kC1(64, 'a');

TEST(DockerEventsTest, ParsesAnEventAndRefusesGarbage) {
  Result<DockerEvent> e = parse_docker_event(
      R"({"Type":"network","Action":"connect","Actor":{"ID":"n1","Attributes":{"container":"c1","name":"x"}},"time":1700000000,"timeNano":1})");
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ(e->type, "network");
  EXPECT_EQ(e->action, "connect");
  EXPECT_EQ(e->actor, "n1");
  EXPECT_EQ(e->attributes.at("container"), "c1");
  EXPECT_EQ(e->time, 1700000000);
  EXPECT_FALSE(parse_docker_event("{not json").ok());
  EXPECT_FALSE(parse_docker_event("[1,2]").ok());
  EXPECT_FALSE(parse_docker_event(R"({"Type":3,"Action":"die"})").ok());
  // Wrong types inside are skipped, not fatal.
  e = parse_docker_event(
      R"({"Type":"container","Action":"die","Actor":{"ID":5,"Attributes":[]},"time":"x"})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->actor, "");
}

TEST(DockerEventsTest, ParsesANetworksContainersGatewaysAndAuxAddresses) {
  Result<DockerNetwork> n = parse_docker_network(R"({
    "Id": "n1", "IPAM": {"Driver": "weave", "Config": [
      {"Subnet": "10.99.1.0/24", "Gateway": "10.99.1.254",
       "AuxiliaryAddresses": {"router": "10.99.1.253", "bad": 7}}]},
    "Containers": {
      ")" + kC1 + R"(": {"IPv4Address": "10.99.1.2/24", "IPv6Address": ""},
      "ep-123": {"IPv4Address": "10.99.1.3/24"},
      "weird": "not an object"}})");
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(n->ipam_driver, "weave");
  ASSERT_EQ(n->subnets.size(), 1u);
  EXPECT_EQ(n->subnets[0].to_string(), "10.99.1.0/24");
  EXPECT_EQ(n->containers.at(ip("10.99.1.2")), kC1);
  EXPECT_EQ(n->containers.at(ip("10.99.1.3")), "ep-123");
  EXPECT_EQ(n->reserved, (std::vector<Address>{ip("10.99.1.254"), ip("10.99.1.253")}));
  EXPECT_FALSE(parse_docker_network(R"({"IPAM":{}})").ok());
  EXPECT_FALSE(parse_docker_network("").ok());
  Result<std::vector<std::string>> ids =
      parse_docker_network_ids(R"([{"Id":"a"},{"Name":"no id"},{"Id":"b"}])");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(parse_docker_network_ids(R"({"Id":"a"})").ok());
}

TEST(DockerEventsTest, ContainerIdsAreSixtyFourLowercaseHexDigits) {
  EXPECT_TRUE(is_container_id(kC1));
  EXPECT_FALSE(is_container_id("10.99.1.2"));
  EXPECT_FALSE(is_container_id(std::string(64, 'A')));
  EXPECT_FALSE(is_container_id(std::string(63, 'a')));
}

}  // namespace
}  // namespace wipam::driver
