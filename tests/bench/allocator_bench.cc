// Prints the cost of one allocate + release through the whole allocator state machine
// (command in, effects out, including the store writes it emits) in a 10.32.0.0/12 range
// with 0, 10k and 1M addresses already allocated. A program, not a test: figures only.
#include <chrono>
#include <cstdio>
#include <string>

#include "ring/allocator.h"

using namespace wipam::ring;
using Clock = std::chrono::steady_clock;

int main() {
  AllocatorConfig config;
  config.self = {PeerName(1), "bench", 1};
  config.universe = *Cidr::parse("10.32.0.0/12");
  config.init = SeedInit{{PeerName(1)}};
  Allocator allocator(config);
  (void)allocator.start(Millis{0}, {});
  RequestId id = 1;
  std::size_t live = 0;
  for (std::size_t target : {std::size_t{0}, std::size_t{10'000}, std::size_t{1'000'000}}) {
    Clock::time_point fill_start = Clock::now();
    std::size_t filled = 0;
    while (live < target) {
      (void)allocator.command(Millis{1}, id++,
                              AllocateCommand{"fill-" + std::to_string(live), config.universe, {}});
      ++live;
      ++filled;
    }
    double fill_ns =
        filled == 0 ? 0
                    : std::chrono::duration<double, std::nano>(Clock::now() - fill_start).count() /
                          static_cast<double>(filled);
    constexpr int kPairs = 100'000;
    Clock::time_point start = Clock::now();
    for (int i = 0; i < kPairs; ++i) {
      Effects got =
          allocator.command(Millis{2}, id++, AllocateCommand{"probe", config.universe, {}});
      Address a = got.replies.at(0).addresses.at(0).address();
      (void)allocator.command(Millis{2}, id++, ReleaseCommand{a, std::nullopt});
    }
    double pair_ns =
        std::chrono::duration<double, std::nano>(Clock::now() - start).count() / kPairs;
    std::printf("live=%-8zu allocate+release: %8.0f ns/pair   (fill: %6.0f ns/allocate)\n", live,
                pair_ns, fill_ns);
  }
  return 0;
}
