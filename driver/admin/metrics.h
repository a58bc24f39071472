// Prometheus metrics: Weave's IPAM gauges under their names, so existing dashboards keep
// working, and our own counters and latency histograms. The daemon counts on its loop; a
// scrape renders the counters with a fresh status in the text exposition format 0.0.4.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gossip/frame_counts.h"
#include "ring/allocator.h"

namespace wipam::driver {

// Seconds, cumulative buckets as Prometheus expects.
class Histogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,   0.1,   0.25,   0.5,   1,    5};
  void observe(double seconds);
  // Appends name_bucket{labels,le=...}, name_sum and name_count lines.
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<std::uint64_t, kBounds.size()> buckets_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

struct DaemonCounters {
  std::uint64_t allocate_ok = 0;
  std::uint64_t allocate_failed = 0;
  std::uint64_t claim_ok = 0;
  std::uint64_t claim_failed = 0;
  std::uint64_t releases = 0;
  std::uint64_t donations = 0;  // ranges this peer gave away
  std::uint64_t reconcile_releases = 0;
  std::uint64_t container_exit_releases = 0;
  Histogram allocate_seconds;
  Histogram claim_seconds;
  Histogram release_seconds;
};

struct PoolFree {
  std::string pool;    // the pool ID, e.g. weave-10.32.1.0/24
  ring::Uint128 free;  // host addresses not allocated (see Daemon::pool_free)
};

struct GossipFigures {
  std::size_t peers_connected = 0;  // direct links
  gossip::MeshCounters frames;
};

// One allocation range's figures: its status and the pools of this host in it.
struct RangeMetrics {
  ring::StatusReport status;
  std::vector<PoolFree> pools;
};

// Every per-range series carries range="<cidr>"; counters of the daemon as a whole do not.
std::string render_metrics(const std::vector<RangeMetrics>& ranges, const DaemonCounters& counters,
                           const GossipFigures& gossip);

}  // namespace wipam::driver
