#include "engines/core/gradient_sharing.h"

namespace crucible {

void GradientSharing::AddOwn(const std::string& name, Lifetime lifetime) {
  owner_[name] = name;
  members_[name] = {{name, std::move(lifetime)}};
}

bool GradientSharing::Conflict(const Lifetime& modified, const Lifetime& waiting) {
  for (int t : modified.modified) {
    if (waiting.read < t && t <= waiting.created) return true;
  }
  return false;
}

bool GradientSharing::TryShare(const std::string& name, const std::string& existing, Lifetime lifetime) {
  const std::string owner = BufferOf(existing);
  std::vector<Member>& members = members_.at(owner);
  for (const Member& member : members) {
    if (Conflict(lifetime, member.lifetime) || Conflict(member.lifetime, lifetime)) return false;
  }
  owner_[name] = owner;
  members.push_back({name, std::move(lifetime)});
  return true;
}

const std::string& GradientSharing::BufferOf(const std::string& name) const { return owner_.at(name); }

}  // namespace crucible
