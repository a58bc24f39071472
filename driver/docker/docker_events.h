// What the Docker Engine API tells us, parsed from its JSON: events from GET /events and the
// endpoints of a network from GET /networks/{id}. Pure; input is treated as untrusted (a
// field of the wrong type is an error, never a crash).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ring/address.h"
#include "ring/status.h"

namespace wipam::driver {

struct DockerEvent {
  std::string type;    // "container", "network", ...
  std::string action;  // "die", "destroy", "connect", ...
  std::string actor;   // the container's or network's ID
  std::map<std::string, std::string> attributes;
  std::int64_t time = 0;  // seconds since the epoch
};

Result<DockerEvent> parse_docker_event(std::string_view json);

// The addresses Docker holds in one network: each container's, and the gateway and
// auxiliary addresses of its IPAM config.
struct DockerNetwork {
  std::string id;
  std::string ipam_driver;
  std::vector<ring::Cidr> subnets;
  std::map<ring::Address, std::string> containers;  // address -> container ID
  std::vector<ring::Address> reserved;              // gateways and auxiliary addresses
};

Result<DockerNetwork> parse_docker_network(std::string_view json);

// The daemon's ID in a GET /info reply (stable for a dockerd's data root).
Result<std::string> parse_docker_daemon_id(std::string_view json);

// The IDs in a GET /networks reply.
Result<std::vector<std::string>> parse_docker_network_ids(std::string_view json);

// True iff `owner` looks like a Docker container ID (64 lowercase hex digits).
bool is_container_id(std::string_view owner);

}  // namespace wipam::driver
