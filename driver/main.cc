// weave-ipam: `launch` runs the daemon in the foreground; other subcommands are the CLI.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "driver/base/log.h"
#include "driver/client/cli.h"
#include "driver/client/cni.h"
#include "driver/daemon/config.h"
#include "driver/daemon/daemon.h"
#include "driver/daemon/password.h"

namespace {

constexpr const char* kVersion = "weave-ipam 0.1.0";

int launch(const std::vector<std::string>& args) {
  using wipam::driver::Config;
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf("%s", wipam::driver::launch_usage().c_str());
      return 0;
    }
  }
  wipam::Result<Config> parsed = wipam::driver::parse_launch(args, [](const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::nullopt : std::optional<std::string>(v);
  });
  wipam::Result<Config> config =
      parsed.ok() ? wipam::driver::resolve_password_file(*parsed) : parsed.status();
  if (!config.ok()) {
    std::fprintf(stderr, "weave-ipam: %s\n", config.status().message().c_str());
    return 2;
  }
  wipam::driver::set_log_level(config->log_level);
  if (std::optional<std::string> weak = wipam::driver::short_password_warning(config->password)) {
    wipam::driver::log(wipam::driver::LogLevel::kWarn, "gossip", *weak);
  }
  boost::asio::io_context loop(1);
  wipam::driver::Daemon daemon(loop, *config);
  wipam::Status started = daemon.start();
  if (!started.ok()) {
    std::fprintf(stderr, "weave-ipam: cannot start: %s\n", started.message().c_str());
    return 1;
  }
  boost::asio::signal_set signals(loop, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) {
      daemon.stop([&loop] { loop.stop(); });
    }
  });
  std::signal(SIGPIPE, SIG_IGN);
  loop.run();
  if (!daemon.failure().ok()) {
    std::fprintf(stderr, "weave-ipam: stopped: %s\n", daemon.failure().message().c_str());
    return 1;
  }
  return 0;
}

// The CNI plugin: the runtime passes CNI_* variables and the network configuration on stdin.
int cni() {
  std::string in;
  char buffer[4096];
  // One byte past the limit is enough for run_cni to refuse it: never hold more than that.
  for (std::size_t n; in.size() <= wipam::driver::kMaxCniConfigBytes &&
                      (n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0;) {
    in.append(buffer, n);
  }
  std::string out;
  int code = wipam::driver::run_cni(
      [](const char* name) {
        const char* v = std::getenv(name);
        return v == nullptr ? std::nullopt : std::optional<std::string>(v);
      },
      in, out);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // Runtimes run an IPAM plugin by its "type", so a symlink named weave-ipam-cni is the plugin.
  if (wipam::driver::invoked_as_cni(argc > 0 ? argv[0] : "") ||
      (argc > 1 && std::string(argv[1]) == "cni")) {
    return cni();
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "help") {
    std::printf(
        "usage: weave-ipam launch [flags] [PEER...]   (weave-ipam launch --help)\n"
        "       weave-ipam-cni | weave-ipam cni   (CNI 1.1 IPAM plugin)\n"
        "       weave-ipam genkey   (a random key for --password-file: 64 hex digits)\n"
        "       weave-ipam --version\n");
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::printf("%s\n", kVersion);
    return 0;
  }
  if (args[0] == "genkey") {
    if (args.size() > 1) {
      std::fprintf(stderr, "usage: weave-ipam genkey   (takes no arguments)\n");
      return 2;
    }
    return wipam::driver::run_genkey(stdout, stderr);
  }
  if (args[0] == "launch") {
    return launch(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (wipam::driver::is_cli_command(args[0]) || args[0].rfind("--", 0) == 0) {
    return wipam::driver::run_cli(args, stdout, stderr);
  }
  std::fprintf(stderr, "weave-ipam: unknown command '%s' (try launch, status, genkey, --help)\n",
               args[0].c_str());
  return 2;
}
