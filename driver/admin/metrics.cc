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

// Weave's gauges, same names and meanings.
void weave_gauges(std::string& out, const ring::StatusReport& s) {
  gauge(out, "weave_ips", "Addresses allocated on this peer.", ring::uint128_to_string(s.allocated),
        "state=\"local-used\"");
  gauge(out, "weave_max_ips", "Addresses in the allocation range.",
        ring::uint128_to_string(s.universe.size()));
  std::set<ring::PeerName> unreachable;
  ring::Uint128 unreachable_addresses = 0;
  for (const ring::RingRow& r : s.ring) {
    if (!r.reachable) {
      unreachable.insert(r.owner);
      unreachable_addresses += r.range.size();
    }
  }
  gauge(out, "weave_ipam_unreachable_count", "Peers owning ranges that are not reachable.",
        std::to_string(unreachable.size()));
  double universe = static_cast<double>(s.universe.size());
  gauge(out, "weave_ipam_unreachable_percentage",
        "Percentage of the range owned by unreachable peers.",
        number(universe > 0 ? 100.0 * static_cast<double>(unreachable_addresses) / universe : 0));
  gauge(out, "weave_ipam_pending_allocates", "Allocations waiting for space or consensus.",
        std::to_string(s.pending_allocates.size()));
  gauge(out, "weave_ipam_pending_claims", "Claims waiting for the owner of their range.",
        std::to_string(s.pending_claims.size()));
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

// Where this peer stands: consensus, space, pools, conflicts, gossip.
void peer_state(std::string& out, const ring::StatusReport& s, const std::vector<PoolFree>& pools,
                const GossipFigures& gossip) {
  header(out, "weave_ipam_consensus_state", "gauge",
         "1 for the state the ring's creation is in, 0 for the others.");
  for (ring::ConsensusState state : ring::kConsensusStates) {
    out += std::string("weave_ipam_consensus_state{state=\"") + ring::consensus_state_name(state) +
           "\"} " + (s.consensus == state ? "1" : "0") + "\n";
  }
  gauge(out, "weave_ipam_ready", "1 once this peer can allocate.", s.ready ? "1" : "0");
  gauge(out, "weave_ipam_owned_addresses", "Addresses in ranges this peer owns.",
        ring::uint128_to_string(s.owned));
  gauge(out, "weave_ipam_free_addresses", "Free addresses in ranges this peer owns.",
        ring::uint128_to_string(s.free));
  header(out, "weave_ipam_pool_free_addresses", "gauge",
         "Free host addresses in each Docker pool of this host, from the ring's free reports.");
  for (const PoolFree& p : pools) {
    out += "weave_ipam_pool_free_addresses{pool=\"" + label(p.pool) + "\"} " +
           ring::uint128_to_string(p.free) + "\n";
  }
  gauge(out, "weave_ipam_conflicts", "Addresses held by two peers at once (should be 0).",
        std::to_string(s.conflicts.size()));
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

std::string render_metrics(const ring::StatusReport& s, const DaemonCounters& c,
                           const std::vector<PoolFree>& pools, const GossipFigures& gossip) {
  std::string out;
  weave_gauges(out, s);
  operation_counters(out, c);
  peer_state(out, s, pools, gossip);
  return out;
}

}  // namespace wipam::driver
