// Reconciler: what is bound, what is released, and when.
#include "driver/docker/reconciler.h"

#include <gtest/gtest.h>

#include "driver/docker/docker_events.h"

namespace wipam::driver {
namespace {

using ring::Address;
using ring::Millis;

Address ip(const char* text) { return *Address::parse(text); }
const std::string kC1(64, 'a');
const std::string kC2(64, 'b');

class ReconcilerTest : public ::testing::Test {
 protected:
  Reconciler reconciler_{Millis{1000}};
  std::vector<ReconcilePool> pools_{{"weave-10.99.1.0/24", *ring::Cidr::parse("10.99.1.0/24"), 1}};

  // A view from dockerd "D1" that shows the pool's network (plus its own "none").
  static DockerView view(const std::string& daemon = "D1", bool with_pool_network = true) {
    DockerView docker;
    docker.daemon_id = daemon;
    DockerNetwork none;
    none.id = "none";
    none.ipam_driver = "default";
    docker.add(none);
    if (with_pool_network) {
      DockerNetwork ours;
      ours.id = "n1";
      ours.ipam_driver = "weave";
      ours.subnets.push_back(*ring::Cidr::parse("10.99.1.0/24"));
      docker.add(ours);
    }
    return docker;
  }
  static DockerView with(DockerView docker, const char* address, const std::string& container) {
    docker.containers[ip(address)] = container;
    return docker;
  }
};

TEST_F(ReconcilerTest, BindsAnonymousAllocationsDockerShowsOnAContainer) {
  DockerView docker = with(with(view(), "10.99.1.2", kC1), "10.99.1.3", kC2);
  std::map<Address, std::string> ours{{ip("10.99.1.2"), "10.99.1.2"}, {ip("10.99.1.3"), kC2}};
  Reconciler::Plan plan = reconciler_.plan(Millis{0}, docker, ours, pools_);
  ASSERT_EQ(plan.binds.size(), 1u);
  EXPECT_EQ(plan.binds[0].address, ip("10.99.1.2"));
  EXPECT_EQ(plan.binds[0].owner, kC1);
  EXPECT_TRUE(plan.releases.empty());
  EXPECT_TRUE(plan.refused.empty());
}

TEST_F(ReconcilerTest, AnEndpointThatIsNoContainerKeepsItsAddressUnbound) {
  // A swarm node's load balancer shows in network inspect as "lb-<network>".
  DockerView docker = with(view(), "10.99.1.5", "lb-ov");
  std::map<Address, std::string> ours{{ip("10.99.1.5"), "10.99.1.5"}};
  for (Millis now : {Millis{0}, Millis{5000}}) {
    Reconciler::Plan plan = reconciler_.plan(now, docker, ours, pools_);
    EXPECT_TRUE(plan.binds.empty()) << "bound to " << plan.binds[0].owner;
    EXPECT_TRUE(plan.releases.empty()) << "it is held, so never a leak";
  }
}

TEST_F(ReconcilerTest, ReleasesOnlyAfterTheGracePeriodAndOnlyThePluginsOwnAllocations) {
  DockerView docker = view();
  docker.reserved.insert(ip("10.99.1.254"));
  std::map<Address, std::string> ours{
      {ip("10.99.1.2"), "10.99.1.2"},                  // anonymous, unheld: a leak
      {ip("10.99.1.3"), kC1},                          // bound to a container that is gone: a leak
      {ip("10.99.1.4"), "my-script"},                  // an admin allocation: never reconciled
      {ip("10.99.1.5"), "gateway:weave-x"},            // a gateway: never reconciled
      {ip("10.99.1.6"), "cni:pods:" + kC2 + ":eth0"},  // a CNI attachment: its own GC
      {ip("10.99.1.7"), "peer:00:00:00:00:00:02"},     // reserved for a peer: never
      {ip("10.99.1.254"), "10.99.1.254"},              // Docker's auxiliary address: held
      {ip("10.99.2.7"), "10.99.2.7"}};                 // outside this host's pools
  EXPECT_TRUE(reconciler_.plan(Millis{0}, docker, ours, pools_).releases.empty());
  EXPECT_TRUE(reconciler_.plan(Millis{999}, docker, ours, pools_).releases.empty());
  Reconciler::Plan plan = reconciler_.plan(Millis{1000}, docker, ours, pools_);
  ASSERT_EQ(plan.releases.size(), 2u);
  EXPECT_EQ(plan.releases[0].address, ip("10.99.1.2"));
  EXPECT_EQ(plan.releases[0].owner, "10.99.1.2");
  EXPECT_EQ(plan.releases[1].address, ip("10.99.1.3"));
  EXPECT_EQ(plan.releases[1].owner, kC1);  // a release that loses a race to a rebind is a no-op
  EXPECT_TRUE(plan.leaked_pools.empty());
}

TEST_F(ReconcilerTest, AnAddressHeldAgainStartsItsGracePeriodOver) {
  std::map<Address, std::string> ours{{ip("10.99.1.2"), "10.99.1.2"}};
  DockerView empty = view();
  DockerView holding = with(view(), "10.99.1.2", kC1);
  EXPECT_TRUE(reconciler_.plan(Millis{0}, empty, ours, pools_).releases.empty());
  EXPECT_TRUE(reconciler_.plan(Millis{900}, holding, ours, pools_).releases.empty());
  EXPECT_TRUE(reconciler_.plan(Millis{1500}, empty, ours, pools_).releases.empty());
  EXPECT_EQ(reconciler_.plan(Millis{2500}, empty, ours, pools_).releases.size(), 1u);
}

// The clock belongs to the allocation: the address was released and given out again between
// two reads, so the new holder (not yet attached) gets a whole grace period of its own.
TEST_F(ReconcilerTest, AReallocatedAddressStartsANewClock) {
  std::map<Address, std::string> ours{{ip("10.99.1.2"), "10.99.1.2"}};
  EXPECT_TRUE(reconciler_.plan(Millis{0}, view(), ours, pools_).releases.empty());
  reconciler_.allocated(ip("10.99.1.2"));
  EXPECT_TRUE(reconciler_.plan(Millis{900}, view(), ours, pools_).releases.empty());
  EXPECT_TRUE(reconciler_.plan(Millis{1500}, view(), ours, pools_).releases.empty());
  EXPECT_EQ(reconciler_.plan(Millis{1900}, view(), ours, pools_).releases.size(), 1u);
}

// Another dockerd's view, or an API error read as an empty list, shows none of our pools: it
// proves nothing, frees nothing, and does not even advance the clocks.
TEST_F(ReconcilerTest, AViewWithoutOurNetworksIsNeverActedOn) {
  std::map<Address, std::string> ours{{ip("10.99.1.2"), "10.99.1.2"},
                                      {ip("10.99.1.1"), "gateway:weave-10.99.1.0/24"}};
  for (Millis t : {Millis{0}, Millis{5000}, Millis{10000}}) {
    Reconciler::Plan plan = reconciler_.plan(t, view("D2", false), ours, pools_);
    EXPECT_TRUE(plan.releases.empty());
    EXPECT_TRUE(plan.leaked_pools.empty());
    EXPECT_NE(plan.refused.find("none of this peer's 1 pools"), std::string::npos) << plan.refused;
  }
  DockerView nothing;  // not even "none": no real dockerd answers like that
  nothing.daemon_id = "D1";
  Reconciler::Plan plan = reconciler_.plan(Millis{20000}, nothing, ours, pools_);
  EXPECT_TRUE(plan.releases.empty());
  EXPECT_FALSE(plan.refused.empty());
  // The first real view starts the clock; nothing from the refused views counted.
  EXPECT_TRUE(reconciler_.plan(Millis{20000}, view(), ours, pools_).releases.empty());
  EXPECT_EQ(reconciler_.plan(Millis{21000}, view(), ours, pools_).releases.size(), 1u);
}

// In a multi-host layout every host's dockerd has a network on the same subnet. Once the
// reconciler knows which dockerd uses this plugin, another's view frees nothing, even though
// it shows our pool and none of our addresses.
TEST_F(ReconcilerTest, AnotherDockerdsViewOfOurSubnetIsNeverActedOn) {
  std::map<Address, std::string> ours{{ip("10.99.1.2"), "10.99.1.2"}};
  Reconciler::Plan first =
      reconciler_.plan(Millis{0}, with(view("D1"), "10.99.1.2", kC1), ours, pools_);
  EXPECT_TRUE(first.learned_daemon_id);
  EXPECT_EQ(reconciler_.daemon_id(), "D1");
  for (Millis t : {Millis{1000}, Millis{5000}, Millis{10000}}) {
    Reconciler::Plan plan = reconciler_.plan(t, view("D2"), ours, pools_);
    EXPECT_TRUE(plan.releases.empty());
    EXPECT_TRUE(plan.binds.empty());
    EXPECT_NE(plan.refused.find("daemon D2"), std::string::npos) << plan.refused;
  }
  // Our own dockerd's view still counts, and its clock starts only now.
  EXPECT_TRUE(reconciler_.plan(Millis{10000}, view("D1"), ours, pools_).releases.empty());
  EXPECT_EQ(reconciler_.plan(Millis{11000}, view("D1"), ours, pools_).releases.size(), 1u);
}

// A network removed while weave-ipam was down leaves its pool behind (its ReleasePool never
// came). Once the dockerd that showed the pool shows no network using it for a whole grace
// period, the pool goes, with the plugin's addresses and gateway in it.
TEST_F(ReconcilerTest, APoolNoNetworkUsesForAGraceIsLeaked) {
  std::map<Address, std::string> ours{{ip("10.99.1.1"), "gateway:weave-10.99.1.0/24"},
                                      {ip("10.99.1.2"), kC1},
                                      {ip("10.99.1.3"), "cni:pods:" + kC2 + ":eth0"}};
  Reconciler::Plan learn =
      reconciler_.plan(Millis{0}, with(view(), "10.99.1.2", kC1), ours, pools_);
  EXPECT_TRUE(learn.learned_daemon_id);
  EXPECT_EQ(reconciler_.daemon_id(), "D1");
  EXPECT_TRUE(reconciler_.plan(Millis{100}, view("D1", false), ours, pools_).leaked_pools.empty());
  EXPECT_TRUE(reconciler_.plan(Millis{1000}, view("D1", false), ours, pools_).leaked_pools.empty());
  Reconciler::Plan plan = reconciler_.plan(Millis{1100}, view("D1", false), ours, pools_);
  EXPECT_EQ(plan.leaked_pools, std::vector<std::string>{"weave-10.99.1.0/24"});
  ASSERT_EQ(plan.releases.size(), 2u);
  EXPECT_EQ(plan.releases[0].owner, "gateway:weave-10.99.1.0/24");
  EXPECT_EQ(plan.releases[1].owner, kC1);
}

TEST_F(ReconcilerTest, ARequestedAgainPoolStartsItsClockOver) {
  Reconciler known(Millis{1000}, "D1");
  std::map<Address, std::string> ours;
  EXPECT_TRUE(known.plan(Millis{0}, view("D1", false), ours, pools_).leaked_pools.empty());
  pools_[0].generation = 2;  // Docker asked for it again (a new network, being created)
  EXPECT_TRUE(known.plan(Millis{1000}, view("D1", false), ours, pools_).leaked_pools.empty());
  EXPECT_EQ(known.plan(Millis{2000}, view("D1", false), ours, pools_).leaked_pools.size(), 1u);
  // From a dockerd that never showed our pools: never.
  Reconciler stranger(Millis{1000}, "D1");
  EXPECT_TRUE(stranger.plan(Millis{0}, view("D9", false), ours, pools_).leaked_pools.empty());
  EXPECT_TRUE(stranger.plan(Millis{5000}, view("D9", false), ours, pools_).leaked_pools.empty());
}

}  // namespace
}  // namespace wipam::driver
