// Multi-process mesh tests: real mesh_node peers on 127.0.0.x loopback addresses, each a
// separate process with its own event loop, talking TCP. They prove that peers discover each
// other from a chain of targets, that broadcasts reach everyone once and unicasts are relayed,
// that a killed peer is seen going down and reconnects when restarted, that a frozen peer
// is dropped by the heartbeat timeout, that a peer with a
// different allocation range, a wrong password, no password or a duplicate name is refused
// with a clear reason, that peers whose allocation identities differ (rings created apart)
// are refused on both sides and reported (only once they proved the password), that a peer
// with no identity joins and identities are asked per handshake, that a peer the daemon
// refused is dropped and refused until it restarts, that garbage on the port closes only that
// connection, and that a partition (cut with the test-only link filter) is seen and heals. Tests
// wait for printed lines with a 30 s deadline and assert on no durations. Heartbeats and back-off
// are shortened by flags so failures are detected in seconds.
#include <algorithm>
#include <arpa/inet.h>
#include <fstream>
#include <map>
#include <netinet/in.h>
#include <signal.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/gossip/node_harness.h"

namespace wipam::gossip::testing {
namespace {

std::string name_of(int index) {
  char text[32];
  std::snprintf(text, sizeof text, "00:00:00:00:00:%02x", index);
  return text;
}

class MeshProcessTest : public ::testing::Test {
 protected:
  // Peer `index` listens on 127.0.0.<base+index>, a block per test suite run by pid, so
  // parallel test processes rarely share an address (ports are chosen by the kernel anyway).
  std::string host(int index) const { return "127.0.0." + std::to_string(20 + index); }
  std::string address(int index) const {
    return host(index) + ":" + std::to_string(nodes_.at(index)->port());
  }

  NodeProcess& start(int index, std::vector<std::string> targets,
                     std::vector<std::string> extra = {}, int port = 0) {
    std::vector<std::string> args = {"--name",
                                     name_of(index),
                                     "--listen",
                                     host(index),
                                     "--port",
                                     std::to_string(port),
                                     "--heartbeat-ms",
                                     "300",
                                     "--idle-ms",
                                     "2000",
                                     "--backoff-initial-ms",
                                     "100",
                                     "--backoff-max-ms",
                                     "800",
                                     "--gossip-ms",
                                     "500"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), targets.begin(), targets.end());
    std::string log = dir_.path() + "/node" + std::to_string(index) + ".log";
    nodes_[index] = NodeProcess::spawn(args, log);
    EXPECT_NE(nodes_[index], nullptr) << "mesh_node " << index << " did not start";
    return *nodes_.at(index);
  }

  NodeProcess& node(int index) { return *nodes_.at(index); }

  // Starts peers 1..n, each targeting only the one before it.
  void start_chain(int n, std::vector<std::string> extra = {}) {
    start(1, {}, extra);
    for (int i = 2; i <= n; ++i) {
      start(i, {address(i - 1)}, extra);
    }
  }

  // Waits until every peer of 1..n has seen every other one come up.
  void expect_all_up(int n) {
    for (int i = 1; i <= n; ++i) {
      for (int j = 1; j <= n; ++j) {
        if (i != j) {
          EXPECT_TRUE(node(i).wait_for_prefix("up " + name_of(j))) << i << " never saw " << j;
        }
      }
    }
  }

