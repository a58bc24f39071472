#include "tests/fuzz/fuzz_util.h"

#include <cstdio>
#include <cstdlib>

#include "driver/base/log.h"

namespace wipam::fuzz {

void fuzz_check(bool ok, std::string_view what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_check failed: %.*s\n", static_cast<int>(what.size()), what.data());
    std::abort();
  }
}

std::vector<std::string_view> split(const std::uint8_t* data, std::size_t size, char separator,
                                    std::size_t max_parts) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (parts.size() < max_parts) {
    std::size_t end = text.find(separator);
    parts.push_back(text.substr(0, end));
    if (end == std::string_view::npos) {
      break;
    }
    text.remove_prefix(end + 1);
  }
  return parts;
}

std::pair<std::string_view, std::string_view> first_word(std::string_view text) {
  std::size_t space = text.find(' ');
  if (space == std::string_view::npos) {
    return {text, {}};
  }
  return {text.substr(0, space), text.substr(space + 1)};
}

void quiet_logs() { driver::set_log_level(driver::LogLevel::kError); }

FuzzPeer::FuzzPeer(ring::AllocatorConfig config) : allocator_(std::move(config)) {}

ring::AllocatorConfig FuzzPeer::seed_config(ring::Cidr universe) {
  ring::AllocatorConfig c;
  c.self = {ring::PeerName(1), "fuzz", 1};
  c.universe = universe;
  c.init = ring::SeedInit{{c.self.name}};
  return c;
}

bool FuzzPeer::start(const std::map<std::string, std::string>& stored) {
  stored_ = stored;
  Result<ring::Effects> started = allocator_.start(now(), stored);
  if (!started.ok()) {
    return false;
  }
  apply(*started);
  return true;
}

std::vector<ring::Reply> FuzzPeer::run(const ring::Command& command) {
  ring::Effects fx = allocator_.command(now(), next_id_++, command);
  apply(fx);
  return fx.replies;
}

void FuzzPeer::apply(const ring::Effects& effects) {
  write(effects.writes);
  for (const ring::Event& e : effects.events) {
    fuzz_check(e.kind != ring::EventKind::kBug, e.message);
  }
  Status healthy = allocator_.check_invariants();
  fuzz_check(healthy.ok(), "allocator invariants: " + healthy.message());
}

void FuzzPeer::write(const std::vector<ring::StoreWrite>& writes) {
  for (const ring::StoreWrite& w : writes) {
    if (w.value) {
      stored_[w.key] = *w.value;
    } else {
      stored_.erase(w.key);
    }
  }
}

}  // namespace wipam::fuzz
