// Loads a static ELF64 user program into an address space: one fresh
// frame per page of each PT_LOAD segment, mapped read-only unless the
// segment is writable, each segment recorded as a region.
#pragma once

#include <stdint.h>

#include "address_space.hpp"
#include "regions.hpp"
#include "user_images.hpp"

namespace elf {

// The entry point, or 0 with `*failure` set.
uint64_t load(const UserImage& image, const vm::AddressSpace& space, vm::RegionList& regions, const char** failure);

}  // namespace elf
