// The fuzz targets (issue #12): one per family of decoders of outside bytes. Each takes
// arbitrary bytes, drives the real decoder the way the daemon does, and returns 0. A refused
// input (an error Status, an error reply) is fine; a crash, a sanitizer report, an escaping
// exception or a broken invariant (fuzz_check) is a bug. The libFuzzer programs
// (fuzz_main.cc) and the replay test (replay_test.cc) call the same functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace wipam::fuzz {

// Docker's IpamDriver endpoints through IpamApi, with a real allocator behind it.
int fuzz_plugin(const std::uint8_t* data, std::size_t size);
// The admin API's requests through AdminApi.
int fuzz_admin(const std::uint8_t* data, std::size_t size);
// CNI: the environment, the network configuration on stdin and the daemon's answers.
int fuzz_cni(const std::uint8_t* data, std::size_t size);
// A stranger's byte stream on the gossip port: preamble, Hello, then any frames.
int fuzz_gossip(const std::uint8_t* data, std::size_t size);
// The ring's CBOR: peer messages, rings, Paxos gossip and state, and the CBOR reader.
int fuzz_cbor(const std::uint8_t* data, std::size_t size);
// A store's records as the daemon reads them at start-up.
int fuzz_store(const std::uint8_t* data, std::size_t size);

struct Target {
  std::string_view name;  // also the folder of its corpus and regressions
  int (*run)(const std::uint8_t*, std::size_t);
};
const std::vector<Target>& targets();

}  // namespace wipam::fuzz
