// Plugin JSON: each line of the input is one request dockerd could send, "<Endpoint> <body>"
// ("RequestPool {...}" posts to /IpamDriver.RequestPool; a word starting with '/' is the
// path itself). A first line "v6" makes the range IPv6. Requests go through IpamApi as the
// daemon serves them: pool writes to the store, commands to a real allocator, their replies
// through `finish`. Afterwards the pool table must restore from what was written.
#include <nlohmann/json.hpp>

#include "driver/docker/ipam_api.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/fuzz/fuzz_util.h"

namespace wipam::fuzz {
namespace {

constexpr std::size_t kMaxRequests = 64;

ring::Cidr cidr(const char* text) { return *ring::Cidr::parse(text); }

// Every answer follows the plugin contract: a JSON object, with "Err" unless it is a 200.
void check_reply(const driver::ApiReply& reply) {
  nlohmann::json body = nlohmann::json::parse(reply.body, nullptr, false);
  fuzz_check(body.is_object(), "a plugin reply is a JSON object: " + reply.body);
  fuzz_check(reply.status == 200 || body.contains("Err"), "an error reply has Err: " + reply.body);
}

driver::ApiReply serve(FuzzPeer& peer, driver::IpamApi& api, std::string_view line) {
  auto [word, body] = first_word(line);
  std::string path(word);
  if (!word.starts_with('/')) {
    path = "/IpamDriver." + path;
  }
  driver::IpamApi::Outcome out = api.handle(path, body);
  fuzz_check(out.reply.has_value() != out.command.has_value(), "a reply or a command");
  fuzz_check(!out.command || out.writes.empty(), "the daemon drops a command's writes");
  peer.write(out.writes);
  if (out.retired_swarm_pool) {  // as Daemon::free_retired_pool
    std::vector<ring::ReleaseCommand> releases;
    for (const auto& [address, holder] : peer.allocator().allocations()) {
      if (out.retired_swarm_pool->subnet.range().contains(address) &&
          driver::IpamApi::dockerd_owns(out.retired_swarm_pool->id, address, holder)) {
        releases.push_back({address, holder});
      }
    }
    for (const ring::ReleaseCommand& r : releases) {
      peer.run(r);
    }
  }
  if (!out.command) {
    return *out.reply;
  }
  std::vector<ring::Reply> replies = peer.run(*out.command);
  // A deferred reply (no space) would come later: the request is simply still waiting.
  return replies.empty() ? driver::ApiReply{200, "{}"} : out.finish(replies.front());
}

// What IpamApi wrote restores to the same pool table.
void check_restore(const FuzzPeer& peer, const driver::IpamApi& api, const ring::Cidr& range,
                   int prefix) {
  driver::IpamApi again(
      {{range, range, prefix}}, [](const ring::Address&) { return std::nullopt; },
      driver::IpamApi::none_held);
  Status restored = again.restore(peer.stored());
  fuzz_check(restored.ok(), "pool records restore: " + restored.message());
  fuzz_check(again.pools().size() == api.pools().size(), "every pool restores");
  for (const auto& [id, pool] : api.pools()) {
    auto it = again.pools().find(id);
    fuzz_check(it != again.pools().end(), "pool " + id + " restores");
    const driver::PoolRecord& back = it->second;
    fuzz_check(back.subnet == pool.subnet && back.sub_pool == pool.sub_pool &&
                   back.refs == pool.refs && back.automatic == pool.automatic &&
                   back.swarm == pool.swarm && back.rerequests == pool.rerequests,
               "pool " + id + " restores unchanged");
  }
}

}  // namespace

int fuzz_plugin(const std::uint8_t* data, std::size_t size) {
  quiet_logs();
  std::vector<std::string_view> lines = split(data, size, '\n', kMaxRequests);
  bool v6 = lines.front() == "v6";
  ring::Cidr range = v6 ? cidr("fd00::/48") : cidr("10.32.0.0/12");
  int prefix = v6 ? 64 : 24;
  FuzzPeer peer(FuzzPeer::seed_config(range));
  fuzz_check(peer.start(), "a fresh allocator starts");
  driver::IpamApi api(
      {{range, range, prefix}},
      [&peer](const ring::Address& a) {
        const auto& held = peer.allocator().allocations();
        auto it = held.find(a);
        return it == held.end() ? std::nullopt : std::optional(it->second);
      },
      [&peer](const ring::Range& r) {
        std::vector<std::pair<ring::Address, std::string>> in;
        for (const auto& [a, owner] : peer.allocator().allocations()) {
          if (r.contains(a)) {
            in.emplace_back(a, owner);
          }
        }
        return in;
      });
  for (std::string_view line : lines) {
    check_reply(serve(peer, api, line));
  }
  check_restore(peer, api, range, prefix);
  return 0;
}

}  // namespace wipam::fuzz
