// Helpers shared by the fuzz targets: cutting the input into parts, a checked invariant,
// and one allocator peer with an in-memory store, as the daemon drives it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ring/allocator.h"

namespace wipam::fuzz {

// Aborts (a crash libFuzzer reports, with its input) when an invariant is broken.
void fuzz_check(bool ok, std::string_view what);

// The input as text, cut at `separator`, at most `max_parts` parts (the rest is dropped, so
// a long input cannot make one run slow).
std::vector<std::string_view> split(const std::uint8_t* data, std::size_t size, char separator,
                                    std::size_t max_parts);
// "word rest": the text before the first space, and after it ("" when there is none).
std::pair<std::string_view, std::string_view> first_word(std::string_view text);

// Silences the daemon's log lines (refusals are the common case while fuzzing).
void quiet_logs();

// One allocator and the store it writes, as the daemon keeps them; every step's writes are
// applied and its invariants checked.
class FuzzPeer {
 public:
  explicit FuzzPeer(ring::AllocatorConfig config);
  // A peer that owns its whole `universe` (seed mode, itself the only seed).
  static ring::AllocatorConfig seed_config(ring::Cidr universe);

  // Starts from `stored` (as a daemon starting on it); false if the allocator refused it.
  bool start(const std::map<std::string, std::string>& stored = {});
  // Runs `command`; the replies it got in this step.
  std::vector<ring::Reply> run(const ring::Command& command);
  // Applies the writes of a step and checks the allocator after it.
  void apply(const ring::Effects& effects);
  void write(const std::vector<ring::StoreWrite>& writes);
  ring::Millis now() { return ring::Millis{++clock_}; }

  ring::Allocator& allocator() { return allocator_; }
  const std::map<std::string, std::string>& stored() const { return stored_; }

 private:
  ring::Allocator allocator_;
  std::map<std::string, std::string> stored_;
  std::int64_t clock_ = 1000;
  ring::RequestId next_id_ = 1;
};

}  // namespace wipam::fuzz
