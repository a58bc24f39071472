#include "driver/store/store.h"

#include <filesystem>

#include <boost/asio/post.hpp>
#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/write_batch.h>

#include "driver/store/preallocated_log.h"

namespace wipam::driver {

Result<std::unique_ptr<Store>> Store::open(const std::string& path, boost::asio::io_context& loop,
                                           bool preallocate_log) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return Status::unavailable("cannot create the state directory " + path + ": " + ec.message() +
                               "; choose another --db-path");
  }
  leveldb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  std::unique_ptr<leveldb::Env> env;
  if (preallocate_log) {
    env = std::make_unique<PreallocatedLogEnv>();
    options.env = env.get();
  }
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, path, &raw);
  if (!s.ok()) {
    std::string why = s.ToString();
    if (why.find("lock") != std::string::npos) {
      return Status::unavailable("the state in " + path + " is in use by another weave-ipam (" +
                                 why + "); stop it or choose another --db-path");
    }
    return Status::corruption("cannot read the state in " + path + " (" + why +
                              "); restore it from a backup, or move it aside to start afresh "
                              "(this peer then forgets its allocations)");
  }
  return std::unique_ptr<Store>(new Store(std::move(env), std::unique_ptr<leveldb::DB>(raw), loop));
}

Store::Store(std::unique_ptr<leveldb::Env> env, std::unique_ptr<leveldb::DB> db,
             boost::asio::io_context& loop)
    : env_(std::move(env)), db_(std::move(db)), loop_(loop), writer_([this] { run_writer(); }) {}

Store::~Store() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  writer_.join();
}

Result<std::map<std::string, std::string>> Store::scan(const std::string& prefix) const {
  std::map<std::string, std::string> out;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    out.emplace(it->key().ToString(), it->value().ToString());
  }
  if (!it->status().ok()) {
    return Status::corruption("reading the store failed: " + it->status().ToString());
  }
  return out;
}

void Store::write(std::vector<ring::StoreWrite> batch, std::function<void(Status)> done,
                  Sync sync) {
  std::unique_lock<std::mutex> lock(mutex_);
  progress_.wait(lock, [this] { return queue_.size() < kMaxQueuedBatches; });
  queue_.push_back({std::move(batch), std::move(done), sync});
  ++submitted_;
  lock.unlock();
  work_ready_.notify_one();
}

void Store::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  std::uint64_t target = submitted_;
  progress_.wait(lock, [&] { return completed_ >= target; });
}

std::uint64_t Store::commits() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return commits_;
}

std::uint64_t Store::syncs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return syncs_;
}

std::uint64_t Store::submitted() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return submitted_;
}

void Store::run_writer() {
  while (true) {
    std::deque<Job> jobs;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        // Stopping, and everything queued is written: make it durable, too.
        if (unsynced_) {
          leveldb::WriteOptions synced;
          synced.sync = true;
          leveldb::WriteBatch none;
          (void)db_->Write(synced, &none);  // best effort: nothing waits on it any more
        }
        return;
      }
      jobs.swap(queue_);
    }
    leveldb::WriteBatch batch;
    bool sync = false;
    for (const Job& job : jobs) {
      sync = sync || job.sync == Sync::kNow;
      for (const ring::StoreWrite& w : job.batch) {
        if (w.value) {
          batch.Put(w.key, *w.value);
        } else {
          batch.Delete(w.key);
        }
      }
    }
    leveldb::WriteOptions options;
    options.sync = sync;
    leveldb::Status s = db_->Write(options, &batch);
    Status status = s.ok() ? Status() : Status::unavailable("store write failed: " + s.ToString());
    unsynced_ = !sync;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++commits_;
      syncs_ += sync ? 1 : 0;
      completed_ += jobs.size();
    }
    progress_.notify_all();
    // One hop back to the loop for the whole group, not one per batch in it.
    boost::asio::post(loop_, [jobs = std::move(jobs), status]() mutable {
      for (Job& job : jobs) {
        if (job.done) {
          job.done(status);
        }
      }
    });
  }
}

}  // namespace wipam::driver
