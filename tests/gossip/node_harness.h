// Test harness for multi-process mesh tests: spawns mesh_node peers, feeds them commands,
// and waits for the lines they print. Every wait polls with a generous deadline and never
// asserts on timing; every child is killed when its NodeProcess goes away.
// Each NodeProcess is used from the test thread; its reader thread only appends lines
// under a mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace wipam::gossip::testing {

inline constexpr std::chrono::seconds kPatience{30};

// Path of the mesh_node binary (WIPAM_MESH_NODE in the environment overrides the built one).
std::string mesh_node_path();

class NodeProcess {
 public:
  // Starts mesh_node with `args`, its stderr going to `log_path`. Waits for "listening".
  static std::unique_ptr<NodeProcess> spawn(const std::vector<std::string>& args,
                                            const std::string& log_path);
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // Writes one command line to the node's stdin.
  void send(const std::string& line);
  // The first line at index >= `from` for which `match` holds, waiting up to `patience`.
  std::optional<std::string> wait_for(const std::function<bool(const std::string&)>& match,
                                      std::size_t from = 0,
                                      std::chrono::milliseconds patience = kPatience);
  // True iff a line exactly equal to `line` appears (from index `from`) within the patience.
  bool wait_for_line(const std::string& line, std::size_t from = 0);
  // True iff a line starting with `prefix` appears (from index `from`) within the patience.
  bool wait_for_prefix(const std::string& prefix, std::size_t from = 0);
  // Lines printed so far.
  std::vector<std::string> lines() const;
  std::size_t line_count() const;
  // How many lines so far equal `line`.
  std::size_t count(const std::string& line) const;
  // Sends `peers` and returns the "peer ..." lines of that answer.
  std::vector<std::string> peers();

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // Sends `signal` (e.g. SIGSTOP, SIGCONT) to the node.
  void signal(int signal);
  // SIGKILLs the node and reaps it. Idempotent.
  void kill();

 private:
  NodeProcess() = default;
  void read_loop();

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::uint16_t port_ = 0;
  std::string log_path_;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;  // guarded by mutex_
  bool eof_ = false;                // guarded by mutex_
};

// A fresh temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace wipam::gossip::testing
