#include "driver/docker/docker_events.h"

#include <nlohmann/json.hpp>

#include "driver/http/json_input.h"

namespace wipam::driver {
namespace {

using nlohmann::json;

// Docker's replies are trusted no more than anything else from outside a socket.
constexpr std::size_t kMaxReplyBytes = 64 << 20;

Result<json> parse_reply(std::string_view text, const char* what) {
  Result<json> j = parse_untrusted_json(text, what, kMaxReplyBytes);
  if (!j.ok()) {
    return Status::invalid_argument(std::string("Docker sent a malformed ") + what + ": " +
                                    j.status().message());
  }
  return j;
}

Result<json> parse_object(std::string_view text, const char* what) {
  Result<json> j = parse_reply(text, what);
  if (j.ok() && !j->is_object()) {
    return Status::invalid_argument(std::string("Docker sent a malformed ") + what);
  }
  return j;
}

// "10.99.1.2/24" or "10.99.1.2"; empty is "none".
Result<ring::Address> address_of(const std::string& text) {
  std::string_view host = text;
  if (auto slash = host.find('/'); slash != std::string_view::npos) {
    host = host.substr(0, slash);
  }
  return ring::Address::parse(host);
}

}  // namespace

Result<DockerEvent> parse_docker_event(std::string_view text) {
  Result<json> j = parse_object(text, "event");
  if (!j.ok()) {
    return j.status();
  }
  DockerEvent e;
  e.type = string_or_empty(*j, "Type");
  e.action = string_or_empty(*j, "Action");
  auto actor = j->find("Actor");
  if (actor != j->end() && actor->is_object()) {
    e.actor = string_or_empty(*actor, "ID");
    auto attributes = actor->find("Attributes");
    if (attributes != actor->end() && attributes->is_object()) {
      for (const auto& [key, value] : attributes->items()) {
        if (value.is_string()) {
          e.attributes[key] = value.get<std::string>();
        }
      }
    }
  }
  auto time = j->find("time");
  if (time != j->end() && time->is_number_integer()) {
    e.time = time->get<std::int64_t>();
  }
  if (e.type.empty() || e.action.empty()) {
    return Status::invalid_argument("Docker sent an event without Type or Action");
  }
  return e;
}

Result<DockerNetwork> parse_docker_network(std::string_view text) {
  Result<json> j = parse_object(text, "network");
  if (!j.ok()) {
    return j.status();
  }
  DockerNetwork n;
  n.id = string_or_empty(*j, "Id");
  auto ipam = j->find("IPAM");
  if (ipam != j->end() && ipam->is_object()) {
    n.ipam_driver = string_or_empty(*ipam, "Driver");
    auto configs = ipam->find("Config");
    if (configs != ipam->end() && configs->is_array()) {
      for (const json& config : *configs) {
        if (!config.is_object()) {
          continue;
        }
        if (Result<ring::Cidr> subnet = ring::Cidr::parse(string_or_empty(config, "Subnet"));
            subnet.ok()) {
          n.subnets.push_back(*subnet);
        }
        if (Result<ring::Address> gateway = address_of(string_or_empty(config, "Gateway"));
            gateway.ok()) {
          n.reserved.push_back(*gateway);
        }
        auto aux = config.find("AuxiliaryAddresses");
        if (aux != config.end() && aux->is_object()) {
          for (const auto& [name, value] : aux->items()) {
            if (!value.is_string()) {
              continue;
            }
            if (Result<ring::Address> a = address_of(value.get<std::string>()); a.ok()) {
              n.reserved.push_back(*a);
            }
          }
        }
      }
    }
  }
  auto containers = j->find("Containers");
  if (containers != j->end() && containers->is_object()) {
    for (const auto& [id, endpoint] : containers->items()) {
      if (!endpoint.is_object()) {
        continue;
      }
      for (const char* key : {"IPv4Address", "IPv6Address"}) {
        if (Result<ring::Address> a = address_of(string_or_empty(endpoint, key)); a.ok()) {
          n.containers[*a] = id;
        }
      }
    }
  }
  if (n.id.empty()) {
    return Status::invalid_argument("Docker sent a network without an Id");
  }
  return n;
}

Result<std::string> parse_docker_daemon_id(std::string_view text) {
  Result<json> j = parse_object(text, "info reply");
  if (!j.ok()) {
    return j.status();
  }
  std::string id = string_or_empty(*j, "ID");
  if (id.empty()) {
    return Status::invalid_argument("Docker's info reply has no ID");
  }
  return id;
}

Result<std::vector<std::string>> parse_docker_network_ids(std::string_view text) {
  Result<json> j = parse_reply(text, "network list");
  if (!j.ok()) {
    return j.status();
  }
  if (!j->is_array()) {
    return Status::invalid_argument("Docker sent a malformed network list");
  }
  std::vector<std::string> ids;
  for (const json& network : *j) {
    if (network.is_object() && !string_or_empty(network, "Id").empty()) {
      ids.push_back(string_or_empty(network, "Id"));
    }
  }
  return ids;
}

bool is_container_id(std::string_view owner) {
  if (owner.size() != 64) {
    return false;
  }
  for (char c : owner) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

}  // namespace wipam::driver
