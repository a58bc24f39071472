// The CNI plugin's output: results, errors and the VERSION answer, as the spec lays them
// out for the version the configuration speaks. Pure.
#include "driver/client/cni.h"
#include "driver/http/json_input.h"

namespace wipam::driver {

using nlohmann::json;

std::string render_cni_result(const std::string& cni_version, const std::vector<ring::Cidr>& ips,
                              const std::vector<ring::Address>& gateways, const json& routes) {
  json list = json::array();
  for (const ring::Cidr& c : ips) {
    json ip = {{"address", c.to_string()}};
    if (cni_version == "0.4.0") {
      ip["version"] = c.family() == ring::Family::kV4 ? "4" : "6";
    }
    // The gateway of its subnet, else the one of its family.
    const ring::Address* gateway = nullptr;
    for (const ring::Address& g : gateways) {
      if (c.subnet().range().contains(g) || (gateway == nullptr && g.family() == c.family())) {
        gateway = &g;
      }
    }
    if (gateway != nullptr) {
      ip["gateway"] = gateway->to_string();
    }
    list.push_back(ip);
  }
  json out = {{"cniVersion", cni_version}, {"ips", list}};
  if (routes.is_array() && !routes.empty()) {
    out["routes"] = routes;
  }
  return dump_json(out) + "\n";
}

std::string render_cni_error(const CniError& error) {
  json out = {{"cniVersion", error.cni_version},
              {"code", static_cast<int>(error.code)},
              {"msg", error.msg}};
  if (!error.details.empty()) {
    out["details"] = error.details;
  }
  return dump_json(out) + "\n";
}

std::string render_cni_version() {
  return json{{"cniVersion", "1.1.0"}, {"supportedVersions", cni_supported_versions()}}.dump() +
         "\n";
}

}  // namespace wipam::driver
