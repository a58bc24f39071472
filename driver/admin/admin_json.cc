#include "driver/admin/admin_json.h"

#include <set>

namespace wipam::driver {
namespace {

using nlohmann::json;

std::string count(ring::Uint128 n) { return ring::uint128_to_string(n); }

json names(const std::vector<ring::PeerName>& peers) {
  json out = json::array();
  for (const ring::PeerName& p : peers) {
    out.push_back(p.to_string());
  }
  return out;
}

const char* target_state(gossip::TargetStatus::State s) {
  switch (s) {
    case gossip::TargetStatus::State::kWaiting:
      return "waiting";
    case gossip::TargetStatus::State::kConnecting:
      return "connecting";
    case gossip::TargetStatus::State::kConnected:
      return "connected";
  }
  return "unknown";
}

}  // namespace

json status_json(const ring::StatusReport& s, const ring::Cidr& default_subnet) {
  json peers = json::array();
  for (const ring::PeerRow& p : s.peers) {
    peers.push_back({{"name", p.name.to_string()},
                     {"nickname", p.nickname},
                     {"reachable", p.reachable},
                     {"self", p.name == s.self.name},
                     {"owned", count(p.owned)},
                     {"free", count(p.free)}});
  }
  json ring_rows = json::array();
  for (const ring::RingRow& r : s.ring) {
    ring_rows.push_back({{"range", r.range.to_string()},
                         {"start", r.range.start().to_string()},
                         {"size", count(r.range.size())},
                         {"owner", r.owner.to_string()},
                         {"nickname", r.nickname},
                         {"reachable", r.reachable},
                         {"version", r.version},
                         {"free", count(r.free)}});
  }
  json apart = json::array();
  for (const ring::RingConflict& c : s.ring_conflicts) {
    apart.push_back({{"peer", c.peer.name.to_string()},
                     {"nickname", c.peer.nickname},
                     {"ours", names(c.ours)},
                     {"theirs", names(c.theirs)},
                     {"message", c.message()}});
  }
  return {{"peer", s.self.name.to_string()},
          {"nickname", s.self.nickname},
          {"range", s.universe.to_string()},
          {"range_size", count(s.universe.size())},
          {"default_subnet", default_subnet.to_string()},
          {"init", s.init},
          {"consensus", ring::consensus_state_name(s.consensus)},
          {"status", s.summary},
          {"ready", s.ready},
          {"quorum", s.quorum},
          {"known", s.known},
          {"allocated", count(s.allocated)},
          {"owned", count(s.owned)},
          {"free", count(s.free)},
          {"peers", peers},
          {"ring", ring_rows},
          {"pending_allocates", s.pending_allocates},
          {"pending_claims", s.pending_claims},
          {"conflicts", s.conflicts},
          {"ring_conflicts", apart}};
}

json peers_json(const std::vector<gossip::PeerStatus>& peers,
                const std::vector<gossip::TargetStatus>& targets) {
  json p = json::array();
  for (const gossip::PeerStatus& peer : peers) {
    p.push_back({{"name", peer.identity.name.to_string()},
                 {"nickname", peer.identity.nickname},
                 {"address", peer.address},
                 {"direct", peer.direct},
                 {"via", peer.via ? peer.via->to_string() : ""},
                 {"hops", peer.hops},
                 {"reachable", peer.hops > 0 || peer.direct},
                 {"encrypted", peer.encrypted}});
  }
  json t = json::array();
  for (const gossip::TargetStatus& target : targets) {
    t.push_back({{"address", target.address},
                 {"discovered", target.discovered},
                 {"state", target_state(target.state)},
                 {"peer", target.peer ? target.peer->to_string() : ""},
                 {"failures", target.failures},
                 {"last_error", target.last_error},
                 {"retry_in_ms", target.retry_in.count()}});
  }
  return {{"peers", p}, {"targets", t}};
}

json owners_json(const std::map<ring::Address, std::string>& allocations,
                 const std::function<std::vector<ring::Cidr>(const std::string&)>& lookup) {
  std::set<std::string> owners;
  for (const auto& [address, owner] : allocations) {
    owners.insert(owner);
  }
  json out = json::object();
  for (const std::string& owner : owners) {
    json list = json::array();
    for (const ring::Cidr& c : lookup(owner)) {
      list.push_back(c.to_string());
    }
    out[owner] = list;
  }
  return out;
}

}  // namespace wipam::driver
