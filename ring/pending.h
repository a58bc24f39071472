// PendingQueue: the commands that could not finish at once, each with its deadline and what it
// waits for. Retried claims first, then the rest in arrival order, as Weave's queues did, so
// that addresses already in use are registered before new ones go out. It knows nothing of
// what a command needs; the caller's attempt says whether one is done. Pure; loop-confined.
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <string>
#include <vector>

#include "ring/address.h"
#include "ring/allocator_config.h"
#include "ring/commands.h"

namespace wipam::ring {

// A command that could not finish at once.
struct Pending {
  RequestId id = 0;
  Command command;
  Millis deadline{0};
  std::string waiting_for;  // why it is not done yet; the error text if it times out
};

class PendingQueue {
 public:
  // Called with each pending command; true iff it is done (replied to), and so leaves.
  using Attempt = std::function<bool(Pending&)>;

  void add(Pending p) { items_.push_back(std::move(p)); }
  // Attempts every pending claim, then every other command, each in arrival order.
  void retry(const Attempt& attempt);
  // Removes and returns, in arrival order, the commands whose deadline is `now` or earlier.
  std::vector<Pending> expire(Millis now);
  // Removes and returns, in arrival order, the commands `pick` chooses.
  std::vector<Pending> take_if(const std::function<bool(const Pending&)>& pick);
  // Removes and returns every command, in arrival order.
  std::vector<Pending> take_all();
  // True iff some pending allocate's subnet overlaps `r` or some pending claim lies in it.
  bool needs(const Range& r) const;

  const std::list<Pending>& items() const { return items_; }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

 private:
  std::list<Pending> items_;
};

}  // namespace wipam::ring
