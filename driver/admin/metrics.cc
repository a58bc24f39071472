#include "driver/admin/metrics.h"

#include <cstdio>
#include <set>

namespace wipam::driver {
namespace {

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

std::string number(double v) {
  char text[64];
  std::snprintf(text, sizeof text, "%.9g", v);
  return text;
}

void gauge(std::string& out, const char* name, const char* help, const std::string& value,
           const std::string& labels = "") {
  header(out, name, "gauge", help);
  out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + value + "\n";
}

// Label values: backslash, quote and newline escaped.
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void frame_counts(std::string& out, const char* name, const char* help,
                  const gossip::FrameCounts& counts) {
  header(out, name, "counter", help);
  for (auto [type, value] : {std::pair{"topology", counts.topology},
                             {"broadcast", counts.broadcast},
                             {"unicast", counts.unicast},
                             {"gossip", counts.gossip}}) {
    out += std::string(name) + "{type=\"" + type + "\"} " + std::to_string(value) + "\n";
  }
}

}  // namespace

void Histogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      ++buckets_[i];
    }
  }
  ++count_;
  sum_ += seconds;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  std::string prefix = labels.empty() ? "" : labels + ",";
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    out += name + "_bucket{" + prefix + "le=\"" + number(kBounds[i]) + "\"} " +
           std::to_string(buckets_[i]) + "\n";
  }
  out += name + "_bucket{" + prefix + "le=\"+Inf\"} " + std::to_string(count_) + "\n";
  std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + number(sum_) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
}

