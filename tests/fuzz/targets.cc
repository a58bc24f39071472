#include "tests/fuzz/fuzz_targets.h"

namespace wipam::fuzz {

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {
      {"plugin", fuzz_plugin}, {"admin", fuzz_admin}, {"cni", fuzz_cni},
      {"gossip", fuzz_gossip}, {"cbor", fuzz_cbor},   {"store", fuzz_store},
  };
  return all;
}

}  // namespace wipam::fuzz
