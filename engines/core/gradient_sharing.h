// GradientSharing: decides which input gradients of a backward pass may live in
// one buffer, so that the executor skips copies (a same-shape Add hands its
// output gradient to both operands unchanged) and runs element-wise backward
// steps in place (a ReLU's input gradient overwrites its output gradient).
//
// Time is the backward pass's order: node k's backward runs at time k, from the
// last node down to 0. Each gradient has a lifetime: it is created at some time
// (its first writer runs, or it starts out equal to another gradient), may be
// modified later (other consumers' contributions accumulated into it, an
// in-place step rewriting it), and is read by its producer's backward (time -1:
// the graph input's, read after the pass). Accumulations run after their
// node's backward, so a modification at time t comes after a read at time t.
// Two gradients may share a buffer when neither is modified while the other is
// still waiting to be read: for v != w in one buffer, no modification of v
// falls in (w.read, w.created].
//
// Decisions are made in backward order (descending creation time), each
// checked against every gradient already in the buffer.
//
//   GradientSharing sharing;
//   sharing.AddOwn("y", {.created = 3, .read = 2, .modified = {}});
//   // Add at time 2 passes dY to both operands; x has another consumer at time 0.
//   sharing.TryShare("x", "y", {.created = 2, .read = -1, .modified = {0}});  // true
//   sharing.BufferOf("x");  // "y"
#ifndef CRUCIBLE_ENGINES_CORE_GRADIENT_SHARING_H_
#define CRUCIBLE_ENGINES_CORE_GRADIENT_SHARING_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace crucible {

class GradientSharing {
 public:
  struct Lifetime {
    int created = 0;
    int read = -1;
    std::vector<int> modified;
  };

  // `name` gets a buffer of its own.
  void AddOwn(const std::string& name, Lifetime lifetime);
  // Puts `name` into the buffer that holds `existing` if that is safe (see
  // above); otherwise changes nothing and returns false.
  bool TryShare(const std::string& name, const std::string& existing, Lifetime lifetime);
  // The name of the gradient that owns `name`'s buffer (`name` itself for an owner).
  const std::string& BufferOf(const std::string& name) const;

 private:
  struct Member {
    std::string name;
    Lifetime lifetime;
  };
  static bool Conflict(const Lifetime& modified, const Lifetime& waiting);

  absl::flat_hash_map<std::string, std::string> owner_;
  absl::flat_hash_map<std::string, std::vector<Member>> members_;  // By owner.
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_GRADIENT_SHARING_H_