namespace {

// One gauge with a sample per range, each labelled range="<cidr>" (and `labels`).
template <typename Value>
void range_gauge(std::string& out, const char* name, const char* help,
                 const std::vector<RangeMetrics>& ranges, Value value,
                 const std::string& labels = "") {
  header(out, name, "gauge", help);
  for (const RangeMetrics& r : ranges) {
    out += std::string(name) + "{" + (labels.empty() ? "" : labels + ",") + "range=\"" +
           r.status.universe.to_string() + "\"} " + value(r.status) + "\n";
  }
}

std::string count(ring::Uint128 n) { return ring::uint128_to_string(n); }

// The share of the range owned by peers we cannot reach.
std::string unreachable_percentage(const ring::StatusReport& s) {
  ring::Uint128 unreachable = 0;
  for (const ring::RingRow& r : s.ring) {
    unreachable += r.reachable ? 0 : r.range.size();
  }
  double universe = static_cast<double>(s.universe.size());
  return number(universe > 0 ? 100.0 * static_cast<double>(unreachable) / universe : 0);
}

// Weave's gauges, same names and meanings, per range.
void weave_gauges(std::string& out, const std::vector<RangeMetrics>& ranges) {
  range_gauge(
      out, "weave_ips", "Addresses allocated on this peer.", ranges,
      [](const ring::StatusReport& s) { return count(s.allocated); }, "state=\"local-used\"");
  range_gauge(out, "weave_max_ips", "Addresses in the allocation range.", ranges,
              [](const ring::StatusReport& s) { return count(s.universe.size()); });
  range_gauge(out, "weave_ipam_unreachable_count", "Peers owning ranges that are not reachable.",
              ranges, [](const ring::StatusReport& s) {
                std::set<ring::PeerName> unreachable;
                for (const ring::RingRow& r : s.ring) {
                  if (!r.reachable) {
                    unreachable.insert(r.owner);
                  }
                }
                return std::to_string(unreachable.size());
              });
  range_gauge(out, "weave_ipam_unreachable_percentage",
              "Percentage of the range owned by unreachable peers.", ranges,
              unreachable_percentage);
  range_gauge(
      out, "weave_ipam_pending_allocates", "Allocations waiting for space or consensus.", ranges,
      [](const ring::StatusReport& s) { return std::to_string(s.pending_allocates.size()); });
  range_gauge(out, "weave_ipam_pending_claims", "Claims waiting for the owner of their range.",
              ranges,
              [](const ring::StatusReport& s) { return std::to_string(s.pending_claims.size()); });
}

// What the daemon answered, and how long it took.
void operation_counters(std::string& out, const DaemonCounters& c) {
  header(out, "weave_ipam_allocations_total", "counter",
         "Allocate and claim operations answered, by kind and result.");
  out += "weave_ipam_allocations_total{kind=\"allocate\",result=\"ok\"} " +
         std::to_string(c.allocate_ok) + "\n";
  out += "weave_ipam_allocations_total{kind=\"allocate\",result=\"error\"} " +
         std::to_string(c.allocate_failed) + "\n";
  out += "weave_ipam_allocations_total{kind=\"claim\",result=\"ok\"} " +
         std::to_string(c.claim_ok) + "\n";
  out += "weave_ipam_allocations_total{kind=\"claim\",result=\"error\"} " +
         std::to_string(c.claim_failed) + "\n";
  header(out, "weave_ipam_releases_total", "counter", "Release operations answered, by cause.");
  out += "weave_ipam_releases_total{cause=\"request\"} " + std::to_string(c.releases) + "\n";
  out += "weave_ipam_releases_total{cause=\"container_exit\"} " +
         std::to_string(c.container_exit_releases) + "\n";
  out += "weave_ipam_releases_total{cause=\"reconcile\"} " + std::to_string(c.reconcile_releases) +
         "\n";
  header(out, "weave_ipam_operation_seconds", "histogram",
         "Time from request to durable reply, by operation.");
  c.allocate_seconds.render(out, "weave_ipam_operation_seconds", "op=\"allocate\"");
  c.claim_seconds.render(out, "weave_ipam_operation_seconds", "op=\"claim\"");
  c.release_seconds.render(out, "weave_ipam_operation_seconds", "op=\"release\"");
  header(out, "weave_ipam_donations_total", "counter", "Ranges this peer donated to others.");
  out += "weave_ipam_donations_total " + std::to_string(c.donations) + "\n";
}

// Where this peer stands in each range: consensus, space, pools, conflicts.
void range_state(std::string& out, const std::vector<RangeMetrics>& ranges) {
  header(out, "weave_ipam_consensus_state", "gauge",
         "1 for the state the ring's creation is in, 0 for the others.");
  for (const RangeMetrics& r : ranges) {
    for (ring::ConsensusState state : ring::kConsensusStates) {
      out += std::string("weave_ipam_consensus_state{state=\"") +
             ring::consensus_state_name(state) + "\",range=\"" + r.status.universe.to_string() +
             "\"} " + (r.status.consensus == state ? "1" : "0") + "\n";
    }
  }
  range_gauge(out, "weave_ipam_ready", "1 once this peer can allocate.", ranges,
              [](const ring::StatusReport& s) { return std::string(s.ready ? "1" : "0"); });
  range_gauge(out, "weave_ipam_owned_addresses", "Addresses in ranges this peer owns.", ranges,
              [](const ring::StatusReport& s) { return count(s.owned); });
  range_gauge(out, "weave_ipam_free_addresses", "Free addresses in ranges this peer owns.", ranges,
              [](const ring::StatusReport& s) { return count(s.free); });
  header(out, "weave_ipam_pool_free_addresses", "gauge",
         "Free host addresses in each Docker pool of this host, from the ring's free reports.");
  for (const RangeMetrics& r : ranges) {
    for (const PoolFree& p : r.pools) {
      out += "weave_ipam_pool_free_addresses{pool=\"" + label(p.pool) + "\",range=\"" +
             r.status.universe.to_string() + "\"} " + count(p.free) + "\n";
    }
  }
  range_gauge(out, "weave_ipam_conflicts", "Addresses held by two peers at once (should be 0).",
              ranges,
              [](const ring::StatusReport& s) { return std::to_string(s.conflicts.size()); });
}

// The gossip links.
void gossip_state(std::string& out, const GossipFigures& gossip) {
  gauge(out, "weave_ipam_gossip_peers_connected", "Peers with a direct gossip connection.",
        std::to_string(gossip.peers_connected));
  frame_counts(out, "weave_ipam_gossip_frames_sent_total",
               "Frames queued on established gossip links, by type.", gossip.frames.sent);
  frame_counts(out, "weave_ipam_gossip_frames_dropped_total",
               "Frames that could not be queued (the link was closing, or its send queue was full "
               "and it closed), by type.",
               gossip.frames.dropped);
}

}  // namespace

std::string render_metrics(const std::vector<RangeMetrics>& ranges, const DaemonCounters& c,
                           const GossipFigures& gossip) {
  std::string out;
  weave_gauges(out, ranges);
  operation_counters(out, c);
  range_state(out, ranges);
  gossip_state(out, gossip);
  return out;
}

}  // namespace wipam::driver
