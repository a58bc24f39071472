// Space benchmark: per-operation cost in a 10.32.0.0/12 space (about a million addresses) with
// 0, 10k and 1M live addresses, laid out two ways -- "packed" (handed out lowest-first by
// allocate, so the free set is one run) and "scattered" (claimed at random, so the free set is
// one run per gap, the worst shape). Prints ns/op for allocate+free, free-random+allocate
// (the allocation refills the hole), free_count of a random /24 and of the whole space,
// choose_donation of the whole space and of a random /20, and the memory the space holds.
// Figures only; nothing here asserts. Run a Release build for meaningful numbers.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "ring/space.h"

namespace wipam::ring {
namespace {

constexpr int kOps = 200000;
volatile std::uint64_t sink = 0;  // keeps results observable so loops are not optimised away

const Cidr kSubnet = *Cidr::parse("10.32.0.0/12");

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

void report(const char* layout, std::size_t live, const char* op, double ns) {
  std::printf("%-10s %8zu  %-34s %9.1f ns/op\n", layout, live, op, ns);
}

// Runs `body` kOps times and returns the mean nanoseconds per call.
template <typename Body>
double time_ops(Body body) {
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kOps; ++i) {
    body(i);
  }
  return seconds_since(start) * 1e9 / kOps;
}

struct Fixture {
  Space space;
  std::vector<Address> live;
  std::mt19937_64 rng{42};
};

// Fills the space to `count` live addresses, lowest-first or at random places, and returns
// the mean nanoseconds per allocate or claim.
double fill(Fixture& f, std::size_t count, bool scattered) {
  Range hosts = kSubnet.host_range();
  f.live.reserve(count);
  if (!scattered) {
    auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < count; ++i) {
      f.live.push_back(*f.space.allocate(hosts));
    }
    return seconds_since(start) * 1e9 / static_cast<double>(count);
  }
  std::vector<std::uint32_t> offsets(static_cast<std::size_t>(hosts.size()));
  std::iota(offsets.begin(), offsets.end(), 0u);
  std::shuffle(offsets.begin(), offsets.end(), f.rng);
  auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < count; ++i) {
    Address a = hosts.at(offsets[i]);
    if (f.space.claim(a).ok()) {
      f.live.push_back(a);
    }
  }
  return seconds_since(start) * 1e9 / static_cast<double>(count);
}

void bench_mutations(Fixture& f, const char* layout) {
  Range hosts = kSubnet.host_range();
  std::size_t live = f.live.size();
  report(layout, live, "allocate+free (same address)", time_ops([&](int) {
           Address a = *f.space.allocate(hosts);
           sink = sink + static_cast<std::uint64_t>(a.value());
           (void)f.space.free(a);
         }));
  if (live == 0) {
    return;
  }
  std::uniform_int_distribution<std::size_t> pick(0, live - 1);
  report(layout, live, "free random live + allocate", time_ops([&](int) {
           std::size_t i = pick(f.rng);
           (void)f.space.free(f.live[i]);
           f.live[i] = *f.space.allocate(hosts);
         }));
}

void bench_queries(Fixture& f, const char* layout) {
  std::size_t live = f.live.size();
  std::uniform_int_distribution<std::uint32_t> pick_24(0, (1u << 12) - 1);
  std::uniform_int_distribution<std::uint32_t> pick_20(0, (1u << 8) - 1);
  Address base = kSubnet.address();
  report(layout, live, "free_count(random /24)", time_ops([&](int) {
           Address start = base + (Uint128{pick_24(f.rng)} << 8);
           sink = sink + static_cast<std::uint64_t>(f.space.free_count(Range(start, start + 256)));
         }));
  report(layout, live, "free_count(whole)", time_ops([&](int) {
           sink = sink + static_cast<std::uint64_t>(f.space.free_count(kSubnet.range()));
         }));
  report(layout, live, "choose_donation(whole /12)", time_ops([&](int) {
           sink =
               sink + static_cast<std::uint64_t>(f.space.choose_donation(kSubnet.range()).size());
         }));
  report(layout, live, "choose_donation(random /20)", time_ops([&](int) {
           Address start = base + (Uint128{pick_20(f.rng)} << 12);
           Range wanted(start, start + 4096);
           sink = sink + static_cast<std::uint64_t>(f.space.choose_donation(wanted).size());
         }));
}

void bench_level(std::size_t count, bool scattered) {
  const char* layout = scattered ? "scattered" : "packed";
  long rss_before = rss_kib();
  Fixture f;
  (void)f.space.add(kSubnet.range());
  if (count > 0) {
    double ns = fill(f, count, scattered);
    report(layout, f.live.size(), scattered ? "fill by claim (mean)" : "fill by allocate (mean)",
           ns);
  }
  std::printf(
      "%-10s %8zu  %zu free fragments; the space holds %zu bytes (%zu per fragment, "
      "plus spare capacity); RSS +%ld KiB incl. the bench's own address list\n",
      layout, f.live.size(), f.space.free_fragment_count(), f.space.memory_bytes(),
      IntervalSet::interval_bytes(), rss_kib() - rss_before);
  bench_mutations(f, layout);
  bench_queries(f, layout);
  std::printf("\n");
}

}  // namespace
}  // namespace wipam::ring

int main() {
  std::printf("Space in 10.32.0.0/12 (%d ops per figure)\n\n", wipam::ring::kOps);
  std::printf("%-10s %8s  %-34s %15s\n", "layout", "live", "operation", "cost");
  for (bool scattered : {false, true}) {
    for (std::size_t count : {std::size_t{0}, std::size_t{10000}, std::size_t{1000000}}) {
      if (scattered && count == 0) {
        continue;
      }
      wipam::ring::bench_level(count, scattered);
    }
  }
  return 0;
}