  // Polls `peers` until `index` reports `want` direct links, up to the patience.
  bool wait_direct_links(int index, std::size_t want) {
    auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (std::chrono::steady_clock::now() < deadline) {
      std::vector<std::string> peers = node(index).peers();
      std::size_t direct = std::count_if(peers.begin(), peers.end(), [](const std::string& l) {
        return l.find(" direct ") != std::string::npos;
      });
      if (direct == want) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  void TearDown() override {
    for (auto& [index, process] : nodes_) {
      if (process) {
        process->kill();
      }
    }
    if (HasFailure()) {
      for (auto& [index, process] : nodes_) {
        if (!process) {
          continue;
        }
        std::ifstream log(process->log_path());
        std::stringstream text;
        text << log.rdbuf();
        std::cerr << "---- node " << index << " stdout:\n";
        for (const std::string& line : process->lines()) {
          std::cerr << line << "\n";
        }
        std::cerr << "---- node " << index << " log:\n" << text.str();
      }
    }
    nodes_.clear();
  }

  TempDir dir_;
  std::map<int, std::unique_ptr<NodeProcess>> nodes_;
};

TEST_F(MeshProcessTest, ChainOfTargetsDiscoversFullTopology) {
  start_chain(5);
  expect_all_up(5);
  for (int i = 1; i <= 5; ++i) {
    EXPECT_TRUE(wait_direct_links(i, 4)) << "peer " << i << " did not link to all others";
  }
}

TEST_F(MeshProcessTest, BroadcastReachesEveryPeerExactlyOnce) {
  start_chain(4);
  expect_all_up(4);
  ASSERT_TRUE(wait_direct_links(1, 3));
  for (int k = 0; k < 20; ++k) {
    node(1 + k % 4).send("broadcast m" + std::to_string(k));
  }
  node(1).send("broadcast end");
  for (int i = 2; i <= 4; ++i) {
    ASSERT_TRUE(node(i).wait_for_line("msg " + name_of(1) + " broadcast end"));
  }
  for (int k = 0; k < 20; ++k) {
    int source = 1 + k % 4;
    std::string line = "msg " + name_of(source) + " broadcast m" + std::to_string(k);
    for (int i = 1; i <= 4; ++i) {
      if (i != source) {
        EXPECT_TRUE(node(i).wait_for_line(line)) << line << " missing at " << i;
        EXPECT_EQ(node(i).count(line), 1u) << line << " at " << i;
      } else {
        EXPECT_EQ(node(i).count(line), 0u) << "a peer heard its own broadcast";
      }
    }
  }
}

TEST_F(MeshProcessTest, UnicastIsRelayedAlongAChainWithoutDiscovery) {
  start_chain(4, {"--no-discovery"});
  expect_all_up(4);
  ASSERT_TRUE(wait_direct_links(1, 1));
  node(1).send("unicast " + name_of(4) + " far");
  EXPECT_TRUE(node(4).wait_for_line("msg " + name_of(1) + " unicast far"));
  node(4).send("broadcast back");
  EXPECT_TRUE(node(1).wait_for_line("msg " + name_of(4) + " broadcast back"));
  EXPECT_EQ(node(2).count("msg " + name_of(1) + " unicast far"), 0u);
  EXPECT_EQ(node(3).count("msg " + name_of(1) + " unicast far"), 0u);
}

TEST_F(MeshProcessTest, ABroadcastTheReceiverRefusesIsNotRelayed) {
  start_chain(3, {"--no-discovery"});  // 1 - 2 - 3: 3 hears 1 only through 2
  expect_all_up(3);
  ASSERT_TRUE(wait_direct_links(1, 1));
  node(1).send("broadcast refuse:poison");
  ASSERT_TRUE(node(2).wait_for_line("refused-msg " + name_of(1) + " broadcast refuse:poison"));
  node(1).send("broadcast fine");
  ASSERT_TRUE(node(3).wait_for_line("msg " + name_of(1) + " broadcast fine"));
  // The refused one was sent first over the same links, so it would have arrived by now.
  EXPECT_EQ(node(3).count("refused-msg " + name_of(1) + " broadcast refuse:poison"), 0u);
  EXPECT_TRUE(node(2).wait_for_line("msg " + name_of(1) + " broadcast fine"));
}

// A peer that stops reading: once the link's queue is over half full, the mesh sheds what
// gossip re-sends (topology, anti-entropy) and keeps every broadcast, which all arrive once
// the peer reads again; the link stays up.
TEST_F(MeshProcessTest, AQueueOverHalfFullShedsGossipButNeverABroadcast) {
  start_chain(2, {"--idle-ms", "60000", "--heartbeat-ms", "20000", "--gossip-ms", "20",
                  "--send-queue-bytes", "8388608"});
  expect_all_up(2);
  node(1).send("gossip anti-entropy");
  ASSERT_TRUE(node(2).wait_for_line("msg " + name_of(1) + " gossip anti-entropy"));
  auto counter = [&](const std::string& name) -> std::uint64_t {
    std::size_t mark = node(1).line_count();
    node(1).send("counters");
    std::optional<std::string> line =
        node(1).wait_for([](const std::string& l) { return l.rfind("counters ", 0) == 0; }, mark);
    if (!line) {
      return std::uint64_t{0};
    }
    std::size_t at = line->find(" " + name + "=");
    return at == std::string::npos ? std::uint64_t{0}
                                   : std::stoull(line->substr(at + name.size() + 2));
  };
  node(2).signal(SIGSTOP);
  int sent = 0;
  bool shed = false;
  for (int round = 0; round < 400 && !shed; ++round) {
    node(1).send("flood 4 65536");
    sent += 4;
    // Paced past a gossip tick, so a gossip frame meets the queue between half and full.
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    shed = counter("dropped_gossip") + counter("dropped_topology") > 0;
  }
  node(2).signal(SIGCONT);
  ASSERT_TRUE(shed) << "the queue never passed half full after " << sent << " broadcasts";
  EXPECT_EQ(counter("dropped_broadcast"), 0u);
  node(1).send("broadcast end");
  ASSERT_TRUE(node(2).wait_for_line("msg " + name_of(1) + " broadcast end"));
  for (int k = 0; k < sent; ++k) {
    EXPECT_EQ(node(2).count("msg " + name_of(1) + " broadcast bulk:" + std::to_string(k)), 1u)
        << "broadcast " << k << " of " << sent;
  }
  EXPECT_EQ(node(1).count("down " + name_of(2)), 0u) << "the link went down";
}

TEST_F(MeshProcessTest, UnicastToAnUnknownPeerFails) {
  start_chain(2);
  expect_all_up(2);
  node(1).send("unicast " + name_of(9) + " nobody");
  EXPECT_TRUE(node(1).wait_for_prefix("unicast-failed " + name_of(9)));
}

TEST_F(MeshProcessTest, GossipPayloadReachesANeighbour) {
  start_chain(2);
  expect_all_up(2);
  node(1).send("gossip ring-state-1");
  EXPECT_TRUE(node(2).wait_for_line("msg " + name_of(1) + " gossip ring-state-1"));
}

TEST_F(MeshProcessTest, KilledPeerGoesDownAndReconnectsWhenRestarted) {
  start_chain(3);
  expect_all_up(3);
  std::uint16_t port = node(2).port();
  std::size_t mark1 = node(1).line_count();
  std::size_t mark3 = node(3).line_count();
  node(2).kill();
  EXPECT_TRUE(node(1).wait_for_line("down " + name_of(2), mark1));
  EXPECT_TRUE(node(3).wait_for_line("down " + name_of(2), mark3));
  start(2, {}, {}, port);  // no targets: the others must redial it
  EXPECT_TRUE(node(1).wait_for_prefix("up " + name_of(2), mark1));
  EXPECT_TRUE(node(3).wait_for_prefix("up " + name_of(2), mark3));
  node(2).send("broadcast back");
  EXPECT_TRUE(node(1).wait_for_line("msg " + name_of(2) + " broadcast back"));
  EXPECT_TRUE(node(3).wait_for_line("msg " + name_of(2) + " broadcast back"));
}

TEST_F(MeshProcessTest, FrozenPeerIsDroppedByHeartbeatTimeoutAndReturnsWhenThawed) {
  start_chain(3);
  expect_all_up(3);
  std::size_t mark1 = node(1).line_count();
  std::size_t mark3 = node(3).line_count();
  node(2).signal(SIGSTOP);  // its sockets stay open: only the idle timeout can notice
  EXPECT_TRUE(node(1).wait_for_line("down " + name_of(2), mark1));
  EXPECT_TRUE(node(3).wait_for_line("down " + name_of(2), mark3));
  node(2).signal(SIGCONT);
  EXPECT_TRUE(node(1).wait_for_prefix("up " + name_of(2), mark1));
  EXPECT_TRUE(node(3).wait_for_prefix("up " + name_of(2), mark3));
}

TEST_F(MeshProcessTest, DifferentAllocationRangeIsRefusedOnBothSides) {
  start(1, {}, {"--range", "10.32.0.0/12"});
  start(2, {address(1)}, {"--range", "10.40.0.0/16"});
  EXPECT_TRUE(node(2).wait_for_line(
      "refused Incompatible IP allocation ranges (received: 10.32.0.0/12, ours: 10.40.0.0/16)"));
  EXPECT_TRUE(node(1).wait_for_line(
      "refused Incompatible IP allocation ranges (received: 10.40.0.0/16, ours: 10.32.0.0/12)"));
  std::ifstream log(node(1).log_path());
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find("Incompatible IP allocation ranges (received: 10.40.0.0/16, ours: "
                            "10.32.0.0/12)"),
            std::string::npos);
  EXPECT_EQ(node(1).count("up " + name_of(2) + " node-02"), 0u);
  EXPECT_EQ(node(2).count("up " + name_of(1) + " node-01"), 0u);
}

std::string created_apart(const std::string& peer, const std::string& ours,
                          const std::string& theirs) {
  return "refused this peer's IP allocation was created apart from " + peer + "'s (ours: " + ours +
         ", theirs: " + theirs + "); wipe the state of the smaller network and restart its peers";
}

TEST_F(MeshProcessTest, AllocationsCreatedApartAreRefusedOnBothSides) {
  start(1, {}, {"--identity", "seeds [a]", "--password", "pw"});
  start(2, {address(1)}, {"--identity", "seeds [b]", "--password", "pw"});
  EXPECT_TRUE(
      node(1).wait_for_line(created_apart(name_of(2) + "(node-02)", "seeds [a]", "seeds [b]")));
  EXPECT_TRUE(
      node(2).wait_for_line(created_apart(name_of(1) + "(node-01)", "seeds [b]", "seeds [a]")));
  // Both proved the password, so each tells its daemon.
  EXPECT_TRUE(node(1).wait_for_line("conflict " + name_of(2) + " seeds [b]"));
  EXPECT_TRUE(node(2).wait_for_line("conflict " + name_of(1) + " seeds [a]"));
  EXPECT_TRUE(wait_direct_links(1, 0));
  EXPECT_EQ(node(1).count("up " + name_of(2) + " node-02"), 0u);
  EXPECT_EQ(node(2).count("up " + name_of(1) + " node-01"), 0u);
}

TEST_F(MeshProcessTest, ConflictOfAStrangerWithoutThePasswordIsNotReported) {
  start(1, {}, {"--identity", "seeds [a]", "--password", "pw"});
  start(2, {address(1)}, {"--identity", "seeds [b]", "--password", "guess"});
  EXPECT_TRUE(node(1).wait_for_prefix("refused authentication failed"));
  EXPECT_TRUE(node(2).wait_for_prefix("refused authentication failed"));
  EXPECT_TRUE(node(1).wait_for_prefix("refused authentication failed", node(1).line_count()));
  for (int i : {1, 2}) {
    for (const std::string& line : node(i).lines()) {
      EXPECT_NE(line.rfind("conflict ", 0), 0u) << "node " << i << ": " << line;
    }
  }
}

TEST_F(MeshProcessTest, APeerWithoutAllocationIdentityJoinsAndIdentityIsAskedPerHandshake) {
  start(1, {}, {"--identity", "seeds [a]"});
  start(2, {address(1)});
  EXPECT_TRUE(node(1).wait_for_prefix("up " + name_of(2)));
  EXPECT_TRUE(node(2).wait_for_prefix("up " + name_of(1)));
  // Peer 2 now has allocation state of its own, created apart: the next handshake refuses.
  std::size_t mark = node(2).line_count();
  node(2).send("identity seeds [b]");
  node(2).send("forget " + address(1));
  node(2).send("connect " + address(1));
  EXPECT_TRUE(node(2).wait_for_line("conflict " + name_of(1) + " seeds [a]", mark));
  EXPECT_TRUE(wait_direct_links(2, 0));
}

TEST_F(MeshProcessTest, RefusedPeerIsDroppedAndRefusedUntilItRestarts) {
  start(1, {});
  start(2, {address(1)});
  ASSERT_TRUE(node(1).wait_for_prefix("up " + name_of(2)));
  ASSERT_TRUE(node(2).wait_for_prefix("up " + name_of(1)));
  std::size_t mark1 = node(1).line_count();
  std::size_t mark2 = node(2).line_count();
  node(1).send("refuse " + name_of(2) + " rings differ");
  EXPECT_TRUE(node(1).wait_for_line("down " + name_of(2), mark1));
  // Redials (from either side) are refused at the handshake, and reported as conflicts.
  EXPECT_TRUE(node(2).wait_for_prefix("refused refused by " + name_of(1), mark2));
  EXPECT_TRUE(node(1).wait_for_line("conflict " + name_of(2) + " ", mark1));
  // Another incarnation of peer 2 (restarted, say with its state wiped) is judged afresh.
  node(2).kill();
  mark1 = node(1).line_count();
  start(2, {address(1)});
  EXPECT_TRUE(node(1).wait_for_prefix("up " + name_of(2), mark1));
}

TEST_F(MeshProcessTest, WrongPasswordIsRefusedOnBothSides) {
  start(1, {}, {"--password", "alpha"});
  start(2, {address(1)}, {"--password", "bravo"});
  EXPECT_TRUE(node(1).wait_for_prefix("refused authentication failed"));
  EXPECT_TRUE(node(2).wait_for_prefix("refused authentication failed"));
  node(2).send("broadcast secret");
  EXPECT_EQ(node(1).count("up " + name_of(2) + " node-02"), 0u);
  EXPECT_EQ(node(1).count("msg " + name_of(2) + " broadcast secret"), 0u);
}

TEST_F(MeshProcessTest, MissingPasswordIsRefusedWithTheReason) {
  start(1, {}, {"--password", "alpha"});
  start(2, {address(1)});
  EXPECT_TRUE(node(1).wait_for_line("refused peer " + name_of(2) +
                                    "(node-02) has no password but we require one"));
  EXPECT_TRUE(node(2).wait_for_line("refused peer " + name_of(1) +
                                    "(node-01) requires a password but we have none"));
}

TEST_F(MeshProcessTest, SamePasswordGivesEncryptedLinksThatCarryMessages) {
  start_chain(3, {"--password", "correct horse"});
  expect_all_up(3);
  ASSERT_TRUE(wait_direct_links(1, 2));
  for (const std::string& line : node(1).peers()) {
    EXPECT_NE(line.find("encrypted=1"), std::string::npos) << line;
  }
  node(3).send("broadcast sealed");
  node(3).send("unicast " + name_of(1) + " sealed-unicast");
  EXPECT_TRUE(node(1).wait_for_line("msg " + name_of(3) + " broadcast sealed"));
  EXPECT_TRUE(node(2).wait_for_line("msg " + name_of(3) + " broadcast sealed"));
  EXPECT_TRUE(node(1).wait_for_line("msg " + name_of(3) + " unicast sealed-unicast"));
}

TEST_F(MeshProcessTest, SecondPeerWithOurNameIsRefused) {
  start(1, {});
  // Same name as peer 1, different incarnation, on another address.
  std::vector<std::string> args = {"--name", name_of(1),         "--listen", host(7),   "--port",
                                   "0",      "--backoff-max-ms", "800",      address(1)};
  nodes_[7] = NodeProcess::spawn(args, dir_.path() + "/node7.log");
  ASSERT_NE(nodes_[7], nullptr);
  EXPECT_TRUE(node(7).wait_for_prefix("refused peer name collision"));
  EXPECT_TRUE(node(1).wait_for_prefix("refused peer name collision"));
}

// Writes `bytes` to `port` on `ip` and closes; returns false if it could not connect.
bool send_raw(const std::string& ip, std::uint16_t port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &to.sin_addr);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
  if (ok) {
    ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
    char sink[256];
    while (::read(fd, sink, sizeof sink) > 0) {  // until the peer closes on us
    }
  }
  ::close(fd);
  return ok;
}

TEST_F(MeshProcessTest, GarbageOnThePortClosesOnlyThatConnection) {
  start_chain(2);
  expect_all_up(2);
  EXPECT_TRUE(send_raw(host(1), node(1).port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  // A valid preamble, then a header announcing a 4 GiB frame.
  EXPECT_TRUE(send_raw(host(1), node(1).port(), std::string("WIPM\x01\x01\xff\xff\xff\xff", 10)));
  // A valid preamble, then a frame of an unknown type instead of a Hello.
  EXPECT_TRUE(
      send_raw(host(1), node(1).port(), std::string("WIPM\x01\x01\x00\x00\x00\x01\x63", 11)));
  node(2).send("broadcast still-here");
  EXPECT_TRUE(node(1).wait_for_line("msg " + name_of(2) + " broadcast still-here"));
  EXPECT_EQ(node(1).count("down " + name_of(2)), 0u);
}

TEST_F(MeshProcessTest, PartitionIsSeenAndHeals) {
  start_chain(4);
  expect_all_up(4);
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(wait_direct_links(i, 3));
  }
  std::vector<std::size_t> mark = {0};
  for (int i = 1; i <= 4; ++i) {
    mark.push_back(node(i).line_count());
  }
  // Cut {1,2} from {3,4}, on both ends of every crossing link.
  for (int a : {1, 2}) {
    for (int b : {3, 4}) {
      node(a).send("block " + name_of(b));
      node(b).send("block " + name_of(a));
    }
  }
  for (int a : {1, 2}) {
    for (int b : {3, 4}) {
      EXPECT_TRUE(node(a).wait_for_line("down " + name_of(b), mark[a]));
      EXPECT_TRUE(node(b).wait_for_line("down " + name_of(a), mark[b]));
    }
  }
  node(1).send("broadcast during-partition");
  EXPECT_TRUE(node(2).wait_for_line("msg " + name_of(1) + " broadcast during-partition"));
  node(3).send("unicast " + name_of(1) + " across");
  EXPECT_TRUE(node(3).wait_for_prefix("unicast-failed " + name_of(1)));
  for (int i = 1; i <= 4; ++i) {
    mark[static_cast<std::size_t>(i)] = node(i).line_count();
  }
  for (int a : {1, 2}) {
    for (int b : {3, 4}) {
      node(a).send("unblock " + name_of(b));
      node(b).send("unblock " + name_of(a));
    }
  }
  for (int a : {1, 2}) {
    for (int b : {3, 4}) {
      EXPECT_TRUE(node(a).wait_for_prefix("up " + name_of(b), mark[a]));
      EXPECT_TRUE(node(b).wait_for_prefix("up " + name_of(a), mark[b]));
    }
  }
  node(4).send("broadcast healed");
  for (int i = 1; i <= 3; ++i) {
    EXPECT_TRUE(node(i).wait_for_line("msg " + name_of(4) + " broadcast healed"));
  }
  EXPECT_EQ(node(3).count("msg " + name_of(1) + " broadcast during-partition"), 0u);
  EXPECT_EQ(node(4).count("msg " + name_of(1) + " broadcast during-partition"), 0u);
}

}  // namespace
}  // namespace wipam::gossip::testing
