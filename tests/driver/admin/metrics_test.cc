// The Prometheus text the daemon serves: histograms, and Weave's gauge names kept.
#include "driver/admin/metrics.h"

#include <gtest/gtest.h>

namespace wipam::driver {
namespace {

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Histogram h;
  h.observe(0.0003);
  h.observe(0.003);
  h.observe(7);
  std::string out;
  h.render(out, "x_seconds", "op=\"a\"");
  EXPECT_NE(out.find("x_seconds_bucket{op=\"a\",le=\"0.0005\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_bucket{op=\"a\",le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{op=\"a\",le=\"5\"} 2\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_bucket{op=\"a\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_count{op=\"a\"} 3\n"), std::string::npos);
}

TEST(MetricsTest, WeavesGaugesKeepTheirNames) {
  ring::StatusReport s;
  s.universe = *ring::Cidr::parse("10.32.0.0/12");
  s.allocated = 5;
  ring::RingRow gone;
  gone.range = s.universe.range();
  gone.owner = ring::PeerName(3);
  gone.reachable = false;
  s.ring.push_back(gone);
  s.pending_allocates = {"a", "b"};
  GossipFigures gossip{2, {}};
  const wipam::gossip::Bytes payload = {1, 2};
  gossip.frames.sent.add(wipam::gossip::encode_gossip(payload));
  gossip.frames.sent.add(wipam::gossip::encode_topology({}));
  gossip.frames.dropped.add(wipam::gossip::encode_gossip(payload));
  std::string text = render_metrics(s, DaemonCounters(), {{"weave-10.32.1.0/24", 200}}, gossip);
  for (const char* line :
       {"weave_ips{state=\"local-used\"} 5\n", "weave_max_ips 1048576\n",
        "weave_ipam_unreachable_count 1\n", "weave_ipam_unreachable_percentage 100\n",
        "weave_ipam_pending_allocates 2\n", "weave_ipam_pending_claims 0\n",
        "weave_ipam_pool_free_addresses{pool=\"weave-10.32.1.0/24\"} 200\n",
        "weave_ipam_gossip_peers_connected 2\n",
        "weave_ipam_gossip_frames_sent_total{type=\"gossip\"} 1\n",
        "weave_ipam_gossip_frames_sent_total{type=\"topology\"} 1\n",
        "weave_ipam_gossip_frames_sent_total{type=\"broadcast\"} 0\n",
        "weave_ipam_gossip_frames_dropped_total{type=\"gossip\"} 1\n",
        "weave_ipam_gossip_frames_dropped_total{type=\"unicast\"} 0\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace wipam::driver
