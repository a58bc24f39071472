#include "tests/gossip/node_harness.h"

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace wipam::gossip::testing {

std::string mesh_node_path() {
  if (const char* path = std::getenv("WIPAM_MESH_NODE")) {
    return path;
  }
#ifdef WIPAM_MESH_NODE
  return WIPAM_MESH_NODE;
#else
  return "mesh_node";
#endif
}

std::unique_ptr<NodeProcess> NodeProcess::spawn(const std::vector<std::string>& args,
                                                const std::string& log_path) {
  ::signal(SIGPIPE, SIG_IGN);  // a dead child's stdin must not kill the test
  int in[2];
  int out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) {
    return nullptr;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  std::string program = mesh_node_path();
  std::vector<char*> argv = {program.data()};
  std::vector<std::string> copies = args;
  for (std::string& arg : copies) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  std::unique_ptr<NodeProcess> node(new NodeProcess());
  int rc = posix_spawn(&node->pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  node->stdin_fd_ = in[1];
  node->stdout_fd_ = out[0];
  node->log_path_ = log_path;
  if (rc != 0) {
    node->pid_ = -1;
    return nullptr;
  }
  node->reader_ = std::thread([n = node.get()] { n->read_loop(); });
  std::optional<std::string> listening =
      node->wait_for([](const std::string& l) { return l.rfind("listening ", 0) == 0; });
  if (!listening) {
    return nullptr;
  }
  node->port_ = static_cast<std::uint16_t>(std::stoi(listening->substr(10)));
  return node;
}

NodeProcess::~NodeProcess() {
  kill();
  if (reader_.joinable()) {
    reader_.join();
  }
  ::close(stdout_fd_);
  ::close(stdin_fd_);
}

void NodeProcess::signal(int signal) {
  if (pid_ > 0) {
    ::kill(pid_, signal);
  }
}

void NodeProcess::kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGCONT);  // a stopped child must run to die promptly
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
}

void NodeProcess::read_loop() {
  std::string partial;
  char buffer[4096];
  while (true) {
    ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
    if (n <= 0) {
      break;
    }
    partial.append(buffer, static_cast<std::size_t>(n));
    std::size_t newline;
    while ((newline = partial.find('\n')) != std::string::npos) {
      std::lock_guard<std::mutex> lock(mutex_);
      lines_.push_back(partial.substr(0, newline));
      partial.erase(0, newline + 1);
      changed_.notify_all();
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  eof_ = true;
  changed_.notify_all();
}

void NodeProcess::send(const std::string& line) {
  std::string text = line + "\n";
  (void)!::write(stdin_fd_, text.data(), text.size());
}

std::optional<std::string> NodeProcess::wait_for(
    const std::function<bool(const std::string&)>& match, std::size_t from,
    std::chrono::milliseconds patience) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  std::unique_lock<std::mutex> lock(mutex_);
  std::size_t next = from;
  while (true) {
    for (; next < lines_.size(); ++next) {
      if (match(lines_[next])) {
        return lines_[next];
      }
    }
    if (eof_ || changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      for (; next < lines_.size(); ++next) {
        if (match(lines_[next])) {
          return lines_[next];
        }
      }
      return std::nullopt;
    }
  }
}

bool NodeProcess::wait_for_line(const std::string& line, std::size_t from) {
  return wait_for([&](const std::string& l) { return l == line; }, from).has_value();
}

bool NodeProcess::wait_for_prefix(const std::string& prefix, std::size_t from) {
  return wait_for([&](const std::string& l) { return l.rfind(prefix, 0) == 0; }, from).has_value();
}

std::vector<std::string> NodeProcess::lines() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lines_;
}

std::size_t NodeProcess::line_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lines_.size();
}

std::size_t NodeProcess::count(const std::string& line) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t n = 0;
  for (const std::string& l : lines_) {
    n += l == line ? 1 : 0;
  }
  return n;
}

std::vector<std::string> NodeProcess::peers() {
  std::size_t from = line_count();
  send("peers");
  std::vector<std::string> out;
  if (!wait_for_line("peers-end", from)) {
    return out;
  }
  std::vector<std::string> all = lines();
  for (std::size_t i = from; i < all.size() && all[i] != "peers-end"; ++i) {
    if (all[i].rfind("peer ", 0) == 0) {
      out.push_back(all[i]);
    }
  }
  return out;
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "wipam-gossip-XXXXXX").string();
  if (::mkdtemp(pattern.data()) != nullptr) {
    path_ = pattern;
  }
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace wipam::gossip::testing
