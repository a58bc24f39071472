// mesh_bench: five fresh mesh_node processes on 127.0.0.x, started as a chain of targets.
// Prints (1) the time until every peer has a direct link to every other, (2) broadcast
// latency from send to delivery at each other peer, p50 and p99, and (3) each peer's RSS at
// rest. Broadcasts are paced 2 ms apart from rotating senders. Latency is measured with
// CLOCK_MONOTONIC, which all processes on a host share: the payload carries the send time, the
// receiver prints its delivery time. Plain links unless
// --password is given. Figures only; no assertions.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <time.h>
#include <vector>

#include "tests/gossip/node_harness.h"

namespace {

using wipam::gossip::testing::NodeProcess;
using wipam::gossip::testing::TempDir;

constexpr int kPeers = 5;
constexpr int kBroadcasts = 500;

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string name_of(int i) {
  char text[32];
  std::snprintf(text, sizeof text, "00:00:00:00:00:%02x", i);
  return text;
}

std::size_t direct_links(NodeProcess& node) {
  std::size_t n = 0;
  for (const std::string& line : node.peers()) {
    n += line.find(" direct ") != std::string::npos ? 1 : 0;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> extra;
  for (int i = 1; i < argc; ++i) {
    extra.push_back(argv[i]);
  }
  TempDir dir;
  std::vector<std::unique_ptr<NodeProcess>> nodes;
  auto start = std::chrono::steady_clock::now();
  for (int i = 1; i <= kPeers; ++i) {
    std::vector<std::string> args = {"--name", name_of(i), "--listen",
                                     "127.0.0." + std::to_string(60 + i), "--timestamps"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (i > 1) {
      args.push_back("127.0.0." + std::to_string(60 + i - 1) + ":" +
                     std::to_string(nodes.back()->port()));
    }
    nodes.push_back(NodeProcess::spawn(args, dir.path() + "/node" + std::to_string(i) + ".log"));
    if (!nodes.back()) {
      std::fprintf(stderr, "mesh_bench: mesh_node %d did not start\n", i);
      return 1;
    }
  }
  bool full = false;
  while (!full && std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
    full = std::all_of(nodes.begin(), nodes.end(),
                       [](auto& n) { return direct_links(*n) == kPeers - 1; });
  }
  double formed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("peers: %d (chain of targets, discovery on)%s\n", kPeers,
              extra.empty() ? "" : " with extra flags");
  std::printf("full topology formed: %s in %.0f ms (from first spawn, incl. process start)\n",
              full ? "yes" : "NO", formed_ms);

  for (int k = 0; k < kBroadcasts; ++k) {
    nodes[static_cast<std::size_t>(k % kPeers)]->send("broadcast " + std::to_string(k) + ":" +
                                                      std::to_string(monotonic_ns()));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // paced: latency, not a flood
  }
  std::vector<double> latencies_us;
  for (int i = 0; i < kPeers; ++i) {
    std::string last = std::to_string(kBroadcasts - 1) + ":";
    nodes[static_cast<std::size_t>(i)]->wait_for(
        [&](const std::string& l) { return l.find(" broadcast " + last) != std::string::npos; });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (auto& node : nodes) {
    for (const std::string& line : node->lines()) {
      std::size_t b = line.find(" broadcast ");
      std::size_t at = line.rfind(" @");
      if (line.rfind("msg ", 0) != 0 || b == std::string::npos || at == std::string::npos) {
        continue;
      }
      std::string text = line.substr(b + 11, at - b - 11);
      std::int64_t sent = std::stoll(text.substr(text.find(':') + 1));
      std::int64_t got = std::stoll(line.substr(at + 2));
      latencies_us.push_back(static_cast<double>(got - sent) / 1000.0);
    }
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) {
    return latencies_us.empty()
               ? 0.0
               : latencies_us[std::min(latencies_us.size() - 1,
                                       static_cast<std::size_t>(p * latencies_us.size()))];
  };
  std::printf(
      "broadcast latency: %zu deliveries of %d broadcasts (expected %d): p50 %.0f us, "
      "p99 %.0f us, max %.0f us\n",
      latencies_us.size(), kBroadcasts, kBroadcasts * (kPeers - 1), pct(0.5), pct(0.99),
      latencies_us.empty() ? 0.0 : latencies_us.back());

  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (int i = 0; i < kPeers; ++i) {
    std::ifstream status("/proc/" + std::to_string(nodes[static_cast<std::size_t>(i)]->pid()) +
                         "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmRSS:", 0) == 0) {
        std::printf("peer %d at rest: %s\n", i + 1, line.c_str());
      }
    }
  }
  return full ? 0 : 1;
}
