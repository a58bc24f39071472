// The admin API's JSON documents: the allocator's status (with the mesh's view of each peer),
// the gossip peers and targets, and the allocations by owner. Pure renderings; the CLI and
// the ring page read exactly these.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gossip/mesh.h"
#include "ring/allocator.h"

namespace wipam::driver {

// `default_subnet` is the launch flag; `extra` fields (e.g. docker watcher state) are merged in.
nlohmann::json status_json(const ring::StatusReport& status, const ring::Cidr& default_subnet);

nlohmann::json peers_json(const std::vector<gossip::PeerStatus>& peers,
                          const std::vector<gossip::TargetStatus>& targets);

// owner -> ["a.b.c.d/len", ...], from address -> owner and the owners' prefix lengths.
nlohmann::json owners_json(
    const std::map<ring::Address, std::string>& allocations,
    const std::function<std::vector<ring::Cidr>(const std::string&)>& lookup);

}  // namespace wipam::driver
