#include "driver/docker/pool_record.h"

#include <cstdint>

#include "driver/http/json_input.h"

namespace wipam::driver {
namespace {

using nlohmann::json;
using ring::Cidr;

constexpr std::size_t kMaxPoolRecordBytes = 64 * 1024;

// The "rerequests" map of a stored swarm pool: address text -> a count from 1.
bool parse_rerequests(const json& j, const Cidr& subnet, std::map<ring::Address, unsigned>& out) {
  if (!j.is_object()) {
    return false;
  }
  for (const auto& [text, count] : j.items()) {
    Result<ring::Address> a = ring::Address::parse(text);
    if (!a.ok() || !subnet.range().contains(*a) || !count.is_number_unsigned() ||
        count.get<std::uint64_t>() == 0 || count.get<std::uint64_t>() > UINT32_MAX) {
      return false;
    }
    out[*a] = count.get<unsigned>();
  }
  return true;
}

}  // namespace

Result<PoolRecord> decode_pool_record(const std::string& key, const std::string& value) {
  Result<json> parsed = parse_untrusted_json(value, "stored pool", kMaxPoolRecordBytes);
  const json j = parsed.ok() ? *parsed : json();
  auto bad = [&] {
    return Status::corruption("stored pool " + key + " = '" + value.substr(0, 200) +
                              "' is not well formed; restore the state from a backup, or " +
                              "remove the key if its network is gone");
  };
  if (!j.is_object() || !j.contains("subnet") || !j["subnet"].is_string() || !j.contains("refs") ||
      !j["refs"].is_number_unsigned()) {
    return bad();
  }
  Result<Cidr> subnet = Cidr::parse_subnet(j["subnet"].get<std::string>());
  if (!subnet.ok()) {
    return bad();
  }
  auto automatic = j.find("automatic");
  auto sub_pool = j.find("sub_pool");
  auto swarm = j.find("swarm");
  if (j["refs"].get<std::uint64_t>() > UINT32_MAX ||
      (automatic != j.end() && !automatic->is_boolean()) ||
      (sub_pool != j.end() && !sub_pool->is_string()) ||
      (swarm != j.end() && !swarm->is_boolean())) {
    return bad();
  }
  PoolRecord record;
  record.subnet = *subnet;
  record.refs = j["refs"].get<unsigned>();
  record.automatic = automatic != j.end() && automatic->get<bool>();
  record.swarm = swarm != j.end() && swarm->get<bool>();
  if (sub_pool != j.end()) {
    Result<Cidr> sub = Cidr::parse_subnet(j["sub_pool"].get<std::string>());
    if (!sub.ok()) {
      return bad();
    }
    record.sub_pool = *sub;
  }
  if (auto rerequests = j.find("rerequests");
      rerequests != j.end() && !parse_rerequests(*rerequests, *subnet, record.rerequests)) {
    return bad();
  }
  return record;
}

std::string encode_pool_record(const PoolRecord& record) {
  json j{{"subnet", record.subnet.to_string()},
         {"refs", record.refs},
         {"automatic", record.automatic}};
  if (record.sub_pool) {
    j["sub_pool"] = record.sub_pool->to_string();
  }
  if (record.swarm) {
    j["swarm"] = true;
    json rerequests = json::object();
    for (const auto& [address, count] : record.rerequests) {
      rerequests[address.to_string()] = count;
    }
    j["rerequests"] = rerequests;
  }
  return j.dump();
}

}  // namespace wipam::driver
