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
  std::string text = render_metrics({{s, {{"weave-10.32.1.0/24", 200}}}}, DaemonCounters(), gossip);
  for (const char* line :
       {"weave_ips{state=\"local-used\",range=\"10.32.0.0/12\"} 5\n",
        "weave_max_ips{range=\"10.32.0.0/12\"} 1048576\n",
        "weave_ipam_unreachable_count{range=\"10.32.0.0/12\"} 1\n",
        "weave_ipam_unreachable_percentage{range=\"10.32.0.0/12\"} 100\n",
        "weave_ipam_pending_allocates{range=\"10.32.0.0/12\"} 2\n",
        "weave_ipam_pending_claims{range=\"10.32.0.0/12\"} 0\n",
        "weave_ipam_pool_free_addresses{pool=\"weave-10.32.1.0/24\",range=\"10.32.0.0/12\"} 200\n",
        "weave_ipam_gossip_peers_connected 2\n",
        "weave_ipam_gossip_frames_sent_total{type=\"gossip\"} 1\n",
        "weave_ipam_gossip_frames_sent_total{type=\"topology\"} 1\n",
        "weave_ipam_gossip_frames_sent_total{type=\"broadcast\"} 0\n",
        "weave_ipam_gossip_frames_dropped_total{type=\"gossip\"} 1\n",
        "weave_ipam_gossip_frames_dropped_total{type=\"unicast\"} 0\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
}

TEST(MetricsTest, EveryRangeHasItsSeriesAndIpv6CountsDoNotOverflow) {
  ring::StatusReport v4;
  v4.universe = *ring::Cidr::parse("10.32.0.0/12");
  ring::StatusReport v6;
  v6.universe = *ring::Cidr::parse("fd00:32::/48");
  v6.owned = v6.universe.size();
  v6.free = v6.universe.size() - 3;
  v6.ready = true;
  ring::Uint128 pool = ring::Uint128{1} << 64;
  std::string text = render_metrics({{v4, {}}, {v6, {{"weave-fd00:32::/64", pool - 1}}}},
                                    DaemonCounters(), GossipFigures{});
  for (const char* line :
       {"weave_max_ips{range=\"10.32.0.0/12\"} 1048576\n",
        "weave_max_ips{range=\"fd00:32::/48\"} 1208925819614629174706176\n",
        "weave_ipam_free_addresses{range=\"fd00:32::/48\"} "
        "1208925819614629174706173\n",
        "weave_ipam_ready{range=\"10.32.0.0/12\"} 0\n",
        "weave_ipam_ready{range=\"fd00:32::/48\"} 1\n",
        "weave_ipam_pool_free_addresses{pool=\"weave-fd00:32::/64\",range=\"fd00:"
        "32::/48\"} 18446744073709551615\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
  // One HELP and TYPE per metric, however many ranges.
  std::size_t at = 0;
  int headers = 0;
  while ((at = text.find("# TYPE weave_max_ips ", at)) != std::string::npos) {
    ++headers;
    ++at;
  }
  EXPECT_EQ(headers, 1);
}

}  // namespace
}  // namespace wipam::driver
