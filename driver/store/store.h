// Store: the daemon's durable state in one LevelDB on disk.
//
// Reads are synchronous and meant for start-up. Writes are asynchronous: one writer thread
// drains every batch queued so far into a single LevelDB write with sync=true (group
// commit), then posts each batch's completion back onto the loop, in submission order.
// Key schema: store_keys.h and STORE_FORMAT.md beside it. Thread-safe: write() may be called from
// the loop while the writer thread runs; completions always arrive on the loop thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "ring/allocator.h"

namespace leveldb {
class DB;
class Env;
}  // namespace leveldb

namespace wipam::driver {

class Store {
 public:
  // Most batches queued at once; write() blocks briefly beyond it (back-pressure).
  static constexpr std::size_t kMaxQueuedBatches = 65536;

  // Opens, creating directories, the LevelDB at `path`. kUnavailable if another process
  // holds it, kCorruption if it cannot be read; both name the path and the fix.
  // With `preallocate_log`, LevelDB's write-ahead log lives in preallocated space
  // (preallocated_log.h), so a synced write costs one data-only fdatasync.
  static Result<std::unique_ptr<Store>> open(const std::string& path, boost::asio::io_context& loop,
                                             bool preallocate_log = true);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  // Flushes everything queued and stops the writer thread.
  ~Store();

  // Every key beginning with `prefix` (all keys when empty), with its value.
  Result<std::map<std::string, std::string>> scan(const std::string& prefix) const;
  // kNow: `done` runs once the batch is synced. kWithNext: once it is in LevelDB's log,
  // unsynced; it survives a crash of this process at once, and a crash of the machine once a
  // later kNow batch is synced (the log is one ordered file, and a sync covers all of it).
  enum class Sync { kNow, kWithNext };
  // Queues `batch`; `done` runs on the loop once it is written as `sync` says (or failed),
  // in order.
  void write(std::vector<ring::StoreWrite> batch, std::function<void(Status)> done,
             Sync sync = Sync::kNow);
  // Blocks until everything queued so far is durable. Completions still post to the loop.
  void flush();

  std::uint64_t commits() const;    // LevelDB writes made
  std::uint64_t syncs() const;      // of those, the synced ones
  std::uint64_t submitted() const;  // batches queued

 private:
  struct Job {
    std::vector<ring::StoreWrite> batch;
    std::function<void(Status)> done;
    Sync sync = Sync::kNow;
  };
  Store(std::unique_ptr<leveldb::Env> env, std::unique_ptr<leveldb::DB> db,
        boost::asio::io_context& loop);
  void run_writer();

  std::unique_ptr<leveldb::Env> env_;  // outlives db_, which uses it; null: the default Env
  std::unique_ptr<leveldb::DB> db_;
  boost::asio::io_context& loop_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable progress_;
  std::deque<Job> queue_;
  std::uint64_t submitted_ = 0;
  std::uint64_t completed_ = 0;
  std::uint64_t commits_ = 0;
  std::uint64_t syncs_ = 0;
  bool unsynced_ = false;  // a kWithNext batch written since the last sync (writer only)
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace wipam::driver
